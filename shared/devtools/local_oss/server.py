"""The local bucket over HTTP: a ThreadingHTTPServer on 127.0.0.1 (or a given host) in a thread.

    with LocalOss(root, credentials=[Credentials("LTAI...", "secret")], region="cn-hangzhou",
                  buckets=["examplebucket"]) as oss:
        url = presign(..., endpoint=oss.endpoint, ...)

Request bodies are framed by ``framing`` (Content-Length or chunked). It logs to the
``shared.devtools.local_oss`` logger at DEBUG, without query strings (they carry signatures).
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from io import BufferedIOBase
from pathlib import Path
from typing import BinaryIO

from shared.clock import utc_now
from shared.credentials.value import Credentials
from shared.devtools.http_server import DevServer
from shared.devtools.local_oss.errors import OssError, error_body
from shared.devtools.local_oss.exchange import Incoming, Reply
from shared.devtools.local_oss.framing import ChunkedBody, LengthBody, request_body
from shared.devtools.local_oss.service import MAX_OBJECT_SIZE, BucketService, StoredHook
from shared.devtools.local_oss.store import ObjectStore
from shared.oss.canonical import header_value

logger = logging.getLogger("shared.devtools.local_oss")
DRAIN_LIMIT = 8 << 20  # read and drop up to this much of a refused upload, so the client sees the answer
_CHUNK = 1 << 16
__all__ = ["MAX_OBJECT_SIZE", "LocalOss", "new_request_id"]
_QUERY = re.compile(r"\?[^\s'\"]*")


def new_request_id() -> str:
    """A request id shaped like OSS's: 24 upper-case hex digits."""
    return secrets.token_hex(12).upper()


