"""The local bucket's store: every name OSS stores round-trips, byte for byte and exactly; PUTs are
atomic, concurrent-safe and flat in memory; a folder of the old one-file-per-key layout is imported once."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sqlite3
import threading
import tracemalloc
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_oss_object_keys import KEYS as URL_KEYS

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.store import INDEX, OBJECTS, TMP, ObjectStore, StoredObject
from shared.errors import InvalidArgument
from shared.oss.object_keys import check_object_name

AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
BUCKET = "examplebucket"


def _legal(key: str) -> bool:
    try:
        check_object_name(key)
    except InvalidArgument:
        return False
    return True


# The keys a file-per-key store could not keep, or kept only escaped; all are legal OSS names.
HOSTILE = [
    "a", "a/b", "a/b/c", "s/" + "x" * 300, "x" * 300, "nul\0key", "\0", "k" * 1023, "é" * 511, "😀" * 255,
    "d/" * 511 + "d", "Readme.md", "README.md", "readme.md", "%meta", "%meta/x", "%tmp/x", "%objects/ab/x",
    "%index.sqlite3", "%", "%25", "%2E", "a/%", ".", "..", "...", "a//b", "folder/", "trailing.", ".leading",
    "..x", "x..", "a/./b", "../../etc/passwd", "..\\..\\windows", "C:evil", "c:/x", "a//..//..//x", "~/x",
    "$HOME/x", "…/x", "e\u0301", "\u00e9", " ", "line\nbreak\r", "del\x7f",
]
ROUND_TRIP = list(dict.fromkeys([*filter(_legal, URL_KEYS), *HOSTILE]))


def key_id(key: str) -> str:
    """A readable test id for a key: long keys by their start and size, control characters escaped."""
    shown = key if len(key) <= 24 else f"{key[:8]}...{len(key.encode())}B"
    return shown.encode("unicode_escape").decode("ascii") if not shown.isprintable() else shown


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "oss")
    store.create_bucket(BUCKET)
    return store


def _put(store: ObjectStore, key: str, data: bytes = b"data", **options: object) -> StoredObject:
    return store.put(BUCKET, key, io.BytesIO(data), len(data), modified=AT, **options)  # type: ignore[arg-type]


def _read(store: ObjectStore, key: str) -> bytes:
    with store.open(BUCKET, key)[1] as file:
        return file.read()


def _contents(store: ObjectStore) -> list[Path]:
    return sorted(p for p in (store.root / BUCKET / OBJECTS).rglob("*") if p.is_file())


def _index_rows(store: ObjectStore) -> list[tuple[bytes, str]]:
    with closing(sqlite3.connect(store.root / BUCKET / INDEX)) as db:
        return db.execute("SELECT key, content FROM objects ORDER BY key").fetchall()


@pytest.mark.parametrize("key", ROUND_TRIP, ids=key_id)
def test_every_legal_key_round_trips(store: ObjectStore, key: str) -> None:
    data = b"\0bytes of " + key.encode()
    stored = _put(store, key, data)
    assert _read(store, key) == data
    assert store.head(BUCKET, key) == stored and store.exists(BUCKET, key)
    store.delete(BUCKET, key)
    assert not store.exists(BUCKET, key) and _contents(store) == []


def test_all_keys_live_side_by_side_each_with_its_own_bytes(store: ObjectStore) -> None:
    for number, key in enumerate(ROUND_TRIP):
        _put(store, key, f"{number}:{key}".encode())
    for number, key in enumerate(ROUND_TRIP):
        assert _read(store, key) == f"{number}:{key}".encode(), key
    assert len(_index_rows(store)) == len(_contents(store)) == len(ROUND_TRIP)
    assert {row[0].decode() for row in _index_rows(store)} == set(ROUND_TRIP)


def test_keys_match_exactly_whatever_the_file_system(store: ObjectStore) -> None:
    _put(store, "readme.md", b"lower")
    _put(store, "\u00e9", b"composed")
    for near in ("README.md", "readme.md\0", "readme.md ", "readme.m", "e\u0301", "/readme.md", "readme.md/"):
        assert not store.exists(BUCKET, near), near
    assert (_read(store, "readme.md"), _read(store, "\u00e9")) == (b"lower", b"composed")


@pytest.mark.parametrize(("key", "words"), [
    ("", "1..1023 bytes"), ("/abs", "must not start"), ("\\abs", "must not start"), ("x" * 1024, "1..1023 bytes"),
    ("é" * 512, "got 1024"), ("lone\ud800", "lone surrogate"),
], ids=["empty", "slash", "backslash", "1024 bytes", "512 é", "lone surrogate"])
def test_names_oss_refuses_are_refused(store: ObjectStore, key: str, words: str) -> None:
    with pytest.raises(OssError) as caught:
        _put(store, key)
    assert (caught.value.status, caught.value.code) == (400, "InvalidObjectName")
    assert words in caught.value.message
    assert _index_rows(store) == [] and not list((store.root / BUCKET).glob(f"{TMP}/*"))


@pytest.mark.parametrize("key", [k for k in HOSTILE if "/" in k or "." in k or "\\" in k], ids=key_id)
def test_no_key_reaches_outside_its_bucket(store: ObjectStore, key: str) -> None:
    folder = (store.root / BUCKET).resolve()
    _put(store, key, key.encode())
    assert _read(store, key) == key.encode()
    files = [p for p in store.root.parent.rglob("*") if p.is_file()]
    assert files and all(p.resolve().is_relative_to(folder) for p in files)
    [content] = _contents(store)
    assert content.read_bytes() == key.encode() and len(content.name) == 32  # named by id, never by key


def test_a_symlink_placed_by_hand_cannot_lead_outside(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "passwd").write_text("root")
    (store.root / BUCKET / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(OssError) as caught:
        store.open(BUCKET, "link/passwd")
    assert caught.value.code == "NoSuchKey"
    _put(store, "link/new", b"inside")
    assert _read(store, "link/new") == b"inside"
    assert sorted(p.name for p in (tmp_path / "secret").iterdir()) == ["passwd"]


def test_put_then_open_keeps_bytes_type_meta_and_etag(store: ObjectStore) -> None:
    stored = _put(store, "dir/a b+c.txt", b"hello", content_type="text/plain; charset=utf-8",
                  user_meta={"x-oss-meta-author": "alice", "x-oss-meta-city": "杭州"})
    info, file = store.open(BUCKET, "dir/a b+c.txt")
    with file:
        assert file.read() == b"hello"
    assert info == stored == store.head(BUCKET, "dir/a b+c.txt")
    assert info.etag == '"' + hashlib.md5(b"hello").hexdigest().upper() + '"'
    assert (info.size, info.content_type, info.last_modified) == (5, "text/plain; charset=utf-8", AT)
    assert dict(info.user_meta) == {"x-oss-meta-author": "alice", "x-oss-meta-city": "杭州"}
    assert _put(store, "no-type", b"").content_type == "application/octet-stream"


class _Broken(io.BytesIO):
    """A client that goes away after a few bytes."""

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= 3:
            raise ConnectionResetError("the client went away")
        return super().read(1)


@pytest.mark.parametrize(("body", "length", "digests", "code"), [
    (io.BytesIO(b"new but short"), 100, {}, "IncompleteBody"),
    (io.BytesIO(b"new"), 3, {"content_md5": base64.b64encode(hashlib.md5(b"other").digest()).decode()},
     "InvalidDigest"),
    (io.BytesIO(b"new"), 3, {"content_sha256": hashlib.sha256(b"other").hexdigest()}, "InvalidDigest"),
    (_Broken(b"new body"), 8, {}, None),
], ids=["ends early", "wrong md5", "wrong sha256", "client gone"])
def test_a_failed_upload_changes_nothing_and_leaves_no_temporary_file(
        store: ObjectStore, body: io.BytesIO, length: int, digests: dict[str, str], code: str | None) -> None:
    old = _put(store, "k", b"old")
    with pytest.raises((OssError, ConnectionResetError)) as caught:
        store.put(BUCKET, "k", body, length, modified=AT, **digests)
    if code is not None:
        assert isinstance(caught.value, OssError) and (caught.value.status, caught.value.code) == (400, code)
    assert _read(store, "k") == b"old" and store.head(BUCKET, "k") == old
    assert list((store.root / BUCKET / TMP).iterdir()) == [] and len(_contents(store)) == 1
    good = base64.b64encode(hashlib.md5(b"new").digest()).decode()
    _put(store, "k", b"new", content_md5=good, content_sha256=hashlib.sha256(b"new").hexdigest())
    assert _read(store, "k") == b"new" and len(_contents(store)) == 1


def test_a_reader_keeps_the_bytes_it_opened_while_a_put_replaces_them(store: ObjectStore) -> None:
    _put(store, "k", b"first version")
    info, file = store.open(BUCKET, "k")
    _put(store, "k", b"second")
    with file:
        assert (file.read(), info.size) == (b"first version", 13)
    assert _read(store, "k") == b"second" and len(_contents(store)) == 1


def test_concurrent_puts_and_reads_leave_a_consistent_index(store: ObjectStore) -> None:
    writers, rounds = 8, 12
    start, failures = threading.Barrier(writers + 2), []

    def write(number: int) -> None:
        start.wait(timeout=10)
        for turn in range(rounds):
            _put(store, "shared", f"writer {number} turn {turn} ".encode() * (turn + 1))
            _put(store, f"own/{number}", f"{number}:{turn}".encode())

    def read() -> None:
        start.wait(timeout=10)
        for _ in range(writers * rounds):
            try:
                info, file = store.open(BUCKET, "shared")
            except OssError:
                continue  # not written yet
            with file:
                data = file.read()
            if (len(data), '"' + hashlib.md5(data).hexdigest().upper() + '"') != (info.size, info.etag):
                failures.append(info.key)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads) and failures == []
    assert _read(store, "shared").startswith(b"writer ") and _read(store, "shared").count(b"turn 11") == 12
    assert [_read(store, f"own/{n}") for n in range(writers)] == [f"{n}:{rounds - 1}".encode() for n in range(writers)]
    rows = _index_rows(store)
    assert len(rows) == writers + 1 and sorted(c for _, c in rows) == sorted(p.name for p in _contents(store))
    assert list((store.root / BUCKET / TMP).iterdir()) == []


class _Generated:
    """A body of ``size`` bytes made as it is read (a read of n bytes allocates n), sampling VmRSS."""

    def __init__(self, size: int) -> None:
        self.left, self.block, self.reads = size, bytes(range(256)) * 256, 0
        self.rss_start = self.rss_peak = _rss()

    def read(self, size: int) -> bytes:
        self.reads += 1
        if self.reads % 16 == 1:  # every MiB: what the store holds of the bytes read so far
            self.rss_peak = max(self.rss_peak, _rss())
        size = min(size, self.left)
        self.left -= size
        return (self.block * (size // len(self.block) + 1))[:size]


def _rss() -> int:
    """The process's resident set in bytes (0 where /proc is missing)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


