"""The library the functions share: one package or module per concern, listed here from the bottom up.

A layer imports only from the layers above it in this list (``tests/test_layers.py`` holds the same
order and fails on an import that points the other way, or on a cycle):

    errors.py        the one exception tree; each error has one HTTP status and one stable code
    clock.py         utc_now and the one text form of a moment (ISO 8601, UTC, "Z")
    env.py           raw environment values: text, flags, whole numbers, @file, URLs
    fields.py        checks for the fields callers send; strict JSON (no repeated names)
    audit.py         one JSON log line per issued URL and per refusal; URLs only as SHA-256
    credentials/     the credentials value, every source, the chain, the refresh cache, the FC invocation
    oss/             OSS Signature V4 (canonical steps, signer), endpoints, keys, expiry, issuer, client
    auth/            who is asking (API keys, HS256 JWT, a trusted gateway) and what the policy allows
    http/            HttpRequest/HttpResponse, routing, the one error boundary (api.py), FC and WSGI adapters
    config.py        the settings every function shares, read once from the environment
    presign/         the presign function: its request fields, its app, its S3 upload routes, its wiring
    links/           the links function: link tokens, revocation, its settings, app and wiring
    object_created/  the object-created function: OSS event records, rules, links, webhooks, wiring
    devtools/        python -m shared (sign, explain, serve, package, keygen, token, upload), the local bucket: no zip

``__main__.py`` is the trampoline to ``devtools.cli``; it stays out of the zips too.
"""
