"""The development tools: ``python -m shared`` and the local bucket. No function imports them and no zip holds them.

    cli.py                python -m shared: sign, explain, serve, package, keygen, token
    usage.py              the usage error and the one-line argument parser every command shares
    console.py            whole lines from several threads to one terminal
    explain.py            why a presigned URL does or does not work
    serve.py              the functions on 127.0.0.1 against the local bucket
    serve_settings.py     serve's development keys, the functions' configuration, the checks before start
    serve_help.py         what serve prints when ready: addresses and commands to paste
    function_processes.py the functions-framework processes serve runs, their logs and their ends
    trigger.py            the local bucket's OSS trigger: stored objects' events to the function's /invoke
    webhook_receiver.py   the README's webhook receiver, printing each verified delivery
    keygen.py             fresh secrets for the configuration
    token.py              an HS256 JWT for trying the API
    package.py            one reproducible code zip per function
    local_oss/            a local, signature-checking OSS bucket
"""
