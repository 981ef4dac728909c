"""The local bucket's OSS trigger: each object it stores becomes an event POSTed to the object-created function.

As Function Compute does for a custom runtime, the event ``{"events": [record]}`` goes to the function's
``POST /invoke`` with an ``x-fc-request-id``; serve's invoke token goes along as ``Authorization: Bearer``.
Events are queued (the upload is answered at once, as OSS invokes asynchronously) and sent one at a time,
in order, by one thread; events that arrive before ``start()`` wait for it. A failed invocation is one
line on the log stream, naming the object and the function's answer, never the token. There are no
retries: FC's asynchronous retries are not modelled.
"""

from __future__ import annotations

import json
import queue
import threading
import urllib.error
import urllib.request
import uuid

from shared.devtools.console import Console, Stream
from shared.devtools.local_oss.events import ObjectStored

QUEUE_LIMIT = 1000  # events waiting; more are dropped with a log line rather than holding memory
INVOKE_TIMEOUT = 120.0  # seconds: above the function's delivery budget (ON_CREATED_BUDGET, at most 900 is allowed)
STOP_WAIT = 1.0  # seconds stop() waits for the thread; an invocation still running is abandoned
_ANSWER_CHARS = 300


class FunctionTrigger:
    """Sends each stored object's event to the function at ``invoke_url``, in order, from one thread."""

    def __init__(self, invoke_url: str, *, token: str, log: Stream, timeout: float = INVOKE_TIMEOUT) -> None:
        self.invoke_url = invoke_url
        self._token = token
        self.log = log if isinstance(log, Console) else Console(log)
        self.timeout = timeout
        self._events: queue.Queue[ObjectStored | None] = queue.Queue(QUEUE_LIMIT)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"FunctionTrigger({self.invoke_url!r})"  # never the token

    def object_stored(self, stored: ObjectStored) -> None:
        """The local bucket's hook: queue the object's event (it is sent after start())."""
        try:
            self._events.put_nowait(stored)
        except queue.Full:
            self._write(f"object-created: {QUEUE_LIMIT} events are waiting; the event for "
                        f"{stored.bucket}/{stored.stored.key} is dropped")

    def start(self) -> FunctionTrigger:
        """Start sending, the queued events first."""
        self._thread = threading.Thread(target=self._run, name="oss-trigger", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sending; waits at most STOP_WAIT seconds for an invocation in progress."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        while True:  # make room for the sentinel: events still waiting are not sent
            try:
                self._events.get_nowait()
            except queue.Empty:
                break
        self._events.put(None)
        thread.join(timeout=STOP_WAIT)

    def _run(self) -> None:
        while (stored := self._events.get()) is not None:
            problem = self.invoke(stored)
            if problem:
                self._write(f"object-created: the event for {stored.bucket}/{stored.stored.key} failed: {problem}")

    def invoke(self, stored: ObjectStored) -> str | None:
        """POST one event to the function; None when it answered 200, else what went wrong."""
        body = json.dumps({"events": [stored.oss_event()]}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.invoke_url, data=body, method="POST", headers={
            "Content-Type": "application/json", "x-fc-request-id": str(uuid.uuid4()),
            "Authorization": f"Bearer {self._token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                answer.read()
                return None
        except urllib.error.HTTPError as error:
            return f"{error.code} {_message(error.read())}"
        except (OSError, ValueError) as error:  # refused, reset, timed out
            return f"the function at {self.invoke_url} cannot be reached ({type(error).__name__}: {error})"

    def _write(self, line: str) -> None:
        self.log.line(line)


def _message(body: bytes) -> str:
    """The function's error message from its JSON answer, or the start of the answer."""
    try:
        error = json.loads(body)["error"]
        return f"{error['code']}: {error['message']}"[:_ANSWER_CHARS]
    except (ValueError, KeyError, TypeError):
        return body[:_ANSWER_CHARS].decode("utf-8", "replace")
