"""The links function (``functions/links/``): long-lived, revocable links that mint a fresh URL per click.

    tokens.py      link tokens: signed (HMAC-SHA256, key ids, rotation), not encrypted
    request.py     the fields of one link request, checked
    revocation.py  revoked ids, a cut-off time, and the revocation object re-read every 60 s
    settings.py    the LINK_* variables on top of the presign settings
    app.py         the HTTP API: /links, /links/batch, /d/{token}
    wiring.py      the instance built at cold start
"""
