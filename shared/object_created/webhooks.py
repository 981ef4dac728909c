"""Signed webhook deliveries: one JSON body POSTed until the receiver takes it, or time runs out.

Each attempt carries ``X-Presign-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">,v2=<hex
HMAC-SHA256 of "<t>.<idempotency key>.<body>">`` under the rule's secret (signed afresh per attempt, so a
retry is never "too old" for the receiver) and an ``Idempotency-Key`` that stays the same for every
attempt and every retry of the event. ``v2`` covers the key too: a captured delivery replayed with a new
key does not verify. ``v1`` stays for receivers written before ``v2``.

Retried: network errors, timeouts, 5xx and 429 (after ``Retry-After``, seconds or an HTTP date,
capped); not retried: any other status below 200 or from 300 (redirects are not followed: they could
carry the signed body elsewhere). Between attempts the wait is exponential backoff with full jitter
(a random time in ``[0, min(max_delay, base_delay * 2**n))``). Every attempt ends before the
deadline: no wait or attempt starts that the deadline could not hold.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from shared.audit import url_digest

if TYPE_CHECKING:
    import requests

SIGNATURE_HEADER = "X-Presign-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_ATTEMPTS = 4  # the first attempt and three retries
DEFAULT_ATTEMPT_TIMEOUT = 5.0  # seconds to connect, and again to read the answer
DEFAULT_BUDGET = 25.0  # seconds for every attempt and wait of one delivery, unless a deadline is given
DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 8.0  # the longest wait between attempts, Retry-After included
MIN_ATTEMPT_TIME = 0.1  # an attempt needs at least this much of the budget left to be worth starting
SIGNATURE_TOLERANCE = 300


@dataclass(frozen=True)
class Webhook:
    """Where deliveries go, extra headers, and the secret that signs them; its repr shows no secret or URL."""

    url: str
    secret: bytes = field(repr=False)
    headers: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        # A webhook URL may itself be a credential (chat services put one in the path).
        return f"Webhook(url_sha256={url_digest(self.url)[:16]}, headers={[name for name, _ in self.headers]})"


def get_signature(secret: bytes, body: bytes, timestamp: int) -> str:
    """``v1``: hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under the secret."""
    return hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def get_signature_v2(secret: bytes, body: bytes, timestamp: int, idempotency_key: str) -> str:
    """``v2``: hex HMAC-SHA256 of ``"<timestamp>.<idempotency key>.<body>"`` under the secret."""
    if not is_idempotency_key(idempotency_key):
        raise ValueError("an idempotency key is ASCII letters and digits")
    signed = f"{timestamp}.{idempotency_key}.".encode("ascii") + body
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()


def is_idempotency_key(value: str) -> bool:
    """True for a key ``v2`` can cover: ASCII letters and digits only (ours are SHA-256 hex).

    Without a dot in the key, no ``v1`` string ``"<t>.<body>"`` reads as a ``v2`` one for another key.
    """
    return bool(value) and value.isascii() and value.isalnum()


def signature_header(secret: bytes, body: bytes, timestamp: int, idempotency_key: str | None = None) -> str:
    """The ``X-Presign-Signature`` value: ``t=<timestamp>,v1=<signature>``, and ``,v2=<signature>`` for a key."""
    header = f"t={timestamp},v1={get_signature(secret, body, timestamp)}"
    if idempotency_key is None:
        return header
    return f"{header},v2={get_signature_v2(secret, body, timestamp, idempotency_key)}"


def verify_signature(secret: bytes, body: bytes, header: str, *, now: float, tolerance: int = SIGNATURE_TOLERANCE,
                     idempotency_key: str | None = None) -> bool:
    """True when ``t`` is within ``tolerance`` s of now and a ``v1`` in the header signs the body, or, given the
    delivery's ``Idempotency-Key``, a ``v2`` signs the key and the body (``v1`` is then not enough)."""
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for name, _, value in fields if name == "t"]
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()) or abs(now - int(stamps[0])) > tolerance:
        return False
    if idempotency_key is None:
        version, expected = "v1", get_signature(secret, body, int(stamps[0]))
    elif is_idempotency_key(idempotency_key):
        version, expected = "v2", get_signature_v2(secret, body, int(stamps[0]), idempotency_key)
    else:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII text, and a header may carry any byte.
    return any(hmac.compare_digest(expected.encode("ascii"), value.encode("utf-8", "surrogateescape"))
               for name, _, value in fields if name == version)