def test_memory_stays_flat_on_a_large_body(store: ObjectStore) -> None:
    size = 256 << 20
    body = _Generated(size)
    tracemalloc.start()
    try:
        stored = store.put(BUCKET, "big.bin", body, size, modified=AT)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    body.reads = 0
    body.read(0)
    expected = hashlib.md5()
    for _ in range(size // len(body.block)):
        expected.update(body.block)
    assert stored.etag == '"' + expected.hexdigest().upper() + '"' and stored.size == size
    assert _contents(store)[0].stat().st_size == size
    print(f"256 MiB PUT: Python allocations peaked at {peak} bytes; RSS grew {body.rss_peak - body.rss_start} bytes")
    assert peak < 4 << 20, f"Python allocations peaked at {peak} bytes"
    assert body.rss_peak - body.rss_start < 32 << 20, f"RSS grew by {body.rss_peak - body.rss_start} bytes"


def test_delete_removes_the_object_and_its_file(store: ObjectStore) -> None:
    _put(store, "x/y/z.txt")
    _put(store, "x")
    store.delete(BUCKET, "x/y/z.txt")
    store.delete(BUCKET, "x/y/z.txt")  # deleting a missing key succeeds
    store.delete(BUCKET, "/never a name")
    assert [row[0] for row in _index_rows(store)] == [b"x"] and len(_contents(store)) == 1
    assert sorted(p.name for p in (store.root / BUCKET).iterdir() if not p.name.startswith(INDEX)) == [OBJECTS, TMP]


def test_missing_bucket_and_missing_key(store: ObjectStore) -> None:
    for action in (lambda: store.open("nobucket", "k"), lambda: store.delete("..", "k"),
                   lambda: store.put("no-such", "k", io.BytesIO(b""), 0, modified=AT),
                   lambda: store.exists("no-such", "k")):
        with pytest.raises(OssError) as caught:
            action()
        assert (caught.value.status, caught.value.code) == (404, "NoSuchBucket")
    _put(store, "a")
    for key in ("missing", "a//..", "x\0", "/abs", "A", "a/", "lone\ud800"):
        for lookup in (store.open, store.head):
            with pytest.raises(OssError) as caught:
                lookup(BUCKET, key)
            assert (caught.value.status, caught.value.code, caught.value.details) == (404, "NoSuchKey", {"Key": key})


def test_the_index_is_versioned(store: ObjectStore) -> None:
    index = store.root / BUCKET / INDEX
    with closing(sqlite3.connect(index)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (4,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        db.execute("PRAGMA user_version = 9")
    with pytest.raises(RuntimeError, match="is version 9; this local bucket knows 4"):
        store.head(BUCKET, "k")


def test_connections_to_the_index_are_kept_and_lent_one_holder_at_a_time(store: ObjectStore) -> None:
    folder = store.root / BUCKET
    with store.index(folder) as first, store.index(folder) as second:
        assert first is not second  # two holders at once never share one
    with store.index(folder) as again:
        assert again in (first, second)  # kept, not opened again
    with pytest.raises(OssError), store.transaction(folder) as db:
        db.execute("INSERT INTO settings (name, value) VALUES ('half', 'written')")
        raise OssError("InvalidArgument", "refused midway")
    with pytest.raises(KeyboardInterrupt), store.index(folder) as interrupted:
        interrupted.execute("BEGIN IMMEDIATE")
        raise KeyboardInterrupt  # interrupted inside a transaction: that connection is closed, not kept
    with store.transaction(folder) as db:  # the write lock was let go and nothing half-written is seen
        assert db.execute("SELECT * FROM settings").fetchall() == []
        assert db is not interrupted
    store.close()
    assert not (folder / f"{INDEX}-wal").exists()  # the last connection closed: SQLite checkpointed its log
    assert _put(store, "after close").size == 4 and store.head(BUCKET, "after close").size == 4


def test_a_version_1_index_gains_settings_and_keeps_its_objects(store: ObjectStore) -> None:
    _put(store, "kept", b"old bytes")
    index = store.root / BUCKET / INDEX
    with closing(sqlite3.connect(index)) as db:
        # what version 1 had not
        db.executescript("DROP TABLE settings; DROP TABLE uploads; DROP TABLE parts; DROP TABLE slots")
        db.execute("PRAGMA user_version = 1")
    assert store.setting(BUCKET, "cors") is None
    store.put_setting(BUCKET, "cors", '{"rules": []}')
    assert store.setting(BUCKET, "cors") == '{"rules": []}'
    assert store.head(BUCKET, "kept").size == len(b"old bytes")
    store.put_setting(BUCKET, "cors", None)
    assert store.setting(BUCKET, "cors") is None


def _old_file(folder: Path, names: str, data: bytes, meta: dict[str, object] | None = None) -> Path:
    """Write one object as the old store did: the file under its escaped names, its metadata under %meta."""
    path = folder.joinpath(*names.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(1_741_064_767_000_000_000,) * 2)
    if meta is not None:
        record = {"content_type": "text/x-old", "etag": '"' + hashlib.md5(data).hexdigest().upper() + '"',
                  "size": len(data), "mtime_ns": path.stat().st_mtime_ns, "user_meta": {"x-oss-meta-by": "old"}}
        (folder / "%meta" / names).parent.mkdir(parents=True, exist_ok=True)
        (folder / "%meta" / names).write_text(json.dumps({**record, **meta}))
    return path


def test_a_folder_of_the_old_layout_is_imported_once(tmp_path: Path) -> None:
    folder = tmp_path / "oss" / BUCKET
    escaped = {"a/b.txt": "a/b.txt", "a//b": "a/%/b", "folder/": "folder/%", "x/./y/../z": "x/%2E/y/%2E%2E/z",
               "100%": "100%25", "back\\slash": "back%5Cslash", "12:30": "12%3A30", "%meta/x": "%25meta/x",
               ".": "%2E", "..": "%2E%2E", "中文/😀 +.txt": "中文/😀 +.txt"}
    for key, names in escaped.items():
        _old_file(folder, names, key.encode(), {"key": key})
    _old_file(folder, "photo.png", b"png")  # placed by hand: no metadata
    _old_file(folder, "notes.txt", b"replaced by hand", {"key": "notes.txt", "size": 2})  # stale metadata
    _old_file(folder, "readme.txt", b"folded", {"key": "README.txt"})  # a case-insensitive disk's leftover
    strays = [_old_file(folder, name, b"stray") for name in ("%41", "%2e", "odd/%zz", "%tmp/tmpab12")]
    (folder / "outside").symlink_to(tmp_path)
    store = ObjectStore(tmp_path / "oss")
    for key in escaped:
        info = store.head(BUCKET, key)
        assert _read(store, key) == key.encode() and (info.content_type, info.user_meta) == \
            ("text/x-old", {"x-oss-meta-by": "old"})
        assert info.last_modified == AT and info.etag == '"' + hashlib.md5(key.encode()).hexdigest().upper() + '"'
    for key, data, content_type in (("photo.png", b"png", "image/png"), ("notes.txt", b"replaced by hand",
                                     "text/plain"), ("readme.txt", b"folded", "text/plain")):
        info = store.head(BUCKET, key)
        assert (_read(store, key), info.content_type, dict(info.user_meta)) == (data, content_type, {})
        assert info.etag == '"' + hashlib.md5(data).hexdigest().upper() + '"'
    assert len(_index_rows(store)) == len(escaped) + 3
    store.close()  # its connections to the index, and with the last one SQLite's -wal and -shm files
    left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if OBJECTS not in p.parts)
    assert left == sorted([INDEX, "%tmp", "odd", "outside", *(p.relative_to(folder).as_posix() for p in strays)])
    store.delete(BUCKET, "photo.png")
    _old_file(folder, "photo.png", b"placed again")
    assert not ObjectStore(tmp_path / "oss").exists(BUCKET, "photo.png")  # imported once, never again
