"""Objects of the local bucket: per bucket, an SQLite index from keys to content files named by id.

    <root>/<bucket>/%index.sqlite3     the index (WAL): key -> content id, size, ETag, Content-Type,
                                       Last-Modified, x-oss-meta-* (JSON); the bucket's settings
    <root>/<bucket>/%objects/ab/<id>   an object's bytes; <id> is 32 random hex digits, ab its first two
    <root>/<bucket>/%tmp/              uploads in progress
    <root>/<bucket>/%uploads/<id>/     a multipart upload's parts (see multipart_store)

A key is never a file name: the index holds its UTF-8 bytes and matches them exactly (case, NUL and
all) whatever the file system, so every name check_object_name lets through round-trips: ``a`` and
``a/b`` both, a part longer than 255 bytes, ``.``, ``..``, ``a//b``. A PUT streams the body (of a
known length, or to its end) into ``%tmp/`` in chunks, renames it to a new id, then points the key at it
in one transaction and removes the file it replaced; a reader that opened the old file keeps reading
the old bytes.

Connections to an index are kept by the store and lent to one thread at a time (``ObjectStore.index``);
this process's writers take turns on a lock before SQLite's (``ObjectStore.transaction``), other processes
meet them at SQLite's.

The index is versioned (``PRAGMA user_version``): ``_MIGRATIONS`` holds one step per version, each
committed with its version number, so later versions add tables beside ``objects``: version 2 adds
``settings`` (name -> text: the CORS rules), version 3 ``uploads`` and ``parts`` (multipart), version 4
where a part lies in its upload's data file (``multipart_store``). Version 1
imports a folder of the old layout (one file per key, see ``old_layout``) once: its files are moved into
``%objects/`` (hard-linked, then the old names and ``%meta/`` removed after the commit). No old name
starts with ``%`` and a letter past F, hence the names above.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import secrets
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Protocol

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.old_layout import OldObject, old_objects, remove_old_objects
from shared.errors import InvalidArgument
from shared.oss.endpoints import check_bucket
from shared.oss.object_keys import check_object_name

DEFAULT_CONTENT_TYPE = "application/octet-stream"
INDEX, OBJECTS, TMP, UPLOADS = "%index.sqlite3", "%objects", "%tmp", "%uploads"
_RESERVED = (OBJECTS, TMP, UPLOADS)  # folders of the index's layout, never read as the old layout's
_CHUNK = 1 << 16
_POOL = 8  # idle connections kept per bucket index
_BODY_CHUNK = 1 << 20  # bytes read from a request body at a time: few reads, few hash and write calls
_ATTEMPTS = 5  # lookups a read may need when other processes replace the object meanwhile
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


class Body(Protocol):
    """A request body: reads at most ``size`` bytes, b"" at its end."""

    def read(self, size: int, /) -> bytes: ...


class Sink(Protocol):
    """Where a body is copied to: a file, or a region of one."""

    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True)
class StoredObject:
    """What the local bucket knows about one object."""

    key: str
    size: int
    etag: str
    content_type: str
    last_modified: datetime
    user_meta: Mapping[str, str] = field(default_factory=dict)


class ObjectStore:
    """The buckets under one root folder, each with its own index; PUTs are atomic."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()  # a lookup and its open, a commit and its unlink: never interleaved
        self._idle: dict[Path, list[sqlite3.Connection]] = {}  # connections to each bucket's index, not lent
        self._idle_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ObjectStore({str(self.root)!r})"

    def close(self) -> None:
        """Close the connections kept to the buckets' indexes (the store can still be used: it opens new ones)."""
        with self._idle_lock:
            idle, self._idle = [db for pool in self._idle.values() for db in pool], {}
        for db in idle:
            db.close()

    @contextmanager
    def index(self, folder: Path) -> Iterator[sqlite3.Connection]:
        """A connection to a bucket's index for the block. Connections are kept and lent to one thread at a time:
        opening one (and its PRAGMAs) cost more than most requests, and closing the last one to a WAL index makes
        SQLite checkpoint the log and remove it (a part upload paid both twice, about 2 ms)."""
        with self._idle_lock:
            pool = self._idle.get(folder)
            db = pool.pop() if pool else None
        if db is None:
            db = _connect(folder)
        else:
            try:
                _upgrade(db, folder)  # another process may have upgraded the index since (or a test, downgraded it)
            except BaseException:
                db.close()
                raise
        try:
            yield db
        finally:
            with self._idle_lock:
                pool = self._idle.setdefault(folder, [])
                kept = not db.in_transaction and len(pool) < _POOL
                if kept:
                    pool.append(db)
            if not kept:
                db.close()  # a transaction left open (interrupted) is rolled back with its connection

    @contextmanager
    def transaction(self, folder: Path) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction on a bucket's index, committed at the block's end, rolled back on a raise.
        This process's writers take turns on a lock first: SQLite's busy handler waits in whole milliseconds."""
        with self._lock, self.index(folder) as db, db:
            db.execute("BEGIN IMMEDIATE")
            yield db

    def create_bucket(self, bucket: str) -> Path:
        """Create a bucket's folder (and the root) and its index if missing; return the folder."""
        check_bucket(bucket)
        folder = self.root / bucket
        folder.mkdir(parents=True, exist_ok=True)
        _connect(folder).close()
        return folder

    def has_bucket(self, bucket: str) -> bool:
        """True when the bucket's folder exists."""
        return (self.root / bucket).is_dir()

    def bucket_folder(self, bucket: str) -> Path:
        """The bucket's folder; NoSuchBucket when there is none."""
        return self._bucket(bucket)

    def head(self, bucket: str, key: str) -> StoredObject:
        """Describe an object without opening it; NoSuchKey if there is none."""
        with self.index(self._bucket(bucket)) as db:
            return _find(db, key)[0]

    def exists(self, bucket: str, key: str) -> bool:
        """True when the bucket holds an object under exactly this key."""
        try:
            self.head(bucket, key)
        except OssError as exc:
            if exc.code == "NoSuchKey":
                return False
            raise
        return True

    def put(self, bucket: str, key: str, body: Body, length: int | None, *, modified: datetime,
            content_type: str | None = None, user_meta: Mapping[str, str] | None = None,
            content_md5: str | None = None, content_sha256: str | None = None) -> StoredObject:
        """Write ``length`` bytes from body (all of it when None) as the object, atomically; check Content-MD5
        and SHA-256 if given. A body that fails midway (raises) leaves nothing behind."""
        folder = self._bucket(bucket)
        try:
            check_object_name(key)
        except InvalidArgument as exc:
            raise OssError("InvalidObjectName", exc.message) from None
        (folder / TMP).mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder / TMP)
        try:
            with os.fdopen(handle, "wb") as out:
                etag, size = copy_body(body, length, out, content_md5, content_sha256)
            stored = StoredObject(key, size, etag, content_type or DEFAULT_CONTENT_TYPE,
                                  datetime.fromtimestamp(int(modified.timestamp()), timezone.utc),  # whole seconds
                                  dict(user_meta or {}))
            self._commit(folder, stored, temporary)
            return stored
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def open(self, bucket: str, key: str) -> tuple[StoredObject, BinaryIO]:
        """Return an object's description and its file, open for reading; NoSuchKey if there is none."""
        folder = self._bucket(bucket)
        with self.index(folder) as db:
            for _ in range(_ATTEMPTS):
                with self._lock:
                    stored, content = _find(db, key)
                    try:
                        return stored, open(_content_file(folder, content), "rb")
                    except FileNotFoundError:
                        continue  # another process replaced it between the lookup and the open
        raise _no_such_key(key)

    def delete(self, bucket: str, key: str) -> None:
        """Remove an object if it exists (deleting a missing key succeeds, as on OSS)."""
        folder = self._bucket(bucket)
        with self.index(folder) as db, self._lock:
            with db:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute("SELECT content FROM objects WHERE key = ?", (_key_bytes(key),)).fetchone()
                db.execute("DELETE FROM objects WHERE key = ?", (_key_bytes(key),))
            if row is not None:
                _content_file(folder, row[0]).unlink(missing_ok=True)

    def setting(self, bucket: str, name: str) -> str | None:
        """A bucket setting's value (the CORS rules ...), None when it is not set."""
        with self.index(self._bucket(bucket)) as db:
            row = db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, bucket: str, name: str, value: str | None) -> None:
        """Set a bucket setting, replacing what it was; None removes it."""
        with self.index(self._bucket(bucket)) as db:
            if value is None:
                db.execute("DELETE FROM settings WHERE name = ?", (name,))
            else:
                db.execute("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value))

    def _bucket(self, bucket: str) -> Path:
        try:
            check_bucket(bucket)
        except InvalidArgument:
            raise OssError("NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket) from None
        folder = self.root / bucket
        if not folder.is_dir():
            raise OssError("NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)
        return folder

    def commit_file(self, bucket: str, stored: StoredObject, temporary: str,
                    within: Callable[[sqlite3.Connection], None], *, move_last: bool = False) -> None:
        """Make a finished file the object ``stored`` describes, as a PUT does; ``within(db)`` runs in the same
        transaction first (a raise there refuses the commit: the file is removed, or with ``move_last``, moved
        only once ``within`` passed, left where it was)."""
        self._commit(self._bucket(bucket), stored, temporary, within, move_last=move_last)

    def _commit(self, folder: Path, stored: StoredObject, temporary: str,
                within: Callable[[sqlite3.Connection], None] | None = None, *, move_last: bool = False) -> None:
        """Give a finished upload a new id, point its key at it, then remove the file it replaced."""
        content = secrets.token_hex(16)
        path = _content_file(folder, content)
        with self.index(folder) as db:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not move_last:
                os.replace(temporary, path)
            with self._lock:
                moved = not move_last
                try:
                    with db:
                        db.execute("BEGIN IMMEDIATE")
                        if within is not None:
                            within(db)
                        if not moved:
                            os.replace(temporary, path)
                            moved = True
                        old = db.execute("SELECT content FROM objects WHERE key = ?",
                                         (_key_bytes(stored.key),)).fetchone()
                        _insert(db, stored, content)
                except BaseException:
                    if move_last and moved:
                        os.replace(path, temporary)  # back where it was: the caller still owns it
                    elif not move_last:
                        path.unlink(missing_ok=True)
                    raise
                if old is not None:
                    _content_file(folder, old[0]).unlink(missing_ok=True)


def _connect(folder: Path) -> sqlite3.Connection:
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


def _find(db: sqlite3.Connection, key: str) -> tuple[StoredObject, str]:
    """Look a key up, byte for byte; return the object and its content id, or raise NoSuchKey."""
    row = db.execute(f"SELECT {_FIELDS} FROM objects WHERE key = ?", (_key_bytes(key),)).fetchone()
    if row is None:
        raise _no_such_key(key)
    size, etag, content_type, modified, user_meta, content = row
    return StoredObject(key, size, etag, content_type, datetime.fromtimestamp(modified, timezone.utc),
                        json.loads(user_meta)), content


def _insert(db: sqlite3.Connection, stored: StoredObject, content: str) -> None:
    db.execute(f"INSERT OR REPLACE INTO objects (key, {_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (_key_bytes(stored.key), stored.size, stored.etag, stored.content_type,
                int(stored.last_modified.timestamp()), json.dumps(dict(stored.user_meta)), content))


def _key_bytes(key: str) -> bytes:
    """The key as the index holds it; a lone surrogate (never stored) still has a form to miss with."""
    return key.encode("utf-8", "surrogatepass")


def _content_file(folder: Path, content: str) -> Path:
    return folder / OBJECTS / content[:2] / content


def copy_body(body: Body, length: int | None, out: Sink, content_md5: str | None,
          content_sha256: str | None) -> tuple[str, int]:
    """Copy exactly ``length`` bytes (or to the body's end); check the declared digests; return ETag and size."""
    md5, sha256, copied = hashlib.md5(), hashlib.sha256(), 0
    while length is None or copied < length:
        chunk = body.read(_BODY_CHUNK if length is None else min(_BODY_CHUNK, length - copied))
        if not chunk:
            if length is None:
                break
            raise OssError("IncompleteBody", f"the body ended after {copied} of {length} bytes")
        md5.update(chunk)
        if content_sha256:
            sha256.update(chunk)
        out.write(chunk)
        copied += len(chunk)
    if content_md5 is not None and content_md5 != base64.b64encode(md5.digest()).decode():
        raise OssError("InvalidDigest", "The Content-MD5 you specified is not the MD5 of the body.")
    if content_sha256 and content_sha256 != sha256.hexdigest():
        raise OssError("InvalidDigest", "The x-oss-content-sha256 you specified is not the SHA-256 of the body.")
    return _etag(md5.hexdigest()), copied


def _etag(md5_hex: str) -> str:
    return f'"{md5_hex.upper()}"'


def _import(db: sqlite3.Connection, folder: Path, item: OldObject) -> OldObject:
    """Index one old-layout file under a new id (a hard link to it, a copy where links fail)."""
    content = secrets.token_hex(16)
    target = _content_file(folder, content)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(item.path, target)
    except OSError:
        shutil.copyfile(item.path, target)
    content_type = item.content_type or mimetypes.guess_type(item.key)[0] or DEFAULT_CONTENT_TYPE
    _insert(db, StoredObject(item.key, item.size, item.etag or _file_etag(target), content_type,
                             datetime.fromtimestamp(item.mtime, timezone.utc), item.user_meta), content)
    return item


def _file_etag(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return _etag(digest.hexdigest())


def _no_such_key(key: str) -> OssError:
    return OssError("NoSuchKey", "The specified key does not exist.", Key=key)
