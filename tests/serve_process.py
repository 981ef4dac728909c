"""``python -m shared serve`` as a real process: free ports, a clean environment, its output read by threads
(so no read can hang a test), waits bounded, and SIGINT to stop it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from processes import ROOT, free_port

PORT_OPTIONS = ("--port", "--links-port", "--on-created-port", "--webhook-port", "--oss-port", "--page-port")
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def serve_environment(home: Path, **extra: str) -> dict[str, str]:
    """What a stranger's shell would hand serve, minus everything of theirs: PATH, a HOME, unbuffered output."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONUNBUFFERED": "1",
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true", **extra}


def free_ports() -> dict[str, int]:
    """A free port for each of serve's port options."""
    return {option: free_port() for option in PORT_OPTIONS}


def port_arguments(ports: Mapping[str, int]) -> list[str]:
    """The command-line form of ``free_ports()``."""
    return [word for option, port in ports.items() for word in (option, str(port))]


class Served:
    """A running ``python -m shared serve``: its stdout and stderr lines as they arrive."""

    def __init__(self, arguments: list[str], env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "shared", "serve", *arguments], cwd=ROOT, env=dict(env),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._arrived: queue.Queue[str | None] = queue.Queue()
        self._readers = [threading.Thread(target=self._read, args=(self.process.stdout, self.out, True), daemon=True),
                         threading.Thread(target=self._read, args=(self.process.stderr, self.err, False), daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, lines: list[str], signal_arrival: bool) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line.rstrip("\n"))
            if signal_arrival:
                self._arrived.put(line.rstrip("\n"))
        if signal_arrival:
            self._arrived.put(None)

    def until(self, wanted: Callable[[str], bool], timeout: float = READY_TIMEOUT) -> str:
        """Wait for a stdout line that ``wanted`` accepts; fail if serve ends or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._arrived.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no such line within {timeout} s: {self.out} {self.err[-20:]}") from None
            if line is None:
                raise AssertionError(f"serve ended first (status {self.process.wait(5)}): {self.out} {self.err[-20:]}")
            if wanted(line):
                return line

    def until_stderr(self, fragment: str, timeout: float = READY_TIMEOUT) -> None:
        """Wait for a stderr line holding ``fragment``; fail if serve ends or time runs out."""
        deadline = time.monotonic() + timeout
        while not any(fragment in line for line in self.err):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {fragment!r} on stderr: {self.err[-20:]}")
            time.sleep(0.02)

    def ready(self) -> list[str]:
        """Wait for the ``ready`` line; the stdout lines so far."""
        self.until(lambda line: line.startswith("ready"))
        return list(self.out)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait for serve to end (bounded) and for its output to be read; its exit status."""
        status = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return status

    def interrupt(self, timeout: float = STOP_TIMEOUT) -> int:
        """Ctrl-C: SIGINT, then the exit status (bounded)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def kill(self) -> None:
        """Make sure serve and its functions are gone (a failed test's clean-up): SIGINT, so that serve stops
        its functions' process groups, and SIGKILL only if it does not end in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


FAKE_FRAMEWORK = '''#!{python}
"""A stand-in for functions-framework: FAKE_<TARGET> says how the function misbehaves; otherwise the real one runs."""
import os, socket, sys
arguments = sys.argv[1:]
target, port = arguments[arguments.index("--target") + 1], int(arguments[arguments.index("--port") + 1])
mode = os.environ.get("FAKE_" + target.upper(), "")
if mode == "die":
    print(f"{{target}}: starting", flush=True)
    print(f"{{target}}: ImportError: cannot import the handler", flush=True)
    sys.exit(3)
if mode == "hang":
    print(f"{{target}}: importing slowly", flush=True)
    import signal
    signal.pause()
if mode == "die-later":
    listener = socket.create_server(("127.0.0.1", port))
    listener.accept()[0].close()  # serve's check that the port listens
    listener.accept()[0].close()  # the test's signal to die
    print(f"{{target}}: worker crashed", flush=True)
    sys.exit(4)
os.execv(sys.executable, [sys.executable, "-m", "functions_framework", *arguments])
'''


def fake_framework(folder: Path) -> str:
    """Put a misbehaving ``functions-framework`` in folder; return a PATH that finds it first."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "functions-framework"
    script.write_text(FAKE_FRAMEWORK.format(python=sys.executable), "utf-8")
    script.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
