"""shared.devtools.local_oss.form_data: the streaming multipart/form-data reader, fed bodies that arrive in
pieces of every size, files that hold near-misses of the delimiter, and forms it must refuse."""

from __future__ import annotations

import io
import random

import pytest

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.form_data import boundary, read_form

BOUNDARY = "----formboundaryX7a"


class Trickle:
    """A body that hands out at most a few bytes per read, the sizes chosen by a seeded random generator."""

    def __init__(self, data: bytes, seed: int, most: int) -> None:
        self.stream, self.random, self.most = io.BytesIO(data), random.Random(seed), most

    def read(self, size: int, /) -> bytes:
        return self.stream.read(min(size, self.random.randint(1, self.most)))


def _form(fields: list[tuple[str, str]], file: bytes, *, filename: str = "a.bin", after: bytes = b"") -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + file + f"\r\n--{BOUNDARY}--\r\n".encode())
    return b"preamble\r\n" + b"".join(parts) + after


def _read_all(body: Trickle) -> tuple[list[tuple[str, str]], bytes, str]:
    fields, part = read_form(body, f"multipart/form-data; boundary={BOUNDARY}")
    assert part is not None
    out = bytearray()
    while chunk := part.read(random.Random(7).randint(1, 70000)):
        out += chunk
    return fields, bytes(out), part.filename


NEAR_MISSES = [b"", b"\r\n", b"\r\n--", f"\r\n--{BOUNDARY[:-1]}".encode(), f"--{BOUNDARY}".encode(),
               f"\r\n-{BOUNDARY}\r\n".encode(), bytes(range(256)) * 40]


@pytest.mark.parametrize("most", [1, 3, 17, 1000, 1 << 16])
@pytest.mark.parametrize("file", NEAR_MISSES, ids=[f"file{n}" for n in range(len(NEAR_MISSES))])
def test_the_file_comes_out_whole_whatever_the_pieces(file: bytes, most: int) -> None:
    fields = [("key", "users/${filename}"), ("policy", "eyJ9" * 50), ("x-oss-meta-name", "报告")]
    body = _form(fields, file + b"\r" + file, filename='q"uote.txt'.replace('"', "%22"), after=b"ignored epilogue")
    got_fields, got_file, filename = _read_all(Trickle(body, seed=most, most=most))
    assert got_fields == fields and got_file == file + b"\r" + file and filename == "q%22uote.txt"


def test_quoted_names_and_parameters_in_any_case() -> None:
    body = (f'--{BOUNDARY}\r\ncontent-disposition: form-data; NAME="a\\"b"\r\n\r\nv\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name=file; filename="x.txt"\r\n\r\nbytes\r\n'
            f"--{BOUNDARY}--").encode()
    fields, part = read_form(io.BytesIO(body), f'multipart/form-data; boundary="{BOUNDARY}"')
    assert fields == [('a"b', "v")] and part is not None and part.read(100) == b"bytes" and part.read(100) == b""


def test_a_form_without_a_file() -> None:
    body = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--{BOUNDARY}--\r\n'.encode()
    assert read_form(io.BytesIO(body), f"multipart/form-data; boundary={BOUNDARY}") == ([("key", "k")], None)


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data", "multipart/mixed; boundary=b",
                                          "multipart/form-data; boundary=" + "b" * 71])
def test_content_types_that_are_not_a_form(content_type: str | None) -> None:
    with pytest.raises(OssError) as caught:
        boundary(content_type)
    assert caught.value.code == "MalformedPOSTRequest"


@pytest.mark.parametrize("body", [
    b"no delimiter at all",
    f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nv\r\n--{BOUNDARY}--".encode(),
    f'--{BOUNDARY}\r\nContent-Disposition: attachment; name="k"\r\n\r\nv\r\n--{BOUNDARY}--'.encode(),
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n\r\nnever ends'.encode(),
    f"--{BOUNDARY}junk\r\n".encode(),
    f"--{BOUNDARY}\r\n".encode() + b"X-Long: " + b"a" * 9000 + b"\r\n",
], ids=["no-delimiter", "no-disposition", "not-form-data", "file-cut-short", "junk-after-delimiter", "long-header"])
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(OssError) as caught:
        fields, part = read_form(io.BytesIO(body), f"multipart/form-data; boundary={BOUNDARY}")
        while part is not None and part.read(1000):
            pass
    assert caught.value.code == "MalformedPOSTRequest"
