"""The presign function (``functions/presign/``).

    request.py        the fields of one presign request, checked
    post_request.py   the fields of one form upload request (POST /presign/post), checked
    app.py            the HTTP API: /presign, /presign/batch, /presign/post, /healthz, and the /s3 routes
    upload_routes.py  the routes of Uppy's S3 protocol (known at cold start; served by uploads.py)
    uploads.py        Uppy's S3 protocol: forms and multipart uploads, loaded by the first upload request
    upload_fields.py  the fields of those requests, checked
    upload_keys.py    PRESIGN_UPLOAD_KEY: where an upload goes
    wiring.py         the instance built at cold start (and the gate and issuer the links function shares)
"""
