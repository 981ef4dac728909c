"""What multipart uploads are, apart from where they are kept (pure): uploads, parts, a listing's page, and
OSS's rules for completing: the parts listed in ascending order, each known with its ETag, each but the
last at least 100 KiB; the object's ETag made of the parts' MD5s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.devtools.local_oss.errors import OssError

MIN_PART_SIZE = 100 << 10  # bytes: OSS's least size of a part other than the last
MAX_PART_NUMBER = 10_000
MAX_LISTED = 1000  # parts or uploads in one listing, at most (OSS's max-parts and max-uploads)


@dataclass(frozen=True)
class Upload:
    """A multipart upload in progress: its key, and the object's Content-Type and x-oss-meta-* to come."""

    upload_id: str
    key: str
    content_type: str
    initiated: datetime
    user_meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    """One uploaded part: its number, size, ETag (quoted upper-case hex MD5), when it was uploaded, where it is."""

    number: int
    size: int
    etag: str
    last_modified: datetime
    content: str = ""
    start: int | None = None  # where it lies in its upload's data file; None: it is its own file


@dataclass(frozen=True)
class UploadPage:
    """One page of ListMultipartUploads: uploads and common prefixes in key order, and where the next starts."""

    entries: tuple[Upload | str, ...]
    truncated: bool
    next_key_marker: str
    next_upload_id_marker: str


def chosen_parts(parts: Mapping[int, Part], listed: Sequence[tuple[int, str]] | None) -> list[Part]:
    """The parts a CompleteMultipartUpload lists, checked as OSS checks them (all parts when None)."""
    if listed is None:
        listed = [(number, parts[number].etag) for number in sorted(parts)]
        if not listed:
            raise OssError("InvalidPart", "The upload has no parts to complete with.")
    numbers = [number for number, _ in listed]
    if any(later <= earlier for earlier, later in zip(numbers, numbers[1:], strict=False)):
        raise OssError("InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be "
                                           "specified in order by part number.")
    chosen = []
    for number, etag in listed:
        part = parts.get(number)
        if part is None or bare_etag(etag) != bare_etag(part.etag):
            raise OssError("InvalidPart", "One or more of the specified parts could not be found or the specified "
                                          "entity tag might not have matched the part's entity tag.",
                           PartNumber=str(number), ETag=etag)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise OssError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.",
                           PartNumber=str(part.number), ProposedSize=str(part.size), MinSizeAllowed=str(MIN_PART_SIZE))
    return chosen


def multipart_etag(part_etags: Sequence[str]) -> str:
    """OSS's ETag of a completed upload: the MD5 of the parts' binary MD5s, upper-case hex, ``-<count>``, quoted."""
    digest = hashlib.md5(b"".join(bytes.fromhex(bare_etag(etag)) for etag in part_etags)).hexdigest().upper()
    return f'"{digest}-{len(part_etags)}"'


def upload_page(uploads: Iterator[Upload], prefix: str, delimiter: str, limit: int) -> UploadPage:
    """The first ``limit`` entries of uploads in key order: an upload, or the common prefix of the keys that have
    ``delimiter`` after ``prefix`` (one entry for all of them)."""
    entries: list[Upload | str] = []
    last: Upload | None = None
    for upload in uploads:
        cut = upload.key.find(delimiter, len(prefix)) if delimiter else -1
        entry: Upload | str = upload.key[:cut + len(delimiter)] if cut >= 0 else upload
        if not (entries and isinstance(entry, str) and entries[-1] == entry):
            if len(entries) == limit:
                return UploadPage(tuple(entries), True, last.key if last else "", last.upload_id if last else "")
            entries.append(entry)
        last = upload
    return UploadPage(tuple(entries), False, last.key if last else "", last.upload_id if last else "")


def bare_etag(etag: str) -> str:
    """An ETag without its quotes, upper-case: how listed ETags are compared."""
    return etag.strip().strip('"').upper()
