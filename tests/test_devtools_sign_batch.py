"""``python -m shared sign --batch``: the plain-line path says, byte for byte, what the one-URL path says."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from stubs_credentials import FakeClock, ScriptedProvider

from shared.config import SigningDefaults
from shared.credentials.value import Credentials
from shared.devtools import sign_worker
from shared.devtools.sign_batch import BatchAnswers, answer_batch, answer_line
from shared.devtools.signing import Signer

AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
_ALPHABET = "aZ09-_.~ +%?#&=/\\:;@!*'()[]{}|^`\"<>,$中文😀é\t\n"
_TIMES = ["2025-03-04T05:06:07Z", "20250304T050608Z", "2025-03-04T05:06:07+00:00", "2025-13-04T05:06:07Z",
          "yesterday", ""]
_EXPIRES = [900, 900, 60, 1, 604800, 0, 604801, -5]
# Lines no plain request is: each must take the one-URL path and say what it says.
_ODD_LINES = [
    b"this is not json", b"[1, 2]", b'{"key": "a"} x', b'{"key": "a"}  \t\r', b'\xef\xbb\xbf{"key": "a"}',
    b'{\x00"key": "a"}', b'{"key": "\xff"}', b'{"key": "\\ud800"}', b'{"key": "a", "at": null}',
    b'{"key": "a", "params": null}', b'{"key": "a", "expires": true}', b'{"key": "a", "expires": 9.5}',
    b'{"key": "a", "params": {"x-oss-date": "1"}}', b'{"key": "a", "params": {"a": 1}}', b'{"key": ""}',
    b'{"key": "/abs"}', b'{"key": ".."}', b'{"key": "a/../b"}', b'{"key": 5}', b'{"at": "20250304T050607Z"}',
    b'{"key": "a", "colour": "blue"}', b'{"key": "a", "method": "PUT"}', b'{"key": "a", "bucket": "otherbucket"}',
    b'{"key": "a", "headers": {"Content-Type": "text/plain"}}', b'{"key": "a", "key": "b"}', b' {"key": "a"}',
    b'{"key": "a", "params": {"response-content-type": "text/plain", "": "x"}}', "{\"key\": \"é\"}".encode("utf-16"),
]


def _random_text(rng: random.Random, most: int = 30) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, most)))


def _random_line(rng: random.Random) -> bytes:
    if rng.random() < 0.15:
        return rng.choice(_ODD_LINES)
    request: dict[str, object] = {"key": _random_text(rng)}
    if rng.random() < 0.8:
        request["at"] = rng.choice(_TIMES)
    if rng.random() < 0.7:
        request["expires"] = rng.choice(_EXPIRES)
    if rng.random() < 0.7:
        request["params"] = {rng.choice(["response-content-type", "response-content-disposition", "versionId",
                                         "x-oss-process", "z", _random_text(rng, 8)]):
                             rng.choice([None, "", _random_text(rng)]) for _ in range(rng.randint(0, 3))}
    items = list(request.items())
    rng.shuffle(items)
    return json.dumps(dict(items), ensure_ascii=rng.random() < 0.5).encode()


def _both(lines: list[bytes] | list[str], defaults: SigningDefaults, *answers: Credentials) -> None:
    """Answer the lines by the batch path and by the one-URL path, each with its own signer; compare."""
    fast_provider, slow_provider = ScriptedProvider(*answers), ScriptedProvider(*answers)
    clock = FakeClock(AT + timedelta(microseconds=250_000))  # for the lines without "at"
    fast = BatchAnswers(Signer(defaults, fast_provider, clock=clock))
    slow = Signer(defaults, slow_provider, clock=clock)
    for index, line in enumerate(lines):
        assert fast.answer(line) == answer_line(slow, line), line
        if index % 50 == 49:
            clock.advance(seconds=0.5)
    assert fast_provider.calls == slow_provider.calls  # the same credentials fetched at the same lines


def _defaults(endpoint: str | None = None, cname: bool = False) -> SigningDefaults:
    return SigningDefaults("examplebucket", "cn-hangzhou", endpoint, cname)


LONG_LIVED = Credentials("LTAI5tBatchKey", "batch-secret-0123456789")


@pytest.mark.parametrize("seed", range(12))
def test_random_lines_get_the_one_url_paths_bytes(seed: int) -> None:
    rng = random.Random(seed)
    lines = [_random_line(rng) for _ in range(300)]
    _both(lines, _defaults(), LONG_LIVED)
    _both([line.decode("utf-8", "replace") for line in lines], _defaults(), LONG_LIVED)  # a text stream's lines


@pytest.mark.parametrize(("endpoint", "cname"), [("http://127.0.0.1:9000", False), ("cdn.example.com", True),
                                                 ("oss-cn-beijing.aliyuncs.com", True), ("ftp://x", False)])
def test_endpoints_from_the_defaults(endpoint: str, cname: bool) -> None:
    rng = random.Random(endpoint)
    _both([_random_line(rng) for _ in range(100)], _defaults(endpoint, cname), LONG_LIVED)


def test_no_bucket_or_region_in_the_defaults() -> None:
    rng = random.Random(7)
    lines = [_random_line(rng) for _ in range(50)]
    _both(lines, SigningDefaults(None, "cn-hangzhou", None, False), LONG_LIVED)
    _both(lines, SigningDefaults("examplebucket", None, None, False), LONG_LIVED)
    _both(lines, SigningDefaults("Bad_Bucket", "cn-hangzhou", None, False), LONG_LIVED)


def test_expiring_credentials_cap_and_refresh_at_the_same_lines() -> None:
    """STS credentials that cap some lines' lifetime and run out for others: fetched again where the one-URL
    path fetches them, and each line capped as it caps it."""
    rng = random.Random(3)
    soon = [Credentials(f"STS.batch{n}", f"sts-secret-{n}", f"token+/={n}", AT + timedelta(seconds=300 * n))
            for n in range(1, 6)]
    lines = [_random_line(rng) for _ in range(400)]
    _both(lines, _defaults(), *soon)
    _both(lines, _defaults(), soon[0])  # never enough for the long lines: fetched (and refused) each time


def test_a_batch_stream_is_answered_in_order_as_the_one_url_path_would() -> None:
    rng = random.Random(11)
    lines = [_random_line(rng) for _ in range(200)]
    text = "\n".join(line.decode("utf-8", "replace").replace("\n", " ") for line in lines) + "\n\n"
    out, clock = io.StringIO(), FakeClock(AT)
    assert answer_batch(Signer(_defaults(), ScriptedProvider(LONG_LIVED), clock=clock), io.StringIO(text), out) == 0
    slow = Signer(_defaults(), ScriptedProvider(LONG_LIVED), clock=clock)
    assert out.getvalue() == "".join(answer_line(slow, line) for line in text.splitlines(True) if line.strip())


# The real command: with two processors, large blocks are answered half by a second process -----------

ROOT = Path(__file__).resolve().parent.parent
ENV = {"PATH": os.environ.get("PATH", ""), "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
       "ALIBABA_CLOUD_CREDENTIALS_FILE": "/nonexistent/credentials.ini", "HOME": "/nonexistent",
       "OSS_ACCESS_KEY_ID": LONG_LIVED.access_key_id, "OSS_ACCESS_KEY_SECRET": LONG_LIVED.access_key_secret,
       "OSS_BUCKET": "examplebucket", "OSS_REGION": "cn-hangzhou"}
BATCH = [sys.executable, "-m", "shared", "sign", "--batch"]
WAIT = 20  # seconds: a bound for liveness only
_FIXED_DATES = ("x-oss-date=20250304T050607Z&", "x-oss-date=20250304T050608Z&")


def _clockless_lines(seed: int, count: int) -> tuple[list[bytes], list[str]]:
    """Random lines whose answers do not depend on the clock, and those answers by the one-URL path."""
    rng = random.Random(seed)
    slow = Signer(_defaults(), ScriptedProvider(LONG_LIVED))
    lines, answers = [], []
    while len(lines) < count:
        line = _random_line(rng).replace(b"\n", b" ")
        answer = answer_line(slow, line) if line.strip() else ""
        if answer and ('"url": ' not in answer or any(date in answer for date in _FIXED_DATES)):
            lines.append(line)
            answers.append(answer)
    return lines, answers


def _worker_of(pid: int) -> int | None:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if not children.exists():
        return None
    found = children.read_text().split()
    return int(found[0]) if found else None


def test_a_long_batch_through_the_real_command_says_what_the_one_url_path_says(tmp_path: Path) -> None:
    lines, answers = _clockless_lines(21, 6000)
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(b"\n".join(lines) + b"\n")
    with requests.open("rb") as stdin:
        done = subprocess.run(BATCH, cwd=ROOT, env=ENV, stdin=stdin, capture_output=True, timeout=WAIT)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.decode() == "".join(answers)


def _stream(process: subprocess.Popen[bytes], lines: list[bytes]) -> bytes:
    """Write lines (from a thread, so that neither pipe fills up for good) and read as many answer lines."""
    assert process.stdin is not None and process.stdout is not None
    stdin = process.stdin
    writer = threading.Thread(target=lambda: (stdin.write(b"\n".join(lines) + b"\n"), stdin.flush()), daemon=True)
    watchdog = threading.Timer(WAIT, process.kill)  # a batch that stops answering fails the test, not hangs it
    writer.start()
    watchdog.start()
    try:
        answers = b"".join(process.stdout.readline() for _ in lines)
    finally:
        watchdog.cancel()
    writer.join(WAIT)
    return answers


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0]
        except FileNotFoundError:
            return True
        if state in "ZX":  # exited (a zombie until its parent reaps it)
            return True
        time.sleep(0.01)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc to find the worker")
def test_a_killed_worker_leaves_its_half_to_the_batch_and_ctrl_c_ends_both() -> None:
    lines, answers = _clockless_lines(22, 4500)
    with subprocess.Popen(BATCH, cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        assert _stream(process, lines[:1500]).decode() == "".join(answers[:1500])
        worker = _worker_of(process.pid)
        assert (worker is not None) == sign_worker.available()  # one processor: no worker, the batch alone
        if worker is not None:
            os.kill(worker, signal.SIGKILL)
            assert _gone(worker)
        assert _stream(process, lines[1500:3000]).decode() == "".join(answers[1500:3000])
        assert _worker_of(process.pid) is None  # the batch went on alone
        assert _stream(process, lines[3000:]).decode() == "".join(answers[3000:])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 130
        assert process.stderr is not None and process.stderr.read() == b""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc to find the worker")
def test_ctrl_c_to_the_batch_ends_its_worker_too() -> None:
    lines, answers = _clockless_lines(23, 1500)
    with subprocess.Popen(BATCH, cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        assert _stream(process, lines).decode() == "".join(answers)
        worker = _worker_of(process.pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 130
    assert worker is None or _gone(worker)
