"""Start real servers for end-to-end tests: subprocesses on free 127.0.0.1 ports, bounded waits."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = START_TIMEOUT) -> None:
    """Return once the port accepts connections; fail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def functions_framework_command(source: str, target: str, port: int) -> list[str]:
    """The functions-framework command line, through this interpreter's installed entry point."""
    executable = shutil.which("functions-framework") or shutil.which("functions_framework")
    base = [executable] if executable else [sys.executable, "-m", "functions_framework"]
    return [*base, "--source", str(ROOT / source), "--target", target, "--host", "127.0.0.1", "--port", str(port)]


@contextmanager
def running(command: list[str], port: int, env: Mapping[str, str], *, log: Path | None = None) -> Iterator[str]:
    """Run a server process until the block ends; yield its base URL."""
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
    output = open(log, "wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=output, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if log:
            output.close()  # type: ignore[union-attr]
