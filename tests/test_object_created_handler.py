"""shared/object_created/handler.py: records to rules to links to a real webhook receiver on 127.0.0.1, concurrently,
raising after every record was tried when one failed, and re-sending only what failed on a retry."""

from __future__ import annotations

import copy
import io
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from events import load_event
from presign_env import assert_signed_by
from stubs_webhook import SECRET, Answer, WebhookStub

from shared.audit import AuditLog
from shared.credentials import Credentials, ExplicitSource
from shared.credentials.invocation import invocation_first
from shared.errors import CredentialsUnavailable, DeliveryFailed
from shared.links.tokens import LinkSigner
from shared.object_created.handler import DeliveredKeys, ObjectCreatedHandler
from shared.object_created.invoke import serve_oss_event
from shared.object_created.object_links import LinkMaker
from shared.object_created.rules import parse_rules
from shared.object_created.webhooks import WebhookSender
from shared.oss.issuer import Issuer

NOW = datetime(2026, 11, 20, 6, 46, 0, tzinfo=timezone.utc)
KEYS = Credentials("LTAI5tOnCreatedTests", "on-created-secret-0123456789")
LINK_KEYS = "k1:link-signing-secret-for-tests-0123456789"
LINK_BASE = "https://links.example.com"


class Harness:
    """A handler wired to the receiver, with a log to read and waits recorded instead of slept."""

    def __init__(self, stub: WebhookStub, *rules: dict, provider: object = None, delivered: DeliveredKeys | None = None,
                 budget: float = 10.0, **sender: object) -> None:
        self.log = io.StringIO()
        self.waits: list[float] = []
        issuer = Issuer(provider or ExplicitSource(KEYS), region="cn-hangzhou", clock=lambda: NOW)
        links = LinkMaker(issuer, link_signer=LinkSigner.from_setting(LINK_KEYS), link_base_url=LINK_BASE,
                          clock=lambda: NOW)
        options: dict[str, object] = {"attempts": 3, "attempt_timeout": 2.0, "sleep": self.waits.append,
                                      "draw": lambda: 1.0, **sender}
        self.handler = ObjectCreatedHandler(
            parse_rules(json.dumps([_hook(stub, rule) for rule in rules])), buckets=frozenset({"examplebucket"}),
            links=links,
            sender=WebhookSender(**options), audit=AuditLog(lambda: NOW, self.log),  # type: ignore[arg-type]
            budget=budget, delivered=delivered)

    def lines(self, event: str | None = None) -> list[dict]:
        found = [json.loads(line) for line in self.log.getvalue().splitlines()]
        return [line for line in found if event is None or line["event"] == event]


def _hook(stub: WebhookStub, rule: dict) -> dict:
    """The rule with a webhook on the receiver, at its "path" (default /hook)."""
    spec = dict(rule)
    path = spec.pop("path", "/hook")
    return {**spec, "webhook": {"url": stub.url(path), "secret": SECRET}}


def record(key: str, n: int = 0, **changes: object) -> dict:
    """The sample record for another key (a distinct request id and eTag per n)."""
    entry = copy.deepcopy(load_event("oss_object_created")["events"][0])
    entry["oss"]["object"].update(key=key, eTag=f"{n:032X}")
    entry["responseElements"]["requestId"] = f"REQ{n:021d}"
    entry.update(changes)
    return entry


def event(*records: dict) -> dict:
    return {"events": list(records)}


def test_one_record_delivered_with_a_presigned_link(webhook: WebhookStub) -> None:
    harness = Harness(webhook, {"prefix": "incoming/", "link": "presigned", "expires": 600, "filename": "from_key"})
    summary = harness.handler.handle(load_event("oss_object_created"), request_id="req-1")
    assert summary == {"records": 1, "delivered": 1, "duplicate": 0, "skipped": 0, "rejected": 0, "failed": 0,
                       "failed_event_ids": [],
                       "results": [{"record": 0, "outcome": "delivered", "event_id": harness.lines("delivered")[0][
                           "event_id"]}]}
    ((body, idempotency_key),) = webhook.accepted
    assert set(body) == {"event_id", "event_name", "event_time", "bucket", "key", "size", "etag", "link", "expires_at"}
    assert body["key"] == "incoming/invoices/2026-11/INV 0042.pdf" and body["size"] == 122539
    assert body["event_name"] == "ObjectCreated:PutObject" and body["event_time"] == "2026-11-20T06:45:43.000Z"
    assert body["expires_at"] == "2026-11-20T06:56:00Z" and len(idempotency_key) == 64
    query = assert_signed_by(body["link"], KEYS, method="GET")
    assert query["response-content-disposition"] == 'attachment; filename="INV 0042.pdf"'
    (line,) = harness.lines("delivered")
    assert line["event_id"] == body["event_id"] and line["request_id"] == "req-1" and line["attempts"] == 1
    assert body["link"] not in harness.log.getvalue() and SECRET not in harness.log.getvalue()


