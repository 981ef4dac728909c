"""``python -m shared keygen KIND``: a fresh secret for the deployment's configuration (``secrets``, 256 bits).

    api-key         the key to hand to a caller, then its PRESIGN_API_KEYS entry (principal:sha256)
    link-key        a LINK_SIGNING_KEYS entry, kid:secret
    jwt-secret      a PRESIGN_JWT_SECRET secret
    webhook-secret  a webhook secret for ON_CREATED_RULES

Printing the secret is the command's purpose: send stdout to a file, not to a log.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable
from typing import IO

from shared.auth.authenticator import Authenticator, hash_api_key
from shared.devtools.usage import UsageError
from shared.errors import ConfigError

KINDS = ("api-key", "link-key", "jwt-secret", "webhook-secret")
DEFAULT_PRINCIPAL = "default"
SECRET_BYTES = 32


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``keygen`` command's arguments."""
    parser.add_argument("kind", metavar="KIND", choices=KINDS, help=", ".join(KINDS))
    parser.add_argument("--principal", help=f"api-key: the principal the key proves (default {DEFAULT_PRINCIPAL})")
    parser.add_argument("--kid", help="link-key: the key id, 1..16 of A-Za-z0-9-_ (default a random one)")


def run(args: argparse.Namespace, *, stdout: IO[str], **_: object) -> int:
    """Print the secret (and for an API key its PRESIGN_API_KEYS entry on a second line)."""
    if args.principal is not None and args.kind != "api-key":
        raise UsageError("--principal applies to api-key only")
    if args.kid is not None and args.kind != "link-key":
        raise UsageError("--kid applies to link-key only")
    stdout.write("".join(line + "\n" for line in LINES[args.kind](args)))
    return 0


def api_key(args: argparse.Namespace) -> list[str]:
    """A key and its entry; the principal is checked as PRESIGN_API_KEYS will check it."""
    principal = DEFAULT_PRINCIPAL if args.principal is None else args.principal
    if principal != principal.strip():
        raise UsageError(f"--principal {principal!r} cannot name a principal: no spaces around the name")
    key = secrets.token_urlsafe(SECRET_BYTES)
    entry = f"{principal}:{hash_api_key(key)}"
    try:
        Authenticator.from_settings(api_keys=entry, jwt_secrets=None, jwt_issuer=None, jwt_audience=None,
                                    trust_gateway=False, gateway_header=None)
    except ConfigError as exc:  # a comma splits the entry in two, the first without a hash
        raise UsageError(f"--principal {principal!r} cannot name a principal ({exc.message})") from None
    return [key, entry]


def link_key(args: argparse.Namespace) -> list[str]:
    """A ``kid:secret`` entry that LINK_SIGNING_KEYS accepts."""
    from shared.links.tokens import LinkSigner

    entry = f"{secrets.token_hex(4) if args.kid is None else args.kid}:{secrets.token_urlsafe(SECRET_BYTES)}"
    try:
        LinkSigner.from_setting(entry)
    except ConfigError as exc:
        raise UsageError(f"--kid {args.kid!r}: {exc.message}") from None
    return [entry]


LINES: dict[str, Callable[[argparse.Namespace], list[str]]] = {"api-key": api_key, "link-key": link_key,
         "jwt-secret": lambda args: [secrets.token_urlsafe(48)],
         "webhook-secret": lambda args: [secrets.token_urlsafe(SECRET_BYTES)]}
