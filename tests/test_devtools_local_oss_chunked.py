"""Chunked uploads to the local bucket (``Transfer-Encoding: chunked``, as ``curl -T -`` and streaming clients
send them): stored byte for byte with flat memory, refused past the size limit with EntityTooLarge leaving
nothing behind, malformed framing refused. Real servers on 127.0.0.1 (port 0)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from stubs_local_oss import BUCKET, KEYS, REGION, Bucket, error_of

from shared.devtools.local_oss import LocalOss
from shared.devtools.local_oss.server import MAX_OBJECT_SIZE
from shared.oss.signer import presign_now

TIMEOUT = 10
LIMIT = 1 << 20


def _pieces(total: int, piece: int = 1 << 16) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        size = min(piece, total - sent)
        yield bytes([sent // piece % 251]) * size
        sent += size


def _leftovers(root: Path) -> list[Path]:
    return [path for path in (root / BUCKET / "%tmp").glob("*")] if (root / BUCKET / "%tmp").exists() else []


@pytest.fixture
def small(tmp_path: Path) -> Iterator[LocalOss]:
    """A local bucket whose objects may be at most LIMIT bytes."""
    with LocalOss(tmp_path / "small", credentials=[KEYS], region=REGION, buckets=[BUCKET],
                  max_object_size=LIMIT) as oss:
        yield oss


def _put_url(oss: LocalOss, key: str) -> str:
    return presign_now(KEYS, bucket=BUCKET, key=key, region=REGION, endpoint=oss.endpoint, method="PUT").url


def _get(oss: LocalOss, key: str) -> requests.Response:
    url = presign_now(KEYS, bucket=BUCKET, key=key, region=REGION, endpoint=oss.endpoint).url
    return requests.get(url, timeout=TIMEOUT)


def test_the_size_limit_is_oss_putobject_limit() -> None:
    assert MAX_OBJECT_SIZE == 5 << 30


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_curl_uploads_from_stdin(bucket: Bucket) -> None:
    url = bucket.presign("from/stdin.txt", method="PUT").url
    done = subprocess.run(["curl", "-sS", "-f", "-T", "-", url], input=b"piped\n" * 1000, capture_output=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    got = bucket.http.get(bucket.presign("from/stdin.txt").url, timeout=TIMEOUT)
    assert got.content == b"piped\n" * 1000
    assert got.headers["ETag"] == '"' + hashlib.md5(b"piped\n" * 1000).hexdigest().upper() + '"'


def test_a_large_chunked_upload_streams_with_flat_memory(bucket: Bucket) -> None:
    total = 32 << 20
    url = bucket.presign("big/stream.bin", method="PUT").url
    tracemalloc.start()
    try:
        answer = bucket.http.put(url, data=_pieces(total), timeout=60)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.status_code == 200, answer.text
    assert peak < 4 << 20, f"peak {peak} bytes for a {total}-byte upload"
    expected = hashlib.md5(b"".join(_pieces(total))).hexdigest().upper()
    assert answer.headers["ETag"] == f'"{expected}"'
    assert bucket.oss.store.head(BUCKET, "big/stream.bin").size == total
    second = bucket.http.put(bucket.presign("big/again.bin", method="PUT").url, data=_pieces(10), timeout=TIMEOUT)
    assert second.status_code == 200  # the connection was kept and is still in step


def test_a_chunked_upload_up_to_the_limit_is_stored(small: LocalOss) -> None:
    answer = requests.put(_put_url(small, "exact.bin"), data=_pieces(LIMIT), timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert small.store.head(BUCKET, "exact.bin").size == LIMIT


def test_a_chunked_upload_past_the_limit_is_refused_and_leaves_nothing(small: LocalOss) -> None:
    assert requests.put(_put_url(small, "kept.bin"), data=b"the old version", timeout=TIMEOUT).status_code == 200
    for key in ("new.bin", "kept.bin"):
        try:
            answer = requests.put(_put_url(small, key), data=_pieces(LIMIT * 3), timeout=TIMEOUT)
        except requests.ConnectionError:
            continue  # the server answered and closed while the client was still sending: also a refusal
        assert answer.status_code == 400
        error = error_of(answer)
        assert error["Code"] == "EntityTooLarge" and error["MaxSizeAllowed"] == str(LIMIT)
    assert not small.store.exists(BUCKET, "new.bin")
    assert _get(small, "kept.bin").content == b"the old version"
    assert _leftovers(small.store.root) == []
    objects = [path for path in (small.store.root / BUCKET / "%objects").rglob("*") if path.is_file()]
    assert len(objects) == 1


def test_a_declared_length_past_the_limit_is_refused_before_reading(small: LocalOss) -> None:
    answer = requests.put(_put_url(small, "declared.bin"), data=b"x" * (LIMIT + 1), timeout=TIMEOUT)
    assert answer.status_code == 400 and error_of(answer)["Code"] == "EntityTooLarge"
    assert error_of(answer)["ProposedSize"] == str(LIMIT + 1)
    assert not small.store.exists(BUCKET, "declared.bin")


def _raw(oss: LocalOss, key: str, headers: str, body: bytes, *, close: bool = False) -> bytes:
    target = urlsplit(_put_url(oss, key))
    with socket.create_connection(("127.0.0.1", oss.port), timeout=TIMEOUT) as raw:
        raw.sendall(f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode() + body)
        if close:
            raw.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
            if b"</Error>" in answer or (b"200 OK" in answer and b"\r\n\r\n" in answer):
                break
        return answer


@pytest.mark.parametrize(("headers", "body", "status", "code"), [
    ("Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n", b"400", b"InvalidArgument"),
    ("Transfer-Encoding: chunked\r\n", b"3\r\nabcXY0\r\n\r\n", b"400", b"InvalidArgument"),
    ("Transfer-Encoding: chunked\r\n", b"-3\r\nabc\r\n0\r\n\r\n", b"400", b"InvalidArgument"),
    ("Transfer-Encoding: gzip, chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n", b"501", b"NotImplemented"),
    ("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", b"3\r\nabc\r\n0\r\n\r\n", b"400", b"InvalidArgument"),
    ("", b"", b"411", b"MissingContentLength"),
], ids=["not hex", "no CRLF after the data", "negative", "another coding", "with Content-Length", "no length"])
def test_bad_framing_is_refused_and_stores_nothing(small: LocalOss, headers: str, body: bytes, status: bytes,
                                                   code: bytes) -> None:
    answer = _raw(small, "framed.bin", headers, body)
    assert answer.split(b" ", 2)[1] == status and b"<Code>" + code + b"</Code>" in answer
    assert not small.store.exists(BUCKET, "framed.bin") and _leftovers(small.store.root) == []


def test_chunk_extensions_and_trailers_are_read_past(small: LocalOss) -> None:
    body = b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
    answer = _raw(small, "extended.txt", "Transfer-Encoding: chunked\r\n", body)
    assert answer.startswith(b"HTTP/1.1 200")
    assert _get(small, "extended.txt").content == b"hello, world"


def test_a_client_that_stops_mid_chunk_leaves_nothing(small: LocalOss) -> None:
    _raw(small, "cut.bin", "Transfer-Encoding: chunked\r\n", b"100\r\n" + b"x" * 10, close=True)
    deadline = time.monotonic() + TIMEOUT
    while _leftovers(small.store.root) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _leftovers(small.store.root) == [] and not small.store.exists(BUCKET, "cut.bin")
    assert not os.path.exists(small.store.root / BUCKET / "%objects")
