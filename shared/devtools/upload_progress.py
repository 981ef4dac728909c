"""The upload's progress on stderr: a bar redrawn in place on a terminal, else a plain line per 10 %.

    [##########..........]  128.0 MiB of 256.0 MiB  87.5 MiB/s  0:01 left    (a terminal, at most 10 times a second)
    upload: 50% (128.0 MiB of 256.0 MiB, 87.5 MiB/s)                      (anything else: 10%, 20%, ... 100%)

The rate counts only the bytes sent since this run began (a resumed upload's earlier parts are done, not
fast); the clock is an argument.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

WIDTH = 20  # characters of the bar
REDRAW = 0.1  # seconds between two redraws on a terminal
MIB = 1 << 20


class Progress:
    """Shows how much of ``total`` bytes is done; ``done`` starts at what earlier runs uploaded."""

    def __init__(self, stream: IO[str], total: int, *, done: int = 0, terminal: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.total, self.terminal, self.clock = stream, total, terminal, clock
        self.started, self.start_done = clock(), done
        self._drawn_at = float("-inf")
        self._tenths = done * 10 // total if total else 0
        self._open = False  # a bar is on the line, without its newline yet

    def update(self, done: int, *, final: bool = False) -> None:
        """Show ``done`` bytes (drawn at most every 0.1 s on a terminal, at each new 10 % elsewhere)."""
        now = self.clock()
        if self.terminal:
            if final or now - self._drawn_at >= REDRAW:
                self._drawn_at = now
                self.stream.write("\r" + self.bar(done, now) + "\x1b[K")
                self.stream.flush()
                self._open = True
            return
        tenths = done * 10 // self.total if self.total else 10
        if tenths > self._tenths:
            rate = _size(self._rate(done, now))
            self.stream.write("".join(f"upload: {tenth * 10}% ({_size(done)} of {_size(self.total)}, {rate}/s)\n"
                                      for tenth in range(self._tenths + 1, tenths + 1)))  # one line per 10 %
            self._tenths = tenths
            self.stream.flush()

    def end_line(self) -> None:
        """End a bar's line, so that what is written next starts on its own line."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def bar(self, done: int, now: float) -> str:
        """The terminal's line for ``done`` bytes at ``now``."""
        filled = WIDTH * done // self.total if self.total else WIDTH
        rate = self._rate(done, now)
        left = (self.total - done) / rate if rate > 0 else None
        eta = "--:--" if left is None else _duration(left)
        return (f"[{'#' * filled}{'.' * (WIDTH - filled)}]  {_size(done)} of {_size(self.total)}  {_size(rate)}/s  "
                f"{eta} left")

    def _rate(self, done: int, now: float) -> float:
        elapsed = now - self.started
        return (done - self.start_done) / elapsed if elapsed > 0 else 0.0


def _size(amount: float) -> str:
    """Bytes for a reader: KiB under a MiB, else MiB with one decimal."""
    return f"{amount / 1024:.1f} KiB" if amount < MIB else f"{amount / MIB:.1f} MiB"


def _duration(seconds: float) -> str:
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
