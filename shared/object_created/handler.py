"""The object-created trigger: each new object gets its rule's link, delivered to the rule's webhook.

For every record of an OSS event, concurrently (a small bound): a check that its bucket is one this
function serves, the first matching rule, the link, a JSON body signed for the rule's webhook, and its
delivery within the invocation's time budget. A record for another bucket is a failed record: nothing
is signed or sent for it. Every record is tried; the summary has one result per record (its outcome
and, unless delivered, why); then, if any finally failed, ``DeliveryFailed`` names their event ids, so
that Function Compute's asynchronous retry (and in the end its dead-letter destination) takes over.
Delivered idempotency keys are remembered per instance (a bounded LRU): a retry of the event re-sends
only what failed, and a retry that lands on another instance re-sends with the same Idempotency-Key.
Every outcome writes one JSON log line; links and webhook URLs appear only as their SHA-256.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from shared.audit import AuditLog, url_digest
from shared.clock import iso8601
from shared.errors import DeliveryFailed, InvalidArgument, PresignError
from shared.object_created.object_links import LinkMaker, ObjectLink
from shared.object_created.records import ObjectCreated, RecordProblem, parse_event
from shared.object_created.rules import Rule, RuleSet
from shared.object_created.webhooks import WebhookSender

DEFAULT_CONCURRENCY = 4
DEFAULT_BUDGET = 30.0  # seconds for all of an invocation's deliveries: keep it well under the function's timeout
DEFAULT_REMEMBERED = 4096
OUTCOMES = ("delivered", "duplicate", "skipped", "rejected", "failed")


class DeliveredKeys:
    """The idempotency keys this instance delivered, newest kept: a bounded, thread-safe LRU set."""

    def __init__(self, capacity: int = DEFAULT_REMEMBERED) -> None:
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            if not isinstance(key, str) or key not in self._keys:
                return False
            self._keys.move_to_end(key)
            return True

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str) -> None:
        """Remember a key, forgetting the least recently used beyond capacity."""
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self.capacity:
                self._keys.popitem(last=False)


def delivery_body(record: ObjectCreated, link: ObjectLink) -> bytes:
    """The JSON body a webhook receives (UTF-8, compact): the event, the object and its link."""
    return json.dumps({
        "event_id": record.event_id, "event_name": record.event_name, "event_time": record.event_time,
        "bucket": record.bucket, "key": record.key, "size": record.size, "etag": record.etag,
        "link": link.url, "expires_at": iso8601(link.expires_at),
    }, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome (one of OUTCOMES), its event id ("" for a record that could not be read), and why."""

    index: int
    outcome: str
    event_id: str = ""
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        """The record's entry in the summary's ``results``."""
        entry: dict[str, object] = {"record": self.index, "outcome": self.outcome, "event_id": self.event_id}
        if self.reason is not None:
            entry["reason"] = self.reason
        return entry


