"""Reading the credentials JSON that the metadata service, a credentials URI and STS all answer with.

The shape is ``{"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}`` (plus ``"Code":
"Success"`` from the metadata service and credentials URIs). Every error names the source and the
field at fault, never a value: a value may be a secret.
"""

from __future__ import annotations

import json
from datetime import datetime

from shared.clock import parse_iso8601
from shared.credentials.value import Credentials
from shared.errors import CredentialsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Any

_FIELDS = ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")
_MAX_UPSTREAM_MESSAGE = 200


def decode_json(source: str, body: bytes, what: str) -> dict[str, Any]:
    """Parse a JSON object answered by ``what``, or raise CredentialsError saying it was malformed."""
    try:
        document = json.loads(body)
    except ValueError:
        raise CredentialsError(source, f"{what} answered malformed JSON ({len(body)} bytes)") from None
    if not isinstance(document, dict):
        raise CredentialsError(source, f"{what} answered JSON that is not an object")
    return document


def parse_expiration(source: str, text: object) -> datetime:
    """Parse an ``Expiration`` such as ``2024-01-01T00:00:00Z`` into an aware UTC datetime."""
    if not isinstance(text, str) or not text:
        raise CredentialsError(source, "the answer has no valid Expiration")
    try:  # the services answer in UTC; a bare timestamp is read as UTC too
        return parse_iso8601(text, naive_is_utc=True)
    except ValueError:
        raise CredentialsError(source, f"the answer's Expiration is not a timestamp: {text[:40]!r}") from None


def credentials_from_document(source: str, document: dict[str, Any], *, now: datetime) -> Credentials:
    """Build unexpired STS credentials from the four fields, or raise CredentialsError naming the gap."""
    missing = [name for name in _FIELDS if not isinstance(document.get(name), str) or not document[name]]
    if missing:
        raise CredentialsError(source, f"the answer lacks {', '.join(missing)}")
    credentials = Credentials(
        document["AccessKeyId"],
        document["AccessKeySecret"],
        document["SecurityToken"],
        parse_expiration(source, document["Expiration"]),
    )
    return ensure_unexpired(source, credentials, now=now)


def require_success_code(source: str, document: dict[str, Any]) -> None:
    """Raise CredentialsError unless ``Code`` is ``Success``, as the metadata service promises."""
    code = document.get("Code")
    if code != "Success":
        shown = code[:40] if isinstance(code, str) else code
        raise CredentialsError(source, f"the answer's Code is {shown!r}, not 'Success'")


def ensure_unexpired(source: str, credentials: Credentials, *, now: datetime) -> Credentials:
    """Return the credentials, or raise CredentialsError if they expired already."""
    if credentials.expiration is not None and credentials.expiration <= now:
        raise CredentialsError(
            source, f"returned credentials that expired at {credentials.expiration.isoformat()}"
        )
    return credentials


def redact(text: str, secrets: tuple[str | None, ...]) -> str:
    """Shorten an upstream message and hide every secret in it, raw or percent-encoded (once or twice)."""
    from urllib.parse import quote  # a failed upstream call's, not the cold start's

    for secret in secrets:
        if not secret:
            continue
        once = quote(secret, safe="-_.~")
        for form in (quote(once, safe="-_.~"), once, secret):
            text = text.replace(form, "<hidden>")
    if len(text) > _MAX_UPSTREAM_MESSAGE:
        text = text[:_MAX_UPSTREAM_MESSAGE] + "..."
    return text
