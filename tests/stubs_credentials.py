"""Stand-ins for the credential services: real HTTP servers on 127.0.0.1 that check requests as the
real metadata service and STS do, a clock the tests move by hand, and a scripted provider.

The STS stub recomputes the RPC signature with its own code (not shared.credentials.rpc), so that a
signing bug cannot hide behind the same bug on both sides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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
    """Unique, recognisable STS credentials minted by the stubs; every secret is remembered for leak checks."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.counter = itertools.count(1)
        self.secrets: list[str] = []

    def document(self, lifetime: timedelta = timedelta(hours=1), **overrides: object) -> dict:
        """Return a credentials document as the metadata service answers it."""
        n = next(self.counter)
        secret, token = f"SECRETminted{n:04d}xyz", f"TOKENminted{n:04d}CAIS+/="
        self.secrets += [secret, token]
        document = {"Code": "Success", "AccessKeyId": f"STS.minted{n:04d}", "AccessKeySecret": secret,
                    "SecurityToken": token, "Expiration": iso(self.clock() + lifetime),
                    "LastUpdated": iso(self.clock())}
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
        self.body = json.dumps(body).encode() if isinstance(body, dict) else \
            body.encode() if isinstance(body, str) else body
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
    return FakeClock()


@pytest.fixture
def minted(clock: FakeClock) -> Minted:
    return Minted(clock)


class FakeMetadataService:
    """The ECS metadata service: IMDSv2 tokens (optionally required), role discovery, role credentials."""

    def __init__(self, minted: Minted, *, role: str | None = ROLE, v2: bool = True, v1: bool = True) -> None:
        self.minted = minted
        self.role = role
        self.v2 = v2  # the token endpoint exists
        self.v1 = v1  # GETs without a token are allowed
        self.tokens: set[str] = set()
        self.credentials_reply: Callable[[], Reply] | None = None

    def __call__(self, request: Recorded) -> Reply:
        if request.path == "/latest/api/token":
            return self._token(request)
        if request.method != "GET":
            return Reply(405)
        token = request.headers.get("x-aliyun-ecs-metadata-token")
        if token is not None and token not in self.tokens:
            return Reply(401, "invalid token")
        if token is None and not self.v1:
            return Reply(403, "IMDSv1 is disabled on this instance")
        prefix = "/latest/meta-data/ram/security-credentials/"
        if request.path == prefix:
            return Reply(200, f"{self.role}\n") if self.role else Reply(404, "no role")
        if request.path == prefix + str(self.role):
            return self.credentials_reply() if self.credentials_reply else Reply(200, self.minted.document())
        return Reply(404, "not found")

    def _token(self, request: Recorded) -> Reply:
        if not self.v2:
            return Reply(404, "not found")
        if request.method != "PUT":
            return Reply(405)
        ttl = request.headers.get("x-aliyun-ecs-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return Reply(400, "bad ttl")
        token = f"imds-token-{len(self.tokens) + 1}"
        self.tokens.add(token)
        return Reply(200, token)


def rpc_string_to_sign(method: str, params: dict[str, str]) -> str:
    """The server side's own RPC string to sign (independent of the code under test)."""
    def enc(value: str) -> str:
        return quote(value, safe="~")
    query = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in params.items()))
    return "&".join([method, enc("/"), enc(query)])


class FakeSts:
    """STS: AssumeRole with the RPC signature verified against the caller's secret, and AssumeRoleWithOIDC."""

    def __init__(self, minted: Minted, *, keys: dict[str, str] | None = None, tokens: dict[str, str] | None = None,
                 oidc_token: str | None = None) -> None:
        self.minted = minted
        self.keys = keys or {}  # access key id -> secret
        self.tokens = tokens or {}  # access key id -> the security token it must come with
        self.oidc_token = oidc_token
        self.nonces: set[str] = set()
        self.calls: list[dict[str, str]] = []
        self.override: Callable[[Recorded], Reply] | None = None

    def __call__(self, request: Recorded) -> Reply:
        if self.override is not None:
            return self.override(request)
        params = request.form if request.method == "POST" else request.query
        self.calls.append(params)
        action = params.get("Action")
        if params.get("Version") != "2015-04-01" or params.get("Format") != "JSON":
            return _sts_error(400, "MissingParameter", "Version and Format are required")
        if action == "AssumeRole" and request.method == "GET":
            problem = self._check_signature(params)
        elif action == "AssumeRoleWithOIDC":
            problem = self._check_oidc(params)
        else:
            return _sts_error(400, "InvalidAction.NotFound", f"no action {action}")
        if problem is not None:
            return problem
        duration = int(params["DurationSeconds"])
        document = self.minted.document(timedelta(seconds=duration))
        fields = ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")
        return Reply(200, {"RequestId": "req-1", "Credentials": {k: document[k] for k in fields},
                           "AssumedRoleUser": {"Arn": params["RoleArn"]}})

    def _check_signature(self, params: dict[str, str]) -> Reply | None:
        signed = dict(params)
        given = signed.pop("Signature", "")
        secret = self.keys.get(signed.get("AccessKeyId", ""))
        if secret is None:
            return _sts_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if signed.get("SignatureMethod") != "HMAC-SHA1" or signed.get("SignatureVersion") != "1.0":
            return _sts_error(400, "InvalidParameter", "bad signature method or version")
        nonce = signed.get("SignatureNonce", "")
        if not nonce or nonce in self.nonces:
            return _sts_error(400, "SignatureNonceUsed", "The request signature nonce has been used.")
        self.nonces.add(nonce)
        if not _is_rpc_timestamp(signed.get("Timestamp", "")):
            return _sts_error(400, "InvalidTimeStamp.Format", "bad Timestamp")
        if self.tokens.get(signed["AccessKeyId"]) != signed.get("SecurityToken"):
            return _sts_error(400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken mismatch.")
        to_sign = rpc_string_to_sign("GET", signed)
        expected = base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest())
        if not hmac.compare_digest(expected.decode(), given):
            # Like the real STS, echo the string to sign: it holds the SecurityToken, percent-encoded.
            return _sts_error(400, "SignatureDoesNotMatch",
                              f"Specified signature is not matched with our calculation. server string to sign "
                              f"is:{to_sign}")
        return None

    def _check_oidc(self, params: dict[str, str]) -> Reply | None:
        if "Signature" in params or "AccessKeyId" in params:
            return _sts_error(400, "InvalidParameter", "AssumeRoleWithOIDC is not signed")
        for name in ("RoleArn", "OIDCProviderArn", "OIDCToken", "RoleSessionName", "DurationSeconds"):
            if not params.get(name):
                return _sts_error(400, "MissingParameter", f"{name} is mandatory for this action.")
        if params["OIDCToken"] != self.oidc_token:
            return _sts_error(400, "AuthenticationFail.OIDCToken.Invalid",
                              f"the OIDC token {params['OIDCToken']} is invalid or expired")
        return None


def _sts_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"RequestId": "req-err", "HostId": "sts.aliyuncs.com", "Code": code, "Message": message})


def _is_rpc_timestamp(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


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
