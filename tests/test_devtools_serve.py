"""The README's run command: ``python -m shared serve`` starts, prints a download command that works,
and stops cleanly on SIGINT, all within bounded time."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from processes import ROOT, free_port

README = (ROOT / "README.md").read_text("utf-8")
SERVE = re.search(r"^python3 -m pip install -r requirements.txt && (python3 -m shared serve.*)$", README, re.M)


def _read_until_ready(process: subprocess.Popen, timeout: float = 60) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise AssertionError(f"serve exited early: {lines}")
        lines.append(line.rstrip("\n"))
        if line.startswith("ready"):
            return lines
    raise AssertionError(f"serve was not ready within {timeout} s: {lines}")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_readme_run_command_serves_and_stops(tmp_path: Path) -> None:
    assert SERVE, "README.md must start with the run command"
    ports = [free_port() for _ in range(3)]
    command = shlex.split(SERVE.group(1)) + ["--port", str(ports[0]), "--links-port", str(ports[1]),
                                             "--oss-port", str(ports[2]), "--data", str(tmp_path / "oss")]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, *command[1:]], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        lines = _read_until_ready(process)
        download = next(line.strip() for line in lines if "redirect=1" in line)
        if shutil.which("curl"):
            body = subprocess.run(shlex.split(download), capture_output=True, timeout=30, check=True).stdout
        else:
            api_key = re.search(r"X-Api-Key: ([^']+)", download).group(1)  # type: ignore[union-attr]
            url = re.search(r"'(http[^']+)'$", download).group(1)  # type: ignore[union-attr]
            body = requests.get(url, headers={"X-Api-Key": api_key}, timeout=30).content
        assert body == b"Hello from the local OSS bucket!\n"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    assert not any(_listening(port) for port in ports)
    assert (tmp_path / "oss" / "dev-settings.json").stat().st_mode & 0o077 == 0


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "shared", "serve", "--port", str(port), "--data", str(tmp_path)],
                              cwd=ROOT, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 2 and f"port {port}" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("variable", ["OSS_BUCKET"])
def test_real_oss_settings_are_announced(tmp_path: Path, variable: str) -> None:
    ports = [free_port() for _ in range(2)]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1", variable: "realbucket",
           "OSS_REGION": "cn-hangzhou", "PRESIGN_API_KEYS": "a:" + "0" * 64, "PRESIGN_POLICY": '{"principals": {}}'}
    process = subprocess.Popen([sys.executable, "-m", "shared", "serve", "--port", str(ports[0]), "--links-port",
                                str(ports[1]), "--data", str(tmp_path / "unused")], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = _read_until_ready(process)
        assert any("real OSS" in line for line in lines)
        assert not (tmp_path / "unused").exists()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
