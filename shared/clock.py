"""The clock and the one text form of a moment: ``2025-03-04T05:06:07Z`` (ISO 8601, UTC, "Z").

Code that needs the time takes a ``clock`` argument whose default is ``utc_now``; nothing below the
edges reads the clock itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time as an aware UTC datetime: the default clock."""
    return datetime.now(timezone.utc)


def iso8601(moment: datetime) -> str:
    """Format an aware datetime as ``2025-03-04T05:06:07Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso8601(text: str, *, naive_is_utc: bool = False, utc_only: bool = False) -> datetime:
    """Read an ISO 8601 time with its zone (``Z`` or an offset) as an aware UTC datetime.

    Raises ValueError for anything else: a time without a zone too, unless ``naive_is_utc``, and one
    with an offset other than zero when ``utc_only``.
    """
    try:  # Python 3.10's fromisoformat does not read "Z"
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
    except (ValueError, TypeError):
        raise ValueError(f"must be an ISO 8601 UTC time such as 2026-11-21T00:00:00Z, got {str(text)[:40]!r}") from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"must give its time zone, as in 2026-11-21T00:00:00Z, got {text[:40]!r}")
        moment = moment.replace(tzinfo=timezone.utc)
    if utc_only and moment.utcoffset():
        raise ValueError(f"must be in UTC, as in 2026-11-21T00:00:00Z, got {text[:40]!r}")
    return moment.astimezone(timezone.utc)
