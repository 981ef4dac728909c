"""A bucket's SQLite index: its tables and their versions, the objects' rows, and connections kept to it.

    <root>/<bucket>/%index.sqlite3     the index (WAL): key -> content id, size, ETag, Content-Type,
                                       Last-Modified, x-oss-meta-* (JSON); the bucket's settings;
                                       multipart uploads and their parts (multipart_store)
    Connections().lend(folder)         a connection for a block, kept afterwards for the next holder

The index is versioned (``PRAGMA user_version``): ``_MIGRATIONS`` holds one step per version, each
committed with its version number, so later versions add tables beside ``objects``: version 2 adds
``settings`` (name -> text: the CORS rules), version 3 ``uploads`` and ``parts`` (multipart), version 4
where a part lies in its upload's data file (``multipart_store``). Version 1 imports a folder of the old
layout (one file per key, see ``old_layout``) once: its files are moved into ``%objects/`` (hard-linked,
then the old names and ``%meta/`` removed after the commit). No old name starts with ``%`` and a letter
past F, hence the names of the layout's folders.

Connections are kept because opening one (and its PRAGMAs) cost more than most requests, and closing the
last one to a WAL index makes SQLite checkpoint the log and remove it: a part upload paid both twice, about
2.5 ms, before they were kept (0.08 ms after).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import secrets
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.old_layout import OldObject, old_objects, remove_old_objects

DEFAULT_CONTENT_TYPE = "application/octet-stream"
INDEX, OBJECTS, TMP, UPLOADS = "%index.sqlite3", "%objects", "%tmp", "%uploads"
_RESERVED = (OBJECTS, TMP, UPLOADS)  # folders of the index's layout, never read as the old layout's
POOL = 8  # idle connections kept per index
_CHUNK = 1 << 16
_FIELDS = "size, etag, content_type, modified, user_meta, content"
_OBJECTS_TABLE = """CREATE TABLE objects (
    key BLOB PRIMARY KEY,          -- the key's UTF-8 bytes, compared byte for byte
    content TEXT NOT NULL UNIQUE,  -- the file %objects/<first two>/<content>
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    modified INTEGER NOT NULL,     -- Last-Modified, Unix seconds
    user_meta TEXT NOT NULL        -- the x-oss-meta-* headers, a JSON object
) WITHOUT ROWID"""
_UPLOADS_TABLE = """CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,    -- 32 upper-case hex digits; its parts are in %uploads/<upload_id>/
    key BLOB NOT NULL,             -- the key's UTF-8 bytes
    content_type TEXT NOT NULL,    -- the object's, given at the initiate, as are its x-oss-meta-*
    user_meta TEXT NOT NULL,
    initiated INTEGER NOT NULL     -- Unix milliseconds
) WITHOUT ROWID"""
_PARTS_TABLE = """CREATE TABLE parts (
    upload_id TEXT NOT NULL,
    number INTEGER NOT NULL,       -- 1..10000
    content TEXT NOT NULL,         -- the file %uploads/<upload_id>/<content>
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,            -- the quoted upper-case hex MD5 of the part's bytes
    modified INTEGER NOT NULL,     -- Unix milliseconds
    PRIMARY KEY (upload_id, number)
) WITHOUT ROWID"""


@dataclass(frozen=True)
class StoredObject:
    """What the local bucket knows about one object."""

    key: str
    size: int
    etag: str
    content_type: str
    last_modified: datetime
    user_meta: Mapping[str, str] = field(default_factory=dict)


class Connections:
    """Connections to the buckets' indexes, kept when given back and lent to one holder at a time (any thread)."""

    def __init__(self) -> None:
        self._idle: dict[Path, list[sqlite3.Connection]] = {}  # by index folder: connections not lent
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the idle connections (those lent are closed when they come back, if the pool is full)."""
        with self._lock:
            idle, self._idle = [db for pool in self._idle.values() for db in pool], {}
        for db in idle:
            db.close()

    @contextmanager
    def lend(self, folder: Path) -> Iterator[sqlite3.Connection]:
        """A connection to the index in ``folder`` for the block: an idle one (its version checked again), or a
        new one. Back to the pool after, unless a transaction was left open (it is closed, which rolls that back)."""
        with self._lock:
            pool = self._idle.get(folder)
            db = pool.pop() if pool else None
        if db is None:
            db = connect(folder)
        else:
            try:
                _upgrade(db, folder)  # another process may have upgraded the index since (or a test, downgraded it)
            except BaseException:
                db.close()
                raise
        try:
            yield db
        finally:
            with self._lock:
                pool = self._idle.setdefault(folder, [])
                kept = not db.in_transaction and len(pool) < POOL
                if kept:
                    pool.append(db)
            if not kept:
                db.close()  # a transaction left open (interrupted) is rolled back with its connection


def connect(folder: Path) -> sqlite3.Connection:
    """Open a bucket's index (autocommit: transactions are explicit), creating or upgrading it first; any thread
    may use the connection, one at a time (ObjectStore.index lends it so)."""
    db = sqlite3.connect(folder / INDEX, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        _upgrade(db, folder)
    except BaseException:
        db.close()
        raise
    return db


def _upgrade(db: sqlite3.Connection, folder: Path) -> None:
    """Bring the index to the newest version, if it is not there."""
    if db.execute("PRAGMA user_version").fetchone()[0] != len(_MIGRATIONS):
        _migrate(db, folder)


def _migrate(db: sqlite3.Connection, folder: Path) -> None:
    """Apply the steps from the index's version to the newest, each in one transaction with its version."""
    while True:
        with db:
            db.execute("BEGIN IMMEDIATE")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(_MIGRATIONS):
                raise RuntimeError(f"{folder / INDEX} is version {version}; this local bucket knows "
                                   f"{len(_MIGRATIONS)}")
            if version == len(_MIGRATIONS):
                return
            after_commit = _MIGRATIONS[version](db, folder)
            db.execute(f"PRAGMA user_version = {version + 1}")
        after_commit()


