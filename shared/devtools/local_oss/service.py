"""What the local bucket does with a request: address it, verify its signature, then GET (whole or
one byte range), HEAD, PUT or DELETE the object, or PUT/GET/DELETE the bucket's ``?cors``. ``OPTIONS``
(the CORS preflight, unsigned) and ``POST /`` (PostObject, signed by its form's policy) come before the
signature check. Pure of sockets: the server feeds it and sends what it returns; every refusal is
raised as an OssError and rendered in the server, in one place.

A PUT's body has a Content-Length or is chunked (its end is its length); either way it is at most
``max_object_size`` bytes (OSS's PutObject limit by default), else 400 EntityTooLarge and nothing is
kept. Multipart uploads (``?uploads``, ``?uploadId=``, ``?partNumber=``) are ``multipart``'s. After each
stored object (PUT, PostObject or CompleteMultipartUpload) the ``on_stored`` hook hears of it (``ObjectStored``),
once; a failing hook is logged and the upload still succeeds, as OSS's triggers run apart from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from email.utils import format_datetime

from shared.credentials.value import Credentials
from shared.devtools.local_oss.addressing import (
    ObjectRequest,
    bucket_and_key,
    bucket_from_host,
    decode_query,
    split_target,
)
from shared.devtools.local_oss.cors_api import bucket_cors, preflight, response_cors
from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.events import POST_OBJECT, PUT_OBJECT, ObjectStored
from shared.devtools.local_oss.exchange import Incoming, Reply
from shared.devtools.local_oss.framing import LimitedBody
from shared.devtools.local_oss.multipart import MultipartApi
from shared.devtools.local_oss.post_object import post_object
from shared.devtools.local_oss.store import ObjectStore, StoredObject
from shared.devtools.local_oss.verify import Authorization, verify
from shared.oss.canonical import UNSIGNED_PAYLOAD

logger = logging.getLogger("shared.devtools.local_oss")
MAX_OBJECT_SIZE = 5 << 30  # bytes: OSS's PutObject limit (5 GB), beyond which it answers EntityTooLarge
StoredHook = Callable[[ObjectStored], None]

# Query parameters that override a GET's response headers, and the header each sets.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type", "response-content-language": "Content-Language",
    "response-expires": "Expires", "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
}


class BucketService:
    """The local bucket's behaviour, given a store, the known credentials, a region and a clock."""

    def __init__(self, store: ObjectStore, *, credentials: Iterable[Credentials], region: str,
                 clock: Callable[[], datetime], service_hosts: Iterable[str],
                 max_object_size: int = MAX_OBJECT_SIZE, on_stored: StoredHook | None = None) -> None:
        self.store = store
        self.max_object_size = max_object_size
        self.on_stored = on_stored
        self.keyring: dict[str, Credentials] = {}
        for item in credentials:
            if item.access_key_id in self.keyring:
                raise ValueError(f"access key id {item.access_key_id} is given twice")
            self.keyring[item.access_key_id] = item
        self.region = region
        self.clock = clock
        self.service_hosts = tuple(service_hosts)
        self.multipart = MultipartApi(store, region=region, clock=clock, service_hosts=self.service_hosts,
                                      max_part_size=max_object_size, announce=self._announce)

    def __repr__(self) -> str:
        return f"BucketService(region={self.region!r}, access_key_ids={sorted(self.keyring)})"

    def handle(self, incoming: Incoming) -> Reply:
        """Answer one request, or raise the OssError OSS would answer with."""
        request = self.address(incoming)
        if request.bucket is None:
            raise OssError("NotImplemented", "The local bucket serves objects; it does not list buckets.")
        if not self.store.has_bucket(request.bucket):
            raise OssError("NoSuchBucket", "The specified bucket does not exist.", BucketName=request.bucket)
        if request.method == "OPTIONS":
            return preflight(self.store, request)
        if request.method == "POST" and request.key is None:
            return self._post(request.bucket, incoming)
        auth = verify(request, keyring=self.keyring, region=self.region, now=self.clock())
        if request.key is None:
            if request.param("cors") is not None:
                return bucket_cors(self.store, request, incoming, auth)
            if request.param("uploads") is not None and request.method == "GET":
                return self.multipart.list_uploads(request)
            raise OssError("NotImplemented", "The local bucket serves objects, PostObject and ?cors; other bucket "
                                             "operations are not supported.")
        multipart = self.multipart.handle(request, incoming, auth)
        if multipart is not None:
            return multipart
        if request.method in ("GET", "HEAD"):
            return self._get(request, request.bucket, request.key, head=request.method == "HEAD")
        if request.method == "PUT":
            return self._put(request, request.bucket, request.key, incoming, auth)
        if request.method == "DELETE":
            self.store.delete(request.bucket, request.key)
            return Reply(204)
        raise OssError("NotImplemented", f"The local bucket does not support {request.method} requests.")

    def cors_headers(self, incoming: Incoming) -> list[tuple[str, str]]:
        """The CORS headers of the answer to an actual request (errors too); none for an unaddressable one."""
        if "origin" not in incoming.headers:
            return []
        try:
            return response_cors(self.store, self.address(incoming))
        except OssError:
            return []

    def address(self, incoming: Incoming) -> ObjectRequest:
        """Turn the raw request into bucket, key, query and headers (virtual host or path style)."""
        path, query = split_target(incoming.target)
        bucket, key = bucket_and_key(path, bucket_from_host(incoming.headers.get("host"), self.service_hosts))
        return ObjectRequest(incoming.method, bucket, key, decode_query(query), incoming.headers, incoming.client_ip)

    def _get(self, request: ObjectRequest, bucket: str, key: str, *, head: bool) -> Reply:
        stored, file = self.store.open(bucket, key)
        try:
            overrides = response_overrides(request)
            replaced = {name for name, _ in overrides}
            headers = [h for h in object_headers(stored) if h[0] not in replaced] + overrides
            span = byte_range(request.headers.get("range"), stored.size)
        except OssError:
            file.close()
            raise
        if head:
            file.close()
            return Reply(200, headers, length=stored.size)
        if span is None:
            return Reply(200, headers, file=file, length=stored.size)
        first, last = span
        file.seek(first)
        headers.append(("Content-Range", f"bytes {first}-{last}/{stored.size}"))
        return Reply(206, headers, file=file, length=last - first + 1)

    def _put(self, request: ObjectRequest, bucket: str, key: str, incoming: Incoming, auth: Authorization) -> Reply:
        length = incoming.content_length
        if length is None and not incoming.chunked:
            raise OssError("MissingContentLength", "You must provide the Content-Length HTTP header.")
        if length is not None and length > self.max_object_size:
            raise self._too_large(str(length))
        limit = self.max_object_size
        body = incoming.body if length is not None else LimitedBody(incoming.body, limit, self._too_large)
        previous = self._size_of(bucket, key) if self.on_stored else None
        headers = request.headers
        sha256 = headers.get("x-oss-content-sha256") if auth.style == "header" else None
        stored = self.store.put(
            bucket, key, body, length,
            modified=self.clock(), content_type=headers.get("content-type"),
            user_meta={n: v for n, v in headers.items() if n.startswith("x-oss-meta-")},
            content_md5=headers.get("content-md5"), content_sha256=None if sha256 == UNSIGNED_PAYLOAD else sha256)
        self._announce(ObjectStored(PUT_OBJECT, bucket, stored, region=self.region, request_id=incoming.request_id,
                                    source_ip=incoming.client_ip, time=self.clock(), previous_size=previous))
        return Reply(200, [("ETag", stored.etag)])

    def _post(self, bucket: str, incoming: Incoming) -> Reply:
        host = incoming.headers.get("host") or "127.0.0.1"
        virtual = bucket_from_host(host, self.service_hosts) is not None
        posted = post_object(incoming, bucket, store=self.store, keyring=self.keyring, region=self.region,
                             now=self.clock(), max_object_size=self.max_object_size,
                             base_url=f"http://{host}/" if virtual else f"http://{host}/{bucket}/")
        self._announce(ObjectStored(POST_OBJECT, bucket, posted.stored, region=self.region,
                                    request_id=incoming.request_id, source_ip=incoming.client_ip, time=self.clock(),
                                    previous_size=posted.previous_size))
        return posted.reply

    def _too_large(self, proposed: str) -> OssError:
        return OssError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.",
                        ProposedSize=proposed, MaxSizeAllowed=str(self.max_object_size))

    def _size_of(self, bucket: str, key: str) -> int | None:
        try:
            return self.store.head(bucket, key).size
        except OssError:
            return None

    def _announce(self, stored: ObjectStored) -> None:
        """Tell the hook; its failure is logged, never the upload's."""
        if self.on_stored is None:
            return
        try:
            self.on_stored(stored)
        except Exception:
            logger.exception("the object-created hook failed for %s/%s", stored.bucket, stored.stored.key)