class ObjectCreatedHandler:
    """Handles one OSS event at a time per call; safe to call from several threads."""

    def __init__(self, rules: RuleSet, *, buckets: frozenset[str], links: LinkMaker, sender: WebhookSender,
                 audit: AuditLog, concurrency: int = DEFAULT_CONCURRENCY, budget: float = DEFAULT_BUDGET,
                 monotonic: Callable[[], float] = time.monotonic, delivered: DeliveredKeys | None = None) -> None:
        if concurrency < 1 or budget <= 0:
            raise ValueError("concurrency and budget must be positive")
        if not buckets:
            raise ValueError("at least one bucket must be served")
        self.rules, self.buckets, self.links, self.sender, self.audit = rules, buckets, links, sender, audit
        self.concurrency, self.budget, self.monotonic = concurrency, budget, monotonic
        self.delivered = delivered if delivered is not None else DeliveredKeys()

    def handle(self, event: object, *, request_id: str = "") -> dict[str, object]:
        """Try every record; return the summary, or raise DeliveryFailed once all were tried."""
        try:
            entries = parse_event(event)
        except InvalidArgument as error:
            self.audit.write("event_rejected", request_id=request_id, reason=error.message)
            raise
        deadline = self.monotonic() + self.budget
        with ThreadPoolExecutor(max_workers=min(self.concurrency, max(len(entries), 1))) as pool:
            # Each task runs in a copy of this context: it carries the invocation's FC credentials.
            futures = [pool.submit(contextvars.copy_context().run, self._entry, index, entry, deadline, request_id)
                       for index, entry in enumerate(entries)]
            results = [future.result() for future in futures]
        summary: dict[str, object] = {"records": len(entries)}
        summary.update((name, sum(1 for result in results if result.outcome == name)) for name in OUTCOMES)
        failed = [result.event_id for result in results if result.outcome == "failed"]
        self.audit.write("event_handled", request_id=request_id, **summary)
        summary["failed_event_ids"] = failed
        summary["results"] = [result.as_json() for result in results]
        if failed:
            raise DeliveryFailed(failed, summary)
        return summary

    def _entry(self, index: int, entry: ObjectCreated | RecordProblem, deadline: float,
               request_id: str) -> RecordResult:
        """One record's result; never raises."""
        if isinstance(entry, RecordProblem):
            outcome = "skipped" if entry.ignored else "rejected"
            self.audit.write(f"record_{outcome}", request_id=request_id, record=entry.index, reason=entry.reason)
            return RecordResult(index, outcome, reason=entry.reason)
        try:
            outcome, reason = self._record(entry, deadline, request_id)
        except Exception as error:  # a bug: log its type only (its text may hold data)
            outcome, reason = "failed", f"internal error ({type(error).__name__})"
            self.audit.write("delivery_failed", request_id=request_id, event_id=entry.event_id, reason=reason)
        return RecordResult(index, outcome, entry.event_id, reason)

    def _record(self, record: ObjectCreated, deadline: float, request_id: str) -> tuple[str, str | None]:
        log: dict[str, object] = {"request_id": request_id, "event_id": record.event_id, "bucket": record.bucket,
                                  "key": record.key}
        if record.bucket not in self.buckets:  # nothing is signed for it: the event did not come from our trigger
            reason = "the bucket is not one this function serves (OSS_BUCKET or ON_CREATED_BUCKETS)"
            self.audit.write("record_refused", **log, reason=reason)
            return "failed", reason
        rule = self.rules.match(record.key)
        if rule is None:
            self.audit.write("record_skipped", **log, reason="no rule matches the key")
            return "skipped", "no rule matches the key"
        log["rule"] = rule.index
        if record.idempotency_key in self.delivered:
            self.audit.write("record_duplicate", **log, reason="already delivered by this instance")
            return "duplicate", "already delivered by this instance"
        try:
            link = self.links.make(rule, bucket=record.bucket, key=record.key)
        except PresignError as error:
            outcome = "rejected" if isinstance(error, InvalidArgument) else "failed"
            event = "record_rejected" if outcome == "rejected" else "delivery_failed"
            self.audit.write(event, **log, reason=error.detail or error.message, code=error.code)
            # The caller sees why a key was refused; any other failure (credentials, say) is told in the log only.
            return outcome, error.message if outcome == "rejected" else f"the link could not be made ({error.code})"
        return self._deliver(record, rule, link, deadline, log)

    def _deliver(self, record: ObjectCreated, rule: Rule, link: ObjectLink, deadline: float,
                 log: dict[str, object]) -> tuple[str, str | None]:
        delivery = self.sender.deliver(rule.webhook, delivery_body(record, link), record.idempotency_key,
                                       deadline=deadline)
        details = {**log, "link": rule.link, "link_sha256": url_digest(link.url), "link_id": link.link_id,
                   "expires_at": iso8601(link.expires_at), "expires_capped_by": link.capped_by,
                   "webhook_sha256": url_digest(rule.webhook.url), "idempotency_key": record.idempotency_key,
                   "attempts": delivery.attempts, "history": list(delivery.history), "status": delivery.status}
        if delivery.delivered:
            self.delivered.add(record.idempotency_key)
            self.audit.write("delivered", **details)
            return "delivered", None
        self.audit.write("delivery_failed", **details, reason=delivery.history[-1])
        return "failed", f"webhook delivery failed: {', '.join(delivery.history)}"