class LocalOss:
    """A small, strict OSS stand-in that checks V4 signatures and serves a folder of buckets."""

    def __init__(self, root: str | Path, *, credentials: Iterable[Credentials], region: str,
                 clock: Callable[[], datetime] = utc_now, host: str = "127.0.0.1", port: int = 0,
                 buckets: Iterable[str] = (), domain: str | None = None,
                 request_ids: Callable[[], str] = new_request_id, max_object_size: int = MAX_OBJECT_SIZE,
                 on_stored: StoredHook | None = None) -> None:
        self.store = ObjectStore(root)
        self.host, self.requested_port = host, port
        self.buckets = tuple(buckets)
        hosts = {host, "localhost", "127.0.0.1", *([domain] if domain else [])}
        self.service = BucketService(self.store, credentials=credentials, region=region, clock=clock,
                                     service_hosts=sorted(hosts), max_object_size=max_object_size,
                                     on_stored=on_stored)
        self.clock = clock
        self.request_ids = request_ids
        self._server: DevServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LocalOss({str(self.store.root)!r}, endpoint={self.endpoint if self._server else None})"

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._server is None:
            raise RuntimeError("the local bucket is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The endpoint to sign for: ``http://127.0.0.1:<port>`` (path style)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalOss:
        """Create the buckets' folders, listen, and serve in a background thread."""
        for bucket in self.buckets:
            self.store.create_bucket(bucket)
        try:
            server = _Server((self.host, self.requested_port), _Handler)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror}") from exc
        server.oss = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"local-oss:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket; waits at most a few seconds."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        self.store.close()

    def __enter__(self) -> LocalOss:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Server(DevServer):  # idle keep-alive connections must not hold up stop()
    oss: LocalOss


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end on their own
    server: _Server

    def setup(self) -> None:
        """Set up the connection's files, and send small writes at once."""
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm meets the
        # client's delayed ACK and every response waits about 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        oss = self.server.oss
        request_id = oss.request_ids()
        headers = _lower_headers(self.headers.items())
        body: LengthBody | ChunkedBody | None = None
        incoming: Incoming | None = None
        try:
            body = request_body(self.rfile, headers)
            incoming = Incoming(self.command, self.path.encode("latin-1"), headers, self.client_address[0], body,
                                body.length if isinstance(body, LengthBody) else None,
                                chunked=isinstance(body, ChunkedBody), request_id=request_id)
            reply = oss.service.handle(incoming)
        except OssError as error:
            reply = _error_reply(error, request_id, headers.get("host") or oss.endpoint)
        except Exception:
            logger.exception("local bucket failed on %s %s", self.command, self.path.split("?")[0])
            reply = _error_reply(OssError("InternalError", "The local bucket failed; see its log."), request_id,
                                 oss.endpoint)
        if self.command != "OPTIONS" and incoming is not None:  # a preflight's answer is all CORS already
            reply.headers += _cors_headers(oss.service, incoming)
        if not _finish(body):
            self.close_connection = True
        self._send(reply, request_id)

    do_GET = do_HEAD = do_PUT = do_DELETE = do_POST = do_OPTIONS = _serve

    def _send(self, reply: Reply, request_id: str) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, _wire(value))
            self.send_header("x-oss-request-id", request_id)
            if reply.status != 204:
                self.send_header("Content-Length", str(reply.length if reply.file or self.command == "HEAD"
                                                       else len(reply.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
                _copy(reply.file, reply.length, self.wfile)
        except OSError:
            self.close_connection = True  # the client went away
        finally:
            if reply.file is not None:
                reply.file.close()

    def version_string(self) -> str:
        """The Server header."""
        return "local-oss"

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header, from the injected clock."""
        return format_datetime(self.server.oss.clock(), usegmt=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log method, path (never the query) and status at DEBUG."""
        path = getattr(self, "path", "")  # unset when the request line did not parse
        logger.debug("%s %s -> %s", getattr(self, "command", "-"), path.split("?")[0], code)

    def log_message(self, format: str, *args: object) -> None:
        """Log http.server's own messages at DEBUG, without query strings."""
        # http.server's own messages may quote the request line, whose query carries the signature.
        logger.debug("local bucket: %s", _QUERY.sub("?<query>", format % args))


def _finish(body: LengthBody | ChunkedBody | None) -> bool:
    """Read what is left of a small body, so that the connection can carry the next request; False when the
    connection must close instead (a large or unframed body, or a chunked one not read to its end)."""
    if isinstance(body, LengthBody) and body.remaining <= DRAIN_LIMIT:
        while body.read(_CHUNK):
            pass
        return True
    return isinstance(body, ChunkedBody) and body.finished


def _cors_headers(service: BucketService, incoming: Incoming) -> list[tuple[str, str]]:
    """The answer's CORS headers; a failure to read the rules is logged and costs the answer nothing else."""
    try:
        return service.cors_headers(incoming)
    except Exception:
        logger.exception("local bucket could not read the CORS rules")
        return []


def _error_reply(error: OssError, request_id: str, host_id: str) -> Reply:
    headers = [("Content-Type", "application/xml"), *error.headers.items()]
    return Reply(error.status, headers, error_body(error, request_id=request_id, host_id=host_id))


def _copy(file: BinaryIO | None, length: int, out: BufferedIOBase) -> None:
    while file is not None and length > 0:
        chunk = file.read(min(_CHUNK, length))
        if not chunk:
            raise OSError("the object's file ended early")
        out.write(chunk)
        length -= len(chunk)


def _lower_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names and trim values once, as OSS receives them; join repeated headers with commas; read
    values as UTF-8 where they are."""
    headers: dict[str, str] = {}
    for name, value in items:
        try:
            text = header_value(value.encode("latin-1").decode("utf-8"))
        except UnicodeError:
            text = header_value(value)
        lower = name.lower()
        headers[lower] = f"{headers[lower]},{text}" if lower in headers else text
    return headers


def _wire(value: str) -> str:
    """http.server writes header values as Latin-1: pass UTF-8 bytes through it, as OSS sends them."""
    return value.encode("utf-8").decode("latin-1")
