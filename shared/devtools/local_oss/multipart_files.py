"""Where a multipart upload's parts' bytes are, on disk: a slot of the upload's data file, or a file of its own.

    PartSlot(path, start, upload_id)   a part written in place: os.pwrite from ``start`` on (one writer a slot)
    append_part(folder, part, out)     a part's bytes copied onto the end of ``out`` (in the kernel where it can)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.multipart_parts import Part

DATA = "data"  # the upload's file of parts written in place (never 32 hex digits: not a part's own file)
_COPY_BUFFER = 1 << 20


class PartSlot:
    """A part's slot of its upload's data file, written from ``start`` on with os.pwrite."""

    def __init__(self, path: Path, start: int, upload_id: str) -> None:
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        except FileNotFoundError:  # the upload's folder went with an abort or a complete meanwhile
            raise OssError("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or "
                                           "the upload may have been aborted or completed.",
                           UploadId=upload_id) from None
        self.position = start

    def __enter__(self) -> PartSlot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)

    def write(self, data: bytes, /) -> int:
        """Write all of ``data`` at the slot's current position."""
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, self.position)
            self.position += written
            view = view[written:]
        return len(data)


def append_part(folder: Path, part: Part, out: BinaryIO) -> None:
    """Copy one part's bytes (its own file, or its slot of the data file) onto the end of ``out``, bounded."""
    try:
        source = os.open(folder / (part.content if part.start is None else DATA), os.O_RDONLY)
    except FileNotFoundError:  # replaced or aborted since the parts were read: the final check names which
        raise part_gone(part) from None
    try:
        out.flush()
        position = part.start or 0
        end = position + part.size
        try:  # in the kernel where it can (no copy through Python: a 256 MiB complete takes a tenth of the time)
            while position < end and (copied := os.copy_file_range(source, out.fileno(), end - position, position)):
                position += copied
        except (AttributeError, OSError):
            pass  # no copy_file_range here (or not between these files): the rest goes through Python
        while position < end and (piece := os.pread(source, min(_COPY_BUFFER, end - position), position)):
            out.write(piece)
            position += len(piece)
        if position < end:
            raise part_gone(part)
    finally:
        os.close(source)


def part_gone(part: Part) -> OssError:
    """The InvalidPart of a listed part whose bytes went (replaced, or the upload aborted) during a complete."""
    return OssError("InvalidPart", "A listed part was uploaded again or the upload was aborted while it was being "
                                   "completed.", PartNumber=str(part.number))
