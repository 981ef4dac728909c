"""The container path's gunicorn worker with short timeouts, so that a test sees them act within a second."""

from __future__ import annotations

from shared.http.gunicorn_worker import BoundedThreadWorker


class QuickWorker(BoundedThreadWorker):
    """BoundedThreadWorker whose heads and reads time out after half a second."""

    head_timeout = 0.5
    io_timeout = 0.5
