"""What a caller asks of ``POST /links``: which object, how long the link lives, how each download is served.

Fields: ``key``, ``bucket`` (default ``OSS_BUCKET``), ``ttl`` (whole seconds, or a number and a unit:
``"30d"``, ``"12h"``, ``"90m"``, ``"45s"``), ``filename``, ``disposition`` and ``url_expires`` (each
minted URL's lifetime, default 300 s). The object's fields are checked by PresignRequest exactly as for
a GET on ``/presign``, so a link takes the keys and filenames a presigned URL takes.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared import fields
from shared.auth.policy import MAX_LINK_TTL as MAX_TTL
from shared.errors import InvalidArgument
from shared.oss.expiry import MAX_V4_LIFETIME as MAX_URL_EXPIRES
from shared.presign.request import PresignRequest

LINK_FIELDS = ("key", "bucket", "ttl", "filename", "disposition", "url_expires")
_TARGET_FIELDS = ("key", "bucket", "filename", "disposition")
DEFAULT_URL_EXPIRES = 300
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
_TTL_FORMS = "whole seconds, or a number with d, h, m or s such as 30d"
_TTL_HINT = f"ttl must be 1 second to 365 days: {_TTL_FORMS}"


class LinkRequest:
    """One checked request for a link: the GET it stands for, the link's lifetime and each URL's."""

    __slots__ = ("target", "ttl", "url_expires")

    def __init__(self, target: PresignRequest, ttl: int, url_expires: int) -> None:
        self.target = target
        self.ttl = ttl
        self.url_expires = url_expires

    def __repr__(self) -> str:
        return f"LinkRequest({self.target.bucket}/{self.target.key}, ttl={self.ttl})"

    @classmethod
    def parse(cls, given: Mapping[str, object], *, default_bucket: str | None) -> LinkRequest:
        """Check every field of a JSON object; unknown fields are errors."""
        for name in given:
            if name not in LINK_FIELDS:
                raise InvalidArgument(str(name)[:64], f"unknown field {str(name)[:64]!r}")
        target = PresignRequest.parse({name: given[name] for name in _TARGET_FIELDS if name in given},
                                      default_bucket=default_bucket, default_expires=DEFAULT_URL_EXPIRES)
        if "ttl" not in given:
            raise InvalidArgument("ttl", f"ttl is required: {_TTL_FORMS}")
        url_expires = (fields.whole_number(given["url_expires"], "url_expires", low=1, high=MAX_URL_EXPIRES)
                       if "url_expires" in given else DEFAULT_URL_EXPIRES)
        return cls(target, parse_ttl(given["ttl"]), url_expires)


def parse_ttl(value: object) -> int:
    """Seconds from a whole number or from ``"<n>d"``, ``"<n>h"``, ``"<n>m"``, ``"<n>s"``; 1 s to 365 days."""
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and value.isascii() and 1 <= len(value) <= 12:
        number, unit = (value[:-1], _UNITS.get(value[-1].lower())) if value[-1].isalpha() else (value, 1)
        if unit is not None and number.isdigit():
            seconds = int(number) * unit
    if seconds is None:
        raise InvalidArgument("ttl", _TTL_HINT)
    if not 1 <= seconds <= MAX_TTL:
        raise InvalidArgument("ttl", f"{_TTL_HINT}; got {value!r}")
    return seconds
