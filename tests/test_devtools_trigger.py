"""shared/devtools/trigger.py: the local bucket's stand-in for the OSS trigger. Each stored object's event is
POSTed to the function's /invoke in order, with the bearer token; failures are one log line without the
token; stop() returns at once. A real WSGI server on 127.0.0.1 plays the function."""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from processes import free_port

from shared.devtools.local_oss.events import ObjectStored
from shared.devtools.local_oss.store import StoredObject
from shared.devtools.trigger import FunctionTrigger

WHEN = datetime(2026, 11, 20, 6, 45, 43, 120000, tzinfo=timezone.utc)
TIMEOUT = 10.0


def _stored(key: str) -> ObjectStored:
    obj = StoredObject(key, 5, '"5D41402ABC4B2A76B9719D911017C592"', "text/plain", WHEN)
    return ObjectStored("ObjectCreated:PutObject", "examplebucket", obj, region="cn-hangzhou",
                        request_id="6740A1B2C3D4E5F6A7B8C9D0", source_ip="127.0.0.1", time=WHEN, previous_size=None)


class Function:
    """A WSGI app that records each invocation and answers with the given status."""

    def __init__(self, status: str = "200 OK") -> None:
        self.status = status
        self.invocations: list[tuple[str, str, dict[str, str], dict]] = []
        self.arrived = threading.Condition()

    def __call__(self, environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {name[5:].lower().replace("_", "-"): value for name, value in environ.items()
                   if name.startswith("HTTP_")} | {"content-type": environ.get("CONTENT_TYPE", "")}
        with self.arrived:
            self.invocations.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], headers, json.loads(body)))
            self.arrived.notify_all()
        start_response(self.status, [("Content-Type", "application/json")])
        return [b'{"error": {"code": "UpstreamError", "message": "webhook delivery failed"}}']

    def wait_for(self, count: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.invocations) >= count, timeout=TIMEOUT)


def test_events_reach_invoke_in_order_with_the_bearer_token(wsgi_server: Callable[..., str]) -> None:
    function, token, log = Function(), secrets.token_urlsafe(32), io.StringIO()
    trigger = FunctionTrigger(wsgi_server(function) + "/invoke", token=token, log=log)
    for key in ("a.txt", "b.txt", "c.txt"):
        trigger.object_stored(_stored(key))  # before start: kept until the function is up
    trigger.start()
    try:
        function.wait_for(3)
    finally:
        trigger.stop()
    assert [invocation[:2] for invocation in function.invocations] == [("POST", "/invoke")] * 3
    headers = function.invocations[0][2]
    assert headers["authorization"] == f"Bearer {token}" and headers["content-type"] == "application/json"
    assert headers["x-fc-request-id"]
    keys = [invocation[3]["events"][0]["oss"]["object"]["key"] for invocation in function.invocations]
    assert keys == ["a.txt", "b.txt", "c.txt"] and log.getvalue() == ""


def test_a_failed_invocation_is_one_line_without_the_token(wsgi_server: Callable[..., str]) -> None:
    function, token, log = Function("502 Bad Gateway"), secrets.token_urlsafe(32), io.StringIO()
    trigger = FunctionTrigger(wsgi_server(function) + "/invoke", token=token, log=log)
    trigger.start()
    try:
        trigger.object_stored(_stored("failed.txt"))
        function.wait_for(1)
        deadline = time.monotonic() + TIMEOUT
        while not log.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        trigger.stop()
    line = log.getvalue()
    assert line.count("\n") == 1 and "examplebucket/failed.txt" in line and "502" in line
    assert "webhook delivery failed" in line and token not in line


def test_an_unreachable_function_is_logged_and_stop_is_prompt() -> None:
    log = io.StringIO()
    trigger = FunctionTrigger(f"http://127.0.0.1:{free_port()}/invoke", token="t" * 43, log=log)
    trigger.start()
    trigger.object_stored(_stored("lost.txt"))
    deadline = time.monotonic() + TIMEOUT
    while not log.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    trigger.stop()
    assert time.monotonic() - started < 2.0
    assert "examplebucket/lost.txt" in log.getvalue() and "t" * 43 not in log.getvalue()
