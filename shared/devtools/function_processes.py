"""serve's function processes: functions-framework per function, each in its own process group.

Each process's output (stdout and stderr together) is forwarded line by line to serve's log stream,
prefixed with the function's name, and its last lines are kept: when a function ends while serve runs,
during start-up or after, ``FunctionExited`` carries them, so that serve can stop and say why. Waits
watch serve's stop event, so Ctrl-C is honoured at once, while the functions start too.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path

from shared.devtools.console import Console

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0  # seconds for a function to listen on its port
STOP_TIMEOUT = 10.0  # seconds after SIGTERM before SIGKILL
LAST_LINES = 15
_POLL = 0.05


class FunctionExited(Exception):
    """Raised when a function process ended, or never listened, while serve runs; ``lines`` are its last."""

    def __init__(self, name: str, problem: str, lines: list[str]) -> None:
        super().__init__(f"the {name} function {problem}")
        self.name = name
        self.lines = lines

    def report(self) -> str:
        """The problem and the function's last lines, for the terminal."""
        shown = "".join(f"\n  {line}" for line in self.lines) or "\n  (it printed nothing)"
        return f"error: {self}; its last lines:{shown}"


def framework_command(source: str, target: str, port: int) -> list[str]:
    """functions-framework for one target on 127.0.0.1 (the one on PATH, else this interpreter's module)."""
    executable = shutil.which("functions-framework")
    base = [executable] if executable else [sys.executable, "-m", "functions_framework"]
    return [*base, "--source", source, "--target", target, "--host", "127.0.0.1", "--port", str(port)]


class FunctionProcess:
    """One running function: its process, the thread forwarding its output, and its last lines."""

    def __init__(self, target: str, source: str, port: int, env: Mapping[str, str], log: Console) -> None:
        self.target, self.port, self.log = target, port, log
        self.last: deque[str] = deque(maxlen=LAST_LINES)
        full_env = {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(framework_command(source, target, port), cwd=ROOT, env=full_env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self._forwarder = threading.Thread(target=self._forward, name=f"log:{target}", daemon=True)
        self._forwarder.start()

    def _forward(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.last.append(line)
            self.log.line(f"[{self.target}] {line}")

    def listening(self) -> bool:
        """True once something accepts connections on the function's port."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def exited(self) -> FunctionExited | None:
        """The error to stop with if the process has ended, else None."""
        status = self.process.poll()
        if status is None:
            return None
        self._forwarder.join(timeout=1.0)  # its last words, unless orphaned workers hold the pipe open
        problem = (f"was killed by {signal.Signals(-status).name}" if status < 0 else
                   f"exited with status {status}")
        return FunctionExited(self.target, problem, list(self.last))

    def terminate(self) -> None:
        """SIGTERM to the process group (its workers too), even when the process itself has ended."""
        _signal_group(self.process.pid, signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        """Wait for the process until the deadline, then SIGKILL its group."""
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)
        self._forwarder.join(timeout=1.0)


class FunctionGroup:
    """The functions serve runs: started together, waited for together, stopped together."""

    def __init__(self, log: Console) -> None:
        self.log = log
        self.functions: list[FunctionProcess] = []

    def start(self, target: str, source: str, port: int, env: Mapping[str, str]) -> None:
        """Start one function; it is waited for by ``wait_listening``."""
        self.functions.append(FunctionProcess(target, source, port, env, self.log))

    def wait_listening(self, stop: threading.Event, timeout: float = START_TIMEOUT) -> bool:
        """Wait until every function listens; False if ``stop`` was set first; FunctionExited if one ends."""
        deadline = time.monotonic() + timeout
        waiting = list(self.functions)
        while waiting:
            self.check()
            waiting = [function for function in waiting if not function.listening()]
            if not waiting:
                return True
            if time.monotonic() > deadline:
                late = waiting[0]
                raise FunctionExited(late.target, f"did not listen on port {late.port} within {timeout:.0f} s",
                                     list(late.last))
            if stop.wait(_POLL):
                return False
        return not stop.is_set()

    def check(self) -> None:
        """Raise FunctionExited for the first function whose process has ended."""
        for function in self.functions:
            exited = function.exited()
            if exited is not None:
                raise exited

    def watch(self, stop: threading.Event, interval: float = 0.2) -> None:
        """Return when ``stop`` is set; raise FunctionExited as soon as a function ends."""
        while not stop.wait(interval):
            self.check()

    def stop(self) -> None:
        """SIGTERM every function's process group, then SIGKILL what is left after STOP_TIMEOUT."""
        for function in self.functions:
            function.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for function in self.functions:
            function.wait_or_kill(deadline)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already
