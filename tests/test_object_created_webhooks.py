"""shared/object_created/webhooks.py: the signature (known answers, the README's receiver), retry timing, and deliveries
to a real receiver on 127.0.0.1 that fails, throttles, refuses or stalls as scripted. No test sleeps: the
sender's sleep is a recorder."""

from __future__ import annotations

import hashlib
import json
import time
from email.utils import formatdate
from pathlib import Path

import pytest
import requests
from stubs_webhook import SECRET, Answer, WebhookStub

from shared.object_created.webhooks import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    Webhook,
    WebhookSender,
    backoff_delay,
    get_signature,
    retry_after_seconds,
    signature_header,
    verify_signature,
)

SIGNATURES = json.loads((Path(__file__).parent / "data" / "webhook_signatures.json").read_text("utf-8"))
VECTORS, V2_VECTORS = SIGNATURES["vectors"], SIGNATURES["v2_vectors"]
BODY = b'{"event_id":"e1","key":"reports/q1.pdf"}'
KEY = hashlib.sha256(b"an event").hexdigest()


class Sleeps:
    """Records the sender's waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def sender(sleeps: Sleeps, **options: object) -> WebhookSender:
    defaults: dict[str, object] = {"attempts": 4, "attempt_timeout": 2.0, "budget": 10.0, "sleep": sleeps,
                                   "draw": lambda: 1.0}
    return WebhookSender(**{**defaults, **options})  # type: ignore[arg-type]


def hook(stub: WebhookStub, path: str = "/hook", **headers: str) -> Webhook:
    return Webhook(stub.url(path), SECRET.encode(), tuple(headers.items()))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_signature_known_answers(vector: dict) -> None:
    secret, body = vector["secret"].encode(), vector["body"].encode("utf-8")
    assert signature_header(secret, body, vector["timestamp"]) == vector["header"]
    assert verify_signature(secret, body, vector["header"], now=vector["timestamp"] + 300)
    assert not verify_signature(secret, body, vector["header"], now=vector["timestamp"] + 301)
    assert not verify_signature(secret, body + b" ", vector["header"], now=vector["timestamp"])
    assert not verify_signature(b"another-secret-0123456", body, vector["header"], now=vector["timestamp"])


@pytest.mark.parametrize("vector", V2_VECTORS, ids=[v["id"] for v in V2_VECTORS])
def test_v2_known_answers(vector: dict) -> None:
    secret, body, key, stamp = vector["secret"].encode(), vector["body"].encode(), vector["idempotency_key"], \
        vector["timestamp"]
    assert signature_header(secret, body, stamp, key) == vector["header"]
    assert verify_signature(secret, body, vector["header"], now=stamp, idempotency_key=key)
    assert verify_signature(secret, body, vector["header"], now=stamp)  # v1, for receivers written before v2
    assert not verify_signature(secret, body, vector["header"], now=stamp, idempotency_key="0" + key[1:])
    assert not verify_signature(secret, body, vector["header"], now=stamp + 301, idempotency_key=key)
    v1_only = vector["header"].rsplit(",v2=", 1)[0]
    assert not verify_signature(secret, body, v1_only, now=stamp, idempotency_key=key)


def test_a_v1_signature_cannot_pass_as_v2_for_a_key_cut_from_the_body() -> None:
    """``"<t>.<body>"`` split at a dot of the body reads as ``"<t>.<key>.<rest>"``: such a key is refused."""
    stamp, secret = 1000, SECRET.encode()
    v1 = get_signature(secret, BODY, stamp)
    cut, rest = BODY.split(b".", 1)
    assert not verify_signature(secret, rest, f"t={stamp},v2={v1}", now=stamp, idempotency_key=cut.decode())
    for key in ("", "a.b", "ключ", "key with spaces"):
        assert not verify_signature(secret, BODY, signature_header(secret, BODY, stamp), now=stamp,
                                    idempotency_key=key)
        with pytest.raises(ValueError):
            signature_header(secret, BODY, stamp, key)


def test_a_delivery_replayed_with_a_new_key_fails_v2(webhook: WebhookStub) -> None:
    """A captured delivery, sent again within 5 minutes under another Idempotency-Key, fails ``v2`` (and so the
    README's receiver); under its own key it verifies, and the receiver drops it as a repeat."""
    assert sender(Sleeps()).deliver(hook(webhook), BODY, KEY).delivered
    (captured,) = webhook.requests
    header = captured.headers["x-presign-signature"]
    assert [part.split("=", 1)[0] for part in header.split(",")] == ["t", "v1", "v2"]
    now = time.time()
    assert verify_signature(SECRET.encode(), captured.body, header, now=now, idempotency_key=KEY)
    new_key = hashlib.sha256(b"another event").hexdigest()
    assert not verify_signature(SECRET.encode(), captured.body, header, now=now, idempotency_key=new_key)
    assert verify_signature(SECRET.encode(), captured.body, header, now=now)  # v1 alone cannot tell
    replay = {SIGNATURE_HEADER: header, "Content-Type": "application/json"}
    for key, status in ((new_key, 401), (KEY, 204)):
        answer = requests.post(webhook.url(), data=captured.body, headers={**replay, IDEMPOTENCY_HEADER: key},
                               timeout=5)
        assert answer.status_code == status
    assert [key for _, key in webhook.accepted] == [KEY, KEY]


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1,t=1,v1=00", "t=1763621143", "garbage",
                                    "t=1763621143,v1=\u00e9\udcff", "t=\u0661\u0662,v1=00"])
