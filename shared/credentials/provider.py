"""What every credential source shares: the provider protocol, and "not here" versus "failed".

    CredentialsError (shared.errors)   a source failed: it names the source and the cause
    └── SourceNotConfigured            the source is simply not set up here; the chain skips it
"""

from __future__ import annotations

from datetime import datetime

from shared.credentials.value import Credentials
from shared.errors import CredentialsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # the protocol is for the type checker; at run time a plain base class


class CredentialsProvider(Protocol):
    """Anything that hands out credentials: a source, the chain or the cache."""

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Return usable credentials, or raise CredentialsError naming the source and the cause."""
        ...


class SourceNotConfigured(CredentialsError):
    """Raised when a source is not set up in this environment, so the chain moves on to the next."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, reason)
        self.reason = reason


class NoSource:
    """A source that cannot work here, decided once from the environment; it says why on each call."""

    def __init__(self, name: str, reason: str, *, misconfigured: bool = False) -> None:
        self.name = name
        self.reason = reason
        self.misconfigured = misconfigured

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Raise SourceNotConfigured, or CredentialsError when the source is half set up."""
        if self.misconfigured:
            raise CredentialsError(self.name, self.reason)
        raise SourceNotConfigured(self.name, self.reason)

    def __repr__(self) -> str:
        return f"NoSource({self.name!r}, {self.reason!r})"
