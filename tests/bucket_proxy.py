"""A real HTTP proxy on 127.0.0.1 in front of the local bucket, for the upload client's tests: it counts the
part PUTs the bucket kept, answers a chosen part's first PUTs with OSS's 503, 403 or 400 (faults to retry or
not), and holds chosen parts without an answer (an upload to interrupt). The Host header goes through
unchanged, so the URLs the presign function signs for the proxy's address verify at the bucket. Every wait is
bounded."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from http_servers import serving

PIECE = 1 << 20
HOLD_TIMEOUT = 30.0  # seconds a held part waits for the test to let it go
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})
FAULTS = {503: b"<Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message>",
          403: b"<Code>AccessDenied</Code><Message>Request has expired.</Message>",
          400: b"<Code>InvalidArgument</Code><Message>Something the test made up.</Message>"}


class BucketProxy(ThreadingHTTPServer):
    """Forwards every request to ``upstream`` (host:port) and keeps count of the part PUTs."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.kept: list[int] = []  # part numbers whose PUT the bucket answered 200
        self.arrived: list[int] = []  # part numbers of every PUT that reached the proxy
        self.failures: dict[int, int] = {}  # part number -> how many of its next PUTs answer ``fault_status``
        self.fault_status = 503
        self.held: set[int] = set()  # part numbers whose PUTs wait, unanswered, until ``release``
        self.release = threading.Event()
        self.bytes_per_second: float | None = None  # each connection's upload rate, as on a long-distance link

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fault(self, part: int) -> bool:
        """Whether this PUT of ``part`` is to fail (and count it)."""
        with self.lock:
            self.arrived.append(part)
            if self.failures.get(part, 0) > 0:
                self.failures[part] -= 1
                return True
            return False


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = HOLD_TIMEOUT
    server: BucketProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_PUT(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        part = int(query["partNumber"][0]) if "partNumber" in query else None
        if part is not None and part in self.server.held:
            with self.server.lock:
                self.server.arrived.append(part)
            self.server.release.wait(HOLD_TIMEOUT)
            self.close_connection = True  # its client is gone: nothing goes to the bucket
            return
        if part is not None and self.server.fault(part):
            self._drain()
            self.send_response(self.server.fault_status)
            self.send_header("Content-Type", "application/xml")
            error = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + FAULTS[self.server.fault_status] + b"</Error>"
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        status = self._forward()
        if part is not None and status == 200:
            with self.server.lock:
                self.server.kept.append(part)

    def do_GET(self) -> None:
        self._forward()

    do_POST = do_DELETE = do_HEAD = do_GET

    def _drain(self) -> None:
        remaining = int(self.headers.get("Content-Length", "0"))
        while remaining > 0:
            piece = self.rfile.read(min(PIECE, remaining))
            if not piece:
                break
            remaining -= len(piece)

    def _forward(self) -> int:
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=HOLD_TIMEOUT)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.endheaders()
            remaining = int(self.headers.get("Content-Length", "0"))
            started, forwarded = time.monotonic(), 0
            while remaining > 0:
                piece = self.rfile.read(min(PIECE, remaining))
                if not piece:
                    self.close_connection = True
                    return 0
                upstream.send(piece)
                remaining -= len(piece)
                forwarded += len(piece)
                if self.server.bytes_per_second:  # (benchmarks only) hold the connection to its rate
                    time.sleep(max(0.0, started + forwarded / self.server.bytes_per_second - time.monotonic()))
            answer = upstream.getresponse()
            body = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP | {"content-length", "date", "server"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return answer.status
        finally:
            upstream.close()


@contextmanager
def bucket_proxy(upstream_endpoint: str) -> Iterator[BucketProxy]:
    """A BucketProxy in front of ``upstream_endpoint`` (http://127.0.0.1:port) for the block."""
    proxy = BucketProxy(urlsplit(upstream_endpoint).netloc)
    try:
        with serving(proxy):
            yield proxy
    finally:
        proxy.release.set()  # no held request outlives the test
