"""Multipart uploads over HTTP, as OSS answers them, for requests already verified (presigned or header-signed):

    POST   /key?uploads                      InitiateMultipartUpload: Content-Type and x-oss-meta-* kept
    PUT    /key?partNumber=N&uploadId=ID     UploadPart: Content-Length or chunked, streamed; ETag header
    GET    /key?uploadId=ID                  ListParts: max-parts (1..1000), part-number-marker
    POST   /key?uploadId=ID                  CompleteMultipartUpload: the XML body (at most 2 MiB), or none with
                                             ``x-oss-complete-all: yes``; then ObjectCreated:CompleteMultipartUpload
    DELETE /key?uploadId=ID                  AbortMultipartUpload: 204
    GET    /?uploads                         ListMultipartUploads: prefix, delimiter, key-marker, upload-id-marker,
                                             max-uploads (1..1000)

``encoding-type=url`` percent-encodes keys in the answers. A part is at most ``max_part_size`` bytes
(5 GB, as on OSS), numbered 1..10000; an upload id of another key is NoSuchUpload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from urllib.parse import quote

from shared.devtools.local_oss.addressing import ObjectRequest, bucket_from_host
from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.events import COMPLETE_MULTIPART_UPLOAD, ObjectStored
from shared.devtools.local_oss.exchange import Incoming, Reply
from shared.devtools.local_oss.framing import LimitedBody
from shared.devtools.local_oss.multipart_parts import MAX_LISTED, MAX_PART_NUMBER
from shared.devtools.local_oss.multipart_store import MultipartStore
from shared.devtools.local_oss.multipart_xml import (
    MAX_COMPLETE_BODY,
    complete_result,
    initiate_result,
    list_parts_result,
    list_uploads_result,
    parse_complete,
)
from shared.devtools.local_oss.small_bodies import read_small_body
from shared.devtools.local_oss.store import ObjectStore
from shared.devtools.local_oss.verify import HEADER, Authorization
from shared.oss.canonical import UNSIGNED_PAYLOAD

XML = ("Content-Type", "application/xml")
Announce = Callable[[ObjectStored], None]


class MultipartApi:
    """The multipart requests of one local bucket's service."""

    def __init__(self, store: ObjectStore, *, region: str, clock: Callable[[], datetime],
                 service_hosts: Iterable[str], max_part_size: int, announce: Announce) -> None:
        self.uploads = MultipartStore(store)
        self.store = store
        self.region = region
        self.clock = clock
        self.service_hosts = tuple(service_hosts)
        self.max_part_size = max_part_size
        self.announce = announce

    def __repr__(self) -> str:
        return f"MultipartApi({self.store!r})"

    def handle(self, request: ObjectRequest, incoming: Incoming, auth: Authorization) -> Reply | None:
        """Answer an object request that is a multipart one; None for any other."""
        bucket, key, method = request.bucket or "", request.key or "", request.method
        upload_id = request.param("uploadId")
        if method == "POST" and request.param("uploads") is not None:
            return self._initiate(request, bucket, key)
        if method == "PUT" and (upload_id is not None or request.param("partNumber") is not None):
            return self._upload_part(request, incoming, auth, bucket, key)
        if upload_id is None:
            return None
        if method == "POST":
            return self._complete(request, incoming, bucket, key, upload_id)
        if method == "GET":
            return self._list_parts(request, bucket, key, upload_id)
        if method == "DELETE":
            self.uploads.abort(bucket, key, upload_id)
            return Reply(204)
        return None

    def list_uploads(self, request: ObjectRequest) -> Reply:
        """Answer ``GET /?uploads``."""
        options = {name: request.param(name) or "" for name in ("prefix", "delimiter", "key-marker",
                                                                 "upload-id-marker")}
        limit = listing_limit(request, "max-uploads")
        page = self.uploads.list_uploads(request.bucket or "", prefix=options["prefix"],
                                         delimiter=options["delimiter"], key_marker=options["key-marker"],
                                         upload_id_marker=options["upload-id-marker"], limit=limit)
        return Reply(200, [XML], list_uploads_result(
            request.bucket or "", page, prefix=options["prefix"], delimiter=options["delimiter"],
            key_marker=options["key-marker"], upload_id_marker=options["upload-id-marker"], limit=limit,
            url_encoded=_url_encoded(request)))

    def _initiate(self, request: ObjectRequest, bucket: str, key: str) -> Reply:
        headers = request.headers
        upload = self.uploads.initiate(bucket, key, now=self.clock(), content_type=headers.get("content-type"),
                                       user_meta={n: v for n, v in headers.items() if n.startswith("x-oss-meta-")})
        return Reply(200, [XML], initiate_result(bucket, key, upload.upload_id, url_encoded=_url_encoded(request)))

    def _upload_part(self, request: ObjectRequest, incoming: Incoming, auth: Authorization, bucket: str,
                     key: str) -> Reply:
        number = part_number(request.param("partNumber"))
        upload_id = request.param("uploadId")
        if upload_id is None:
            raise OssError("InvalidArgument", "UploadPart needs an uploadId.", ArgumentName="uploadId")
        length = incoming.content_length
        if length is None and not incoming.chunked:
            raise OssError("MissingContentLength", "You must provide the Content-Length HTTP header.")
        if length is not None and length > self.max_part_size:
            raise self._too_large(str(length))
        body = incoming.body if length is not None else LimitedBody(incoming.body, self.max_part_size, self._too_large)
        sha256 = request.headers.get("x-oss-content-sha256") if auth.style == HEADER else None
        part = self.uploads.put_part(bucket, key, upload_id, number, body, length, now=self.clock(),
                                     content_md5=request.headers.get("content-md5"),
                                     content_sha256=None if sha256 == UNSIGNED_PAYLOAD else sha256)
        return Reply(200, [("ETag", part.etag)])

    def _list_parts(self, request: ObjectRequest, bucket: str, key: str, upload_id: str) -> Reply:
        marker_text = request.param("part-number-marker") or "0"
        if not (marker_text.isascii() and marker_text.isdigit() and len(marker_text) <= 5):
            raise OssError("InvalidArgument", "part-number-marker must be a whole number.",
                           ArgumentName="part-number-marker", ArgumentValue=marker_text[:40])
        marker, limit = int(marker_text), listing_limit(request, "max-parts")
        upload = self.uploads.upload(bucket, key, upload_id)
        parts, truncated = self.uploads.list_parts(bucket, key, upload_id, marker=marker, limit=limit)
        return Reply(200, [XML], list_parts_result(bucket, upload, parts, marker=marker, limit=limit,
                                                   truncated=truncated, url_encoded=_url_encoded(request)))

    def _complete(self, request: ObjectRequest, incoming: Incoming, bucket: str, key: str, upload_id: str) -> Reply:
        self.uploads.upload(bucket, key, upload_id)  # NoSuchUpload before reading the body
        body = read_small_body(incoming, MAX_COMPLETE_BODY, "A CompleteMultipartUpload body")
        complete_all = request.headers.get("x-oss-complete-all")
        if complete_all is not None and (complete_all != "yes" or body.strip()):
            raise OssError("InvalidArgument", "x-oss-complete-all must be yes, with no body.",
                           ArgumentName="x-oss-complete-all")
        listed = None if complete_all == "yes" else parse_complete(body)
        previous = self._size_of(bucket, key)
        stored = self.uploads.complete(bucket, key, upload_id, listed, now=self.clock())
        self.announce(ObjectStored(COMPLETE_MULTIPART_UPLOAD, bucket, stored, region=self.region,
                                   request_id=incoming.request_id, source_ip=incoming.client_ip, time=self.clock(),
                                   previous_size=previous))
        document = complete_result(self._location(request, bucket, key), bucket, key, stored.etag,
                                   url_encoded=_url_encoded(request))
        return Reply(200, [XML, ("ETag", stored.etag)], document)

    def _location(self, request: ObjectRequest, bucket: str, key: str) -> str:
        host = request.headers.get("host") or "127.0.0.1"
        path = quote(key, safe="/~")
        return f"http://{host}/{path}" if bucket_from_host(host, self.service_hosts) else f"http://{host}/{bucket}/{path}"

    def _size_of(self, bucket: str, key: str) -> int | None:
        try:
            return self.store.head(bucket, key).size
        except OssError:
            return None

    def _too_large(self, proposed: str) -> OssError:
        return OssError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.",
                        ProposedSize=proposed, MaxSizeAllowed=str(self.max_part_size))


def part_number(text: str | None) -> int:
    """A partNumber parameter's value, 1..10000, or OSS's InvalidArgument."""
    if text is not None and text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= MAX_PART_NUMBER:
        return int(text)
    raise OssError("InvalidArgument", f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive.",
                   ArgumentName="partNumber", ArgumentValue=(text or "")[:40])


def listing_limit(request: ObjectRequest, name: str) -> int:
    """max-parts or max-uploads: a whole number from 1, at most 1000 (larger values are cut to it)."""
    text = request.param(name)
    if not text:
        return MAX_LISTED
    if not (text.isascii() and text.isdigit() and 1 <= int(text[:9])):
        raise OssError("InvalidArgument", f"{name} must be a whole number from 1 to {MAX_LISTED}.",
                       ArgumentName=name, ArgumentValue=text[:40])
    return min(int(text[:9]), MAX_LISTED)



def _url_encoded(request: ObjectRequest) -> bool:
    return request.param("encoding-type") == "url"
