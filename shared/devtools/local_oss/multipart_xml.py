"""The XML of multipart uploads, as OSS writes and reads it (no namespace, as oss2 parses it):

    InitiateMultipartUploadResult   Bucket, Key, UploadId
    CompleteMultipartUpload         (the request body) Part*: PartNumber, ETag (quoted or not)
    CompleteMultipartUploadResult   Location, Bucket, Key, ETag
    ListPartsResult                 Bucket, Key, UploadId, PartNumberMarker, NextPartNumberMarker, MaxParts,
                                    IsTruncated, Part*: PartNumber, LastModified, ETag, Size
    ListMultipartUploadsResult      Bucket, KeyMarker, UploadIdMarker, NextKeyMarker, NextUploadIdMarker,
                                    Delimiter, Prefix, MaxUploads, IsTruncated, Upload*: Key, UploadId,
                                    Initiated; CommonPrefixes*: Prefix

With ``encoding-type=url`` keys and prefixes are percent-encoded and ``EncodingType`` says so (pure).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from urllib.parse import quote

from shared.devtools.local_oss.errors import _text
from shared.devtools.local_oss.multipart_parts import MAX_PART_NUMBER, Part, Upload, UploadPage
from shared.devtools.local_oss.small_bodies import malformed, parse_xml

MAX_COMPLETE_BODY = 2 << 20  # bytes of a CompleteMultipartUpload body: 10,000 parts, loosely written


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    """The (part number, ETag) pairs a CompleteMultipartUpload body lists, in its order; MalformedXML else."""
    root = parse_xml(body, "CompleteMultipartUpload")
    listed = [_listed_part(child) for child in root]
    if not listed:
        raise malformed("at least one Part is needed")
    if len(listed) > MAX_PART_NUMBER:
        raise malformed(f"at most {MAX_PART_NUMBER} parts")
    return listed


def initiate_result(bucket: str, key: str, upload_id: str, *, url_encoded: bool) -> bytes:
    """The InitiateMultipartUpload answer."""
    return _document("InitiateMultipartUploadResult", _encoding(url_encoded),
                     [("Bucket", bucket), ("Key", _key(key, url_encoded)), ("UploadId", upload_id)])


def complete_result(location: str, bucket: str, key: str, etag: str, *, url_encoded: bool) -> bytes:
    """The CompleteMultipartUpload answer."""
    return _document("CompleteMultipartUploadResult", _encoding(url_encoded),
                     [("Location", location), ("Bucket", bucket), ("Key", _key(key, url_encoded)), ("ETag", etag)])


def list_parts_result(bucket: str, upload: Upload, parts: Sequence[Part], *, marker: int, limit: int,
                      truncated: bool, url_encoded: bool) -> bytes:
    """The ListParts answer: NextPartNumberMarker is the last part listed (the marker when none is)."""
    fields = [("Bucket", bucket), ("Key", _key(upload.key, url_encoded)), ("UploadId", upload.upload_id),
              ("PartNumberMarker", str(marker)), ("NextPartNumberMarker", str(parts[-1].number if parts else marker)),
              ("MaxParts", str(limit)), ("IsTruncated", _bool(truncated))]
    items = [_element("Part", [("PartNumber", str(part.number)), ("LastModified", iso_time(part.last_modified)),
                               ("ETag", part.etag), ("Size", str(part.size))]) for part in parts]
    return _document("ListPartsResult", _encoding(url_encoded), fields, items)


def list_uploads_result(bucket: str, page: UploadPage, *, prefix: str, delimiter: str, key_marker: str,
                        upload_id_marker: str, limit: int, url_encoded: bool) -> bytes:
    """The ListMultipartUploads answer."""
    fields = [("Bucket", bucket), ("KeyMarker", _key(key_marker, url_encoded)), ("UploadIdMarker", upload_id_marker),
              ("NextKeyMarker", _key(page.next_key_marker, url_encoded)),
              ("NextUploadIdMarker", page.next_upload_id_marker), ("Delimiter", _key(delimiter, url_encoded)),
              ("Prefix", _key(prefix, url_encoded)), ("MaxUploads", str(limit)), ("IsTruncated", _bool(page.truncated))]
    items = [_element("CommonPrefixes", [("Prefix", _key(entry, url_encoded))]) if isinstance(entry, str) else
             _element("Upload", [("Key", _key(entry.key, url_encoded)), ("UploadId", entry.upload_id),
                                 ("Initiated", iso_time(entry.initiated))]) for entry in page.entries]
    return _document("ListMultipartUploadsResult", _encoding(url_encoded), fields, items)


def iso_time(moment: datetime) -> str:
    """OSS's XML time: UTC, whole seconds written with ``.000`` (``2026-11-20T06:45:43.000Z``), as oss2 parses it."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _listed_part(node: ElementTree.Element) -> tuple[int, str]:
    if node.tag != "Part":
        raise malformed(f"unknown element {node.tag[:40]}")
    number, etag = node.findtext("PartNumber"), node.findtext("ETag")
    if number is None or etag is None:
        raise malformed("each Part needs a PartNumber and an ETag")
    number = number.strip()
    if not (number.isascii() and number.isdigit() and len(number) <= 5):
        raise malformed(f"PartNumber must be a whole number, got {number[:20]!r}")
    return int(number), etag.strip()


def _document(root: str, lead: Iterable[tuple[str, str]], fields: Iterable[tuple[str, str]],
              items: Iterable[str] = ()) -> bytes:
    inner = "".join(f"\n  <{name}>{_text(value)}</{name}>" for name, value in [*lead, *fields])
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}{"".join(items)}\n</{root}>\n'.encode()


def _element(name: str, fields: Iterable[tuple[str, str]]) -> str:
    inner = "".join(f"\n    <{tag}>{_text(value)}</{tag}>" for tag, value in fields)
    return f"\n  <{name}>{inner}\n  </{name}>"


def _encoding(url_encoded: bool) -> list[tuple[str, str]]:
    return [("EncodingType", "url")] if url_encoded else []


def _key(text: str, url_encoded: bool) -> str:
    return quote(text, safe="") if url_encoded else text


def _bool(value: bool) -> str:
    return "true" if value else "false"


