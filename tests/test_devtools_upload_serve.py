"""``python -m shared upload`` against ``python -m shared serve`` (real processes, free ports): 256 MiB in parts
keeps the local bucket's memory flat (serve runs the bucket in its own process), and on a terminal the progress
is a bar redrawn in place with the rate and the time left."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from processes import ROOT
from serve_process import Served, free_ports, port_arguments, serve_environment

MIB = 1 << 20
BIG = 256 * MIB
RSS_ALLOWANCE = 64 * MIB
TIMEOUT = 120


class Serve:
    def __init__(self, served: Served, ports: dict[str, int], data: Path) -> None:
        self.served, self.ports, self.data = served, ports, data

    @property
    def api_key(self) -> str:
        return str(json.loads((self.data / "dev-settings.json").read_text("utf-8"))["api_key"])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['--port']}"

    def environment(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent", "PRESIGN_API_KEY": self.api_key}

    def stored_sha256(self, key: str) -> str:
        asked = requests.get(f"{self.endpoint}/presign", params={"key": key}, headers={"X-Api-Key": self.api_key},
                             timeout=TIMEOUT)
        digest = hashlib.sha256()
        with requests.get(asked.json()["url"], stream=True, timeout=TIMEOUT) as answer:
            assert answer.status_code == 200
            for piece in answer.iter_content(MIB):
                digest.update(piece)
        return digest.hexdigest()


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    home = tmp_path_factory.mktemp("home")
    ports = free_ports()
    served = Served(port_arguments(ports) + ["--data", str(home / "oss")], serve_environment(home))
    try:
        served.ready()
        yield Serve(served, ports, home / "oss")
    finally:
        served.kill()


def _memory(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure (VmRSS, VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) << 10
    raise AssertionError(f"no {field} for process {pid}")


def _big_file(path: Path, size: int) -> str:
    """Write ``size`` bytes, no two MiB alike, a MiB at a time; their SHA-256."""
    block, digest = bytearray(os.urandom(MIB)), hashlib.sha256()
    with path.open("wb") as out:
        for n in range(size // MIB):
            block[:8] = n.to_bytes(8, "big")
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _upload(serve: Serve, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared", "upload", *arguments, "--endpoint", serve.endpoint],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=serve.environment())


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the bucket's memory from /proc")
def test_256_mib_keeps_the_local_buckets_memory_within_64_mib(serve: Serve, tmp_path: Path) -> None:
    _big_file(tmp_path / "warm.bin", 17 * MIB)
    assert _upload(serve, str(tmp_path / "warm.bin")).returncode == 0  # every code path of the bucket loaded
    digest = _big_file(tmp_path / "big.bin", BIG)
    baseline = _memory(serve.served.process.pid, "VmRSS")
    done = _upload(serve, str(tmp_path / "big.bin"))
    peak = _memory(serve.served.process.pid, "VmHWM")
    assert done.returncode == 0, done.stderr
    key = done.stdout.splitlines()[0].removeprefix("key: ")
    assert serve.stored_sha256(key) == digest
    assert peak - baseline < RSS_ALLOWANCE, f"the bucket grew by {(peak - baseline) >> 20} MiB"


def test_on_a_terminal_the_progress_is_a_bar_redrawn_in_place(serve: Serve, tmp_path: Path) -> None:
    _big_file(tmp_path / "film.bin", 40 * MIB)
    controller, terminal = pty.openpty()
    client = subprocess.Popen([sys.executable, "-m", "shared", "upload", str(tmp_path / "film.bin"), "--endpoint",
                               serve.endpoint, "--part-size", "1MiB", "--parts", "2"], cwd=ROOT,
                              env=serve.environment(), stdout=subprocess.PIPE, stderr=terminal, text=True)
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if not ready:
            if client.poll() is not None:
                break
            continue
        try:
            piece = os.read(controller, 65536)
        except OSError:  # the client closed the terminal: all is read
            break
        if not piece:
            break
        shown += piece
    os.close(controller)
    assert client.wait(timeout=TIMEOUT) == 0
    text = shown.decode()
    bars = [line for line in text.split("\r") if line.startswith("[")]
    assert bars and bars[-1].startswith("[" + "#" * 20 + "]  40.0 MiB of 40.0 MiB")
    assert all("MiB/s" in bar and " left" in bar for bar in bars)
    assert "upload: 10%" not in text  # the plain lines are for logs, not terminals
