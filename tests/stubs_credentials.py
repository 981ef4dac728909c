"""Test doubles for the credentials tests: a real HTTP server on 127.0.0.1 answering from a function,
a clock the tests move by hand, minted credentials, a scripted provider, and a secret-leak check.

The fake metadata service and STS are in stubs_credential_services.py. The fixtures (``serve``,
``clock``, ``minted``) reach tests through ``pytest_plugins`` in conftest.py; the rest is imported.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from shared.credentials import Credentials

T0 = datetime(2025, 3, 4, 5, 0, 0, tzinfo=timezone.utc)
ROLE = "PresignRole"
ROLE_ARN = "acs:ram::1234567890123456:role/presign"
OIDC_PROVIDER_ARN = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1"


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. ``advance(minutes=50)``."""
        self.now += timedelta(**delta)


def iso(when: datetime) -> str:
    """Format a time as the services do: 2025-03-04T05:00:00Z."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Minted:
    """Unique, recognisable STS credentials for the stubs to hand out; secrets are kept for leak checks."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.counter = itertools.count(1)
        self.secrets: list[str] = []

    def document(self, lifetime: timedelta = timedelta(hours=1), **overrides: object) -> dict:
        """Return a credentials document as the metadata service answers it."""
        n = next(self.counter)
        secret, token = f"SECRETminted{n:04d}xyz", f"TOKENminted{n:04d}CAIS+/="
        self.secrets += [secret, token]
        document = {
            "Code": "Success",
            "AccessKeyId": f"STS.minted{n:04d}",
            "AccessKeySecret": secret,
            "SecurityToken": token,
            "Expiration": iso(self.clock() + lifetime),
            "LastUpdated": iso(self.clock()),
        }
        document.update(overrides)
        return document


class Recorded:
    """One request as the server saw it."""

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = urlsplit(target).path
        self.query = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        self.headers = headers
        self.body = body
        self.form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)) if body else {}


class Reply:
    """What the server answers: status, body, and an optional delay before answering."""

    def __init__(self, status: int = 200, body: bytes | str | dict = b"", *, delay: float = 0.0) -> None:
        self.status = status
        self.body = (
            json.dumps(body).encode()
            if isinstance(body, dict)
            else body.encode() if isinstance(body, str) else body
        )
        self.delay = delay


class StubServer:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0) in a thread, answering with ``respond(request)``."""

    def __init__(self, respond: Callable[[Recorded], Reply]) -> None:
        self.respond = respond
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StubServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler_for(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    """Build a request handler class bound to one stub server."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Recorded(self.command, self.path, headers, body)
            stub.requests.append(request)
            reply = stub.respond(request)
            if reply.delay and stub.stopping.wait(reply.delay):
                return
            try:
                self.send_response(reply.status)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up (a timeout test): nothing to answer

        do_GET = do_PUT = do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def assert_no_secret(text: str, secrets: list[str] | tuple[str, ...]) -> None:
    """Fail if any secret or token shows, raw or percent-encoded (once or twice)."""
    for secret in secrets:
        once = quote(secret, safe="")
        for form in (secret, once, quote(once, safe="")):
            assert form not in text, f"a secret leaked into: {text[:300]}"


class ScriptedProvider:
    """A provider whose answers a test sets up front; counts calls, optionally blocks until released."""

    name = "scripted"

    def __init__(self, *answers: Credentials | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.lock = threading.Lock()

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        with self.lock:
            self.calls += 1
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(5)
        if isinstance(answer, Exception):
            raise answer
        return answer


def sts_credentials(n: int, expiration: datetime | None) -> Credentials:
    """Build recognisable STS credentials for cache tests."""
    return Credentials(f"STS.cache{n}", f"SECRETcache{n}", f"TOKENcache{n}", expiration)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Recorded], Reply]], StubServer]]:
    """Start stub servers on demand; all are shut down after the test."""
    started: list[StubServer] = []

    def start(respond: Callable[[Recorded], Reply]) -> StubServer:
        server = StubServer(respond).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at T0 until the test moves it."""
    return FakeClock()


@pytest.fixture
def minted(clock: FakeClock) -> Minted:
    """The credentials factory the stub services hand out from."""
    return Minted(clock)
