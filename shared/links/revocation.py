"""Link revocation without a database: ids and a cut-off time from the environment, and a revocation
object in the bucket that takes effect within a minute, without a redeploy.

    LINK_REVOKED_IDS        link ids, separated by commas or spaces
    LINK_NOT_BEFORE         an ISO 8601 UTC time (2026-11-21T00:00:00Z): links issued before it are revoked
    LINK_REVOCATION_OBJECT  oss://bucket/key (or a key in OSS_BUCKET) holding
                            {"revoked_ids": [...], "not_before": "..."}, both fields optional

The object is read with a header-signed GET and kept for ``CACHE_SECONDS``; a failed read is tried
again after ``RETRY_SECONDS``, not on every click. While it cannot be read (OSS unreachable, no such
object, over 1 MiB, not that JSON), links are refused with a 502 and the log says why (fail closed),
unless ``LINK_REVOCATION_FAIL_OPEN=true``: then they are served and the log line says the object
was skipped. A revoked link is the same opaque 404 as a forged one. Time is an argument throughout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.clock import parse_iso8601
from shared.errors import InvalidLink, PresignError, UpstreamError
from shared.links.tokens import Link, is_link_id

if TYPE_CHECKING:
    from shared.links.settings import LinksSettings
    from shared.oss.client import OssClient

CACHE_SECONDS = 60
RETRY_SECONDS = 5
MAX_OBJECT_BYTES = 1 << 20  # about 50,000 ids
UNAVAILABLE = "this link cannot be checked right now; try again in a minute"
_DOCUMENT_FIELDS = ("revoked_ids", "not_before")


class RevocationList:
    """Revoked link ids and a cut-off (links issued before ``not_before`` are revoked), and where they came from."""

    __slots__ = ("revoked_ids", "not_before", "ids_from", "cutoff_from")

    def __init__(self, revoked_ids: Iterable[str] = (), not_before: datetime | None = None, *,
                 ids_from: str = "LINK_REVOKED_IDS", cutoff_from: str = "LINK_NOT_BEFORE") -> None:
        self.revoked_ids = frozenset(revoked_ids)
        self.not_before = not_before
        self.ids_from = ids_from
        self.cutoff_from = cutoff_from

    def __repr__(self) -> str:
        return f"RevocationList({len(self.revoked_ids)} ids, not_before={self.not_before!r})"

    def reason(self, link: Link) -> str | None:
        """Why this list revokes the link, for the log; None when it does not."""
        if link.link_id in self.revoked_ids:
            return f"revoked: link id listed in {self.ids_from}"
        if self.not_before is not None and link.issued_at < self.not_before:
            return f"revoked: issued before {self.cutoff_from}"
        return None


def parse_revocation_document(body: bytes) -> RevocationList:
    """Read ``{"revoked_ids": [...], "not_before": "..."}`` strictly: a typo must not pass as "nothing revoked"."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError, absurd nesting
        raise ValueError("is not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise ValueError('is not a JSON object {"revoked_ids": [...], "not_before": "..."}')
    for name in document:
        if name not in _DOCUMENT_FIELDS:
            raise ValueError(f"has an unknown field {str(name)[:40]!r}; it may hold revoked_ids and not_before")
    ids = document.get("revoked_ids", [])
    if not isinstance(ids, list):
        raise ValueError("revoked_ids is not a list")
    for position, link_id in enumerate(ids):
        if not isinstance(link_id, str) or not is_link_id(link_id):
            raise ValueError(f"revoked_ids[{position}] is not a link id (16 base64url characters)")
    not_before = document.get("not_before")
    if not_before is not None and not isinstance(not_before, str):
        raise ValueError("not_before is not a string")
    try:
        cutoff = parse_iso8601(not_before) if not_before else None
    except ValueError as exc:
        raise ValueError(f"not_before {exc}") from None
    return RevocationList(ids, cutoff, ids_from="the revocation object",
                          cutoff_from="the revocation object's not_before")


class RevocationObject:
    """The revocation object, read through ``fetch`` at most once per ``cache_seconds``, one read at a time."""

    def __init__(self, fetch: Callable[[], bytes], *, where: str, cache_seconds: int = CACHE_SECONDS,
                 retry_seconds: int = RETRY_SECONDS) -> None:
        self.fetch = fetch
        self.where = where
        self.cache_seconds = cache_seconds
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._listed: RevocationList | None = None
        self._failure: str | None = None
        self._until: datetime | None = None

    def __repr__(self) -> str:
        return f"RevocationObject({self.where!r})"

    def current(self, *, now: datetime) -> RevocationList:
        """The list as read at most ``cache_seconds`` before ``now``; UpstreamError while it cannot be read."""
        with self._lock:
            if self._until is None or now >= self._until:
                self._refresh(now)
            if self._failure is not None or self._listed is None:
                raise UpstreamError(UNAVAILABLE, detail=self._failure)
            return self._listed

    def _refresh(self, now: datetime) -> None:
        try:
            self._listed, self._failure = parse_revocation_document(self.fetch()), None
            self._until = now + timedelta(seconds=self.cache_seconds)
            return
        except PresignError as exc:  # NotFound (NoSuchKey), UpstreamError, CredentialsError
            failure = f"cannot be read: {exc.message}"
        except ValueError as exc:
            failure = str(exc)
        self._listed, self._failure = None, f"revocation object {self.where} {failure}"
        self._until = now + timedelta(seconds=self.retry_seconds)


class Revocation:
    """Decides whether a genuine, unexpired link has been revoked."""

    def __init__(self, configured: RevocationList, source: RevocationObject | None = None, *,
                 fail_open: bool = False) -> None:
        self.configured = configured
        self.source = source
        self.fail_open = fail_open

    @classmethod
    def from_settings(cls, settings: LinksSettings, oss: OssClient) -> Revocation:
        """Wire the ``LINK_*`` revocation settings to an OSS client."""
        source = None
        if settings.revocation_object is not None:
            bucket, key = settings.revocation_object
            source = RevocationObject(lambda: oss.get_object(bucket, key, max_bytes=MAX_OBJECT_BYTES),
                                      where=f"oss://{bucket}/{key}")
        return cls(RevocationList(settings.revoked_ids, settings.not_before), source, fail_open=settings.fail_open)

    def __repr__(self) -> str:
        return f"Revocation({self.configured!r}, {self.source!r}, fail_open={self.fail_open})"

    def check(self, link: Link, *, now: datetime) -> str | None:
        """Raise InvalidLink if revoked, or UpstreamError if the object cannot be read and we fail closed.

        Returns a note for the log when the object could not be read and the link passes anyway (fail open).
        """
        reason = self.configured.reason(link)
        if reason is None and self.source is not None:
            try:
                reason = self.source.current(now=now).reason(link)
            except UpstreamError as error:
                if not self.fail_open:
                    raise
                return f"{error.detail}; served anyway (LINK_REVOCATION_FAIL_OPEN=true)"
        if reason is not None:
            raise InvalidLink(reason, link_id=link.link_id)
        return None
