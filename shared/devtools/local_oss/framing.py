"""Request bodies as HTTP/1.1 frames them (RFC 9112 6): a Content-Length, or ``Transfer-Encoding: chunked``.

A chunked body is decoded as it is read (RFC 9112 7.1): each read returns part of one chunk, so an
upload of any size takes a few reads' worth of memory. Chunk extensions and trailers are read past. A
transfer coding other than chunked is 501 NotImplemented; both framings at once, a Content-Length that
is not a number, or malformed chunks are 400 (a request that could smuggle another must not be guessed at).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from io import BufferedIOBase

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.store import Body

LINE_LIMIT = 4096  # bytes of a chunk-size or trailer line
TRAILER_LIMIT = 100  # trailer lines after the last chunk


def request_body(stream: BufferedIOBase, headers: Mapping[str, str]) -> LengthBody | ChunkedBody:
    """The body the lower-cased headers announce; OssError when they announce none that can be read safely."""
    length = headers.get("content-length")
    coding = headers.get("transfer-encoding")
    if coding is None:
        if length is not None and not (length.isascii() and length.isdigit()):
            raise OssError("InvalidArgument", "Content-Length must be a whole number of bytes.")
        return LengthBody(stream, int(length) if length is not None else None)
    if coding.lower() != "chunked":
        raise OssError("NotImplemented", "The local bucket supports no transfer coding but chunked.")
    if length is not None:
        raise OssError("InvalidArgument", "A request cannot carry both Transfer-Encoding and Content-Length.")
    return ChunkedBody(stream)


class LengthBody:
    """A body of Content-Length bytes (None: no body announced); what was not read can be drained afterwards."""

    def __init__(self, stream: BufferedIOBase, length: int | None) -> None:
        self.stream = stream
        self.length = length
        self.remaining = length or 0

    def read(self, size: int) -> bytes:
        """Read at most ``size`` bytes, never past the body's end."""
        size = min(size, self.remaining)
        data = self.stream.read(size) if size > 0 else b""
        self.remaining -= len(data)
        return data


class ChunkedBody:
    """A chunked body, decoded as it is read: each read returns part of one chunk, b"" after the last."""

    def __init__(self, stream: BufferedIOBase) -> None:
        self.stream = stream
        self.left_in_chunk = 0
        self.finished = False  # the last chunk and the trailers were read: the connection is in step

    def read(self, size: int) -> bytes:
        """Read at most ``size`` bytes of the decoded body."""
        if self.finished or size <= 0:
            return b""
        if self.left_in_chunk == 0:
            self.left_in_chunk = self._chunk_size()
            if self.left_in_chunk == 0:
                self._skip_trailers()
                self.finished = True
                return b""
        data = self.stream.read(min(size, self.left_in_chunk))
        if not data:
            raise OssError("IncompleteBody", "the chunked body ended inside a chunk")
        self.left_in_chunk -= len(data)
        if self.left_in_chunk == 0 and self.stream.read(2) != b"\r\n":
            raise _malformed("a chunk's data must be followed by CRLF")
        return data

    def _chunk_size(self) -> int:
        line = self._line()
        size = line.split(b";", 1)[0].strip()  # chunk extensions are allowed and ignored
        if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
            raise _malformed(f"a chunk size must be hexadecimal digits, got {size[:20]!r}")
        return int(size, 16)

    def _skip_trailers(self) -> None:
        for _ in range(TRAILER_LIMIT):
            if self._line() in (b"\r\n", b"\n"):
                return
        raise _malformed(f"more than {TRAILER_LIMIT} trailer lines")

    def _line(self) -> bytes:
        line = self.stream.readline(LINE_LIMIT)
        if not line:
            raise OssError("IncompleteBody", "the chunked body ended before its last chunk")
        if not line.endswith(b"\n"):
            raise _malformed(f"a chunk-size or trailer line is longer than {LINE_LIMIT} bytes")
        return line


def _malformed(problem: str) -> OssError:
    return OssError("InvalidArgument", f"Malformed chunked body: {problem}.")


class LimitedBody:
    """A body of unknown length that raises ``too_large(...)`` once more than ``limit`` bytes have come."""

    def __init__(self, body: Body, limit: int, too_large: Callable[[str], OssError]) -> None:
        self.body, self.limit, self.too_large, self.read_so_far = body, limit, too_large, 0

    def read(self, size: int, /) -> bytes:
        """Read on, counting; past the limit, refuse."""
        data = self.body.read(size)
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise self.too_large(f"more than {self.limit}")
        return data
