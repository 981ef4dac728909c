"""Effective expiry: how long a presigned URL can really live, and what cut it short.

A V4 URL stops working at the first of: its own ``x-oss-expires``, the 7-day limit of Signature V4,
and the expiration of the STS token it was signed with. Whoever signs asks ``effective_lifetime`` for
``x-oss-expires``, so that the URL never promises more than the credentials can keep.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from shared.credentials.value import SAFETY_MARGIN, Credentials
from shared.errors import CredentialsUnavailable, InvalidArgument

MAX_V4_LIFETIME = 604_800  # 7 days: the longest x-oss-expires OSS accepts (the one home of this limit)


class Lifetime:
    """What goes into x-oss-expires, when the URL dies, and which cap (if any) cut the request short.

    Immutable; a slotted class rather than a dataclass, which would add ~10 ms to a cold start.
    """

    __slots__ = ("expires", "expires_at", "capped_by")

    expires: int
    expires_at: datetime
    capped_by: str | None

    def __init__(self, expires: int, expires_at: datetime, capped_by: str | None = None) -> None:
        object.__setattr__(self, "expires", expires)
        object.__setattr__(self, "expires_at", expires_at)
        object.__setattr__(self, "capped_by", capped_by)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Lifetime is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Lifetime is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Lifetime):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (f"Lifetime(expires={self.expires}, expires_at={self.expires_at.isoformat()}, "
                f"capped_by={self.capped_by!r})")

    def _fields(self) -> tuple[int, datetime, str | None]:
        """Return the three fields, for equality and hashing."""
        return (self.expires, self.expires_at, self.capped_by)


def effective_lifetime(requested: int, *, now: datetime, credentials: Credentials,
                       policy_max: int | None = None, min_expires: int | None = None,
                       margin: int = SAFETY_MARGIN) -> Lifetime:
    """Return min(requested, policy_max, credentials' expiration - margin - now, 7 days) and its cause.

    A request for more than 7 days is cut to 7 days (``capped_by="max_v4_lifetime"``), not refused:
    callers that must refuse it (the CLI, as the signer does) check before calling.
    """
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise InvalidArgument("expires", f"expires must be a whole number of seconds from 1, got {requested!r}")
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    for name, value in (("policy_max", policy_max), ("min_expires", min_expires)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive whole number of seconds, got {value!r}")
    remaining = credentials_remaining(credentials, now=now, margin=margin)
    expires, capped_by = requested, None
    caps = (("policy", policy_max), ("credentials", remaining), ("max_v4_lifetime", MAX_V4_LIFETIME))
    for cause, cap in caps:
        if cap is not None and cap < expires:  # strict, so that in a tie the earlier cause is named
            expires, capped_by = cap, cause
    if expires < 1:  # only the credentials can leave less than a second
        raise CredentialsUnavailable("credentials unavailable", f"the signing credentials expire at "
                                     f"{_expiration(credentials)}, within the {margin} s safety margin: "
                                     "refresh them before signing")
    if min_expires is not None and expires < min_expires:
        why = _why(capped_by, requested, policy_max, credentials, margin)
        raise InvalidArgument("expires", f"a lifetime of at least {min_expires} s was required, "
                                         f"but only {expires} s is possible: {why}")
    return Lifetime(expires, now.astimezone(timezone.utc) + timedelta(seconds=expires), capped_by)


def credentials_remaining(credentials: Credentials, *, now: datetime,
                          margin: int = SAFETY_MARGIN) -> int | None:
    """Return whole seconds until the credentials expire, less the margin; None when they never do."""
    if not isinstance(credentials, Credentials):
        raise TypeError(f"credentials must be Credentials, got {type(credentials).__name__}")
    if credentials.expiration is None:
        return None
    return math.floor((credentials.expiration - now).total_seconds()) - margin


def _why(capped_by: str | None, requested: int, policy_max: int | None, credentials: Credentials,
         margin: int) -> str:
    """Say why the lifetime is what it is, for a caller who demanded more."""
    if capped_by == "policy":
        return f"the policy allows at most {policy_max} s"
    if capped_by == "credentials":
        return f"the signing credentials expire at {_expiration(credentials)} (less a {margin} s margin)"
    return f"{requested} s was requested"


def _expiration(credentials: Credentials) -> str:
    """Format the credentials' expiration for a message."""
    expiration = credentials.expiration
    return expiration.astimezone(timezone.utc).isoformat() if expiration is not None else "never"
