"""OSS multipart uploads, as the function sends them itself: their XML requests and answers, through ``OssClient``.

    initiate(bucket, key, content_type, meta)   POST /key?uploads            -> the upload id
    list_parts(bucket, key, upload_id)          GET  /key?uploadId=           -> every part, page after page
    complete(bucket, key, upload_id, parts)     POST /key?uploadId= (XML)     -> the object's location and ETag
    abort(bucket, key, upload_id)               DELETE /key?uploadId=

Each is signed with the Authorization header (``x-oss-date``, ``x-oss-content-sha256``) by the issuer's signer.
OSS's refusals keep OSS's code: ``NoSuchUpload`` (an upload id that is not ``key``'s) a 404, ``InvalidPart``,
``InvalidPartOrder`` and ``EntityTooSmall`` a 400 (``InvalidUpload``); anything else is an UpstreamError.

A complete that OSS may have carried out although its answer was lost is sent again by the client; when the
retry answers ``NoSuchUpload`` the object is looked up: present with the ETag these parts make (the uppercase hex
MD5 of their binary MD5s, then ``-N``), the upload did complete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from shared.errors import InvalidUpload, NotFound, UpstreamError
from shared.oss.client import OssAnswer, OssClient

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from xml.etree.ElementTree import Element  # imported on first use: a function that never uploads never pays

MAX_PARTS = 10_000  # OSS: part numbers 1..10000
PAGE_SIZE = 1000  # the most parts one ListParts answers
UPLOAD_REFUSALS = ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "InvalidDigest")
COMPLETE_TIMEOUT = (2.0, 20.0)  # connect, read: OSS may take a while to join thousands of parts


class Part:
    """One uploaded part: its number, size in bytes and ETag (with OSS's quotes)."""

    __slots__ = ("number", "size", "etag")

    def __init__(self, number: int, size: int, etag: str) -> None:
        self.number = number
        self.size = size
        self.etag = etag

    def __repr__(self) -> str:
        return f"Part({self.number}, size={self.size})"

    def to_dict(self) -> dict[str, object]:
        """The shape Uppy's S3 plugin reads back when it resumes: PartNumber, Size, ETag."""
        return {"PartNumber": self.number, "Size": self.size, "ETag": self.etag}


class Completed:
    """A completed upload: the object's location (URL without a signature) and its ETag."""

    __slots__ = ("location", "etag")

    def __init__(self, location: str, etag: str) -> None:
        self.location = location
        self.etag = etag

    def __repr__(self) -> str:
        return f"Completed(etag={self.etag!r})"


def bare_etag(etag: str) -> str:
    """An ETag without its quotes, in upper case, as OSS compares them."""
    return etag.strip().strip('"').upper()


def multipart_etag(etags: Sequence[str]) -> str:
    """The ETag OSS gives the object completed from parts with these ETags: MD5 of the binary MD5s, ``-N``."""
    digest = hashlib.md5(b"".join(bytes.fromhex(bare_etag(etag)) for etag in etags), usedforsecurity=False)
    return f"{digest.hexdigest().upper()}-{len(etags)}"


def complete_body(parts: Sequence[tuple[int, str]]) -> bytes:
    """The CompleteMultipartUpload XML for (part number, ETag) pairs, each ETag sent with its quotes."""
    # The ETags are checked hex by the caller; escaping them anyway keeps the XML well formed whatever they hold.
    items = "".join(f"<Part><PartNumber>{int(number)}</PartNumber><ETag>&quot;{_escaped(bare_etag(etag))}&quot;"
                    "</ETag></Part>" for number, etag in parts)
    document = f'<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>{items}</CompleteMultipartUpload>'
    return document.encode()


class MultipartUploads:
    """The four multipart requests the presign function sends to OSS, through one OssClient."""

    def __init__(self, client: OssClient) -> None:
        self.client = client

    def initiate(self, bucket: str, key: str, *, content_type: str | None = None,
                 meta: Mapping[str, str] | None = None) -> str:
        """Start an upload with the object's Content-Type and x-oss-meta-* headers; return its upload id."""
        headers = {f"x-oss-meta-{name}": value for name, value in (meta or {}).items()}
        if content_type:
            headers["Content-Type"] = content_type
        answer = self.client.send("POST", bucket, key, params={"uploads": None}, headers=headers, idempotent=False)
        upload_id = _text(_checked(answer, key), "UploadId")
        if not upload_id:
            raise UpstreamError(f"OSS answered InitiateMultipartUpload for oss://{bucket}/{key} without an UploadId")
        return upload_id

    def list_parts(self, bucket: str, key: str, upload_id: str, *, page_size: int = PAGE_SIZE) -> list[Part]:
        """Every part uploaded so far, in order, page after page (at most 10000 parts)."""
        parts: list[Part] = []
        marker = "0"
        for _ in range(MAX_PARTS // page_size + 1):
            params = {"uploadId": upload_id, "max-parts": str(page_size), "part-number-marker": marker}
            root = _checked(self.client.send("GET", bucket, key, params=params), key)
            parts += [_part(element) for element in _all(root, "Part")]
            if _text(root, "IsTruncated").lower() != "true":
                return parts
            following = _text(root, "NextPartNumberMarker")
            if not following.isdigit() or int(following) <= int(marker):
                raise UpstreamError(f"OSS answered ListParts for oss://{bucket}/{key} with a marker that does not "
                                    "advance")
            marker = following
        raise UpstreamError(f"OSS answered ListParts for oss://{bucket}/{key} with over {MAX_PARTS} parts")

    def complete(self, bucket: str, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> Completed:
        """Complete the upload from these (part number, ETag) pairs; correct when a lost answer was retried."""
        answer = self.client.send("POST", bucket, key, params={"uploadId": upload_id}, body=complete_body(parts),
                                  headers={"Content-Type": "application/xml"}, timeout=COMPLETE_TIMEOUT)
        if answer.status == 404 and answer.attempts > 1 and _code(answer) == "NoSuchUpload":
            expected = multipart_etag([etag for _, etag in parts])
            head = self.client.send("HEAD", bucket, key)
            if head.status == 200 and bare_etag(head.headers.get("etag", "")) == expected:
                return Completed(_location(self.client, bucket, key), f'"{expected}"')
        root = _checked(answer, key)
        etag = _text(root, "ETag")
        return Completed(_text(root, "Location") or _location(self.client, bucket, key), etag)

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Abort the upload: OSS deletes its parts. A retry that hears NoSuchUpload finds it done."""
        answer = self.client.send("DELETE", bucket, key, params={"uploadId": upload_id})
        if answer.status != 204 and not (answer.attempts > 1 and _code(answer) == "NoSuchUpload"):
            _checked(answer, key)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml(body: bytes) -> Element:
    """The XML root of an answer, namespaces dropped; ValueError when it is not XML."""
    from xml.etree import ElementTree

    try:
        return _local_names(ElementTree.fromstring(body))
    except ElementTree.ParseError as exc:
        raise ValueError("not XML") from exc


def _checked(answer: OssAnswer, key: str) -> Element:
    """The XML root of a 2xx answer; OSS's refusal as our error otherwise."""
    if 200 <= answer.status < 300:
        try:
            return _xml(answer.body or b"<Empty/>")
        except ValueError:
            raise UpstreamError(f"OSS answered {answer.status} with a body that is not XML for {key}") from None
    code = _code(answer)
    if answer.status == 404 and code == "NoSuchUpload":
        raise NotFound(f"no such upload for key {key}: the upload id is unknown, finished or aborted, or belongs "
                       "to another key", code="NoSuchUpload")
    if answer.status == 400 and code in UPLOAD_REFUSALS:
        raise InvalidUpload(code, f"OSS refused the parts ({code}): {_oss_message(answer)}")
    raise UpstreamError(f"OSS answered {answer.status} {code or ''} for {key}".replace("  ", " "))


def _code(answer: OssAnswer) -> str:
    try:
        return _text(_xml(answer.body), "Code")[:64] if answer.body else ""
    except ValueError:
        return ""


def _oss_message(answer: OssAnswer) -> str:
    message = _text(_xml(answer.body), "Message")
    return "".join(c for c in message if c.isprintable())[:200] or "no message"


def _local_names(root: Element) -> Element:
    """The tree with namespaces dropped from every tag (OSS answers without one; S3-style answers have one)."""
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def _text(root: Element, name: str) -> str:
    found = root.find(name)
    return (found.text or "").strip() if found is not None else ""


def _all(root: Element, name: str) -> list[Element]:
    return root.findall(name)


def _part(element: Element) -> Part:
    number, size, etag = _text(element, "PartNumber"), _text(element, "Size"), _text(element, "ETag")
    if not number.isdigit() or not size.isdigit() or not etag:
        raise UpstreamError("OSS answered ListParts with a part lacking PartNumber, Size or ETag")
    return Part(int(number), int(size), etag)


def _location(client: OssClient, bucket: str, key: str) -> str:
    """The object's URL, unsigned: what OSS writes in a CompleteMultipartUpload answer's Location."""
    return client.issuer.object_url(bucket, key)
