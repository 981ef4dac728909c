"""The gunicorn worker of the container path: gthread, except that no thread waits on a client's request head.

functions-framework's own server (gunicorn gthread, 4 threads per CPU, no timeout) hands every new
connection to a thread, which waits up to 5 s for its first byte and then, byte by byte, for its whole
head: a few idle or slow connections hold every thread. Here the main loop gathers each head:

- a new connection, or a kept-alive one, waits in the poller; its bytes are read there, without blocking,
  until the blank line that ends the head; only then does a thread take it, with the head in its buffer;
- a head must be complete within HEAD_TIMEOUT of the accept (or of the last answer on the connection),
  else the connection is closed; its request line may be at most MAX_REQUEST_LINE_BYTES (414) and the
  whole head MAX_HEAD_BYTES (431), so a head costs bounded memory and no thread;
- once a thread has the request, each read of the body and each write of the answer waits at most
  IO_TIMEOUT on the client;
- a connection that closes after its answer lingers in the poller (FIN sent, what the client still sends
  dropped, at most LINGER_TIMEOUT): gthread's own lingering close blocks its main loop for up to 2 s
  per connection, so ten clients that never close their side stalled every other one for 20 s;
- gunicorn's own refusals (a malformed request line, a header line over ``limit_request_field_size``)
  are answered in the JSON error shape, not in gunicorn's HTML.

Plain HTTP/1.1 only (the platform's front end terminates TLS): with TLS configured, gthread's own accept runs.
"""

from __future__ import annotations

import errno
import io
import selectors
import socket
import time
from collections import deque
from concurrent.futures import Future
from functools import partial
from http import HTTPStatus

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine, ParseException  # type: ignore[import-untyped]
from gunicorn.workers.gthread import TConn, ThreadWorker  # type: ignore[import-untyped]

from shared.errors import HeadersTooLarge, InvalidArgument, PresignError, UriTooLong
from shared.http.limits import MAX_HEAD_BYTES, MAX_REQUEST_LINE_BYTES
from shared.http.messages import error_response, new_request_id

HEAD_TIMEOUT = 10.0  # seconds from the accept (or the last answer) to the end of the request head
IO_TIMEOUT = 10.0  # seconds one read of the body, or one write of the answer, may wait on the client
LINGER_TIMEOUT = 2.0  # seconds a closing connection may take to close its side (gunicorn's figure)
LINGER_BYTES = 64 * 1024  # what is read and dropped from a closing connection, at most (gunicorn's figure)
RECV_SIZE = 16 * 1024


def head_refusal(head: bytes | bytearray) -> PresignError | None:
    """Why a partial request head is refused already (its request line or its size), or None."""
    if head.find(b"\r\n", 0, MAX_REQUEST_LINE_BYTES + 2) < 0 and len(head) > MAX_REQUEST_LINE_BYTES:
        return UriTooLong(f"request line is over {MAX_REQUEST_LINE_BYTES} bytes")
    if len(head) > MAX_HEAD_BYTES:
        return HeadersTooLarge(f"request head is over {MAX_HEAD_BYTES} bytes")
    return None


def raw_error(error: PresignError) -> bytes:
    """A whole HTTP/1.1 answer in the JSON error shape, for a request that never reached the app."""
    response = error_response(error, new_request_id())
    lines = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}", "Connection: close",
             *(f"{name}: {value}" for name, value in response.headers.items()),
             f"Content-Length: {len(response.body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


class BoundedThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type information
    """gthread whose main loop gathers request heads (bounded in time and size) before a thread takes them."""

    head_timeout = HEAD_TIMEOUT
    io_timeout = IO_TIMEOUT

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.lingering: deque[TConn] = deque()  # closing connections, oldest first

    def accept(self, listener: socket.socket) -> None:
        """Accept one connection and wait for its head in the poller, not in a thread."""
        if self.cfg.is_ssl:
            super().accept(listener)
            return
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._await_head(TConn(self.cfg, client, address, listener.getsockname()))

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection has sent something: gather its next head the same way."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_head(conn)

    def finish_request(self, conn: TConn, fs: Future[object]) -> None:
        """After an answer, on the main loop: a connection that closes lingers in the poller (gthread's own
        lingering close waits there for up to 2 s, so ten clients that never close stalled everyone for 20 s);
        bytes of a next request already read (pipelined) start its head in the poller too."""
        result = None if fs.cancelled() or fs.exception() is not None else fs.result()
        if result is False:
            self._linger(conn)
            return
        buffered = conn.parser.unreader.buf.getvalue() if result is True and self.alive and conn.parser else b""
        if not buffered:
            super().finish_request(conn, fs)
            return
        conn.parser.unreader.buf = io.BytesIO()
        self._await_head(conn)
        self._gathered(conn, buffered)

    def _linger(self, conn: TConn) -> None:
        """RFC 9112 9.6: send FIN, then read and drop what the client still sends until it closes, at most
        LINGER_BYTES or LINGER_TIMEOUT, before closing: without it the answer could be lost to a reset."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
        except OSError:
            self.nr_conns -= 1
            conn.close()
            return
        conn.drained = 0
        conn.timeout = time.monotonic() + LINGER_TIMEOUT
        self.lingering.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_linger_bytes, conn))

    def _on_linger_bytes(self, conn: TConn, client: socket.socket) -> None:
        try:
            data = client.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained >= LINGER_BYTES:
            self._closed(conn)

    def _closed(self, conn: TConn) -> None:
        self.poller.unregister(conn.sock)
        self.lingering.remove(conn)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Close the connections whose head is late (gthread's), and those done lingering."""
        super().murder_pending()
        now = time.monotonic()
        while self.lingering and self.lingering[0].timeout <= now:
            self._closed(self.lingering[0])

    def _await_head(self, conn: TConn) -> None:
        conn.head = bytearray()
        conn.timeout = time.monotonic() + self.head_timeout  # murder_pending closes it then: the deque stays in order
        conn.sock.setblocking(False)
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_bytes, conn))

    def _on_head_bytes(self, conn: TConn, client: socket.socket) -> None:
        try:
            data = client.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # closed by the client before its head was complete
            self._stop_waiting(conn)
            self.nr_conns -= 1
            conn.close()
            return
        self._gathered(conn, data)

    def _gathered(self, conn: TConn, data: bytes) -> None:
        """More of the head arrived: hand the connection to a thread once the head is whole, or refused."""
        searched_from = max(0, len(conn.head) - 3)  # the blank line may straddle what came before
        conn.head += data
        conn.refusal = head_refusal(conn.head)
        if conn.refusal is None and conn.head.find(b"\r\n\r\n", searched_from) < 0:
            return  # the head goes on
        self._stop_waiting(conn)
        conn.data_ready = True
        self.enqueue_req(conn)

    def _stop_waiting(self, conn: TConn) -> None:
        self.poller.unregister(conn.sock)
        self.pending_conns.remove(conn)

    def handle(self, conn: TConn) -> object:
        """In a thread: refuse an oversized head, or hand the gathered head to gunicorn's parser."""
        head = getattr(conn, "head", None)
        conn.head = None
        if head is not None:
            conn.sock.setblocking(True)
            if conn.refusal is not None:
                util.write(conn.sock, raw_error(conn.refusal))
                return False
            conn.init()
            conn.parser.unreader.unread(bytes(head))
        return super().handle(conn)

    def handle_request(self, req: object, conn: TConn) -> object:
        """Serve one parsed request, every read of its body and write of its answer bounded by IO_TIMEOUT."""
        conn.sock.settimeout(self.io_timeout)
        return super().handle_request(req, conn)

    def handle_error(self, req: object, client: socket.socket, addr: object, exc: BaseException) -> None:
        """gunicorn's refusals of a malformed or oversized request, in the JSON error shape."""
        if not isinstance(exc, ParseException):
            super().handle_error(req, client, addr, exc)
            return
        refusal: PresignError
        if isinstance(exc, LimitRequestLine):
            refusal = UriTooLong(f"request line is over {MAX_REQUEST_LINE_BYTES} bytes")
        elif isinstance(exc, LimitRequestHeaders):
            refusal = HeadersTooLarge("a request header line is too large, or there are too many")
        else:
            refusal = InvalidArgument("request", "the request is not well-formed HTTP/1.1")
        ip = addr[0] if isinstance(addr, tuple) and addr else ""
        self.log.warning("Invalid request from ip=%s: %s", ip, type(exc).__name__)  # its text may quote the request
        try:
            util.write_nonblock(client, raw_error(refusal))
        except OSError:
            self.log.debug("Failed to send error message.")
