"""shared.oss.multipart: the function's own multipart requests, header-signed, sent to the local bucket (directly,
or through a proxy on 127.0.0.1 that loses answers), their XML, ETags, pages, refusals and retries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from http_servers import serving
from presign_env import ACCESS_KEY

from shared.credentials.sources import ExplicitSource
from shared.devtools.local_oss import LocalOss
from shared.errors import InvalidUpload, NotFound, UpstreamError
from shared.oss.client import OssClient
from shared.oss.issuer import Issuer
from shared.oss.multipart import MultipartUploads, bare_etag, complete_body, multipart_etag

NOW = datetime(2026, 12, 2, 7, 0, 0, tzinfo=timezone.utc)
BUCKET = "examplebucket"
KIB = 1 << 10
TIMEOUT = 10


@pytest.fixture
def oss(tmp_path: Path) -> Iterator[LocalOss]:
    with LocalOss(tmp_path / "oss", credentials=[ACCESS_KEY], region="cn-hangzhou", buckets=[BUCKET],
                  clock=lambda: NOW) as running:
        yield running


def uploads_via(endpoint: str) -> MultipartUploads:
    issuer = Issuer(ExplicitSource(ACCESS_KEY), region="cn-hangzhou", endpoint=endpoint, clock=lambda: NOW)
    return MultipartUploads(OssClient(issuer))


def put_parts(uploads: MultipartUploads, key: str, upload_id: str, chunks: list[bytes]) -> list[tuple[int, str]]:
    """PUT each part to its presigned URL, as a browser does; the (number, ETag) pairs OSS answered."""
    parts = []
    for number, chunk in enumerate(chunks, 1):
        url = uploads.client.issuer.presign(bucket=BUCKET, key=key, method="PUT", expires=600,
                                            params={"partNumber": str(number), "uploadId": upload_id}).presigned.url
        answer = requests.put(url, data=chunk, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        parts.append((number, answer.headers["ETag"]))
    return parts


class LosingProxy:
    """Forwards every request to the bucket; the answer to the first request ``lose`` matches is never sent (or,
    for ``503 <match>``, that request is answered 503 without being forwarded)."""

    def __init__(self, target: str, lose: str) -> None:
        self.target = target
        self.unavailable = lose.startswith("503 ")
        self.lose = lose.removeprefix("503 ")
        self.seen: list[str] = []
        self.lost = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.unavailable and proxy.lose in f"{self.command} {self.path}" and not proxy.lost.is_set():
                    proxy.lost.set()
                    proxy.seen.append("503")
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
                answer = requests.request(self.command, proxy.target + self.path, data=body, headers=headers,
                                          timeout=TIMEOUT)
                proxy.seen.append(f"{self.command} {self.path.partition('?')[2].partition('=')[0]}")
                if f"{self.command} {self.path}".find(proxy.lose) >= 0 and not proxy.lost.is_set():
                    proxy.lost.set()
                    self.close_connection = True  # carried out, but the answer is lost on the way
                    return
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def losing(oss: LocalOss, request: pytest.FixtureRequest) -> Iterator[LosingProxy]:
    proxy = LosingProxy(oss.endpoint, request.param)
    with serving(proxy.server):
        yield proxy


def test_an_upload_from_initiate_to_complete(oss: LocalOss) -> None:
    uploads = uploads_via(oss.endpoint)
    upload_id = uploads.initiate(BUCKET, "in/a b.bin", content_type="video/mp4", meta={"owner": "alice"})
    chunks = [b"1" * (100 * KIB), b"2" * (100 * KIB), b"3"]
    parts = put_parts(uploads, "in/a b.bin", upload_id, chunks)
    listed = uploads.list_parts(BUCKET, "in/a b.bin", upload_id)
    assert [(part.number, part.size, part.etag) for part in listed] == [
        (n, len(c), etag) for (n, etag), c in zip(parts, chunks, strict=True)]
    completed = uploads.complete(BUCKET, "in/a b.bin", upload_id, parts)
    assert bare_etag(completed.etag) == multipart_etag([etag for _, etag in parts])  # OSS's rule, computed here
    assert completed.location == f"{oss.endpoint}/{BUCKET}/in/a%20b.bin"
    with pytest.raises(NotFound) as gone:
        uploads.list_parts(BUCKET, "in/a b.bin", upload_id)
    assert gone.value.code == "NoSuchUpload"


def test_list_parts_reads_every_page(oss: LocalOss) -> None:
    uploads = uploads_via(oss.endpoint)
    upload_id = uploads.initiate(BUCKET, "in/paged")
    put_parts(uploads, "in/paged", upload_id, [bytes([n]) for n in range(5)])
    assert [part.number for part in uploads.list_parts(BUCKET, "in/paged", upload_id, page_size=2)] == [1, 2, 3, 4, 5]


def test_refusals_keep_oss_codes(oss: LocalOss) -> None:
    uploads = uploads_via(oss.endpoint)
    upload_id = uploads.initiate(BUCKET, "in/r")
    parts = put_parts(uploads, "in/r", upload_id, [b"x" * 10, b"y"])
    with pytest.raises(InvalidUpload) as small:
        uploads.complete(BUCKET, "in/r", upload_id, parts)
    assert (small.value.status, small.value.code) == (400, "EntityTooSmall")
    with pytest.raises(InvalidUpload) as wrong:
        uploads.complete(BUCKET, "in/r", upload_id, [(1, "0" * 32)])
    assert wrong.value.code == "InvalidPart"
    with pytest.raises(NotFound) as other_key:
        uploads.abort(BUCKET, "in/other", upload_id)
    assert other_key.value.code == "NoSuchUpload"
    uploads.abort(BUCKET, "in/r", upload_id)


@pytest.mark.parametrize("losing", ["POST /examplebucket/in/lost?uploadId="], indirect=True)
def test_a_complete_whose_answer_was_lost_is_found_done(oss: LocalOss, losing: LosingProxy) -> None:
    direct = uploads_via(oss.endpoint)
    upload_id = direct.initiate(BUCKET, "in/lost")
    parts = put_parts(direct, "in/lost", upload_id, [b"p" * (100 * KIB), b"q"])
    completed = uploads_via(losing.endpoint).complete(BUCKET, "in/lost", upload_id, parts)
    assert losing.lost.is_set() and losing.seen == ["POST uploadId", "POST uploadId", "HEAD "]
    assert bare_etag(completed.etag) == multipart_etag([etag for _, etag in parts])
    assert completed.location.endswith(f"/{BUCKET}/in/lost")


@pytest.mark.parametrize("losing", ["POST /examplebucket/in/once?uploads"], indirect=True)
def test_an_initiate_whose_answer_was_lost_is_not_sent_again(losing: LosingProxy) -> None:
    with pytest.raises(UpstreamError) as failed:
        uploads_via(losing.endpoint).initiate(BUCKET, "in/once")
    assert losing.seen == ["POST uploads"]  # a second one would leave an upload nobody knows of
    assert "unreachable" in failed.value.message and "http" not in failed.value.message


def test_complete_body_sends_quoted_etags_either_way() -> None:
    body = complete_body([(1, '"a1b2"'), (2, "C3D4")])
    root = ElementTree.fromstring(body)
    assert [(part.findtext("PartNumber"), part.findtext("ETag")) for part in root] == [("1", '"A1B2"'),
                                                                                       ("2", '"C3D4"')]


def test_multipart_etag_is_the_md5_of_the_part_md5s() -> None:
    import hashlib

    first, second = hashlib.md5(b"a").hexdigest(), hashlib.md5(b"b").hexdigest()
    expected = hashlib.md5(bytes.fromhex(first) + bytes.fromhex(second)).hexdigest().upper()
    assert multipart_etag([f'"{first}"', second.upper()]) == f"{expected}-2"


@pytest.mark.parametrize("losing", ["503 GET /examplebucket/in/busy?"], indirect=True)
def test_a_503_is_tried_once_more(oss: LocalOss, losing: LosingProxy) -> None:
    upload_id = uploads_via(oss.endpoint).initiate(BUCKET, "in/busy")
    assert uploads_via(losing.endpoint).list_parts(BUCKET, "in/busy", upload_id) == []
    assert losing.seen == ["503", "GET max-parts"]  # the first query parameter, as signed