def object_headers(stored: StoredObject) -> list[tuple[str, str]]:
    """The headers a GET or HEAD of an object carries."""
    return [("Content-Type", stored.content_type), ("ETag", stored.etag),
            ("Last-Modified", format_datetime(stored.last_modified, usegmt=True)), ("Accept-Ranges", "bytes"),
            ("x-oss-object-type", "Normal"), ("x-oss-storage-class", "Standard"),
            *sorted(stored.user_meta.items())]


def response_overrides(request: ObjectRequest) -> list[tuple[str, str]]:
    """The response headers a signed request asks for with ``response-*`` parameters."""
    overrides = []
    for name, value in request.query:
        header = RESPONSE_OVERRIDES.get(name)
        if header is None:
            continue
        if any(c in value for c in "\r\n\0"):
            raise OssError("InvalidArgument", f"{name} must not contain CR, LF or NUL", ArgumentName=name)
        overrides.append((header, value))
    return overrides


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return the first and last byte of a single ``Range: bytes=`` request, None for the whole object.

    A header that is not one well-formed byte range is ignored (the whole object is sent, as RFC 9110
    and OSS do); a well-formed range outside the object is 416 InvalidRange.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, dash, last_text = header[6:].strip().partition("-")
    if not dash or not (first_text or last_text) or not all(map(_digits, filter(None, (first_text, last_text)))):
        return None
    if not first_text:  # suffix range: the last N bytes
        first, last = max(size - int(last_text), 0), size - 1
        if int(last_text) == 0 or size == 0:
            raise _unsatisfiable(size)
        return first, last
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if last_text and int(last_text) < first:
        return None
    if first >= size:
        raise _unsatisfiable(size)
    return first, last


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _unsatisfiable(size: int) -> OssError:
    return OssError("InvalidRange", "The requested range cannot be satisfied.",
                    headers={"Content-Range": f"bytes */{size}"}, ActualObjectSize=str(size))
