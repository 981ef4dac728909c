"""A real webhook receiver for the object-created tests: threaded, on 127.0.0.1, started by a fixture.

It is the README's receiver (``webhook_receiver.Receiver``: signature and age checked) with two test
additions: every request is counted, and answers can be scripted per request (a status, headers, a
delay) before the README's code sees it. Verified events are recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

import pytest
from http_servers import serving
from webhook_receiver import Receiver

SECRET = "webhook-secret-for-tests-0123"


@dataclass(frozen=True)
class Answer:
    """A scripted answer: its status and headers, after an optional delay (seconds)."""

    status: int | None = None  # None: let the README's receiver verify and accept
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Request:
    """What one request carried: path, headers (lower-cased names) and body."""

    path: str
    headers: dict[str, str]
    body: bytes


class WebhookStub:
    """The running receiver: its URL, the scripted answers, every request and every accepted event."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.requests: list[Request] = []
        self.accepted: list[tuple[dict, str]] = []
        self.in_flight = self.most_in_flight = 0
        self._script: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _handler_for(self))

    def url(self, path: str = "/hook") -> str:
        """The URL of a path on this receiver."""
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``path`` so, in order; then verify and accept as usual."""
        with self._lock:
            self._script.setdefault(path, []).extend(answers)

    def next_answer(self, path: str) -> Answer:
        """The scripted answer for this request, or the README receiver's."""
        with self._lock:
            queue = self._script.get(path)
            return queue.pop(0) if queue else Answer()

    def arrived(self, change: int) -> None:
        """Count requests being answered right now, and the most at once."""
        with self._lock:
            self.in_flight += change
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def record(self, request: Request) -> None:
        """Keep one request."""
        with self._lock:
            self.requests.append(request)

    def accept(self, event: dict, idempotency_key: str) -> None:
        """Keep one verified event."""
        with self._lock:
            self.accepted.append((event, idempotency_key))

    def events(self) -> list[dict]:
        """The verified events, in arrival order."""
        return [event for event, _ in self.accepted]


def _handler_for(stub: WebhookStub) -> type[Receiver]:
    class Scripted(Receiver):
        secret = stub.secret.encode()

        def do_POST(self) -> None:
            self._counted = True
            stub.arrived(+1)
            try:
                self._answer()
            finally:
                self._leave()

        def send_response(self, code: int, message: str | None = None) -> None:
            # A request stops counting as in flight once its answer starts: the client may send its
            # next request as soon as it has read this one, before this thread would get to count down.
            self._leave()
            super().send_response(code, message)

        def _leave(self) -> None:
            if self._counted:
                self._counted = False
                stub.arrived(-1)

        def _answer(self) -> None:
            answer = stub.next_answer(self.path)
            if answer.delay:
                time.sleep(answer.delay)
            if answer.status is None:
                self.rfile = _Tee(self.rfile, lambda body: stub.record(self._request(body)))
                return super().do_POST()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            stub.record(self._request(body))
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _request(self, body: bytes) -> Request:
            return Request(self.path, {name.lower(): value for name, value in self.headers.items()}, body)

        def accept(self, event: dict, idempotency_key: str) -> int:
            stub.accept(event, idempotency_key)
            return 204

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Scripted


class _Tee:
    """Hands the body to the README's receiver and to the recorder."""

    def __init__(self, stream: object, record: Callable[[bytes], None]) -> None:
        self.stream, self.record = stream, record

    def read(self, size: int) -> bytes:
        body = self.stream.read(size)  # type: ignore[attr-defined]
        self.record(body)
        return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (a timeout test) is not an error here


@pytest.fixture
def webhook() -> Iterator[WebhookStub]:
    """Start the receiver on a free port; stop it (bounded) after the test."""
    stub = WebhookStub()
    with serving(stub.server):
        yield stub


def body_of(request: Request) -> dict:
    """A recorded request's JSON body."""
    return json.loads(request.body)
