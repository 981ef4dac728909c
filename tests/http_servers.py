"""Apps under test served over real HTTP: a standard-library server on 127.0.0.1 (a free port) in a
thread, started by the ``wsgi_server`` fixture or ``serving_wsgi()``, and stopped within bounded time."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

WsgiApp = Callable[[dict, Callable[..., object]], Iterable[bytes]]

POLL_INTERVAL = 0.05  # seconds between the serving loop's checks for a shutdown request
REQUEST_TIMEOUT = 10.0  # seconds a connection may stall before the server drops it
JOIN_TIMEOUT = 5.0  # seconds to wait for the serving thread once it was told to stop


class _QuietHandler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT

    def log_message(self, format: str, *args: object) -> None:
        pass  # no access log in the captured output


@contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    """Run ``server`` in a thread for the block; then stop it, close its socket and join the thread."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=JOIN_TIMEOUT)


@contextmanager
def serving_wsgi(app: WsgiApp) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 for the block; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def wsgi_server() -> Iterator[Callable[[WsgiApp], str]]:
    """Start WSGI apps on demand, each answering the base URL; all are stopped after the test."""
    with ExitStack() as running:
        yield lambda app: running.enter_context(serving_wsgi(app))
