"""Requests to the real local bucket's multipart API for the tests: presigned (the default) or header-signed by
our signer, sent with requests to a Bucket fixture (tests/stubs_local_oss.py) or a bucket in another process
(Remote); the bodies, digests and ETags the tests expect, computed with hashlib."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import requests
from stubs_local_oss import BUCKET, KEYS, REGION, Bucket

from shared.clock import utc_now
from shared.devtools.local_oss import LocalOss
from shared.devtools.local_oss.multipart_parts import MIN_PART_SIZE
from shared.oss.signer import presign, sign_request

TIMEOUT = 30
PART = MIN_PART_SIZE  # the smallest part allowed before the last


def body(size: int, seed: int) -> bytes:
    """``size`` bytes that differ from part to part."""
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest().upper()}"'


def object_etag(parts: list[bytes]) -> str:
    joined = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(joined).hexdigest().upper()}-{len(parts)}"'


def xml(response: requests.Response) -> ElementTree.Element:
    return ElementTree.fromstring(response.content)


@dataclass
class Remote:
    """A local bucket in another process, as the request helpers use a Bucket: endpoint, clock and session."""

    endpoint: str
    http: requests.Session
    clock: Callable[[], datetime] = utc_now


Target = Bucket | Remote


def request(bucket: Target, method: str, key: str | None, params: Mapping[str, str | None], *,
             data: object = None, headers: Mapping[str, str] | None = None, header_signed: bool = False,
             oss: LocalOss | None = None) -> requests.Response:
    """Send one request, presigned (the default) or signed with the Authorization header."""
    endpoint = oss.endpoint if oss else bucket.endpoint if isinstance(bucket, Remote) else bucket.oss.endpoint
    if header_signed:
        signed = sign_request(KEYS, bucket=BUCKET, key=key, region=REGION, signing_time=bucket.clock(),
                              endpoint=endpoint, method=method, headers=headers, params=dict(params))
        return bucket.http.request(method, signed.url, data=data, headers=signed.headers, timeout=TIMEOUT)
    assert key is not None
    url = presign(KEYS, bucket=BUCKET, key=key, region=REGION, signing_time=bucket.clock(), endpoint=endpoint,
                  method=method, params=dict(params), headers=headers)
    return bucket.http.request(method, url.url, data=data, headers=url.signed_headers, timeout=TIMEOUT)


def initiate(bucket: Target, key: str, headers: Mapping[str, str] | None = None, **options: object) -> str:
    answer = request(bucket, "POST", key, {"uploads": None}, headers=headers, **options)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    root = xml(answer)
    assert root.tag == "InitiateMultipartUploadResult" and root.findtext("Bucket") == BUCKET
    assert root.findtext("Key") == key
    return root.findtext("UploadId") or ""


def upload_part(bucket: Target, key: str, upload_id: str, number: int, data: object,
                 **options: object) -> requests.Response:
    return request(bucket, "PUT", key, {"partNumber": str(number), "uploadId": upload_id}, data=data,
                    **options)  # type: ignore[arg-type]


def complete_xml(parts: list[tuple[int, str]]) -> bytes:
    inner = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>" for n, etag in parts)
    return f"<CompleteMultipartUpload>{inner}</CompleteMultipartUpload>".encode()


def complete(bucket: Target, key: str, upload_id: str, parts: list[tuple[int, str]],
              **options: object) -> requests.Response:
    return request(bucket, "POST", key, {"uploadId": upload_id}, data=complete_xml(parts),
                    **options)  # type: ignore[arg-type]


def upload_all(bucket: Bucket, key: str, upload_id: str, bodies: list[bytes]) -> list[tuple[int, str]]:
    listed = []
    for number, data in enumerate(bodies, start=1):
        answer = upload_part(bucket, key, upload_id, number, data)
        assert answer.status_code == 200, answer.text
        listed.append((number, answer.headers["ETag"]))
    return listed


def get(bucket: Target, key: str) -> requests.Response:
    return request(bucket, "GET", key, {})
