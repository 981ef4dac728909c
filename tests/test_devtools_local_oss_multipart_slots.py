"""Where the local bucket keeps a multipart upload's parts (multipart_store), on the store itself (no server).

A part of a known length goes into its slot of the upload's data file (part size x (number - 1)); a taken
slot, a longer part or a chunked one into a file of its own. Whatever the order and mix, the completed object
holds the listed parts' bytes; when the data file already is the object, it is renamed rather than copied.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.multipart_files import DATA
from shared.devtools.local_oss.multipart_parts import Part
from shared.devtools.local_oss.multipart_store import MultipartStore
from shared.devtools.local_oss.store import INDEX, TMP, UPLOADS, ObjectStore

BUCKET = "slots"
AT = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
PART = 100 << 10  # OSS's least size of a part other than the last
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path: Path) -> MultipartStore:
    objects = ObjectStore(tmp_path / "oss")
    objects.create_bucket(BUCKET)
    return MultipartStore(objects)


def _body(size: int, seed: int) -> bytes:
    block = hashlib.sha256(seed.to_bytes(4, "big")).digest()
    return (block * (size // len(block) + 1))[:size]


def _put(store: MultipartStore, upload_id: str, number: int, data: bytes, *, chunked: bool = False) -> Part:
    return store.put_part(BUCKET, "k", upload_id, number, io.BytesIO(data), None if chunked else len(data), now=AT)


def _folder(store: MultipartStore, upload_id: str) -> Path:
    return store.store.root / BUCKET / UPLOADS / upload_id


def _object(store: MultipartStore) -> tuple[bytes, int]:
    """The object's bytes and the inode of its file."""
    with store.store.open(BUCKET, "k")[1] as file:
        return file.read(), os.fstat(file.fileno()).st_ino


def _complete(store: MultipartStore, upload_id: str, parts: Sequence[Part]) -> tuple[bytes, bool]:
    """Complete with ``parts``; the object's bytes, and whether its file is the upload's data file (no copy)."""
    data = _folder(store, upload_id) / DATA
    inode = data.stat().st_ino if data.exists() else None
    store.complete(BUCKET, "k", upload_id, [(part.number, part.etag) for part in parts], now=AT)
    content, object_inode = _object(store)
    assert not _folder(store, upload_id).exists()
    assert list((store.store.root / BUCKET / TMP).glob("*")) == []
    return content, object_inode == inode


def test_parts_out_of_order_are_written_in_their_slots_and_renamed_into_the_object(store: MultipartStore) -> None:
    upload_id = store.initiate(BUCKET, "k", now=AT).upload_id
    bodies = {1: _body(PART, 1), 2: _body(PART, 2), 3: _body(PART, 3), 4: b"the end"}
    parts = {number: _put(store, upload_id, number, bodies[number]) for number in (3, 1, 4, 2)}
    assert {n: p.start for n, p in parts.items()} == {1: 0, 2: PART, 3: 2 * PART, 4: 3 * PART}
    assert [p.name for p in _folder(store, upload_id).iterdir()] == [DATA]  # no file per part
    content, renamed = _complete(store, upload_id, [parts[n] for n in sorted(parts)])
    assert content == b"".join(bodies[n] for n in sorted(bodies)) and renamed


def test_the_last_part_first_sets_a_short_stride_and_the_others_go_to_their_own_files(
        store: MultipartStore) -> None:
    upload_id = store.initiate(BUCKET, "k", now=AT).upload_id
    last = _put(store, upload_id, 3, b"short last part")
    first, second = _put(store, upload_id, 1, _body(PART, 4)), _put(store, upload_id, 2, _body(PART, 5))
    assert last.start == 2 * len(b"short last part") and first.start is None and second.start is None
    content, renamed = _complete(store, upload_id, [first, second, last])
    assert content == _body(PART, 4) + _body(PART, 5) + b"short last part" and not renamed


def test_a_complete_that_leaves_out_a_written_slot_copies(store: MultipartStore) -> None:
    upload_id = store.initiate(BUCKET, "k", now=AT).upload_id
    parts = [_put(store, upload_id, number, _body(PART, number)) for number in (1, 2, 3)]
    content, renamed = _complete(store, upload_id, parts[:2])  # part 3's slot holds bytes of no listed part
    assert content == _body(PART, 1) + _body(PART, 2) and not renamed


def test_a_complete_that_skips_a_number_copies_the_listed_parts_only(store: MultipartStore) -> None:
    upload_id = store.initiate(BUCKET, "k", now=AT).upload_id
    parts = [_put(store, upload_id, number, _body(PART, number)) for number in (1, 2, 3)]
    content, renamed = _complete(store, upload_id, [parts[0], parts[2]])
    assert content == _body(PART, 1) + _body(PART, 3) and not renamed


def test_chunked_longer_and_resent_parts_live_in_their_own_files(store: MultipartStore) -> None:
    upload_id = store.initiate(BUCKET, "k", now=AT).upload_id
    first = _put(store, upload_id, 1, _body(PART, 6))
    chunked = _put(store, upload_id, 2, _body(PART, 7), chunked=True)
    longer = _put(store, upload_id, 3, _body(PART + 1, 8))
    resent = _put(store, upload_id, 1, _body(PART, 9))
    assert (first.start, chunked.start, longer.start, resent.start) == (0, None, None, None)
    own = {p.name for p in _folder(store, upload_id).iterdir()} - {DATA}
    assert own == {chunked.content, longer.content, resent.content}
    assert store.list_parts(BUCKET, "k", upload_id)[0] == [resent, chunked, longer]
    content, renamed = _complete(store, upload_id, [resent, chunked, longer])
    assert content == _body(PART, 9) + _body(PART, 7) + _body(PART + 1, 8) and not renamed


