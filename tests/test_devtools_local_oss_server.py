"""The local bucket over HTTP: presigned and header-signed requests from the signer, every documented
failure's status and code, Range, addressing, response overrides, and path-escape attempts.

Real servers on 127.0.0.1 (port 0) from the ``bucket`` fixture; the clock is a FakeClock.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import shutil
import socket
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests
from stubs_local_oss import BUCKET, KEYS, REGION, STS, Bucket, error_of

from shared.credentials import Credentials
from shared.devtools.local_oss import LocalOss
from shared.oss.signer import presign, sign_request

TIMEOUT = 5
KEYS_TO_TRY = ["plain.txt", "dir/sub/file.txt", "a/./b/../c.txt", "a//b///c.txt", "a+b c+d.txt",
               "中文目录/文件 名.txt", "emoji-😀-🚀.png", "folder/", "100%/a%2Fb%20c.txt", "what?x=1#frag",
               "back\\slash", "../up.txt", "end/..", "~user/file~1.txt"]


def _send(bucket: Bucket, method: str, url: str, **options: object) -> requests.Response:
    return bucket.http.request(method, url, timeout=TIMEOUT, **options)  # type: ignore[arg-type]


def _put(bucket: Bucket, key: str, data: bytes, content_type: str = "text/plain", **extra: str) -> requests.Response:
    signed = bucket.presign(key, method="PUT", headers={"Content-Type": content_type, **extra})
    return _send(bucket, "PUT", signed.url, data=data, headers=signed.signed_headers)


def _raw(bucket: Bucket, method: str, target: str, headers: dict[str, str], body: bytes | None = None
         ) -> tuple[int, bytes]:
    """Send a request target exactly as given (no client normalises its dot segments)."""
    connection = http.client.HTTPConnection("127.0.0.1", bucket.oss.port, timeout=TIMEOUT)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("key", KEYS_TO_TRY)
def test_presigned_put_get_head_delete_with_requests(bucket: Bucket, key: str) -> None:
    data = f"the object {key}\n".encode() * 50
    put = _put(bucket, key, data, "text/plain; charset=utf-8")
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == '"' + hashlib.md5(data).hexdigest().upper() + '"'
    got = _send(bucket, "GET", bucket.presign(key).url)
    assert (got.status_code, got.content, got.headers["Content-Type"]) == (200, data, "text/plain; charset=utf-8")
    assert got.headers["ETag"] == put.headers["ETag"] and got.headers["x-oss-request-id"]
    assert got.headers["Last-Modified"] == "Tue, 04 Mar 2025 05:00:00 GMT"
    head = _send(bucket, "HEAD", bucket.presign(key, method="HEAD").url)
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, str(len(data)), b"")
    assert _send(bucket, "DELETE", bucket.presign(key, method="DELETE").url).status_code == 204
    gone = _send(bucket, "GET", bucket.presign(key).url)
    assert (gone.status_code, error_of(gone)["Code"]) == (404, "NoSuchKey")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("key", ["plain.txt", "a/./b/../c.txt", "a//b", "a+b c.txt", "中文/😀.txt"])
def test_curl_uploads_and_downloads(bucket: Bucket, key: str, tmp_path: Path) -> None:
    source, target = tmp_path / "in.bin", tmp_path / "out.bin"
    source.write_bytes(bytes(range(256)) * 40)
    put = bucket.presign(key, method="PUT", headers={"Content-Type": "application/x-test"})
    curl = ["curl", "-sS", "--max-time", "10", "-o", str(target), "-w", "%{http_code}"]
    uploaded = subprocess.run([*curl, "-T", str(source), "-H", "Content-Type: application/x-test", put.url],
                              capture_output=True, text=True, timeout=15)
    assert uploaded.stdout == "200", uploaded.stderr
    fetched = subprocess.run([*curl, bucket.presign(key).url], capture_output=True, text=True, timeout=15)
    assert fetched.stdout == "200" and target.read_bytes() == source.read_bytes()


def test_upload_keeps_content_type_and_user_metadata(bucket: Bucket) -> None:
    assert _put(bucket, "m.bin", b"\0\1\2", "application/x-custom", **{"x-oss-meta-author": "alice"}).ok
    got = _send(bucket, "GET", bucket.presign("m.bin").url)
    assert (got.content, got.headers["Content-Type"], got.headers["x-oss-meta-author"]) == \
        (b"\0\1\2", "application/x-custom", "alice")


def test_response_overrides_set_the_response_headers(bucket: Bucket) -> None:
    _put(bucket, "report.pdf", b"%PDF")
    params = {"response-content-type": "application/pdf", "response-content-language": "zh-CN",
              "response-expires": "Thu, 01 Dec 2094 16:00:00 GMT", "response-cache-control": "no-cache",
              "response-content-disposition": 'attachment; filename="报告 1.pdf"',
              "response-content-encoding": "identity"}
    got = _send(bucket, "GET", bucket.presign("report.pdf", params=params).url)
    assert got.status_code == 200
    for name, value in params.items():
        header = got.headers[name.removeprefix("response-")]
        assert header.encode("latin-1").decode("utf-8") == value


@pytest.mark.parametrize(("header", "status", "body", "content_range"), [
    ("bytes=0-4", 206, b"01234", "bytes 0-4/10"), ("bytes=7-", 206, b"789", "bytes 7-9/10"),
    ("bytes=-3", 206, b"789", "bytes 7-9/10"), ("bytes=-30", 206, b"0123456789", "bytes 0-9/10"),
    ("bytes=8-100", 206, b"89", "bytes 8-9/10"), ("bytes=0-1,4-5", 200, b"0123456789", None),
    ("bytes=5-2", 200, b"0123456789", None), ("items=0-1", 200, b"0123456789", None),
    ("bytes=10-", 416, None, "bytes */10"), ("bytes=-0", 416, None, "bytes */10"),
])
def test_range(bucket: Bucket, header: str, status: int, body: bytes | None, content_range: str | None) -> None:
    _put(bucket, "digits.txt", b"0123456789")
    got = _send(bucket, "GET", bucket.presign("digits.txt").url, headers={"Range": header})
    assert (got.status_code, got.headers.get("Content-Range")) == (status, content_range)
    if body is not None:
        assert got.content == body and got.headers["Content-Length"] == str(len(body))
    else:
        assert error_of(got)["Code"] == "InvalidRange"


def test_virtual_host_addressing_from_the_host_header(bucket: Bucket) -> None:
    _put(bucket, "v/h.txt", b"virtual")
    url = presign(KEYS, bucket=BUCKET, key="v/h.txt", region=REGION, signing_time=bucket.clock(),
                  endpoint=f"http://oss-local.test:{bucket.oss.port}").url
    parts = urlsplit(url)
    assert parts.netloc == f"{BUCKET}.oss-local.test:{bucket.oss.port}"
    local = urlunsplit(parts._replace(netloc=f"127.0.0.1:{bucket.oss.port}"))
    for host in (parts.netloc, f"{BUCKET}.localhost:{bucket.oss.port}"):
        got = _send(bucket, "GET", local, headers={"Host": host})
        assert (got.status_code, got.content) == (200, b"virtual")
    other = _send(bucket, "GET", local, headers={"Host": f"otherbucket.localhost:{bucket.oss.port}"})
    assert error_of(other)["Code"] == "NoSuchBucket"


def test_header_signed_head_checks_existence(bucket: Bucket) -> None:
    _put(bucket, "exists.txt", b"here")
    for key, status in (("exists.txt", 200), ("missing.txt", 404)):
        signed = sign_request(STS, bucket=BUCKET, key=key, region=REGION, signing_time=bucket.clock(),
                              endpoint=bucket.oss.endpoint, method="HEAD")
        got = _send(bucket, "HEAD", signed.url, headers=signed.headers)
        assert (got.status_code, got.content) == (status, b"")
    signed = sign_request(KEYS, bucket=BUCKET, key="exists.txt", region=REGION, signing_time=bucket.clock(),
                          endpoint=bucket.oss.endpoint, headers={"Range": "bytes=1-2"}, additional_headers=["range"])
    assert _send(bucket, "GET", signed.url, headers=signed.headers).content == b"er"


def _tampered(bucket: Bucket, credentials: Credentials = KEYS) -> requests.Response:
    url = bucket.presign("k.txt", credentials=credentials).url
    return _send(bucket, "GET", url[:-1] + ("0" if url[-1] != "0" else "1"))


def _expired(bucket: Bucket) -> requests.Response:
    url = bucket.presign("k.txt").url
    bucket.clock.advance(seconds=901)
    return _send(bucket, "GET", url)


def _header_skewed(bucket: Bucket) -> requests.Response:
    signed = sign_request(KEYS, bucket=BUCKET, key="k.txt", region=REGION, endpoint=bucket.oss.endpoint,
                          signing_time=bucket.clock() - timedelta(minutes=16), method="HEAD")
    return _send(bucket, "GET", signed.url, headers=signed.headers)


def _signed_put(bucket: Bucket, key: str, headers: dict[str, str], sent: dict[str, str], **options: object
                ) -> requests.Response:
    url = bucket.presign(key, method="PUT", headers=headers, **options).url
    return _send(bucket, "PUT", url, data=b"body", headers=sent)


CASES: list[tuple[str, Callable[[Bucket], requests.Response], int, str]] = [
    ("no such bucket", lambda b: _send(b, "GET", presign(KEYS, bucket="nobucket", key="k", region=REGION,
                                                         endpoint=b.oss.endpoint, signing_time=b.clock()).url),
     404, "NoSuchBucket"),
    ("no such key", lambda b: _send(b, "GET", b.presign("missing.txt").url), 404, "NoSuchKey"),
    ("expired", _expired, 403, "AccessDenied"),
    ("dated 16 min ahead", lambda b: _send(b, "GET", b.presign("k.txt", signing_time=b.clock() + timedelta(
        minutes=16)).url), 403, "RequestTimeTooSkewed"),
    ("header auth 16 min behind", _header_skewed, 403, "RequestTimeTooSkewed"),
    ("credential date", lambda b: _send(b, "GET", b.presign("k.txt").url.replace("%2F20250304%2F", "%2F20250303%2F")),
     403, "SignatureDoesNotMatch"),
    ("wrong region", lambda b: _send(b, "GET", b.presign("k.txt", region="cn-beijing").url), 403,
     "SignatureDoesNotMatch"),
    ("unknown access key",
     lambda b: _send(b, "GET", b.presign("k.txt", credentials=Credentials("LTAI5tNOPE", "x")).url),
     403, "SignatureDoesNotMatch"),
    ("token missing", lambda b: _send(b, "GET", b.presign("k.txt", credentials=Credentials(
        STS.access_key_id, STS.access_key_secret)).url), 403, "SignatureDoesNotMatch"),
    ("token wrong", lambda b: _send(b, "GET", b.presign("k.txt", credentials=Credentials(
        STS.access_key_id, STS.access_key_secret, "CAIS+other")).url), 403, "SignatureDoesNotMatch"),
    ("signature", _tampered, 403, "SignatureDoesNotMatch"),
    ("signed header not sent", lambda b: _signed_put(b, "k.txt", {"Cache-Control": "no-cache"}, {},
                                                     additional_headers=["cache-control"]),
     403, "SignatureDoesNotMatch"),
    ("signed header other value", lambda b: _signed_put(b, "k.txt", {"Content-Type": "text/plain"},
                                                        {"Content-Type": "text/html"}), 403, "SignatureDoesNotMatch"),
    ("source ip", lambda b: _send(b, "GET", b.presign("k.txt", params={"x-oss-ac-source-ip": "10.0.0.1"}).url), 403,
     "AccessDenied"),
    ("anonymous", lambda b: _send(b, "GET", f"{b.oss.endpoint}/{BUCKET}/k.txt"), 403, "AccessDenied"),
    ("malformed expires", lambda b: _send(b, "GET", b.presign("k.txt").url.replace("x-oss-expires=900",
                                                                                    "x-oss-expires=0")),
     400, "InvalidArgument"),
    ("key with a leading slash", lambda b: _put(b, "/etc/passwd", b"x"), 400, "InvalidObjectName"),
    ("bad Content-MD5", lambda b: _signed_put(b, "k.txt", {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="},
                                              {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}), 400, "InvalidDigest"),
    ("POST", lambda b: _send(b, "POST", b.presign("k.txt", method="POST").url, data=b"x"), 501, "NotImplemented"),
    ("invalid UTF-8", lambda b: _send(b, "GET", f"{b.oss.endpoint}/{BUCKET}/%FF"), 400, "InvalidURI"),
]


@pytest.mark.parametrize(("case", "status", "code"), [(c[1], c[2], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_each_failure_gives_its_status_and_code(bucket: Bucket, case: Callable[[Bucket], requests.Response],
                                                status: int, code: str) -> None:
    got = case(bucket)
    assert got.status_code == status, got.text
    error = error_of(got)
    assert error["Code"] == code and error["Message"]
    assert error["RequestId"] == got.headers["x-oss-request-id"] and len(error["RequestId"]) == 24
    assert error["HostId"] and got.headers["Content-Type"] == "application/xml"
    if code == "SignatureDoesNotMatch":
        assert error["StringToSign"].startswith("OSS4-HMAC-SHA256\n") and error["CanonicalRequest"]


def test_expired_says_so_with_the_time(bucket: Bucket) -> None:
    error = error_of(_expired(bucket))
    assert (error["Message"], error["Expires"], error["ServerTime"]) == \
        ("Request has expired.", "2025-03-04T05:15:00Z", "2025-03-04T05:15:01Z")


def test_mismatch_shows_the_expected_canonical_request_with_the_token_redacted(bucket: Bucket) -> None:
    signed = bucket.presign("k.txt")
    error = error_of(_tampered(bucket))
    assert (error["CanonicalRequest"], error["StringToSign"]) == (signed.canonical_request, signed.string_to_sign)
    got = _tampered(bucket, STS)
    assert "x-oss-security-token=<redacted>" in error_of(got)["CanonicalRequest"]
    assert STS.security_token not in got.text and quote(STS.security_token, safe="") not in got.text


def test_a_refused_upload_is_answered_and_the_connection_reused(bucket: Bucket) -> None:
    url = bucket.presign("big.bin", method="PUT").url.replace("x-oss-expires=900", "x-oss-expires=901")
    for _ in range(2):
        got = _send(bucket, "PUT", url, data=b"x" * (2 << 20))
        assert error_of(got)["Code"] == "SignatureDoesNotMatch"
    assert not list((bucket.root / BUCKET).glob("big*"))


def test_bucket_operations_are_not_implemented(bucket: Bucket) -> None:
    signed = sign_request(KEYS, bucket=BUCKET, key=None, region=REGION, endpoint=bucket.oss.endpoint,
                          signing_time=bucket.clock())
    assert error_of(_send(bucket, "GET", signed.url, headers=signed.headers))["Code"] == "NotImplemented"


@pytest.mark.parametrize("key", ["../outside.txt", "../../../../tmp/escape.txt", "a/../../x", "..\\..\\x"])
def test_raw_dot_segments_stay_inside_the_bucket(bucket: Bucket, key: str) -> None:
    target = f"/{BUCKET}/{key}"
    for method, body, status in (("PUT", b"inside", 200), ("GET", None, 200)):
        signed = sign_request(KEYS, bucket=BUCKET, key=key, region=REGION, endpoint=bucket.oss.endpoint,
                              signing_time=bucket.clock(), method=method)
        headers = {k: v for k, v in signed.headers.items() if k != "host"}
        assert _raw(bucket, method, target, headers, body) == (status, b"" if body else b"inside")
    everything = [p for p in bucket.root.parent.rglob("*") if p.is_file()]
    assert everything and all(p.resolve().is_relative_to((bucket.root / BUCKET).resolve()) for p in everything)


@pytest.mark.parametrize("target", ["/../examplebucket/x", "/%2E%2E/x", "/a%2Fb/x", "/EXAMPLEBUCKET/x"])
def test_bucket_names_that_are_not_names_are_refused(bucket: Bucket, target: str) -> None:
    status, body = _raw(bucket, "GET", target, {})
    assert status == 400 and b"<Code>InvalidBucketName</Code>" in body


def test_content_md5_that_matches_is_accepted(bucket: Bucket) -> None:
    md5 = base64.b64encode(hashlib.md5(b"body").digest()).decode()
    assert _signed_put(bucket, "ok.txt", {"Content-MD5": md5}, {"Content-MD5": md5}).status_code == 200


def test_a_taken_port_is_named_and_logs_carry_no_query(bucket: Bucket, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{bucket.oss.port}"):
        LocalOss(bucket.root, credentials=[KEYS], region=REGION, port=bucket.oss.port).start()
    caplog.set_level(logging.DEBUG, logger="shared.devtools.local_oss")
    url = bucket.presign("k.txt").url
    assert _send(bucket, "GET", url).status_code == 404
    with socket.create_connection(("127.0.0.1", bucket.oss.port), timeout=TIMEOUT) as raw:
        raw.sendall(f"GET /{BUCKET}/k.txt?x-oss-signature=SECRETSIGNATURE HTTP/9 junk\r\n\r\n".encode())
        assert b"400" in raw.recv(4096)  # http.server's own answer to a request line it cannot parse
    assert f"GET /{BUCKET}/k.txt -> 404" in caplog.text
    assert url.rsplit("=", 1)[1] not in caplog.text and "SECRETSIGNATURE" not in caplog.text
