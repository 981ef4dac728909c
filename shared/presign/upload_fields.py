"""The fields of the S3 routes (Uppy's ``@uppy/aws-s3`` protocol), checked: each error a 400 naming its field.

What Uppy always sends is never a reason to refuse: ``metadata`` names not listed in ``PRESIGN_UPLOAD_META`` are
dropped, a ``type`` that is not a media type is left out (the object gets OSS's default), and fields of the
``POST /s3/multipart`` body other than filename, type and metadata are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared import fields
from shared.errors import InvalidArgument
from shared.oss.multipart import MAX_PARTS
from shared.presign.request import checked_content_type, checked_key

MAX_UPLOAD_ID = 256
MAX_BATCH_PARTS = 1000
MAX_FILENAME_CHARS = 1024
MAX_ETAG_CHARS = 72  # a quoted 32-hex MD5 with some room (a multipart ETag is longer: "...-N")
_HEX = frozenset("0123456789abcdefABCDEF")


class NewUpload:
    """What a client asks to upload: the file's name, its media type (if one) and the metadata kept."""

    __slots__ = ("filename", "content_type", "meta")

    def __init__(self, filename: str, content_type: str | None, meta: dict[str, str]) -> None:
        self.filename = filename
        self.content_type = content_type
        self.meta = meta

    def __repr__(self) -> str:
        return f"NewUpload(content_type={self.content_type!r}, meta={sorted(self.meta)})"

    @classmethod
    def from_body(cls, body: Mapping[str, object], kept: frozenset[str]) -> NewUpload:
        """``POST /s3/multipart``: ``{"filename", "type", "metadata"}``."""
        metadata = body.get("metadata", {})
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, Mapping):
            raise InvalidArgument("metadata", "metadata must be an object of name to value")
        return cls(_filename(body.get("filename")), _media_type(body.get("type")), _kept_meta(metadata, kept))

    @classmethod
    def from_query(cls, query: Mapping[str, str], kept: frozenset[str]) -> NewUpload:
        """``GET /s3/params?filename=&type=&metadata[name]=value``."""
        metadata = {name[9:-1]: value for name, value in query.items()
                    if name.startswith("metadata[") and name.endswith("]")}
        return cls(_filename(query.get("filename")), _media_type(query.get("type")), _kept_meta(metadata, kept))


def _filename(value: object) -> str:
    """The file's name as the client gave it: its control characters are the key template's to drop."""
    if value is None:
        raise InvalidArgument("filename", "filename is required: the name of the file to upload")
    if not isinstance(value, str) or not value or len(value) > MAX_FILENAME_CHARS:
        raise InvalidArgument("filename", f"filename must be a string of 1..{MAX_FILENAME_CHARS} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument("filename", "filename must be valid Unicode text: it contains a lone surrogate") from None
    return value


def _media_type(value: object) -> str | None:
    """A media type such as ``image/png``; anything else (Uppy sends ``""`` for an unknown type) is left out."""
    if not isinstance(value, str) or not value or value.endswith("/"):
        return None
    try:
        return checked_content_type(value)
    except InvalidArgument:
        return None


def _kept_meta(metadata: Mapping[str, object], kept: frozenset[str]) -> dict[str, str]:
    """The metadata whose names ``PRESIGN_UPLOAD_META`` lists (lower-cased); their values ASCII text."""
    meta: dict[str, str] = {}
    for name, value in metadata.items():
        lower = str(name).lower()
        if lower not in kept:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        meta[lower] = fields.text(value, f"metadata.{lower}", max_chars=1024, ascii_only=True)
    return meta


def upload_key(query: Mapping[str, str]) -> str:
    """The ``key`` query parameter of an upload's routes: required, an object name a URL carries."""
    if "key" not in query:
        raise InvalidArgument("key", "key is required: the key POST /s3/multipart answered")
    return checked_key(query["key"])


def upload_id(value: str) -> str:
    """An upload id from the path: printable ASCII without spaces, at most 256 characters."""
    if not 0 < len(value) <= MAX_UPLOAD_ID or not value.isascii() or not value.isprintable() or " " in value:
        raise InvalidArgument("uploadId", f"uploadId must be 1..{MAX_UPLOAD_ID} printable ASCII characters")
    return value


def part_number(value: object, field: str = "partNumber") -> int:
    """A part number, 1..10000."""
    return fields.whole_number(value, field, low=1, high=MAX_PARTS)


def part_numbers(value: str | None) -> list[int]:
    """``partNumbers=1,2,3``: distinct part numbers in the order given, at most 1000."""
    if not value:
        raise InvalidArgument("partNumbers", "partNumbers is required: part numbers separated by commas")
    texts = value.split(",")
    if len(texts) > MAX_BATCH_PARTS:
        raise InvalidArgument("partNumbers", f"partNumbers names at most {MAX_BATCH_PARTS} parts, got {len(texts)}")
    numbers = [part_number(text.strip(), "partNumbers") for text in texts]
    return list(dict.fromkeys(numbers))


def completed_parts(body: Mapping[str, object]) -> list[tuple[int, str]]:
    """``{"parts": [{"PartNumber", "ETag"}, ...]}``: the ETags with or without their quotes."""
    parts = body.get("parts")
    if not isinstance(parts, list) or not parts:
        raise InvalidArgument("parts", "parts must be a non-empty list of {\"PartNumber\", \"ETag\"}")
    if len(parts) > MAX_PARTS:
        raise InvalidArgument("parts", f"an upload has at most {MAX_PARTS} parts, got {len(parts)}")
    checked = []
    for index, part in enumerate(parts):
        where = f"parts[{index}]"
        if not isinstance(part, Mapping):
            raise InvalidArgument(where, f"{where} must be an object with PartNumber and ETag")
        number = part_number(part.get("PartNumber"), f"{where}.PartNumber")
        etag = part.get("ETag")
        bare = etag.strip('"').replace("-", "") if isinstance(etag, str) else ""
        if not isinstance(etag, str) or len(etag) > MAX_ETAG_CHARS or not bare or not set(bare) <= _HEX:
            raise InvalidArgument(f"{where}.ETag", f"{where}.ETag must be the ETag the part's PUT answered")
        checked.append((number, etag))
    return checked