def test_verify_refuses_malformed_headers(header: str) -> None:
    assert not verify_signature(SECRET.encode(), BODY, header, now=1763621143)


def test_verify_accepts_any_of_several_v1() -> None:
    good = get_signature(SECRET.encode(), BODY, 1000)
    assert verify_signature(SECRET.encode(), BODY, f"t=1000,v1={'0' * 64},v1={good}", now=1000)


@pytest.mark.parametrize(("age", "status"), [(0, 204), (299, 204), (-299, 204), (301, 401), (-301, 401)])
def test_readme_receiver_rejects_old_or_forged(webhook: WebhookStub, age: int, status: int) -> None:
    stamp = int(time.time()) - age
    headers = {SIGNATURE_HEADER: signature_header(SECRET.encode(), BODY, stamp, KEY), IDEMPOTENCY_HEADER: KEY,
               "Content-Type": "application/json"}
    assert requests.post(webhook.url(), data=BODY, headers=headers, timeout=5).status_code == status
    forged = {**headers, SIGNATURE_HEADER: signature_header(b"not-the-secret-0123", BODY, stamp, KEY)}
    assert requests.post(webhook.url(), data=BODY, headers=forged, timeout=5).status_code == 401
    assert len(webhook.accepted) == (1 if status == 204 else 0)
    odd = {**headers, SIGNATURE_HEADER: "t=\u00b2,v1=00"}  # a digit to isdigit() that int() refuses
    assert requests.post(webhook.url(), data=BODY, headers=odd, timeout=5).status_code == 401


