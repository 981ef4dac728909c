"""A small Chromium driver for tests: the DevTools protocol over a pipe, standard library only.

``chromium --headless --remote-debugging-pipe`` reads commands from file descriptor 3 and writes
answers and events to descriptor 4, each message one JSON object ending in a NUL byte. This module
starts the browser with those two descriptors, opens pages on their own targets (flattened sessions)
and offers what the tests need: evaluate, wait for a condition, viewport and network emulation,
screenshots. Every wait is bounded.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

DEFAULT_TIMEOUT = 30.0


class BrowserError(RuntimeError):
    """Raised when the browser answers a command with an error, dies, or a wait runs out."""


def chromium_path() -> str | None:
    """The Chromium binary on PATH (Debian's package installs /usr/bin/chromium), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are numbered 10 or more, so the shell's moves onto 3 and 4 cannot clobber them."""
    ends = os.pipe()
    high = tuple(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 10) for end in ends)
    for end in ends:
        os.close(end)
    return high[0], high[1]


class Browser:
    """One headless Chromium process and its DevTools pipe."""

    def __init__(self, binary: str, *, profile: str) -> None:
        commands_read, self._commands = _high_pipe()
        self._events, events_write = _high_pipe()
        args = ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-dev-shm-usage", "--mute-audio",
                f"--user-data-dir={profile}", "about:blank"]
        # bash (dash takes one-digit descriptors only) puts our pipe ends on 3 and 4, where Chromium reads them.
        script = f'exec "$0" "$@" 3<&{commands_read} 4>&{events_write} {commands_read}<&- {events_write}>&-'
        self.process = subprocess.Popen(["bash", "-c", script, binary, *args], pass_fds=(commands_read, events_write),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(commands_read)
        os.close(events_write)
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="chromium-devtools", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._events, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            pending += chunk
            *messages, pending = pending.split(b"\0")
            with self._changed:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Send one command and wait (bounded) for its answer; an error answer raises BrowserError."""
        with self._write_lock:
            self._next_id += 1
            command_id = self._next_id
            message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._changed:
            while command_id not in self._answers:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise BrowserError(f"no answer to {method} within {timeout} s (browser closed: {self._closed})")
                self._changed.wait(left)
            answer = self._answers.pop(command_id)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message')}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def wait_event(self, method: str, *, session: str | None = None, since: int = 0,
                   timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The first event named ``method`` (of ``session``) at index ``since`` or later, waiting if needed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.events[since:]:
                    if event.get("method") == method and (session is None or event.get("sessionId") == session):
                        return event
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise BrowserError(f"no {method} event within {timeout} s")
                self._changed.wait(left)

    def new_page(self, url: str = "about:blank") -> Page:
        """A new tab on its own target, with Page and Runtime events on, loaded with ``url``."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target)
        page.send("Page.enable")
        page.send("Runtime.enable")
        if url != "about:blank":
            page.goto(url)
        return page

    def allow_downloads(self, folder: Path) -> None:
        """Save downloads into ``folder`` under their suggested names, with progress events."""
        self.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder),
                                                  "eventsEnabled": True})

    def wait_download(self, *, since: int, timeout: float = DEFAULT_TIMEOUT) -> str:
        """The suggested file name of the first download begun at event ``since`` or later, once it completed."""
        begun = self.wait_event("Browser.downloadWillBegin", since=since, timeout=timeout)["params"]
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                states = [event["params"]["state"] for event in self.events[since:]
                          if event.get("method") == "Browser.downloadProgress"
                          and event["params"].get("guid") == begun["guid"]]
                if "completed" in states:
                    return str(begun["suggestedFilename"])
                if "canceled" in states:
                    raise BrowserError(f"download of {begun['suggestedFilename']} was canceled")
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise BrowserError(f"download of {begun['suggestedFilename']} did not complete in {timeout} s")
                self._changed.wait(left)

    def close(self) -> None:
        """Ask the browser to quit, then make sure it has."""
        if self.process.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except BrowserError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for descriptor in (self._commands, self._events):
            try:
                os.close(descriptor)
            except OSError:
                pass
        if self.process.stderr:
            self.process.stderr.close()


class Page:
    """One tab: commands go to its flattened session."""

    def __init__(self, browser: Browser, session: str, target: str) -> None:
        self.browser = browser
        self.session = session
        self.target = target

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def goto(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Navigate and wait for the load event."""
        since = len(self.browser.events)
        answer = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if answer.get("errorText"):
            raise BrowserError(f"navigation to {url} failed: {answer['errorText']}")
        self.browser.wait_event("Page.loadEventFired", session=self.session, since=since, timeout=timeout)

    def evaluate(self, expression: str, *, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The value of a JavaScript expression (promises awaited); a thrown error raises BrowserError."""
        answer = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True, "timeout": int(timeout * 1000)},
                           timeout=timeout + 5)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"page script failed: {text}")
        return answer.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float = DEFAULT_TIMEOUT, interval: float = 0.05) -> Any:
        """Evaluate ``expression`` until it is truthy (bounded); return that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"still false after {timeout} s: {expression}")
            time.sleep(interval)

    def set_files(self, selector: str, paths: list[Path]) -> None:
        """Choose files in the ``<input type=file>`` that ``selector`` finds, as a user would."""
        found = self.send("Runtime.evaluate", {"expression": f"document.querySelector({json.dumps(selector)})"})
        object_id = found.get("result", {}).get("objectId")
        if not object_id:
            raise BrowserError(f"no element matches {selector}")
        self.send("DOM.setFileInputFiles", {"files": [str(path) for path in paths], "objectId": object_id})

    def set_viewport(self, width: int, height: int, *, mobile: bool = False, scale: float = 1.0) -> None:
        """Emulate a screen of ``width`` x ``height`` CSS pixels (a phone with ``mobile=True``)."""
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": scale, "mobile": mobile})

    def throttle(self, *, upload_bytes_per_second: float, download_bytes_per_second: float = -1,
                 latency_ms: float = 0) -> None:
        """Slow the page's network down (so that progress events are really observed)."""
        self.send("Network.enable")
        self.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency_ms,
                                                       "uploadThroughput": upload_bytes_per_second,
                                                       "downloadThroughput": download_bytes_per_second})

    def close(self) -> None:
        """Close the tab."""
        self.browser.send("Target.closeTarget", {"targetId": self.target})

    def screenshot(self, path: Path) -> Path:
        """Write a PNG of what the tab shows to ``path``."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextmanager
def launched(binary: str | None = None) -> Iterator[Browser]:
    """A browser for the length of a ``with`` block, with a throw-away profile."""
    found = binary or chromium_path()
    if not found:
        raise BrowserError("no chromium on PATH")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = Browser(found, profile=profile)
        try:
            browser.send("Browser.getVersion")
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the session; absent, the test is skipped, except in CI where it fails."""
    binary = chromium_path()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (.ci/run installs it with apt-get)")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs these tests")
    with launched(binary) as browser:
        yield browser


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh tab, closed after the test."""
    tab = chromium.new_page()
    try:
        yield tab
    finally:
        tab.close()
