"""Benchmark ``python -m shared sign`` as a user runs it: whole processes, start-up included.

Run: ``python3 tests/bench_cli.py [--lines N] [--baseline 'COMMAND']``. Not collected by pytest.

- one-shot: ``python -m shared sign KEY`` beside a bare ``python -c pass``, paired runs
  (target: at most 2x);
- batch: ``python -m shared sign --batch`` over N lines (10,000) of GETs with two ``response-*``
  parameters, the whole process timed. With ``--baseline``, COMMAND is run with the JSON-lines
  file as its last argument and must print, on its last line, the seconds another signer took to
  sign the same requests in-process (the closing notes give such a script for an official SDK,
  kept outside this repository); the figure is baseline seconds / our seconds (target: >= 8).

Credentials come from OSS_ACCESS_KEY_ID/SECRET set here (made-up values); nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_timing import WARM_ENV, paired, wall

ROOT = Path(__file__).resolve().parent.parent
ENV = {**WARM_ENV, "OSS_ACCESS_KEY_ID": "LTAI5tFAKEaccessKeyID0001", "OSS_ACCESS_KEY_SECRET": "FAKEsecretKEY0123456789",
       "OSS_REGION": "cn-hangzhou", "OSS_BUCKET": "examplebucket", "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
AT = "2025-03-04T05:06:07Z"


def batch_lines(count: int) -> bytes:
    """``count`` GET requests for distinct keys, each with two response-* parameters and one signing time."""
    lines = []
    for index in range(count):
        key = f"reports/2025/q{index % 4 + 1}/summary {index:05d}.pdf"
        params = {"response-content-disposition": f'attachment; filename="summary {index:05d}.pdf"',
                  "response-content-type": "application/pdf"}
        lines.append(json.dumps({"key": key, "expires": 900, "at": AT, "params": params}))
    return ("\n".join(lines) + "\n").encode()


def one_shot() -> None:
    sign = [sys.executable, "-m", "shared", "sign", "reports/2025/q1 summary.pdf", "--at", AT]
    result = paired(sign, [sys.executable, "-c", "pass"], env=ENV, cwd=str(ROOT))
    print("one-shot: " + result.describe("python -m shared sign KEY", "python -c pass") + " (target <= 2.00x)")


def batch(count: int, baseline: str | None) -> None:
    data = batch_lines(count)
    command = [sys.executable, "-m", "shared", "sign", "--batch"]
    wall(command, env=ENV, stdin=data, cwd=str(ROOT))  # warm the bytecode cache
    ours = min(wall(command, env=ENV, stdin=data, cwd=str(ROOT)) for _ in range(5))
    print(f"batch: {count:,} lines in {ours:.3f} s, start-up included: {count / ours:,.0f} URLs/s (best of 5)")
    if not baseline:
        print("batch: no --baseline given, so no ratio")
        return
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as requests_file:
        requests_file.write(data)
        requests_file.flush()
        seconds = []
        for _ in range(5):  # interleaved with our runs, so both see the same machine
            done = subprocess.run([*shlex.split(baseline), requests_file.name], capture_output=True, text=True,
                                  check=True, timeout=600)
            seconds.append(float(done.stdout.strip().splitlines()[-1]))
            ours = min(ours, wall(command, env=ENV, stdin=data, cwd=str(ROOT)))
    theirs = min(seconds)
    print(f"baseline: {count:,} lines in {theirs:.3f} s in-process (best of 5)")
    print(f"batch ratio: {theirs / ours:.2f}x the baseline (target >= 8.00x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--baseline", help="a command that signs the JSON-lines file in-process and prints seconds")
    args = parser.parse_args()
    one_shot()
    batch(args.lines, args.baseline)


if __name__ == "__main__":
    main()