def test_backoff_is_full_jitter_capped() -> None:
    assert [backoff_delay(n, base=0.5, cap=8.0, draw=1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff_delay(3, base=0.5, cap=8.0, draw=0.25) == 1.0
    assert backoff_delay(3, base=0.5, cap=8.0, draw=0.0) == 0.0


def test_retry_after_forms() -> None:
    now = 1_763_621_143.0
    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds(formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert retry_after_seconds(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds("-5", now=now) is None


def test_delivered_once_signed_with_idempotency_key(webhook: WebhookStub) -> None:
    sleeps = Sleeps()
    delivery = sender(sleeps).deliver(hook(webhook, Authorization="Bearer abc"), BODY, KEY)
    assert delivery.delivered and delivery.attempts == 1 and delivery.status == 204 and sleeps.waits == []
    (request,) = webhook.requests
    assert request.headers["idempotency-key"] == KEY and request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer abc" and request.body == BODY
    assert webhook.accepted == [(json.loads(BODY), KEY)]


def test_500_then_success(webhook: WebhookStub) -> None:
    webhook.script("/hook", Answer(500), Answer(502))
    sleeps = Sleeps()
    delivery = sender(sleeps).deliver(hook(webhook), BODY, KEY)
    assert delivery.delivered and delivery.history == ("HTTP 500", "HTTP 502", "HTTP 204")
    assert sleeps.waits == [0.5, 1.0]  # full jitter drawn at its top
    keys = {request.headers["idempotency-key"] for request in webhook.requests}
    assert keys == {KEY} and len(webhook.accepted) == 1


def test_429_honours_retry_after_seconds_and_dates(webhook: WebhookStub) -> None:
    later = formatdate(time.time() + 3, usegmt=True)
    webhook.script("/hook", Answer(429, {"Retry-After": "2"}), Answer(503, {"Retry-After": later}),
                   Answer(429, {"Retry-After": "3600"}))
    sleeps = Sleeps()
    delivery = sender(sleeps, budget=30.0).deliver(hook(webhook), BODY, KEY)
    assert delivery.delivered and delivery.attempts == 4
    assert sleeps.waits[0] == 2.0 and 1.0 <= sleeps.waits[1] <= 3.0 and sleeps.waits[2] == 8.0  # capped


def test_permanent_400_is_not_retried(webhook: WebhookStub) -> None:
    webhook.script("/hook", Answer(400))
    sleeps = Sleeps()
    delivery = sender(sleeps).deliver(hook(webhook), BODY, KEY)
    assert not delivery.delivered and delivery.history == ("HTTP 400",) and delivery.status == 400
    assert len(webhook.requests) == 1 and sleeps.waits == []


@pytest.mark.parametrize("status", [301, 404, 410, 422])
def test_other_refusals_are_permanent(webhook: WebhookStub, status: int) -> None:
    webhook.script("/hook", Answer(status, {"Location": webhook.url("/elsewhere")}))
    delivery = sender(Sleeps()).deliver(hook(webhook), BODY, KEY)
    assert not delivery.delivered and delivery.attempts == 1 and len(webhook.requests) == 1


def test_slow_receiver_times_out_then_gets_it(webhook: WebhookStub) -> None:
    webhook.script("/hook", Answer(204, delay=0.6))
    started = time.monotonic()
    delivery = sender(Sleeps(), attempt_timeout=0.2).deliver(hook(webhook), BODY, KEY)
    assert delivery.delivered and delivery.history == ("timeout", "HTTP 204")
    assert time.monotonic() - started < 0.6


def test_network_errors_are_retried_then_fail() -> None:
    sleeps = Sleeps()
    closed = Webhook("http://127.0.0.1:9/hook", SECRET.encode())
    delivery = sender(sleeps, attempts=3).deliver(closed, BODY, KEY)
    assert not delivery.delivered and delivery.attempts == 3 and delivery.status is None
    assert all(note.startswith("network error (") for note in delivery.history) and len(sleeps.waits) == 2


def test_the_deadline_bounds_attempts_and_waits(webhook: WebhookStub) -> None:
    webhook.script("/hook", *[Answer(500)] * 5)
    now = [100.0]
    sleeps = Sleeps()

    def advance(seconds: float) -> None:
        sleeps(seconds)
        now[0] += seconds

    delivery = sender(sleeps, attempts=10, sleep=advance, monotonic=lambda: now[0]).deliver(
        hook(webhook), BODY, KEY, deadline=102.0)
    assert not delivery.delivered and delivery.history[-1] == "out of time"
    assert sum(sleeps.waits) <= 2.0 and delivery.attempts == 3  # waits 0.5 and 1.0; 2.0 more would overrun
    assert sender(Sleeps(), monotonic=lambda: 200.0).deliver(hook(webhook), BODY, KEY, deadline=200.05) \
        .history == ("out of time",)


def test_reprs_hide_the_secret_and_the_url() -> None:
    webhook_value = Webhook("https://chat.example.com/hooks/T000/B000/XXXXsecretpath", SECRET.encode(),
                            (("Authorization", "Bearer hidden-token"),))
    text = repr(webhook_value)
    assert SECRET not in text and "secretpath" not in text and "hidden-token" not in text
    assert "Authorization" in text


def test_bad_sender_options() -> None:
    with pytest.raises(ValueError):
        WebhookSender(attempts=0)
    with pytest.raises(ValueError):
        WebhookSender(budget=0)
