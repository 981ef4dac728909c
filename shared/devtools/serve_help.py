"""What ``serve`` prints once everything listens: where each function is and commands to paste into a shell.

Against the local bucket the commands carry the development API key; against real OSS they read it
from ``$API_KEY``, in double quotes so that the shell expands it. No command follows a redirect with
the key: ``curl -L`` sends ``-H`` headers on to every host it is redirected to, so the key would reach
the storage host. The download asks for the URL first and then fetches it; a link needs no key at all.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from shared.devtools.console import Console

SAMPLE_KEY = "hello.txt"
UPLOAD_KEY = "notes/hello.txt"
URL_OF_JSON = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"url\"])'"


def print_ready(console: Console, *, ports: Mapping[str, int], real: bool, api_key: str | None,
                jwt: str | None) -> None:
    """Print the functions' addresses, the commands to try them, and ``ready``."""
    base, links = f"http://127.0.0.1:{ports['--port']}", f"http://127.0.0.1:{ports['--links-port']}"
    header = shlex.quote(f"X-Api-Key: {api_key}") if api_key else '"X-Api-Key: $API_KEY"'
    if real:
        console.line("OSS_BUCKET is set: the functions sign for real OSS with the environment's configuration")
    console.line(f"presign function: {base}")
    console.line(f"links function:   {links}")
    if real:
        console.line("set API_KEY to a key whose SHA-256 is in PRESIGN_API_KEYS (python3 -m shared keygen api-key "
                     f"makes a pair), and use a key of OSS_BUCKET in place of {SAMPLE_KEY}")
    else:
        console.line(f"object-created function: http://127.0.0.1:{ports['--on-created-port']}/invoke (each object "
                     "stored in the local bucket is an event for it)")
    for explanation, command in commands(base, links, header, local=not real, jwt=jwt):
        console.line(explanation)
        console.line(f"  {command}")
    console.line("ready; Ctrl-C stops everything")


def commands(base: str, links: str, header: str, *, local: bool, jwt: str | None) -> list[tuple[str, str]]:
    """(what it does, the command line) for each command serve prints."""
    asked = f"curl -s -H {header} '{base}/presign?key={SAMPLE_KEY}'"
    found = [
        ("ask for a URL:", asked),
        ("download the sample object: ask for the URL, then fetch it (curl -L would send the API key on to the "
         "bucket):", f"curl -s \"$(curl -s -o /dev/null -w '%{{redirect_url}}' -H {header} "
                    f"'{base}/presign?key={SAMPLE_KEY}&redirect=1')\""),
        ("make a 30-day link for an email (then open the \"link\" it answers; the link needs no key):",
         f"curl -s -X POST -H {header} -H 'Content-Type: application/json' "
         f"-d '{{\"key\": \"{SAMPLE_KEY}\", \"ttl\": \"30d\"}}' '{links}/links'"),
    ]
    if local:
        found.append(("upload an object; the webhook receiver prints the link the object-created function "
                      "delivers for it:", upload_command(base, header)))
    if jwt is not None:  # serve's development secret is given on the line; a secret of the shell's stays there
        secret = f"PRESIGN_JWT_SECRET={shlex.quote(jwt)} " if jwt else ""
        found.append(("the same with a JWT (the policy's principal is dev):",
                      f"curl -s -H \"Authorization: Bearer $({secret}python3 -m shared token --sub dev)\" "
                      f"'{base}/presign?key={SAMPLE_KEY}'"))
    return found


def upload_command(base: str, header: str) -> str:
    """Ask for a PUT URL and stream stdin to it (chunked), in one line."""
    return (f"echo 'Hello, webhook!' | curl -sT - \"$(curl -s -H {header} "
            f"'{base}/presign?key={UPLOAD_KEY}&method=PUT' | {URL_OF_JSON})\"")
