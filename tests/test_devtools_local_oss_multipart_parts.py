"""OSS's rules for completing a multipart upload and the multipart ETag, on values (no server)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.multipart_parts import (
    MIN_PART_SIZE,
    Part,
    Upload,
    chosen_parts,
    multipart_etag,
    upload_page,
)

WHEN = datetime(2025, 3, 4, 5, 0, tzinfo=timezone.utc)


def _part(number: int, data: bytes, size: int | None = None) -> Part:
    return Part(number, len(data) if size is None else size, f'"{hashlib.md5(data).hexdigest().upper()}"', WHEN)


def test_the_multipart_etag_is_the_md5_of_the_binary_part_md5s() -> None:
    bodies = [b"a" * 10, b"b" * 20, b"c"]
    expected = hashlib.md5(b"".join(hashlib.md5(body).digest() for body in bodies)).hexdigest().upper()
    assert multipart_etag([_part(n, body).etag for n, body in enumerate(bodies, 1)]) == f'"{expected}-3"'
    assert multipart_etag([_part(1, b"x").etag.strip('"').lower()]) == multipart_etag([_part(1, b"x").etag])


def test_chosen_parts_checks_order_etags_and_sizes() -> None:
    parts = {1: _part(1, b"one", MIN_PART_SIZE), 2: _part(2, b"two", MIN_PART_SIZE - 1), 5: _part(5, b"five")}
    assert chosen_parts(parts, [(1, parts[1].etag), (5, parts[5].etag.strip('"'))]) == [parts[1], parts[5]]
    assert chosen_parts(parts, [(2, parts[2].etag)]) == [parts[2]]  # the last may be small
    assert chosen_parts({1: parts[1], 5: parts[5]}, None) == [parts[1], parts[5]]  # x-oss-complete-all
    for listed, code in [([(5, parts[5].etag), (1, parts[1].etag)], "InvalidPartOrder"),
                         ([(3, parts[1].etag)], "InvalidPart"), ([(1, parts[5].etag)], "InvalidPart"),
                         ([(2, parts[2].etag), (5, parts[5].etag)], "EntityTooSmall")]:
        with pytest.raises(OssError) as refused:
            chosen_parts(parts, listed)
        assert refused.value.code == code, listed
    with pytest.raises(OssError, match="no parts"):
        chosen_parts({}, None)


def test_an_upload_page_groups_common_prefixes_and_says_where_the_next_starts() -> None:
    uploads = [Upload(f"{n:032X}", key, "text/plain", WHEN) for n, key in enumerate(["a/1", "a/2", "b", "c/1"])]
    page = upload_page(iter(uploads), "", "/", 2)
    assert page.entries == ("a/", uploads[2]) and page.truncated
    assert (page.next_key_marker, page.next_upload_id_marker) == ("b", uploads[2].upload_id)
    rest = upload_page(iter(uploads[3:]), "", "/", 2)
    assert rest.entries == ("c/",) and not rest.truncated
