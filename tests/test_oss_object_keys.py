"""Object key rules, and the fetch property: a presigned URL requests exactly its key.

A real HTTP server on 127.0.0.1 records the raw request target of each fetch by requests,
urllib and (when installed) curl; its decoded path must be ``/bucket/key`` for every key.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pytest
import requests
from http_servers import serving

from shared.credentials import Credentials
from shared.errors import InvalidArgument
from shared.oss.object_keys import check_key, check_object_name, needs_opaque_path, url_unsafe_reason
from shared.oss.signer import presign

CREDS = Credentials("AK", "SK")
AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
KEYS = [
    "plain.txt", "dir/sub/file.txt", "folder/", "a/./b/../c.txt", "./start", "end/.", "end/..", "../../etc/passwd",
    "a//b///c.txt", "/leading/slash.txt", "//double", "a+b c+d.txt", "100%/a%2Fb%20c.txt", "%2e%2E/x",
    "what?x=1.txt", "?leading", "c#sharp#frag.txt", "a&b=c", "中文目录/文件 名.txt", "emoji-😀-🚀.png",
    "~user/file~1.txt", "semi;colon,comma", "back\\slash", "quote\"'<>`{}|^[]", "tab\there", "é/./é",
]


class _Recorder(BaseHTTPRequestHandler):
    targets: list[str] = []

    def do_GET(self) -> None:
        self.targets.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.targets


def _fetch_requests(url: str) -> None:
    requests.get(url, timeout=5).raise_for_status()


def _fetch_urllib(url: str) -> None:
    with urllib.request.urlopen(url, timeout=5) as response:
        response.read()


def _fetch_curl(url: str) -> None:
    subprocess.run(["curl", "-sf", "--max-time", "5", "-o", "/dev/null", url], check=True)


CLIENTS = [pytest.param(_fetch_requests, id="requests"), pytest.param(_fetch_urllib, id="urllib"),
           pytest.param(_fetch_curl, id="curl",
                        marks=pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed"))]


@pytest.mark.parametrize("fetch", CLIENTS)
@pytest.mark.parametrize("style", ["path", "cname"])
@pytest.mark.parametrize("key", KEYS)
def test_url_requests_exactly_the_key(recorder: tuple[str, list[str]], fetch, style: str, key: str) -> None:
    base, targets = recorder
    result = presign(CREDS, bucket="examplebucket", key=key, region="cn-hangzhou", endpoint=base,
                     cname=style == "cname", signing_time=AT)
    targets.clear()
    fetch(result.url)
    path = urlsplit(targets[-1]).path
    assert unquote(path) == (f"/examplebucket/{key}" if style == "path" else f"/{key}")
    assert "+" not in path and " " not in path


@pytest.mark.parametrize("key", [".", ".."])
def test_dot_segment_keys_are_rewritten_by_clients_and_flagged(recorder: tuple[str, list[str]], key: str) -> None:
    base, targets = recorder
    result = presign(CREDS, bucket="examplebucket", key=key, region="cn-hangzhou", endpoint=base, signing_time=AT)
    targets.clear()
    _fetch_requests(result.url)
    assert unquote(urlsplit(targets[-1]).path) != f"/examplebucket/{key}"
    assert "dot segment" in (url_unsafe_reason(key) or "")


def test_readable_slashes_unless_clients_would_normalise() -> None:
    assert not needs_opaque_path("dir/sub/file.txt")
    assert not needs_opaque_path("v1.2/file.tar.gz")
    assert not needs_opaque_path("folder/")
    for key in ("a//b", "/x", "a/./b", "a/..", "../x"):
        assert needs_opaque_path(key)


def test_url_unsafe_reason_only_for_whole_dot_segments() -> None:
    assert url_unsafe_reason("a/../b") is None
    assert url_unsafe_reason("...") is None


@pytest.mark.parametrize(("key", "fragment"), [
    ("", "1..1023 bytes"), ("x" * 1024, "got 1024"), ("/abs", "must not start"), ("\\win", "must not start"),
    ("lone\ud800", "lone surrogate"),
])
def test_check_object_name_refuses_what_oss_refuses(key: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_object_name(key)
    assert caught.value.field == "key" and fragment in caught.value.message


def test_check_key_accepts_the_sdks_keys() -> None:
    for key in ("/leading", "x" * 1023, "é" * 511, "😀" * 255):
        check_key(key)
