"""How ``python -m shared`` ends when its reader goes away or Ctrl-C comes: quietly, with a status, no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {"PATH": os.environ.get("PATH", ""), "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
       "ALIBABA_CLOUD_CREDENTIALS_FILE": "/nonexistent/credentials.ini", "HOME": "/nonexistent",
       "OSS_ACCESS_KEY_ID": "LTAI5tCLIkey", "OSS_ACCESS_KEY_SECRET": "cli-test-secret-0123456789",
       "OSS_BUCKET": "examplebucket", "OSS_REGION": "cn-hangzhou"}
BATCH = [sys.executable, "-m", "shared", "sign", "--batch"]
WAIT = 30  # seconds: a bound for liveness, never reached when things work
# Holds the import of the command line until the test has sent its signal (bounded by WAIT).
SLOW_IMPORT = f"""
import importlib.abc, os, sys, time

class HoldTheCommandLine(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "shared.devtools.cli":
            os.write(2, b"importing\\n")
            time.sleep({WAIT})
        return None

sys.meta_path.insert(0, HoldTheCommandLine())
"""


def test_a_reader_that_closes_the_pipe_ends_the_batch_with_status_1(tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps({"key": f"k{n}"}) + "\n" for n in range(20_000)))
    with requests.open("rb") as stdin, subprocess.Popen(BATCH, cwd=ROOT, env=ENV, stdin=stdin,
                                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        first_two = [process.stdout.readline(), process.stdout.readline()]
        process.stdout.close()  # what `| head -2` does once it has its lines
        assert process.wait(timeout=WAIT) == 1
        assert process.stderr.read() == b""
    assert all(json.loads(line)["url"].startswith("https://examplebucket.") for line in first_two)


def test_ctrl_c_while_a_batch_waits_for_more_input_is_status_130() -> None:
    with subprocess.Popen(BATCH, cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        process.stdin.write(b'{"key": "a"}\n')
        process.stdin.flush()
        assert "url" in json.loads(process.stdout.readline())  # the batch now waits on a pipe that never ends
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 130
        assert process.stderr.read() == b""


def test_ctrl_c_during_the_imports_is_status_130(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(SLOW_IMPORT)
    env = {**ENV, "PYTHONPATH": str(tmp_path)}
    with subprocess.Popen(BATCH, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        assert process.stderr is not None and process.stdout is not None
        assert process.stderr.readline() == b"importing\n"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 130
        assert process.stderr.read() == b"" and process.stdout.read() == b""
