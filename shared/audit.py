"""One structured JSON line per issued URL and per refusal: who asked for what, and what happened.

A URL is logged only as its SHA-256: the line identifies the URL without carrying its signature or
security token, so the log grants nothing. Every character outside ASCII is written as a JSON escape:
U+2028, U+2029 and U+0085 in a key would otherwise split the line for ``str.splitlines()`` and for
many log shippers, and a key could forge a line of its own.
"""

from __future__ import annotations

import _thread  # threading's Lock is _thread's; threading itself costs a cold start 1-2.5 ms
import hashlib
import json
import sys
from collections.abc import Callable
from datetime import datetime

from shared.clock import iso8601

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import IO


def url_digest(url: str) -> str:
    """The SHA-256 hex of a URL: enough to match a log line to a URL, useless to replay it."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class AuditLog:
    """Writes JSON lines to a stream (stderr by default), one whole line per write."""

    def __init__(self, clock: Callable[[], datetime], stream: IO[str] | None = None) -> None:
        self.clock = clock
        self.stream = stream
        self._lock = _thread.allocate_lock()

    def write(self, event: str, **fields: object) -> None:
        """Write one line; ``None`` fields are left out."""
        record: dict[str, object] = {"time": iso8601(self.clock()), "event": event}
        record.update((name, value) for name, value in fields.items() if value is not None)
        line = json.dumps(record, ensure_ascii=True, default=str) + "\n"
        stream = self.stream or sys.stderr
        with self._lock:
            stream.write(line)
            stream.flush()
