"""The parts of a multipart upload, sent N at a time by threads, each read from the file as it is sent.

    plan_parts(size, part_size)     the parts: number, offset, size (the last one shorter)
    PartUrls                        presigned PUT URLs, signed 32 at a time ahead of need, again when one expired
    PartSender.send_all(parts)      every part PUT to its URL; a failed one sent again (bounded, with backoff)

Memory stays flat at any size: a part goes from the file to the socket 1 MiB at a time, copied by the kernel
(sendfile) over plain HTTP, read with ``os.pread`` (safe across threads) over HTTPS, so at most ``in_flight``
pieces are ever held. Worker threads are daemons: a Ctrl-C in the main thread leaves them behind, and with them
only parts the bucket has not yet kept.
"""

from __future__ import annotations

import http.client
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.devtools.upload_http import FileRange, RouteError, Routes, Transport, route_error

SIGN_AHEAD = 32  # part URLs signed by one batch request
URL_MAX_AGE = 300.0  # seconds after which a URL signed ahead is signed again rather than used
TICK = 0.1  # seconds between the main thread's looks at the progress
MIN_PART_SIZE = 100 << 10  # OSS: the least size of a part other than the last
MAX_PART_SIZE = 5 << 30  # OSS: the largest part
MAX_PARTS = 10_000  # OSS: part numbers 1..10000


class UploadFailed(Exception):
    """Raised when a part could not be uploaded, retries spent, or the file changed under the upload."""


@dataclass(frozen=True)
class PartPlan:
    """One part of the file: its number (1..10000), where it starts and how many bytes it has."""

    number: int
    offset: int
    size: int


def plan_parts(size: int, part_size: int) -> list[PartPlan]:
    """The parts of a file of ``size`` bytes in parts of ``part_size`` (an empty file is one empty part)."""
    count = max(1, -(-size // part_size))
    return [PartPlan(n + 1, n * part_size, min(part_size, size - n * part_size)) for n in range(count)]


@dataclass(frozen=True)
class Retry:
    """How often a failed part is sent again, and how long to wait before each: 0.5 s, doubled, at most 8 s."""

    attempts: int = 5
    first_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failure (1-based)."""
        return float(min(self.first_delay * 2 ** (attempt - 1), self.max_delay))


class Tally:
    """A byte count that threads add to: what has been sent so far."""

    def __init__(self, start: int = 0) -> None:
        self._lock = threading.Lock()
        self.value = start

    def add(self, amount: int) -> None:
        with self._lock:
            self.value += amount


class PartUrls:
    """Presigned PUT URLs for an upload's parts, signed in batches in the order the parts will be sent."""

    def __init__(self, routes: Routes, upload_id: str, key: str, order: Sequence[int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.routes, self.upload_id, self.key = routes, upload_id, key
        self.order = list(order)
        self.clock = clock
        self._signed: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def take(self, number: int, *, fresh: bool = False) -> str:
        """The URL for part ``number``: signed ahead if it is still young, else signed now (with the next parts)."""
        with self._lock:
            url, signed_at = self._signed.pop(number, ("", 0.0))
            if url and not fresh and self.clock() - signed_at < URL_MAX_AGE:
                return url
            at = self.order.index(number) if number in self.order else 0
            ahead = [n for n in self.order[at:at + SIGN_AHEAD] if n == number or n not in self._signed]
            numbers = ahead if not fresh and number in ahead else [number]
            now = self.clock()
            self._signed.update((n, (u, now)) for n, u in self.routes.sign_parts(self.upload_id, self.key,
                                                                                  numbers).items())
            return self._signed.pop(number)[0]


class PartSender:
    """Sends an upload's parts from an open file, ``in_flight`` at a time, and collects their ETags."""

    def __init__(self, urls: PartUrls, transport: Transport, fd: int, *, in_flight: int, retry: Retry,
                 sleep: Callable[[float], None], done: int = 0) -> None:
        self.urls, self.transport, self.fd = urls, transport, fd
        self.in_flight, self.retry, self.sleep = in_flight, retry, sleep
        self.stop = threading.Event()
        self.finished = Tally(done)  # bytes of the parts the bucket has kept
        self.active: dict[int, FileRange] = {}  # the parts on their way, each counting what it has sent

    def sent(self) -> int:
        """Bytes sent so far: the parts kept, and what the parts in flight have sent of themselves."""
        return self.finished.value + sum(body.sent for body in list(self.active.values()))

    def send_all(self, parts: Sequence[PartPlan], on_tick: Callable[[int], None]) -> dict[int, str]:
        """Send every part; their ETags by number. The first part that fails for good ends it (UploadFailed).
        ``on_tick`` hears the count of parts sent, each time one is done and at least every 0.1 s."""
        todo: queue.SimpleQueue[PartPlan] = queue.SimpleQueue()
        for part in parts:
            todo.put(part)
        results: queue.SimpleQueue[tuple[int, str | BaseException]] = queue.SimpleQueue()
        for _ in range(min(self.in_flight, len(parts))):
            threading.Thread(target=self._work, args=(todo, results), daemon=True).start()
        etags: dict[int, str] = {}
        try:
            while len(etags) < len(parts):
                try:
                    number, outcome = results.get(timeout=TICK)
                except queue.Empty:
                    on_tick(len(etags))
                    continue
                if isinstance(outcome, BaseException):
                    raise UploadFailed(f"part {number}: {outcome}") from outcome
                etags[number] = outcome
                on_tick(len(etags))
        finally:
            self.stop.set()
        return etags

    def _work(self, todo: queue.SimpleQueue[PartPlan], results: queue.SimpleQueue[tuple[int, str | BaseException]],
              ) -> None:
        while not self.stop.is_set():
            try:
                part = todo.get_nowait()
            except queue.Empty:
                break
            try:
                results.put((part.number, self._send_with_retries(part)))
            except Exception as exc:  # the main thread reports it; this worker is done
                results.put((part.number, exc))
                break
        self.transport.close()

    def _send_with_retries(self, part: PartPlan) -> str:
        fresh = False
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._put(self.urls.take(part.number, fresh=fresh), part)
            except RouteError as exc:
                # 403: most likely the URL expired on the way; any other 4xx is the request's fault.
                if not (exc.retryable or exc.status == 403) or attempt == self.retry.attempts:
                    raise
                fresh = exc.status == 403
            except (OSError, http.client.HTTPException):
                if attempt == self.retry.attempts:
                    raise
            if self.stop.is_set():
                raise UploadFailed("stopped")
            self.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _put(self, url: str, part: PartPlan) -> str:
        body = FileRange(self.fd, part.offset, part.size)
        self.active[part.number] = body
        try:
            answer = self.transport.send("PUT", url, {"Content-Length": str(part.size)}, body)
        finally:
            del self.active[part.number]
        if answer.status != 200:
            raise route_error(f"PUT of part {part.number}", answer)  # never the URL: it holds the signature
        self.finished.add(part.size)
        return answer.headers.get("etag", "")
