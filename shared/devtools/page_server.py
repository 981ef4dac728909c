"""The demo page of ``serve``: three static files and their settings, on an origin of their own.

The page (``page/index.html``, ``page.js``, ``page.css``) calls the presign and links functions and
the bucket, all on other origins, so CORS is really exercised. ``/config.json`` tells it where they
are and, in local mode, the development API key. Nothing is fetched from elsewhere: the answers carry
a Content-Security-Policy that allows the page's own files and connections to the services only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType

from shared.devtools.http_server import DevServer

PAGE = Path(__file__).resolve().parent / "page"
HTML = "text/html; charset=utf-8"
FILES = {"/": ("index.html", HTML), "/index.html": ("index.html", HTML),
         "/page.js": ("page.js", "text/javascript; charset=utf-8"),
         "/page.css": ("page.css", "text/css; charset=utf-8")}


def page_config(*, presign: str, links: str, api_key: str | None, key_prefix: str = "demo/") -> dict[str, str]:
    """What ``/config.json`` tells the page: the functions' base URLs, the key to prefill, where uploads go."""
    return {"presign": presign, "links": links, "api_key": api_key or "", "key_prefix": key_prefix}


def content_security_policy(origins: Iterable[str]) -> str:
    """The page may load only its own files and connect only to itself and the given services."""
    connect = " ".join(["'self'", *sorted(set(origins))])
    return (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            f"connect-src {connect}; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")


class DemoPage:
    """The page server on 127.0.0.1:``port`` in a thread, for a ``with`` block."""

    def __init__(self, config: dict[str, str], *, port: int, connect: Iterable[str]) -> None:
        self.config = json.dumps(config).encode()
        self.policy = content_security_policy(connect)
        self.server = DevServer(("127.0.0.1", port), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # Only its own names: a site whose DNS name is rebound to 127.0.0.1 would read /config.json's key.
        self.hosts = frozenset(f"{name}:{self.server.server_port}" for name in ("127.0.0.1", "localhost"))
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="demo-page", daemon=True)

    def __enter__(self) -> DemoPage:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def answer(self, path: str, host: str | None) -> tuple[int, str, bytes]:
        """Status, content type and body for a GET of ``path`` (query ignored) sent to ``host``."""
        if host is None or host.lower() not in self.hosts:
            return 421, "text/plain; charset=utf-8", f"open the page at {self.url}/\n".encode()
        path = path.split("?", 1)[0]
        if path == "/config.json":
            return 200, "application/json", self.config
        found = FILES.get(path)
        if found is None:
            return 404, "text/plain; charset=utf-8", b"not found\n"
        name, kind = found
        return 200, kind, (PAGE / name).read_bytes()


def _handler(page: DemoPage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "oss-presign-demo"
        timeout = 10  # a connection that stalls is dropped

        def do_GET(self) -> None:
            self._send(*page.answer(self.path, self.headers.get("Host")))

        def do_HEAD(self) -> None:
            status, kind, body = page.answer(self.path, self.headers.get("Host"))
            self._send(status, kind, body, head=True)

        def _send(self, status: int, kind: str, body: bytes, *, head: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", page.policy)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the page's requests are not news

    return Handler
