"""A refresh-ahead, single-flight cache in front of a credentials provider.

- Credentials are refreshed ahead of expiry: 15 minutes before, or a tenth of their lifetime before
  when that is shorter (short-lived credentials, under 150 minutes), so callers rarely wait.
- One refresh at a time: while one caller refreshes, callers holding valid credentials get the cached
  copy at once, and the others wait for that one refresh instead of making their own.
- A failed refresh keeps still-valid credentials (with a warning, and no new attempt for RETRY_AFTER);
  once they are within SAFETY_MARGIN of expiry, callers get CredentialsUnavailable. Callers without
  valid credentials get the same error at once for FAILURE_BACKOFF after a failure.
- ``min_valid_until``: when the cached credentials end (less the margin) before it, and a fresh copy
  would last noticeably longer (they are a tenth of their lifetime old), refresh first; if that brings
  nothing better, return what is valid. Credentials that never expire are kept for good.
"""

from __future__ import annotations

import _thread  # threading's Lock is _thread's; threading itself costs a cold start 1-2.5 ms
from datetime import datetime, timedelta, timezone

from shared.clock import Clock, utc_now
from shared.credentials import log
from shared.credentials.provider import CredentialsProvider
from shared.credentials.value import SAFETY_MARGIN, Credentials
from shared.errors import CredentialsError, CredentialsUnavailable

REFRESH_AHEAD = timedelta(minutes=15)
RETRY_AFTER = timedelta(seconds=30)  # valid credentials are not refreshed again sooner than this
FAILURE_BACKOFF = timedelta(seconds=5)  # after a failure, callers without valid credentials fail at once
UNAVAILABLE = "credentials unavailable"


class _Entry:
    """Cached credentials with the time they were fetched, swapped in as one value."""

    __slots__ = ("credentials", "fetched_at")

    def __init__(self, credentials: Credentials, fetched_at: datetime) -> None:
        self.credentials = credentials
        self.fetched_at = fetched_at


class CredentialsCache:
    """Cache what a provider returns and refresh it ahead of expiry, one refresh at a time."""

    def __init__(self, provider: CredentialsProvider, *, clock: Clock | None = None,
                 margin: timedelta = timedelta(seconds=SAFETY_MARGIN)) -> None:
        self.provider = provider
        self.margin = margin
        self._clock = clock or utc_now
        self._lock = _thread.allocate_lock()
        self._entry: _Entry | None = None
        self._quiet_until: datetime | None = None
        self._last_failure: CredentialsError | None = None
        self._failed_until = datetime.min.replace(tzinfo=timezone.utc)

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Return cached credentials, refreshing first when they are due or too short for the caller."""
        now = self._clock()
        entry = self._entry
        if entry is not None and not self._wants_refresh(entry, now, min_valid_until):
            return entry.credentials
        if entry is not None and self._usable(entry, now) and min_valid_until is None:
            if not self._lock.acquire(blocking=False):
                return entry.credentials  # another caller is refreshing; this copy is still good
        else:
            self._lock.acquire()
        try:
            return self._refresh(min_valid_until)
        finally:
            self._lock.release()

    def _refresh(self, min_valid_until: datetime | None) -> Credentials:
        """With the lock held, refresh unless another caller just did (or just failed to)."""
        now = self._clock()
        entry = self._entry
        if entry is not None and not self._wants_refresh(entry, now, min_valid_until):
            return entry.credentials
        failure = self._last_failure
        if failure is not None and now < self._failed_until:  # fail fast, sparing the upstream
            return self._keep_after_failure(entry, now, failure, warn=False)
        self._quiet_until = now + RETRY_AFTER
        try:
            fetched = _Entry(self.provider.get_credentials(min_valid_until=min_valid_until), self._clock())
            self._check_usable(fetched)
        except CredentialsError as exc:
            self._last_failure, self._failed_until = exc, now + FAILURE_BACKOFF
            return self._keep_after_failure(entry, now, exc, warn=True)
        self._last_failure = None
        if entry is None or _expires_later(fetched, entry):
            self._entry = entry = fetched
        return entry.credentials

    def _check_usable(self, fetched: _Entry) -> None:
        """Raise CredentialsError if the provider returned credentials already inside the safety margin."""
        expiration = fetched.credentials.expiration
        if expiration is not None and not self._usable(fetched, fetched.fetched_at):
            margin = int(self.margin.total_seconds())
            reason = f"returned credentials that expire at {expiration.isoformat()}, within the {margin} s margin"
            raise CredentialsError(_name(self.provider), reason)

    def _keep_after_failure(self, entry: _Entry | None, now: datetime, exc: CredentialsError, *,
                            warn: bool) -> Credentials:
        """Return still-valid cached credentials (with a warning), or raise CredentialsUnavailable."""
        if entry is not None and self._usable(entry, now):
            if warn:
                log.warning("credential refresh failed, keeping the cached credentials until %s: %s",
                               _expiration(entry), exc.message)
            return entry.credentials
        detail = exc.message.removeprefix(f"{UNAVAILABLE}: ")
        if entry is not None:
            detail += f"; the cached credentials expired at {_expiration(entry)}"
        raise CredentialsUnavailable(UNAVAILABLE, detail) from exc

    def _wants_refresh(self, entry: _Entry, now: datetime, min_valid_until: datetime | None) -> bool:
        """Tell whether to call the provider: expired, due for refresh-ahead, or too short for the caller."""
        if not self._usable(entry, now):
            return True
        if self._quiet_until is not None and now < self._quiet_until:
            return False
        expiration = entry.credentials.expiration
        if expiration is None:
            return False
        lifetime = expiration - entry.fetched_at
        if now >= expiration - min(REFRESH_AHEAD, lifetime / 10):
            return True
        # A fresh copy would last about as long as this one did, so it lasts longer by this one's age:
        # worth a call only once that gain is a tenth of the lifetime (no refresh storm on long demands).
        too_short = min_valid_until is not None and expiration - self.margin < min_valid_until
        return too_short and now - entry.fetched_at >= lifetime / 10

    def _usable(self, entry: _Entry, now: datetime) -> bool:
        """Tell whether credentials are still valid beyond the safety margin."""
        expiration = entry.credentials.expiration
        return expiration is None or now < expiration - self.margin

    def __repr__(self) -> str:
        return f"CredentialsCache({self.provider!r})"


def _expires_later(fetched: _Entry, cached: _Entry) -> bool:
    """Tell whether fetched credentials last at least as long as the cached ones (no expiry is forever)."""
    if fetched.credentials.expiration is None:
        return True
    return cached.credentials.expiration is not None \
        and fetched.credentials.expiration >= cached.credentials.expiration


def _expiration(entry: _Entry) -> str:
    """Format when cached credentials expire, for messages."""
    expiration = entry.credentials.expiration
    return expiration.isoformat() if expiration is not None else "never"


def _name(provider: object) -> str:
    """Name a provider for messages: its ``name`` attribute, or its class."""
    return str(getattr(provider, "name", type(provider).__name__))
