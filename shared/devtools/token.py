"""``python -m shared token --sub NAME``: an HS256 JWT to try the API with, signed with PRESIGN_JWT_SECRET.

It signs with the first of PRESIGN_JWT_SECRET's comma-separated secrets and carries ``sub``, ``iat``,
``exp`` (now + ``--ttl``), the optional ``prefix`` claim, and ``iss``/``aud`` when PRESIGN_JWT_ISSUER and
PRESIGN_JWT_AUDIENCE are set, so that a function configured from the same environment accepts it.
Printing the token is the command's purpose; it never prints the secret.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import IO

from shared.auth.authenticator import MAX_NAME_CHARS, MAX_PREFIX_CHARS
from shared.auth.jwt import MIN_SECRET_BYTES, encode_jwt
from shared.devtools.usage import UsageError

DEFAULT_TTL = 3600
MAX_TTL = 86400  # a token for trying the API lives a day at most


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``token`` command's flags."""
    parser.add_argument("--sub", required=True, help="the principal (a name in PRESIGN_POLICY)")
    parser.add_argument("--prefix", help="narrow the principal's policy to keys under this prefix, e.g. users/42/")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL,
                        help=f"seconds until it expires, 1..{MAX_TTL} (default {DEFAULT_TTL})")


def run(args: argparse.Namespace, *, environ: Mapping[str, str], stdout: IO[str], **_: object) -> int:
    """Print one token."""
    if not 0 < len(args.sub) <= MAX_NAME_CHARS or not args.sub.isprintable() or args.sub != args.sub.strip() \
            or args.sub == "*":
        raise UsageError(f"--sub must be a principal name: 1..{MAX_NAME_CHARS} printable characters, not '*'")
    if args.prefix is not None and not 0 < len(args.prefix) <= MAX_PREFIX_CHARS:
        raise UsageError(f"--prefix must be 1..{MAX_PREFIX_CHARS} characters (leave it out for the whole policy)")
    if not 1 <= args.ttl <= MAX_TTL:
        raise UsageError(f"--ttl must be 1..{MAX_TTL} seconds, got {args.ttl}")
    secret = signing_secret(environ)
    now = int(time.time())
    claims: dict[str, object] = {"sub": args.sub, "iat": now, "exp": now + args.ttl}
    if args.prefix is not None:
        claims["prefix"] = args.prefix
    for claim, variable in (("iss", "PRESIGN_JWT_ISSUER"), ("aud", "PRESIGN_JWT_AUDIENCE")):
        value = environ.get(variable, "").strip()
        if value:
            claims[claim] = value
    stdout.write(encode_jwt(claims, secret) + "\n")
    return 0


def signing_secret(environ: Mapping[str, str]) -> str:
    """The first of PRESIGN_JWT_SECRET's secrets; a UsageError when it is missing or any is too short.

    Every secret is checked, as the functions check them: a token from a list they refuse would be no use."""
    text = environ.get("PRESIGN_JWT_SECRET", "").strip()
    if not text:
        raise UsageError("PRESIGN_JWT_SECRET is not set: set it to the functions' secret (python -m shared keygen "
                         "jwt-secret makes one)")
    secrets = [secret.strip() for secret in text.split(",")]
    for position, secret in enumerate(secrets, start=1):
        if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
            raise UsageError(f"PRESIGN_JWT_SECRET secret {position} is shorter than {MIN_SECRET_BYTES} bytes, so the "
                             "functions refuse it too")
    return secrets[0]