def test_rules_by_prefix_and_suffix_and_no_match(webhook: WebhookStub) -> None:
    harness = Harness(webhook, {"prefix": "invoices/", "suffix": ".pdf", "link": "presigned", "path": "/pdf"},
                      {"suffix": ".csv", "link": "redirect", "ttl": "7d", "path": "/csv"})
    keys = ["invoices/a.pdf", "exports/b.csv", "invoices/c.csv", "invoices/d.txt", "other/e.pdf"]
    summary = harness.handler.handle(event(*(record(key, n) for n, key in enumerate(keys))))
    assert summary["delivered"] == 3 and summary["skipped"] == 2
    paths = sorted((request.path, json.loads(request.body)["key"]) for request in webhook.requests)
    assert paths == [("/csv", "exports/b.csv"), ("/csv", "invoices/c.csv"), ("/pdf", "invoices/a.pdf")]
    skipped = sorted(line["key"] for line in harness.lines("record_skipped"))
    assert skipped == ["invoices/d.txt", "other/e.pdf"]
    assert {line["reason"] for line in harness.lines("record_skipped")} == {"no rule matches the key"}


def test_redirect_link_is_a_link_token(webhook: WebhookStub) -> None:
    harness = Harness(webhook, {"link": "redirect", "ttl": "30d", "filename": "from_key"})
    harness.handler.handle(event(record("exports/über report.csv")))
    (body,) = webhook.events()
    assert body["link"].startswith(f"{LINK_BASE}/d/") and body["expires_at"] == "2026-12-20T06:46:00Z"
    link = LinkSigner.from_setting(LINK_KEYS).unsign(body["link"].rsplit("/", 1)[1], now=NOW)
    assert (link.bucket, link.key, link.filename, link.disposition) == (
        "examplebucket", "exports/über report.csv", "über report.csv", "attachment")
    assert link.expires_at - link.issued_at == timedelta(days=30)
    assert harness.lines("delivered")[0]["link_id"] == link.link_id


def test_500_then_success(webhook: WebhookStub) -> None:
    webhook.script("/hook", Answer(500))
    harness = Harness(webhook, {"link": "presigned"})
    assert harness.handler.handle(event(record("a.pdf")))["delivered"] == 1
    assert harness.lines("delivered")[0]["history"] == ["HTTP 500", "HTTP 204"] and harness.waits == [0.5]


def test_permanent_400_fails_after_every_record_was_tried(webhook: WebhookStub) -> None:
    webhook.script("/bad", Answer(400))
    harness = Harness(webhook, {"prefix": "bad/", "link": "presigned", "path": "/bad"}, {"link": "presigned"})
    records = [record("good/1", 1), record("bad/2", 2), record("good/3", 3)]
    with pytest.raises(DeliveryFailed) as caught:
        harness.handler.handle(event(*records))
    failed_id = harness.lines("delivery_failed")[0]["event_id"]
    assert caught.value.event_ids == [failed_id] and caught.value.status == 502
    assert str(caught.value) == f"webhook delivery failed for 1 of 3 records: event ids {failed_id}"
    assert caught.value.summary["delivered"] == 2 and len(webhook.accepted) == 2
    assert [request.path for request in webhook.requests].count("/bad") == 1  # no retry on a 400
    assert "/bad" not in str(caught.value) and SECRET not in str(caught.value)


def test_a_record_for_another_bucket_fails_unsigned_and_unsent(webhook: WebhookStub) -> None:
    harness = Harness(webhook, {"link": "presigned"})
    other = record("reports/q1.pdf", 2)
    other["oss"]["bucket"]["name"] = "someone-elses-bucket"
    with pytest.raises(DeliveryFailed) as caught:
        harness.handler.handle(event(record("reports/q1.pdf", 1), other))
    summary = caught.value.summary
    assert (summary["delivered"], summary["failed"]) == (1, 1) and len(webhook.requests) == 1
    refused = summary["results"][1]
    assert refused["outcome"] == "failed" and "not one this function serves" in refused["reason"]
    assert caught.value.event_ids == [refused["event_id"]]
    (line,) = harness.lines("record_refused")
    assert line["bucket"] == "someone-elses-bucket" and line["event_id"] == refused["event_id"]
    assert [line["bucket"] for line in harness.lines("delivered")] == ["examplebucket"]  # the only link signed


def test_every_record_has_a_result_with_its_reason(webhook: WebhookStub) -> None:
    webhook.script("/hook", Answer(400))
    harness = Harness(webhook, {"prefix": "in/", "link": "presigned"})
    with pytest.raises(DeliveryFailed) as caught:
        harness.handler.handle(event(record("in/a", 1), record("out/b", 2), "junk"))
    results = caught.value.summary["results"]
    assert [(entry["record"], entry["outcome"]) for entry in results] == [(0, "failed"), (1, "skipped"),
                                                                          (2, "rejected")]
    assert results[0]["reason"] == "webhook delivery failed: HTTP 400"
    assert results[1]["reason"] == "no rule matches the key" and results[2]["event_id"] == ""


