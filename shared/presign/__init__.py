"""The presign function (``functions/presign/``).

    request.py  the fields of one presign request, checked
    app.py      the HTTP API: /presign, /presign/batch, /healthz
    wiring.py   the instance built at cold start (and the gate and issuer the links function shares)
"""
