"""The bounds on what a request may bring before anyone is authenticated, checked before anything parses it.

    MAX_QUERY_BYTES    16 KiB  a longer query string: 414 UriTooLong
    MAX_PATH_BYTES      8 KiB  a longer path: 414 UriTooLong
    MAX_HEADER_BYTES   32 KiB  a larger header block (each line counted as ``name: value`` and CRLF): 431
    MAX_HEADER_FIELDS     100  more header lines: 431 HeadersTooLarge
    MAX_BODY_BYTES      1 MiB  (messages.py) a larger body, declared or streamed: 413, never read past it

    check_head(path, query, headers)   raise UriTooLong or HeadersTooLarge; reads lengths only
    check_environ(environ)             the same for a WSGI environ
    declared_length(environ)           the Content-Length: 400 unless a whole number, 413 over the limit
    is_streamed(environ)               a chunked body the server decodes (no Content-Length)
    read_bounded(stream)               such a body, read until its end or 413 once past the limit

Every adapter runs ``check_head`` first (wsgi.py, fc.py) and the gunicorn worker bounds the request line
and the head at the socket (gunicorn_worker.py), so that no query is parsed, and no body read, beyond these.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from shared.errors import HeadersTooLarge, InvalidArgument, PayloadTooLarge, UriTooLong
from shared.http.messages import MAX_BODY_BYTES

MAX_QUERY_BYTES = 16 * 1024
MAX_PATH_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_FIELDS = 100
# The longest request line the worker reads: method, path, "?", query and " HTTP/1.1" with room to spare.
MAX_REQUEST_LINE_BYTES = MAX_PATH_BYTES + MAX_QUERY_BYTES + 64
# The most the worker buffers before the blank line that ends the head: request line and header block.
MAX_HEAD_BYTES = MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES + 4
READ_SIZE = 64 * 1024  # a body of unknown length is read in pieces of this size

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Protocol

    class Readable(Protocol):
        """A body stream (PEP 3333's ``wsgi.input``), as far as it is read here."""

        def read(self, size: int, /) -> bytes: ...


def check_head(path_bytes: int, query_bytes: int, headers: Iterable[tuple[str, str]]) -> None:
    """Refuse a request whose path or query string (their sizes in bytes) or header block is over its limit."""
    if query_bytes > MAX_QUERY_BYTES:
        raise UriTooLong(f"query string is over {MAX_QUERY_BYTES} bytes")
    if path_bytes > MAX_PATH_BYTES:
        raise UriTooLong(f"request path is over {MAX_PATH_BYTES} bytes")
    size = fields = 0
    for name, value in headers:
        fields += 1
        size += len(name) + len(value) + 4  # "name: value\r\n"
        if fields > MAX_HEADER_FIELDS:
            raise HeadersTooLarge(f"a request carries at most {MAX_HEADER_FIELDS} header fields")
        if size > MAX_HEADER_BYTES:
            raise HeadersTooLarge(f"request headers are over {MAX_HEADER_BYTES} bytes")


def read_bounded(stream: Readable, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read a body of unknown length to its end; 413 as soon as it passes ``limit``, without reading on."""
    pieces: list[bytes] = []
    size = 0
    while True:
        piece = stream.read(min(READ_SIZE, limit + 1 - size))
        if not piece:
            return b"".join(pieces)
        size += len(piece)
        if size > limit:
            raise PayloadTooLarge(f"request body is over {limit} bytes")
        pieces.append(piece)


def check_environ(environ: Mapping[str, object]) -> None:
    """check_head for a WSGI environ: 414 or 431 from lengths alone, before the query or a header is parsed."""
    path_bytes = len(str(environ.get("SCRIPT_NAME", ""))) + len(str(environ.get("PATH_INFO", "")))
    check_head(path_bytes, len(str(environ.get("QUERY_STRING", ""))), _head_fields(environ))


def _head_fields(environ: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:], str(value)
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key, str(value)


def declared_length(environ: Mapping[str, object]) -> int | None:
    """The body's Content-Length (None when absent): 400 unless a whole number, 413 over MAX_BODY_BYTES."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidArgument("content-length", "Content-Length must be a whole number")
    if len(text) > 12 or int(text) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is over {MAX_BODY_BYTES} bytes")
    return int(text)


def is_streamed(environ: Mapping[str, object]) -> bool:
    """A body of unknown length (``Transfer-Encoding: chunked``) that the server decodes and ends (gunicorn,
    Werkzeug): other servers hand the raw socket over, where reading to the end would wait on the client."""
    return bool(environ.get("HTTP_TRANSFER_ENCODING")) and bool(environ.get("wsgi.input_terminated"))


def read_body(environ: Mapping[str, object]) -> bytes:
    """A WSGI request's body, read only within the limit: by its ``Content-Length`` (413 over MAX_BODY_BYTES,
    unread) or, chunked, to its end (413 as soon as it passes MAX_BODY_BYTES)."""
    from typing import cast  # the WSGI path only: FC's cold start does not import typing

    stream = cast("Readable | None", environ.get("wsgi.input"))  # PEP 3333: always an input stream
    length = declared_length(environ)
    if stream is None or (length is None and not is_streamed(environ)):
        return b""
    try:
        return stream.read(length) if length is not None else read_bounded(stream)
    except OSError:  # the client stopped sending (the server's socket timeout) or went away
        raise InvalidArgument("body", "the request body stopped arriving before its end") from None