def _version_1(db: sqlite3.Connection, folder: Path) -> Callable[[], None]:
    """The objects table, holding the old layout's files if the folder has any."""
    db.execute(_OBJECTS_TABLE)
    moved = [_import(db, folder, item) for item in old_objects(folder, skip=_RESERVED)]
    return lambda: remove_old_objects(folder, moved, skip=_RESERVED)


def _version_2(db: sqlite3.Connection, folder: Path) -> Callable[[], None]:
    """The bucket's settings (its CORS rules ...), one text value by name."""
    db.execute("CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
    return lambda: None


def _version_3(db: sqlite3.Connection, folder: Path) -> Callable[[], None]:
    """Multipart uploads in progress and their parts (the parts' files are in %uploads/<upload id>/)."""
    db.execute(_UPLOADS_TABLE)
    db.execute("CREATE INDEX uploads_by_key ON uploads (key, upload_id)")
    db.execute(_PARTS_TABLE)
    return lambda: None


def _version_4(db: sqlite3.Connection, folder: Path) -> Callable[[], None]:
    """Parts of a known length written in place in their upload's data file (``multipart_store``)."""
    db.execute("ALTER TABLE uploads ADD COLUMN stride INTEGER")  # bytes per slot of the data file; NULL: none yet
    db.execute("ALTER TABLE parts ADD COLUMN start INTEGER")  # where in the data file; NULL: its own file <content>
    db.execute("CREATE TABLE slots (upload_id TEXT NOT NULL, number INTEGER NOT NULL, PRIMARY KEY (upload_id, number))"
               " WITHOUT ROWID")  # the data file's slots given out: to a part, or a writer still at work
    return lambda: None


_MIGRATIONS: tuple[Callable[[sqlite3.Connection, Path], Callable[[], None]], ...] = (_version_1, _version_2,
                                                                                     _version_3, _version_4)


def find_object(db: sqlite3.Connection, key: str) -> tuple[StoredObject, str]:
    """Look a key up, byte for byte; return the object and its content id, or raise NoSuchKey."""
    row = db.execute(f"SELECT {_FIELDS} FROM objects WHERE key = ?", (key_bytes(key),)).fetchone()
    if row is None:
        raise no_such_key(key)
    size, etag, content_type, modified, user_meta, content = row
    return StoredObject(key, size, etag, content_type, datetime.fromtimestamp(modified, timezone.utc),
                        json.loads(user_meta)), content


def insert_object(db: sqlite3.Connection, stored: StoredObject, content: str) -> None:
    db.execute(f"INSERT OR REPLACE INTO objects (key, {_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (key_bytes(stored.key), stored.size, stored.etag, stored.content_type,
                int(stored.last_modified.timestamp()), json.dumps(dict(stored.user_meta)), content))


def key_bytes(key: str) -> bytes:
    """The key as the index holds it; a lone surrogate (never stored) still has a form to miss with."""
    return key.encode("utf-8", "surrogatepass")


def content_file(folder: Path, content: str) -> Path:
    return folder / OBJECTS / content[:2] / content


def etag(md5_hex: str) -> str:
    return f'"{md5_hex.upper()}"'


def _import(db: sqlite3.Connection, folder: Path, item: OldObject) -> OldObject:
    """Index one old-layout file under a new id (a hard link to it, a copy where links fail)."""
    content = secrets.token_hex(16)
    target = content_file(folder, content)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(item.path, target)
    except OSError:
        shutil.copyfile(item.path, target)
    content_type = item.content_type or mimetypes.guess_type(item.key)[0] or DEFAULT_CONTENT_TYPE
    insert_object(db, StoredObject(item.key, item.size, item.etag or _file_etag(target), content_type,
                             datetime.fromtimestamp(item.mtime, timezone.utc), item.user_meta), content)
    return item


def _file_etag(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return etag(digest.hexdigest())


def no_such_key(key: str) -> OssError:
    return OssError("NoSuchKey", "The specified key does not exist.", Key=key)
