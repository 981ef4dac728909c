"""The README's webhook receiver, for ``serve``: it prints each verified delivery of the object-created function.

The checks are the README's: before any of the body is read, a missing ``Content-Length`` is 411, one
that is not a number 400, one over 1 MiB 413; then ``v2`` of ``X-Presign-Signature`` (hex HMAC-SHA256 of
``"<t>.<Idempotency-Key>.<body>"`` with the rule's secret, compared in constant time, at most 5 minutes
old) must verify, or the answer is 401. Unlike the README's few lines it also answers a body that is not
a delivery's JSON with 400 instead of a traceback. The printed line names the object, its expiry and the
link without its query or token: those carry the signature.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from shared.devtools.console import Console, Stream
from shared.devtools.http_server import DevServer
from shared.object_created.webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_signature

MAX_AGE = 300  # seconds, either way
MAX_BODY = 1 << 20
_FIELDS = ("bucket", "key", "link", "expires_at")


class Receiver(BaseHTTPRequestHandler):
    """Verifies one delivery and prints it; the server's subclass sets ``secret`` and ``console``."""

    secret = b""
    console: Console

    def do_POST(self) -> None:
        """Answer 204 to a fresh, genuine delivery; 401 to any other signature; 4xx to a malformed request."""
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY:
            return self.send_error(length_refusal(length))
        body = self.rfile.read(int(length))
        key = self.headers.get(IDEMPOTENCY_HEADER, "")
        if not verify_signature(self.secret, body, self.headers.get(SIGNATURE_HEADER, ""), now=time.time(),
                                tolerance=MAX_AGE, idempotency_key=key):
            return self.send_error(401)
        try:
            event = json.loads(body)
        except ValueError:
            return self.send_error(400)
        if not isinstance(event, dict) or not all(isinstance(event.get(name), str) for name in _FIELDS):
            return self.send_error(400)
        self.send_response(self.accept(event, key))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def accept(self, event: dict[str, object], idempotency_key: str) -> int:
        """Print the verified delivery (once per delivery: a retry prints again, with the same key)."""
        self.console.line(f"webhook: verified {event['bucket']}/{event['key']} (size {event.get('size')}), "
                          f"link {shown_link(str(event['link']))}, expires {event['expires_at']} "
                          f"(Idempotency-Key {idempotency_key[:12]}...)")
        return 204

    def log_message(self, format: str, *args: object) -> None:
        """No access log: serve prints the deliveries themselves."""


def length_refusal(length: str | None) -> int:
    """The status refusing a ``Content-Length`` before the body is read: 411 none, 400 not a number, 413 too big."""
    if length is None:
        return 411
    return 400 if not (length.isascii() and length.isdigit()) else 413


def shown_link(link: str) -> str:
    """The link without what authorizes it: a presigned URL's query, a redirect link's token."""
    parts = urlsplit(link)
    path = parts.path
    if "/d/" in path:
        path = path[:path.index("/d/") + 3] + "<token>"
    return f"{parts.scheme}://{parts.netloc}{path}" + ("?<signed query>" if parts.query else "")


class _Server(DevServer):
    """The receiver's server: DevServer's quiet handling of clients that left."""


class WebhookReceiver:
    """The receiver on 127.0.0.1 in a thread: ``start()``/``stop()`` or a with block; any path is accepted."""

    def __init__(self, secret: bytes, out: Stream, *, port: int = 0) -> None:
        handler = type("VerifyingReceiver", (Receiver,),
                       {"secret": secret, "console": out if isinstance(out, Console) else Console(out)})
        self.requested_port = port
        self._handler: type[Receiver] = handler
        self._server: _Server | None = None

    def __repr__(self) -> str:
        return f"WebhookReceiver(port={self.requested_port})"  # never the secret

    @property
    def url(self) -> str:
        """Where the rules deliver: ``http://127.0.0.1:<port>/hook``."""
        if self._server is None:
            raise RuntimeError("the webhook receiver is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> WebhookReceiver:
        """Listen and serve in a background thread; OSError naming the port when it is taken."""
        try:
            self._server = _Server(("127.0.0.1", self.requested_port), self._handler)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on 127.0.0.1:{self.requested_port}: {exc.strerror}") from exc
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
