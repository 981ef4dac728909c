"""The credentials value: one immutable snapshot, so one signature uses one consistent set."""

from __future__ import annotations

from datetime import datetime

# Seconds taken off the credentials' expiration: our clock and OSS's may disagree by this much, and a
# URL must not outlive its token by even a second (OSS would refuse it while x-oss-expires says yes).
SAFETY_MARGIN = 60


class Credentials:
    """An access key pair, an optional STS security token and an optional expiration (UTC).

    Immutable; ``repr`` and ``str`` show the access key id and the expiration only, never the
    secret or the token.
    """

    __slots__ = ("access_key_id", "access_key_secret", "security_token", "expiration")

    access_key_id: str
    access_key_secret: str
    security_token: str | None
    expiration: datetime | None

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str | None = None,
        expiration: datetime | None = None,
    ) -> None:
        if not isinstance(access_key_id, str) or not access_key_id:
            raise ValueError("access_key_id must be a non-empty string")
        if not isinstance(access_key_secret, str) or not access_key_secret:
            raise ValueError("access_key_secret must be a non-empty string")
        if security_token is not None and (not isinstance(security_token, str) or not security_token):
            raise ValueError("security_token must be a non-empty string or None")
        if expiration is not None and (not isinstance(expiration, datetime) or expiration.tzinfo is None):
            raise ValueError("expiration must be a timezone-aware datetime or None")
        object.__setattr__(self, "access_key_id", access_key_id)
        object.__setattr__(self, "access_key_secret", access_key_secret)
        object.__setattr__(self, "security_token", security_token)
        object.__setattr__(self, "expiration", expiration)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Credentials are immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (
            self.access_key_id == other.access_key_id
            and self.access_key_secret == other.access_key_secret
            and self.security_token == other.security_token
            and self.expiration == other.expiration
        )

    def __hash__(self) -> int:
        return hash((self.access_key_id, self.expiration))

    def __repr__(self) -> str:
        token = ", security_token=<hidden>" if self.security_token else ""
        expiration = f", expiration={self.expiration.isoformat()}" if self.expiration else ""
        return f"Credentials(access_key_id={self.access_key_id!r}, access_key_secret=<hidden>{token}{expiration})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[type[Credentials], tuple[str, str, str | None, datetime | None]]:
        return (Credentials, (self.access_key_id, self.access_key_secret, self.security_token, self.expiration))
