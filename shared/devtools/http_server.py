"""The threaded HTTP server the development tools listen with (local bucket, receiver, demo page).

A client that goes away mid-answer (a browser cancelling a download, curl's Ctrl-C, a reset) is
normal on a development machine: it ends that connection quietly. Anything else is a bug in the
tool and keeps the standard traceback on stderr.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any

GONE = (ConnectionError, TimeoutError)  # resets, broken pipes, aborted and timed-out connections


class DevServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer whose handler threads do not hold up shutdown and that ignores clients that left."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], GONE):
            return
        super().handle_error(request, client_address)
