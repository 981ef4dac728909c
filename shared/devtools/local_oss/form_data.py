"""multipart/form-data (RFC 7578) as PostObject sends it, read as it arrives: the fields before ``file`` into
memory, within bounds, then the file's bytes streamed, a chunk at a time, up to the closing delimiter.

    --<boundary>\\r\\n  Content-Disposition: form-data; name="key"\\r\\n\\r\\n  <value>
    \\r\\n--<boundary>\\r\\n  ...  name="file"; filename="a.jpg"\\r\\n  Content-Type: ...\\r\\n\\r\\n  <bytes>
    \\r\\n--<boundary>--

What comes after the file part is not read (OSS ignores it). Memory stays flat at any file size: the
scanner holds one read's worth plus a delimiter. A body that is not well-formed multipart/form-data is
400 MalformedPOSTRequest; fields over their bounds are 400 InvalidArgument, before anything is stored.
"""

from __future__ import annotations

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.store import Body

FILE_FIELD = "file"
FIELD_LIMIT = 64 << 10  # bytes of one field's value before the file
FIELDS_LIMIT = 64  # fields before the file
FORM_LIMIT = 1 << 20  # bytes of all the fields' values before the file
HEADER_LIMIT = 8 << 10  # bytes of one part header line
HEADERS_LIMIT = 16  # header lines of one part
PREAMBLE_LIMIT = 16 << 10  # bytes before the first delimiter
_CHUNK = 1 << 16


class FilePart:
    """The ``file`` part: its file name and Content-Type, and its bytes, read on demand up to the delimiter."""

    def __init__(self, scanner: _Scanner, delimiter: bytes, filename: str, content_type: str | None) -> None:
        self.scanner, self.delimiter = scanner, delimiter
        self.filename, self.content_type = filename, content_type
        self.finished = False

    def read(self, size: int, /) -> bytes:
        """At most ``size`` bytes of the file; b"" once the delimiter after it has been read."""
        if self.finished or size <= 0:
            return b""
        data = self.scanner.stream(self.delimiter, size)
        self.finished = not data
        return data


def read_form(body: Body, content_type: str | None) -> tuple[list[tuple[str, str]], FilePart | None]:
    """Read the fields up to the file part; return them (in order) and the file part, None if the form has none."""
    delimiter = b"\r\n--" + boundary(content_type)
    scanner = _Scanner(body, b"\r\n")  # the first delimiter has no line break before it: lend it one
    scanner.skip_until(delimiter, PREAMBLE_LIMIT)
    fields: list[tuple[str, str]] = []
    room = FORM_LIMIT
    while scanner.after_delimiter():
        name, filename, part_type = _part_headers(scanner)
        if name == FILE_FIELD:
            return fields, FilePart(scanner, delimiter, filename or "", part_type)
        if len(fields) == FIELDS_LIMIT or room <= 0:
            raise OssError("InvalidArgument", f"A form may carry at most {FIELDS_LIMIT} fields and {FORM_LIMIT} "
                                              f"bytes before the file.")
        value = scanner.read_until(delimiter, min(FIELD_LIMIT, room), name)
        room -= len(value)
        try:
            fields.append((name, value.decode("utf-8")))
        except UnicodeDecodeError:
            raise OssError("InvalidArgument", f"The form field {name!r} is not valid UTF-8.") from None
    return fields, None


def boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type (RFC 2046: 1..70 characters)."""
    kind, params = _header_params(content_type or "")
    value = params.get("boundary", "")
    if kind != "multipart/form-data" or not 1 <= len(value) <= 70 or not value.isascii():
        raise malformed()
    return value.encode("ascii")


def malformed() -> OssError:
    return OssError("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")


def _part_headers(scanner: _Scanner) -> tuple[str, str | None, str | None]:
    """A part's field name, file name and Content-Type, from its header lines."""
    disposition: str | None = None
    part_type: str | None = None
    for _ in range(HEADERS_LIMIT + 1):
        line = scanner.read_line(HEADER_LIMIT)
        if not line:
            break
        try:
            name, colon, value = line.decode("utf-8").partition(":")
        except UnicodeDecodeError:
            raise malformed() from None
        if not colon:
            raise malformed()
        if name.strip().lower() == "content-disposition":
            disposition = value.strip()
        elif name.strip().lower() == "content-type":
            part_type = value.strip()
    else:
        raise malformed()
    kind, params = _header_params(disposition or "")
    if kind != "form-data" or not params.get("name"):
        raise malformed()
    return params["name"], params.get("filename"), part_type


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    """``type; a=1; b="x\\"y"`` -> ("type", {"a": "1", "b": 'x"y'}): names lower-cased, quoted strings read."""
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    while rest.strip():
        name, equals, rest = rest.strip().partition("=")
        if not equals:
            raise malformed()
        if rest.startswith('"'):
            text, rest = _quoted(rest)
            rest = rest.strip()
            if rest and not rest.startswith(";"):
                raise malformed()
            rest = rest[1:]
        else:
            text, _, rest = rest.partition(";")
            text = text.strip()
        params.setdefault(name.strip().lower(), text)
    return kind.strip().lower(), params


def _quoted(text: str) -> tuple[str, str]:
    """Read a quoted string at the start of text (backslash escapes one character); return it and the rest."""
    out, index = [], 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
        elif char == '"':
            return "".join(out), text[index + 1:]
        else:
            out.append(char)
            index += 1
    raise malformed()


class _Scanner:
    """A body read in chunks into a small buffer, searched for delimiters."""

    def __init__(self, body: Body, start: bytes = b"") -> None:
        self.body = body
        self.buffer = bytearray(start)

    def _fill(self) -> None:
        chunk = self.body.read(_CHUNK)
        if not chunk:
            raise malformed()  # the body ended before the form did
        self.buffer += chunk

    def read_line(self, limit: int) -> bytes:
        """The next line, without its CRLF."""
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > limit:
                raise malformed()
            self._fill()
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        return line

    def read_until(self, delimiter: bytes, limit: int, name: str) -> bytes:
        """Everything up to the delimiter (which is consumed); InvalidArgument past ``limit`` bytes."""
        start = 0
        while (end := self.buffer.find(delimiter, start)) < 0:
            if len(self.buffer) > limit + len(delimiter):
                raise OssError("InvalidArgument", f"The form field {name!r} is longer than {limit} bytes.")
            start = max(0, len(self.buffer) - len(delimiter) + 1)
            self._fill()
        value = bytes(self.buffer[:end])
        del self.buffer[:end + len(delimiter)]
        return value

    def skip_until(self, delimiter: bytes, limit: int) -> None:
        """Drop everything up to and including the delimiter (the preamble)."""
        self.read_until(delimiter, limit, "preamble")

    def after_delimiter(self) -> bool:
        """After a delimiter: True when a part follows (CRLF), False at the close (``--``)."""
        while len(self.buffer) < 2:
            self._fill()
        if self.buffer.startswith(b"--"):
            return False  # what follows the close is not read
        line = self.read_line(HEADER_LIMIT)
        if line.strip(b" \t"):  # only transport padding may stand between a delimiter and its CRLF
            raise malformed()
        return True

    def stream(self, delimiter: bytes, size: int) -> bytes:
        """At most ``size`` bytes before the delimiter; b"" when it is next (and then consumed)."""
        while True:
            end = self.buffer.find(delimiter)
            if end == 0:
                del self.buffer[:len(delimiter)]
                return b""
            safe = end if end > 0 else len(self.buffer) - len(delimiter) + 1
            if safe > 0:
                data = bytes(self.buffer[:min(safe, size)])
                del self.buffer[:len(data)]
                return data
            self._fill()
