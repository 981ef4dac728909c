"""The local bucket's store: keys map to files inside their bucket's folder, or are refused; PUTs are atomic."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.store import ObjectStore, key_segments

AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
HOSTILE = ["../../etc/passwd", "..", ".", "a/../../..", "..\\..\\windows", "a\\..\\..\\b", "C:evil", "c:/x",
           "%2e%2e/%2e%2e/x", "a//..//..//x", "%meta/x", "%tmp/x", "a/%", "…/x", "~/x", "$HOME/x"]


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "oss")
    store.create_bucket("examplebucket")
    return store


def _put(store: ObjectStore, key: str, data: bytes = b"data", **options: object) -> object:
    return store.put("examplebucket", key, io.BytesIO(data), len(data), modified=AT, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "segments"), [
    ("a/b.txt", ("a", "b.txt")), ("a//b", ("a", "%", "b")), ("folder/", ("folder", "%")),
    ("a/./b/../c", ("a", "%2E", "b", "%2E%2E", "c")), ("100%", ("100%25",)), ("back\\slash", ("back%5Cslash",)),
    ("12:30", ("12%3A30",)), ("...", ("...",)), ("../../etc/passwd", ("%2E%2E", "%2E%2E", "etc", "passwd")),
    ("中文/😀 +.txt", ("中文", "😀 +.txt")),
])
def test_keys_map_to_readable_or_escaped_names(key: str, segments: tuple[str, ...]) -> None:
    assert key_segments(key) == segments


def test_the_mapping_is_one_to_one() -> None:
    keys = ["%", "%25", "a/", "a/%", "a//", "a/%/", ".", "%2E", "..", "%2E%2E", ".%2E", "a\\", "a%5C", ":", "%3A",
            "a/b", "a%2Fb", "x"]
    assert len({key_segments(k) for k in keys}) == len(keys)
    assert all(not s.startswith(("%meta", "%tmp")) for k in keys + HOSTILE for s in key_segments(k))


@pytest.mark.parametrize(("key", "words"), [
    ("", "1..1023 bytes"), ("/abs", "must not start"), ("\\abs", "must not start"), ("x\0y", "NUL"),
    ("a/" + "b" * 256, "longer than 255 bytes"), ("x" * 1024, "1..1023 bytes"),
])
def test_keys_that_cannot_be_files_are_refused(store: ObjectStore, key: str, words: str) -> None:
    with pytest.raises(OssError) as caught:
        _put(store, key)
    assert (caught.value.status, caught.value.code) == (400, "InvalidObjectName")
    assert words in caught.value.message


@pytest.mark.parametrize("key", HOSTILE)
def test_no_key_reaches_outside_its_bucket(store: ObjectStore, key: str) -> None:
    folder = (store.root / "examplebucket").resolve()
    _put(store, key, key.encode())
    path = store.object_path("examplebucket", key).resolve()
    assert path.is_relative_to(folder) and path.read_bytes() == key.encode()
    assert path.relative_to(folder).parts[0] not in ("%meta", "%tmp")
    assert store.open("examplebucket", key)[1].read() == key.encode()
    files = [p for p in store.root.parent.rglob("*") if p.is_file()]
    assert files and all(p.resolve().is_relative_to(folder) for p in files)


def test_a_symlink_placed_by_hand_cannot_lead_outside(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "passwd").write_text("root")
    (store.root / "examplebucket" / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(OssError) as caught:
        store.open("examplebucket", "link/passwd")
    assert caught.value.code == "NoSuchKey"
    with pytest.raises(OssError) as caught:
        _put(store, "link/new")
    assert caught.value.code == "InvalidObjectName"
    assert not (tmp_path / "secret" / "new").exists()


def test_put_then_open_keeps_bytes_type_meta_and_etag(store: ObjectStore) -> None:
    stored = _put(store, "dir/a b+c.txt", b"hello", content_type="text/plain; charset=utf-8",
                  user_meta={"x-oss-meta-author": "alice"})
    info, file = store.open("examplebucket", "dir/a b+c.txt")
    with file:
        assert file.read() == b"hello"
    assert info == stored
    assert info.etag == '"' + hashlib.md5(b"hello").hexdigest().upper() + '"'
    assert (info.size, info.content_type, info.last_modified) == (5, "text/plain; charset=utf-8", AT)
    assert dict(info.user_meta) == {"x-oss-meta-author": "alice"}


def test_a_failed_upload_changes_nothing_and_leaves_no_temporary_file(store: ObjectStore) -> None:
    _put(store, "k", b"old")
    with pytest.raises(OssError) as caught:
        store.put("examplebucket", "k", io.BytesIO(b"new but short"), 100, modified=AT)
    assert (caught.value.status, caught.value.code) == (400, "IncompleteBody")
    with pytest.raises(OssError) as caught:
        _put(store, "k", b"new", content_md5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    assert (caught.value.status, caught.value.code) == (400, "InvalidDigest")
    assert store.open("examplebucket", "k")[1].read() == b"old"
    assert list((store.root / "examplebucket" / "%tmp").iterdir()) == []
    good = base64.b64encode(hashlib.md5(b"new").digest()).decode()
    _put(store, "k", b"new", content_md5=good, content_sha256=hashlib.sha256(b"new").hexdigest())
    assert store.open("examplebucket", "k")[1].read() == b"new"


def test_an_object_cannot_be_a_folder_too(store: ObjectStore) -> None:
    _put(store, "a")
    with pytest.raises(OssError) as caught:
        _put(store, "a/b")
    assert (caught.value.status, caught.value.code) == (409, "KeyConflict")
    store.delete("examplebucket", "a")
    _put(store, "a/b")
    with pytest.raises(OssError) as caught:
        _put(store, "a")
    assert caught.value.code == "KeyConflict"


def test_delete_removes_the_object_its_metadata_and_empty_folders(store: ObjectStore) -> None:
    _put(store, "x/y/z.txt")
    store.delete("examplebucket", "x/y/z.txt")
    store.delete("examplebucket", "x/y/z.txt")  # deleting a missing key succeeds
    assert sorted(p.name for p in (store.root / "examplebucket").iterdir()) == ["%meta", "%tmp"]
    assert list((store.root / "examplebucket" / "%meta").iterdir()) == []
    _put(store, "x")  # the folders are gone, so the name is free


def test_files_placed_by_hand_are_served_with_a_guessed_type(store: ObjectStore) -> None:
    (store.root / "examplebucket" / "photo.png").write_bytes(b"png")
    info, file = store.open("examplebucket", "photo.png")
    file.close()
    assert (info.content_type, info.etag) == ("image/png", '"' + hashlib.md5(b"png").hexdigest().upper() + '"')
    _put(store, "notes.txt", b"v1", content_type="text/x-custom")
    path = store.object_path("examplebucket", "notes.txt")
    path.write_bytes(b"replaced by hand")
    os.utime(path, (1, 1))
    info, file = store.open("examplebucket", "notes.txt")
    file.close()
    assert info.content_type == "text/plain" and info.size == len(b"replaced by hand")  # stale metadata ignored


def test_a_key_folded_onto_another_by_the_file_system_is_refused(store: ObjectStore) -> None:
    _put(store, "readme.md")
    meta = store.root / "examplebucket" / "%meta" / "readme.md"
    record = json.loads(meta.read_text())
    meta.write_text(json.dumps({**record, "key": "README.md"}))  # what a case-insensitive disk would leave
    with pytest.raises(OssError) as caught:
        store.open("examplebucket", "readme.md")
    assert caught.value.code == "NoSuchKey"
    with pytest.raises(OssError) as caught:
        _put(store, "readme.md")
    assert caught.value.code == "KeyConflict"


def test_missing_bucket_and_missing_key(store: ObjectStore) -> None:
    for action in (lambda: store.open("nobucket", "k"), lambda: store.delete("..", "k"),
                   lambda: store.put("no-such", "k", io.BytesIO(b""), 0, modified=AT)):
        with pytest.raises(OssError) as caught:
            action()
        assert (caught.value.status, caught.value.code) == (404, "NoSuchBucket")
    for key in ("missing", "a//..", "x\0", "/abs"):
        with pytest.raises(OssError) as caught:
            store.open("examplebucket", key)
        assert (caught.value.status, caught.value.code) == (404, "NoSuchKey")