def test_a_failed_write_frees_its_slot_for_the_retry(store: MultipartStore) -> None:
    upload_id = store.initiate(BUCKET, "k", now=AT).upload_id
    first = _put(store, upload_id, 1, _body(PART, 10))
    with pytest.raises(OssError) as refused:  # the connection dropped: fewer bytes than declared
        store.put_part(BUCKET, "k", upload_id, 2, io.BytesIO(_body(PART // 2, 11)), PART, now=AT)
    assert refused.value.code == "IncompleteBody"
    with pytest.raises(OssError) as refused:
        store.put_part(BUCKET, "k", upload_id, 2, io.BytesIO(_body(PART, 11)), PART, now=AT, content_md5="AAAA")
    assert refused.value.code == "InvalidDigest"
    assert [p.number for p in store.list_parts(BUCKET, "k", upload_id)[0]] == [1]
    retried = _put(store, upload_id, 2, _body(PART, 11))
    assert retried.start == PART  # its slot again, not a file of its own
    content, renamed = _complete(store, upload_id, [first, retried])
    assert content == _body(PART, 10) + _body(PART, 11) and renamed


CRASH = r"""
import io, os, sys
from datetime import datetime, timezone
from shared.devtools.local_oss.multipart_store import MultipartStore
from shared.devtools.local_oss.store import ObjectStore

class Dropped(io.RawIOBase):
    '''Half the declared bytes, then the process dies in the middle of the write.'''
    def __init__(self): self.sent = 0
    def read(self, size):
        if self.sent:
            os._exit(9)
        self.sent = size // 2
        return b"x" * self.sent

root, bucket, upload_id, size = sys.argv[1:5]
MultipartStore(ObjectStore(root)).put_part(bucket, "k", upload_id, 2, Dropped(), int(size),
                                           now=datetime.now(timezone.utc))
"""


def test_a_bucket_killed_in_the_middle_of_a_part_resumes_after_a_restart(store: MultipartStore) -> None:
    upload_id = store.initiate(BUCKET, "k", now=AT).upload_id
    first = _put(store, upload_id, 1, _body(PART, 12))
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(store.store.root), BUCKET, upload_id, str(PART)],
                             cwd=ROOT, timeout=60, capture_output=True)
    assert crashed.returncode == 9, crashed.stderr
    again = MultipartStore(ObjectStore(store.store.root))  # the bucket restarted
    assert again.list_parts(BUCKET, "k", upload_id)[0] == [first]  # the half-written part is no part
    retried = again.put_part(BUCKET, "k", upload_id, 2, io.BytesIO(_body(PART, 13)), PART, now=AT)
    assert retried.start is None  # the dead writer's slot stays given out: the retry has a file of its own
    content, renamed = _complete(again, upload_id, [first, retried])
    assert content == _body(PART, 12) + _body(PART, 13) and not renamed


def test_an_upload_begun_under_version_3_completes_after_the_upgrade(tmp_path: Path) -> None:
    """Version 3 kept every part in its own file; version 4 adds the slots and reads those parts as they are."""
    folder = tmp_path / "oss" / BUCKET
    (folder / UPLOADS / ("A" * 32)).mkdir(parents=True)
    (folder / UPLOADS / ("A" * 32) / ("b" * 32)).write_bytes(_body(PART, 14))
    etag = f'"{hashlib.md5(_body(PART, 14)).hexdigest().upper()}"'
    with closing(sqlite3.connect(folder / INDEX)) as db, db:
        db.executescript(f"""
            CREATE TABLE objects (key BLOB PRIMARY KEY, content TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
                etag TEXT NOT NULL, content_type TEXT NOT NULL, modified INTEGER NOT NULL,
                user_meta TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE uploads (upload_id TEXT PRIMARY KEY, key BLOB NOT NULL, content_type TEXT NOT NULL,
                user_meta TEXT NOT NULL, initiated INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX uploads_by_key ON uploads (key, upload_id);
            CREATE TABLE parts (upload_id TEXT NOT NULL, number INTEGER NOT NULL, content TEXT NOT NULL,
                size INTEGER NOT NULL, etag TEXT NOT NULL, modified INTEGER NOT NULL,
                PRIMARY KEY (upload_id, number)) WITHOUT ROWID;
            INSERT INTO uploads VALUES ('{"A" * 32}', CAST('k' AS BLOB), 'text/plain', '{{"a": "1"}}', 0);
            INSERT INTO parts VALUES ('{"A" * 32}', 1, '{"b" * 32}', {PART}, '{etag}', 0);
            PRAGMA user_version = 3;
        """)
    store = MultipartStore(ObjectStore(tmp_path / "oss"))
    old, = store.list_parts(BUCKET, "k", "A" * 32)[0]
    assert (old.number, old.size, old.etag, old.start) == (1, PART, etag, None)
    second = _put(store, "A" * 32, 2, b"after the upgrade")
    assert second.start == len(b"after the upgrade")  # no stride yet: the first sized part since sets it
    content, renamed = _complete(store, "A" * 32, [old, second])
    assert content == _body(PART, 14) + b"after the upgrade" and not renamed
    stored, file = store.store.open(BUCKET, "k")
    file.close()
    assert (stored.content_type, stored.user_meta) == ("text/plain", {"a": "1"})
    with closing(sqlite3.connect(folder / INDEX)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