def test_a_retry_resends_only_what_failed(webhook: WebhookStub) -> None:
    webhook.script("/hook", Answer(400))
    harness = Harness(webhook, {"link": "presigned"})
    records = event(record("a", 1), record("b", 2))
    with pytest.raises(DeliveryFailed):
        harness.handler.handle(records)
    first = {json.loads(r.body)["key"]: r.headers["idempotency-key"] for r in webhook.requests}
    summary = harness.handler.handle(records)  # FC's retry of the same event, same instance
    assert summary["delivered"] == 1 and summary["duplicate"] == 1
    assert len(webhook.requests) == 3 and len(webhook.accepted) == 2
    resent = webhook.requests[-1]
    assert resent.headers["idempotency-key"] == first[json.loads(resent.body)["key"]]
    assert len(harness.lines("record_duplicate")) == 1


def test_another_instance_resends_with_the_same_idempotency_key(webhook: WebhookStub) -> None:
    for _ in range(2):
        Harness(webhook, {"link": "presigned"}).handler.handle(event(record("a", 1)))
    first, second = webhook.accepted
    assert first[1] == second[1] and first[0]["event_id"] == second[0]["event_id"]


def test_malformed_records_are_reported_and_skipped(webhook: WebhookStub) -> None:
    broken = record("x", 9)
    del broken["oss"]["object"]["eTag"]
    removed = record("y", 8, eventName="ObjectRemoved:DeleteObject")
    harness = Harness(webhook, {"link": "presigned"})
    summary = harness.handler.handle(event(record("ok", 1), broken, "junk", removed, record("..", 7)))
    assert summary["delivered"] == 1 and summary["rejected"] == 3 and summary["skipped"] == 1
    reasons = [line["reason"] for line in harness.lines("record_rejected")]
    assert any("eTag" in reason for reason in reasons) and any("dot segment" in reason for reason in reasons)


def test_a_hundred_records_in_bounded_time_and_concurrency(webhook: WebhookStub) -> None:
    webhook.script("/hook", *[Answer(delay=0.01)] * 100)
    harness = Harness(webhook, {"link": "presigned"})
    started = time.monotonic()
    summary = harness.handler.handle(event(*(record(f"bulk/{n:03}.csv", n) for n in range(100))))
    assert time.monotonic() - started < 5.0
    assert summary["delivered"] == 100 and len({key for _, key in webhook.accepted}) == 100
    assert 1 < webhook.most_in_flight <= 4


def test_a_stalled_receiver_fails_within_the_budget(webhook: WebhookStub) -> None:
    webhook.script("/hook", *[Answer(204, delay=1.0)] * 6)
    harness = Harness(webhook, {"link": "presigned"}, budget=0.5, attempt_timeout=0.2, attempts=5)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed):
        harness.handler.handle(event(record("a", 1), record("b", 2)))
    assert time.monotonic() - started < 0.9
    assert all(line["history"][-1] == "out of time" for line in harness.lines("delivery_failed"))


def test_credentials_unavailable_is_a_failure_to_retry(webhook: WebhookStub) -> None:
    class NoCredentials:
        def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
            raise CredentialsUnavailable("chain", "no source could provide credentials")

    harness = Harness(webhook, {"link": "presigned"}, provider=NoCredentials())
    with pytest.raises(DeliveryFailed):
        harness.handler.handle(event(record("a", 1)))
    assert harness.lines("delivery_failed")[0]["code"] == "CredentialsUnavailable" and webhook.requests == []


def test_the_invocation_context_signs_in_worker_threads(webhook: WebhookStub) -> None:
    class Context:
        request_id = "fc-req-7"
        credentials = {"accessKeyId": "STS.fromcontext", "accessKeySecret": "ctx-secret", "securityToken": "ctx-tok"}

    provider = invocation_first({"OSS_ACCESS_KEY_ID": KEYS.access_key_id, "OSS_ACCESS_KEY_SECRET":
                               KEYS.access_key_secret, "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"},
                              clock=lambda: NOW)
    harness = Harness(webhook, {"link": "presigned"}, provider=provider)
    serve_oss_event(harness.handler, json.dumps(event(record("a", 1), record("b", 2))).encode(), Context())
    links = [body["link"] for body in webhook.events()]
    assert len(links) == 2 and all("STS.fromcontext" in link and "ctx-tok" in link for link in links)
    assert {line["request_id"] for line in harness.lines("delivered")} == {"fc-req-7"}
    serve_oss_event(harness.handler, event(record("c", 3)), None)
    assert KEYS.access_key_id in webhook.events()[-1]["link"]


def test_delivered_keys_forget_the_least_recently_used() -> None:
    keys = DeliveredKeys(capacity=2)
    keys.add("a")
    keys.add("b")
    assert "a" in keys  # a is now the most recent
    keys.add("c")
    assert "a" in keys and "c" in keys and "b" not in keys and len(keys) == 2
