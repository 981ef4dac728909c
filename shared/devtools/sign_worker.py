"""A second process for ``sign --batch``: it answers the second half of each large block while this one
answers the first, so a long batch uses two processors.

It is forked from the batch once the held credentials are long-lived keys (no expiration: nothing is
ever fetched again), so both processes sign every line exactly as one would, and the block's answers
are written in input order. It reads blocks of lines from one pipe and writes their answers to
another, each a length and then the bytes. If it fails in any way (it exits, is killed, or a line
raises), this process answers the half itself, as if there had been no second process, and goes on
alone. It ends when its input pipe closes: when the batch ends, or this process exits (Ctrl-C too).
"""

from __future__ import annotations

import os
from collections.abc import Callable

Answer = Callable[[bytes], str]
_LENGTH = 8  # bytes of the length before each message, big-endian
SHARED_BLOCK = 64  # lines: a block this long is shared; a shorter one (a slow producer) is not worth it


def available() -> bool:
    """True when this machine can fork and has a second processor for the worker."""
    if not hasattr(os, "fork"):
        return False
    affinity = getattr(os, "sched_getaffinity", None)
    return (len(affinity(0)) if affinity is not None else os.cpu_count() or 1) >= 2


class Worker:
    """The forked process and the two pipes to it."""

    def __init__(self, answer: Answer) -> None:
        requests_read, self._requests = os.pipe()
        self._answers, answers_write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the worker: it never returns from here
            os.close(self._requests)
            os.close(self._answers)
            _serve(answer, requests_read, answers_write)
        os.close(requests_read)
        os.close(answers_write)
        self.alive = True

    def send(self, lines: list[bytes]) -> None:
        """Give the worker lines to answer; a worker that is gone is noticed by ``receive``."""
        try:
            _write(self._requests, b"\n".join(lines))
        except OSError:
            self.alive = False

    def receive(self) -> str | None:
        """The answers to the lines sent, or None if the worker failed (it is then stopped)."""
        if self.alive:
            try:
                data = _read(self._answers)
            except OSError:
                data = None
            if data is not None:
                return data.decode("utf-8", "surrogatepass")
        self.stop()
        return None

    def stop(self) -> None:
        """Close its input (so it exits) and wait for it."""
        self.alive = False
        if self._pid:
            for fd in (self._requests, self._answers):
                os.close(fd)
            os.waitpid(self._pid, 0)
            self._pid = 0


def _serve(answer: Answer, requests: int, answers: int) -> None:
    """The worker's loop: answer each block of lines; exit when the input ends or anything fails."""
    status = 1
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)  # the batch's stdin and stdout are the parent's alone
        os.dup2(devnull, 1)
        while (data := _read(requests)) is not None:
            _write(answers, "".join([answer(line) for line in data.split(b"\n")]).encode("utf-8", "surrogatepass"))
        status = 0
    finally:
        os._exit(status)  # never the parent's clean-up (its buffers, its atexit handlers): only the pipes


def _write(fd: int, data: bytes) -> None:
    view = memoryview(len(data).to_bytes(_LENGTH, "big") + data)
    while view:
        view = view[os.write(fd, view):]


def _read(fd: int) -> bytes | None:
    """One message, or None at the end of the input (or a message cut short)."""
    head = _read_exactly(fd, _LENGTH)
    if head is None:
        return None
    return _read_exactly(fd, int.from_bytes(head, "big"))


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