def backoff_delay(retry: int, *, base: float, cap: float, draw: float) -> float:
    """Full jitter: ``draw`` (0..1) times ``min(cap, base * 2**retry)``."""
    return draw * min(cap, base * 2.0 ** retry)


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), or None if unusable."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, float(when.timestamp()) - now)


@dataclass(frozen=True)
class Attempt:
    """What one attempt got: a status or a network failure, and whether another attempt may help."""

    note: str  # "HTTP 500", "timeout", "network error (ConnectionError)", "out of time"
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery: delivered or not, and a note per attempt (no URL, no secret)."""

    delivered: bool
    history: tuple[str, ...]
    status: int | None = None

    @property
    def attempts(self) -> int:
        """How many requests were sent."""
        return sum(1 for note in self.history if note != "out of time")


class WebhookSender:
    """POSTs signed bodies with bounded attempts, per-attempt timeouts and a deadline."""

    def __init__(self, *, session: requests.Session | None = None, attempts: int = DEFAULT_ATTEMPTS,
                 attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT, budget: float = DEFAULT_BUDGET,
                 base_delay: float = DEFAULT_BASE_DELAY, max_delay: float = DEFAULT_MAX_DELAY,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, draw: Callable[[], float] = random.random) -> None:
        if attempts < 1 or attempt_timeout <= 0 or budget <= 0:
            raise ValueError("attempts, attempt_timeout and budget must be positive")
        self.attempts, self.attempt_timeout, self.budget = attempts, attempt_timeout, budget
        self.base_delay, self.max_delay = base_delay, max_delay
        self.sleep, self.monotonic, self.wall_clock, self.draw = sleep, monotonic, wall_clock, draw
        self._session = session
        self._session_lock = threading.Lock()

    def deliver(self, webhook: Webhook, body: bytes, idempotency_key: str, *,
                deadline: float | None = None) -> Delivery:
        """Send until a 2xx, a permanent refusal, the last attempt or the deadline (monotonic seconds)."""
        deadline = self.monotonic() + self.budget if deadline is None else deadline
        history: list[str] = []
        for attempt in range(self.attempts):
            remaining = deadline - self.monotonic()
            if remaining < MIN_ATTEMPT_TIME:
                return Delivery(False, (*history, "out of time"))
            result = self._attempt(webhook, body, idempotency_key, timeout=min(self.attempt_timeout, remaining))
            history.append(result.note)
            if result.delivered:
                return Delivery(True, tuple(history), result.status)
            if not result.retryable or attempt == self.attempts - 1:
                return Delivery(False, tuple(history), result.status)
            delay = self._delay(attempt, result)
            if self.monotonic() + delay + MIN_ATTEMPT_TIME > deadline:
                return Delivery(False, (*history, "out of time"), result.status)
            self.sleep(delay)
        raise AssertionError("unreachable: the last attempt always returns")

    def _delay(self, retry: int, result: Attempt) -> float:
        if result.retry_after is not None:
            return min(result.retry_after, self.max_delay)
        return backoff_delay(retry, base=self.base_delay, cap=self.max_delay, draw=self.draw())

    def _attempt(self, webhook: Webhook, body: bytes, idempotency_key: str, *, timeout: float) -> Attempt:
        import requests

        headers = {**dict(webhook.headers), "Content-Type": "application/json", IDEMPOTENCY_HEADER: idempotency_key,
                   SIGNATURE_HEADER: signature_header(webhook.secret, body, int(self.wall_clock()), idempotency_key)}
        try:
            response = self._http().post(webhook.url, data=body, headers=headers,
                                         timeout=timeout, allow_redirects=False, stream=True)
        except requests.Timeout:
            return Attempt("timeout", retryable=True)
        except Exception as exc:  # requests' family and below: connection refused, reset, TLS, DNS
            return Attempt(f"network error ({type(exc).__name__})", retryable=True)
        with response:  # the body is never read: the status says it all
            status = response.status_code
            retry_after = response.headers.get("Retry-After") if status in (429, 503) else None
        return Attempt(f"HTTP {status}", status, retryable=status == 429 or status >= 500,
                       retry_after=retry_after_seconds(retry_after, now=self.wall_clock()) if retry_after else None)

    def _http(self) -> requests.Session:
        with self._session_lock:  # deliveries run in several threads: make one pooled session, once
            if self._session is None:
                import requests

                self._session = requests.Session()
            return self._session
