"""The development tools: ``python -m shared`` and the local bucket. No function imports them and no zip holds them.

    cli.py        python -m shared: sign, explain, serve, package
    usage.py      the usage error and the one-line argument parser every command shares
    explain.py    why a presigned URL does or does not work
    serve.py      the functions on 127.0.0.1 against the local bucket
    package.py    one reproducible code zip per function
    local_oss/    a local, signature-checking OSS bucket
"""
