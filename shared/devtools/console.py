"""Lines that several threads print: serve's functions, its webhook receiver and its trigger share one terminal."""

from __future__ import annotations

import threading
from typing import Protocol


class Stream(Protocol):
    """Where text goes: a file, sys.stdout, io.StringIO, or a Console."""

    def write(self, text: str, /) -> object: ...
    def flush(self) -> object: ...


class Console:
    """A stream whose every ``line()`` is written whole and flushed, whichever thread writes it."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        """Write one line (the newline is added) and flush it."""
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def write(self, text: str, /) -> int:
        """Write text as it is, under the same lock."""
        with self._lock:
            self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        """Flush the stream."""
        with self._lock:
            self.stream.flush()
