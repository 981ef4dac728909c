"""``python -m shared upload`` as a real process: the presign app served on 127.0.0.1 (its S3 routes) in front of
the local bucket, behind a proxy that counts the part PUTs the bucket kept and injects faults. A form upload, a
multipart upload in parallel, a part that fails once and is retried, a Ctrl-C (SIGINT) and a --resume that
sends only the missing parts, an abort, refusals as one line; stored objects checked byte for byte."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
import requests
from bucket_proxy import BucketProxy, bucket_proxy
from http_servers import WsgiApp
from presign_env import ACCESS_KEY, API_KEY, JWT_SECRET, environment
from processes import ROOT

from shared.auth.jwt import encode_jwt
from shared.clock import utc_now
from shared.devtools import cli
from shared.devtools.local_oss import LocalOss
from shared.devtools.upload_client import Uploader
from shared.devtools.upload_http import Routes, Transport
from shared.devtools.upload_parts import Retry, UploadFailed
from shared.devtools.upload_progress import Progress
from shared.http.wsgi import serve_wsgi
from shared.oss.signer import presign
from shared.presign.wiring import build_presign_app

MIB = 1 << 20
BUCKET = "examplebucket"
REGION = "cn-hangzhou"
POLICY = {"principals": {
    "alice": [{"bucket": BUCKET, "prefix": "uploads/alice/", "methods": ["PUT", "POST"], "max_size": 64 * MIB,
               "allow": ["multipart"]}],
}}
TIMEOUT = 60


@dataclass
class Stack:
    """The presign app, the local bucket and the proxy between them; the client's base environment."""

    base: str
    oss: LocalOss
    proxy: BucketProxy

    def upload(self, *arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*arguments), capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
                              env=client_environment(**env))

    def command(self, *arguments: str) -> list[str]:
        return [sys.executable, "-m", "shared", "upload", *arguments, "--endpoint", self.base]

    def stored(self, key: str) -> bytes:
        url = presign(ACCESS_KEY, bucket=BUCKET, key=key, region=REGION, endpoint=self.oss.endpoint,
                      signing_time=utc_now()).url
        answer = requests.get(url, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        return answer.content


def client_environment(**extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent", "PYTHONUNBUFFERED": "1",
           "PRESIGN_API_KEY": API_KEY, **extra}
    return {name: value for name, value in env.items() if value}


@pytest.fixture
def stack(tmp_path: Path, wsgi_server: Callable[[WsgiApp], str]) -> Iterator[Stack]:
    with LocalOss(tmp_path / "oss", credentials=[ACCESS_KEY], region=REGION, buckets=[BUCKET]) as oss, \
            bucket_proxy(oss.endpoint) as proxy:
        environ = environment(PRESIGN_POLICY=json.dumps(POLICY), OSS_ENDPOINT=proxy.endpoint)
        app = build_presign_app(environ, audit_stream=io.StringIO())
        yield Stack(wsgi_server(partial(serve_wsgi, app)), oss, proxy)


def write_file(path: Path, size: int) -> bytes:
    """A file of ``size`` bytes, no two MiB alike; its content."""
    block = os.urandom(MIB)
    data = b"".join(hashlib.sha256(bytes([n % 256, n // 256])).digest() + block[32:]
                    for n in range(-(-size // MIB)))[:size]
    path.write_bytes(data)
    return data


def printed(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert set(lines) == {"key", "etag"}
    return lines


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest().upper()}"'


def test_a_small_file_is_one_form_upload(stack: Stack, tmp_path: Path) -> None:
    data = write_file(tmp_path / "notes.txt", 3000)
    done = printed(stack.upload(str(tmp_path / "notes.txt")))
    assert done["key"].startswith("uploads/alice/") and done["key"].endswith("/notes.txt")
    assert done["etag"] == quoted_md5(data)
    assert stack.stored(done["key"]) == data
    assert stack.proxy.arrived == []  # no part: one POST of the form
    assert API_KEY not in done["key"] + done["etag"]


def test_a_larger_file_goes_in_parts_in_parallel(stack: Stack, tmp_path: Path) -> None:
    data = write_file(tmp_path / "film.mp4", 24 * MIB)
    done = stack.upload(str(tmp_path / "film.mp4"), "--part-size", "5MiB")
    result = printed(done)
    assert stack.stored(result["key"]) == data
    parts = [data[n:n + 5 * MIB] for n in range(0, len(data), 5 * MIB)]
    whole = hashlib.md5(b"".join(hashlib.md5(part).digest() for part in parts)).hexdigest().upper()
    assert result["etag"] == f'"{whole}-5"'
    assert sorted(stack.proxy.kept) == [1, 2, 3, 4, 5]
    assert "100%" in done.stderr.splitlines()[-1]  # not a terminal: a plain line per 10 %
    assert sum("%" in line for line in done.stderr.splitlines()) == 10
    assert not (tmp_path / "film.mp4.upload.json").exists()
    assert API_KEY not in done.stdout + done.stderr


def test_a_bearer_token_works_as_the_api_key_does(stack: Stack, tmp_path: Path) -> None:
    data = write_file(tmp_path / "film.mp4", 17 * MIB)
    token = encode_jwt({"sub": "alice", "exp": int((utc_now() + timedelta(hours=1)).timestamp())}, JWT_SECRET)
    (tmp_path / "token").write_text(token + "\n")
    done = stack.upload(str(tmp_path / "film.mp4"), "--token", f"@{tmp_path / 'token'}", PRESIGN_API_KEY="")
    assert stack.stored(printed(done)["key"]) == data
    assert token not in done.stdout + done.stderr


def test_a_part_that_fails_once_is_sent_again(stack: Stack, tmp_path: Path) -> None:
    data = write_file(tmp_path / "film.mp4", 24 * MIB)
    stack.proxy.failures[2] = 1
    done = stack.upload(str(tmp_path / "film.mp4"), "--part-size", "5MiB")
    assert stack.stored(printed(done)["key"]) == data
    assert stack.proxy.arrived.count(2) == 2 and sorted(stack.proxy.kept) == [1, 2, 3, 4, 5]


def test_a_part_whose_url_expired_is_signed_again(stack: Stack, tmp_path: Path) -> None:
    data = write_file(tmp_path / "film.mp4", 17 * MIB)
    stack.proxy.failures[1], stack.proxy.fault_status = 1, 403
    done = stack.upload(str(tmp_path / "film.mp4"))
    assert stack.stored(printed(done)["key"]) == data
    assert stack.proxy.arrived.count(1) == 2


def test_a_part_the_bucket_refuses_is_not_sent_again(stack: Stack, tmp_path: Path) -> None:
    write_file(tmp_path / "film.mp4", 17 * MIB)
    stack.proxy.failures[2], stack.proxy.fault_status = 1, 400
    done = stack.upload(str(tmp_path / "film.mp4"))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines()[-1] == ("error: part 2: PUT of part 2 answered 400 InvalidArgument: Something the "
                                            "test made up.")
    assert stack.proxy.arrived.count(2) == 1 and (tmp_path / "film.mp4.upload.json").exists()
    os.utime(tmp_path / "film.mp4", ns=(0, 0))  # the file changed since: its parts in the bucket are not its own
    again = stack.upload(str(tmp_path / "film.mp4"), "--resume")
    assert again.returncode == 1 and again.stderr == (f"error: {tmp_path / 'film.mp4'} changed since its upload "
                                                      "began: run again without --resume (or --abort the old upload)\n")


def test_resume_without_a_state_file_says_so(stack: Stack, tmp_path: Path) -> None:
    write_file(tmp_path / "film.mp4", 100)
    done = stack.upload(str(tmp_path / "film.mp4"), "--resume")
    assert (done.returncode, done.stderr) == (1, f"error: no upload to resume: {tmp_path / 'film.mp4.upload.json'} "
                                                 "does not exist\n")


def test_ctrl_c_keeps_the_state_and_resume_sends_only_the_missing_parts(stack: Stack, tmp_path: Path) -> None:
    data = write_file(tmp_path / "film.mp4", 24 * MIB)
    stack.proxy.held = {3, 4, 5}
    client = subprocess.Popen(stack.command(str(tmp_path / "film.mp4"), "--part-size", "5MiB", "--parts", "2"),
                              cwd=ROOT, env=client_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + TIMEOUT
    while sorted(stack.proxy.kept) != [1, 2] or not {3, 4} <= set(stack.proxy.arrived):
        assert time.monotonic() < deadline and client.poll() is None, client.communicate(timeout=5)
        time.sleep(0.02)
    time.sleep(0.3)  # both workers hold parts 3 and 4: the main thread counts parts 1 and 2 within 0.1 s
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=TIMEOUT)
    assert client.returncode == 130 and out == ""
    assert err.splitlines()[-1] == (f"interrupted: 2 of 5 parts are uploaded; python -m shared upload "
                                    f"'{tmp_path / 'film.mp4'}' --resume continues")
    assert "Traceback" not in err
    assert (tmp_path / "film.mp4.upload.json").exists()

    stack.proxy.held, stack.proxy.kept = set(), []
    stack.proxy.release.set()
    done = stack.upload(str(tmp_path / "film.mp4"), "--resume")
    assert stack.stored(printed(done)["key"]) == data
    assert sorted(stack.proxy.kept) == [3, 4, 5]  # parts 1 and 2 were listed, not sent again
    assert "2 uploaded, 3 to send" in done.stderr
    assert not (tmp_path / "film.mp4.upload.json").exists()


def test_resume_by_upload_id_and_abort(stack: Stack, tmp_path: Path) -> None:
    write_file(tmp_path / "film.mp4", 24 * MIB)
    routes = Routes(stack.base, ("X-Api-Key", API_KEY), Transport())
    upload_id, key = routes.start("film.mp4", "video/mp4", {})
    done = stack.upload(str(tmp_path / "film.mp4"), "--resume", upload_id, "--key", key, "--abort")
    assert (done.returncode, done.stdout) == (0, f"aborted: {upload_id}\n"), done.stderr
    again = stack.upload(str(tmp_path / "film.mp4"), "--resume", upload_id, "--key", key)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and "answered 404 NoSuchUpload" in again.stderr


def test_a_wrong_api_key_is_one_line_that_does_not_repeat_it(stack: Stack, tmp_path: Path) -> None:
    write_file(tmp_path / "notes.txt", 100)
    done = stack.upload(str(tmp_path / "notes.txt"), PRESIGN_API_KEY="not-the-key-0123456789")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("error: GET /s3/params answered 401 Unauthenticated")
    assert len(done.stderr.splitlines()) == 1 and "not-the-key" not in done.stderr


def test_a_part_that_keeps_failing_ends_the_upload_after_bounded_retries(stack: Stack, tmp_path: Path) -> None:
    write_file(tmp_path / "film.mp4", 17 * MIB)
    stack.proxy.failures[1] = 99
    slept: list[float] = []
    uploader = Uploader(Routes(stack.base, ("X-Api-Key", API_KEY), Transport()), stderr=io.StringIO(),
                        terminal=False, part_size=9 * MIB, retry=Retry(attempts=4), sleep=slept.append)
    with pytest.raises(UploadFailed, match="part 1: PUT of part 1 answered 503 ServiceUnavailable"):
        uploader.upload(tmp_path / "film.mp4")
    assert slept == [0.5, 1.0, 2.0] and stack.proxy.arrived.count(1) == 4
    assert (tmp_path / "film.mp4.upload.json").exists()  # resumable


@pytest.mark.parametrize(("arguments", "message"), [
    (["--parts", "0"], "--parts must be 1..32, got 0"),
    (["--parts", "x"], "argument --parts: invalid int value: 'x'"),
    (["--part-size", "50KiB"], "--part-size must be 100KiB..5GiB"),
    (["--part-size", "5 parsecs"], "--part-size must be bytes or a size such as 5MiB"),
    (["--endpoint", "ftp://example.com"], "--endpoint must be an http:// or https:// URL"),
    (["--endpoint", "http://user:pw@example.com"], "--endpoint must be an http:// or https:// URL"),
    (["--resume", "ABC"], "--resume UPLOAD_ID needs --key KEY too"),
    (["--key", "k"], "--key goes with --resume UPLOAD_ID"),
    (["--abort"], "--abort needs --resume"),
    (["--api-key", "a", "--token", "b"], "argument --token: not allowed with argument --api-key"),
    (["--api-key", "@/nonexistent/key"], "--api-key: cannot read '/nonexistent/key'"),
], ids=lambda value: "_".join(value) if isinstance(value, list) else None)
def test_every_bad_flag_is_one_line_and_status_2(tmp_path: Path, arguments: list[str], message: str) -> None:
    (tmp_path / "f").write_bytes(b"x")
    stderr, stdout = io.StringIO(), io.StringIO()
    status = cli.main(["upload", str(tmp_path / "f"), *arguments], environ={"PRESIGN_API_KEY": "k" * 20},
                      stdout=stdout, stderr=stderr)
    assert (status, stdout.getvalue()) == (2, "")
    assert stderr.getvalue().startswith(f"error: {message}") and stderr.getvalue().count("\n") == 1


def test_no_credentials_or_no_file_is_status_2(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    for argv, environ, message in ((["upload", str(tmp_path / "f")], {}, "error: no credentials"),
                                   (["upload", str(tmp_path / "missing")], {"PRESIGN_API_KEY": "k" * 20},
                                    "error: FILE must be a regular file")):
        stderr = io.StringIO()
        assert cli.main(argv, environ=environ, stdout=io.StringIO(), stderr=stderr) == 2
        assert stderr.getvalue().startswith(message)


def test_the_bar_shows_bytes_rate_and_time_left_on_a_clock_the_test_moves() -> None:
    now = [100.0]
    shown = io.StringIO()
    progress = Progress(shown, 100 * MIB, done=20 * MIB, terminal=True, clock=lambda: now[0])
    now[0] = 102.0
    progress.update(40 * MIB)  # 20 MiB in 2 s this run; 60 MiB to go
    assert shown.getvalue() == "\r[########............]  40.0 MiB of 100.0 MiB  10.0 MiB/s  0:06 left\x1b[K"
    now[0] = 102.05
    progress.update(41 * MIB)  # within 0.1 s of the last redraw: not drawn
    assert shown.getvalue().count("\r") == 1
    progress.end_line()
    assert shown.getvalue().endswith("\n")


def test_off_a_terminal_it_is_one_line_per_10_percent() -> None:
    shown = io.StringIO()
    progress = Progress(shown, 100 * MIB, terminal=False, clock=iter([0.0, 1.0, 2.0]).__next__)
    progress.update(25 * MIB)
    progress.update(100 * MIB)
    assert [line.split(" (")[0] for line in shown.getvalue().splitlines()] == [
        f"upload: {tenth}%" for tenth in range(10, 101, 10)]
