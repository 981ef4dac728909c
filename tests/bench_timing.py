"""What the whole-process benchmarks share: a warm bytecode cache and paired wall-clock runs.

Runs are paired (A, B, A, B, ...) and each pair gives one ratio; the median ratio is what the
benchmarks report, because this machine is shared and its speed drifts between runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Bytecode is cached (in a scratch folder, not the tree) as it is on a user's machine; a machine that
# sets PYTHONDONTWRITEBYTECODE would otherwise measure the compiler, not the program.
WARM_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
WARM_ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pycache-")
TIMEOUT = 120.0  # seconds before a run counts as hung and is killed


@dataclass(frozen=True)
class Paired:
    """Median wall seconds of A and of B, and the median of the pairs' A/B ratios."""

    a: float
    b: float
    ratio: float

    def describe(self, a: str, b: str) -> str:
        """One line: both medians in ms and the median ratio."""
        return f"{a} {self.a * 1000:.1f} ms, {b} {self.b * 1000:.1f} ms: {self.ratio:.2f}x (median of paired runs)"


def wall(command: Sequence[str], *, env: Mapping[str, str], stdin: bytes | None = None,
         cwd: str | None = None) -> float:
    """Seconds one run of ``command`` takes, start-up included; its output is discarded.

    The wait blocks in waitpid: ``subprocess.run(timeout=...)`` polls with sleeps that double up to 50 ms,
    which rounds every figure up to that schedule (15.5, 31.5, 63.5, 113.5 ms ...). A timer kills a hung run.
    """
    start = time.perf_counter()
    with subprocess.Popen(command, stdin=subprocess.PIPE if stdin is not None else None, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, env=dict(env), cwd=cwd) as process:
        watchdog = threading.Timer(TIMEOUT, process.kill)
        watchdog.start()
        try:
            process.communicate(stdin)
        finally:
            watchdog.cancel()
    elapsed = time.perf_counter() - start
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, list(command))
    return elapsed


def paired(a: Sequence[str], b: Sequence[str], *, env: Mapping[str, str], runs: int = 21,
           stdin: bytes | None = None, cwd: str | None = None) -> Paired:
    """Run A and B in turn ``runs`` times each after one warm-up of both."""
    wall(a, env=env, stdin=stdin, cwd=cwd), wall(b, env=env, stdin=stdin, cwd=cwd)
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(wall(a, env=env, stdin=stdin, cwd=cwd))
        times_b.append(wall(b, env=env, stdin=stdin, cwd=cwd))
    ratios = [x / y for x, y in zip(times_a, times_b, strict=True)]
    return Paired(statistics.median(times_a), statistics.median(times_b), statistics.median(ratios))
