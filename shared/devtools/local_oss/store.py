"""Objects of the local bucket: per bucket, an SQLite index (``index``) from keys to content files named by id.

    <root>/<bucket>/%index.sqlite3     the index
    <root>/<bucket>/%objects/ab/<id>   an object's bytes; <id> is 32 random hex digits, ab its first two
    <root>/<bucket>/%tmp/              uploads in progress
    <root>/<bucket>/%uploads/<id>/     a multipart upload's parts (see multipart_store)

A key is never a file name: the index holds its UTF-8 bytes and matches them exactly (case, NUL and
all) whatever the file system, so every name check_object_name lets through round-trips: ``a`` and
``a/b`` both, a part longer than 255 bytes, ``.``, ``..``, ``a//b``. A PUT streams the body (of a
known length, or to its end) into ``%tmp/`` in chunks, renames it to a new id, then points the key at it
in one transaction and removes the file it replaced; a reader that opened the old file keeps reading
the old bytes.

The store keeps connections to each index and lends them one holder at a time (``ObjectStore.index``); this
process's writers take turns on a lock before SQLite's (``ObjectStore.transaction``: SQLite's busy handler
waits in whole milliseconds), other processes meet them at SQLite's.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Protocol

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.index import (
    DEFAULT_CONTENT_TYPE,
    INDEX,
    OBJECTS,
    TMP,
    UPLOADS,
    Connections,
    StoredObject,
    content_file,
    etag,
    find_object,
    insert_object,
    key_bytes,
    no_such_key,
)
from shared.errors import InvalidArgument
from shared.oss.endpoints import check_bucket
from shared.oss.object_keys import check_object_name

__all__ = ["DEFAULT_CONTENT_TYPE", "INDEX", "OBJECTS", "TMP", "UPLOADS", "Body", "ObjectStore", "Sink",
           "StoredObject", "copy_body"]

_BODY_CHUNK = 1 << 20  # bytes read from a request body at a time: few reads, few hash and write calls
_ATTEMPTS = 5  # lookups a read may need when other processes replace the object meanwhile


class Body(Protocol):
    """A request body: reads at most ``size`` bytes, b"" at its end."""

    def read(self, size: int, /) -> bytes: ...


class Sink(Protocol):
    """Where a body is copied to: a file, or a region of one."""

    def write(self, data: bytes, /) -> object: ...


class ObjectStore:
    """The buckets under one root folder, each with its own index; PUTs are atomic."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        # a lookup and its open, and the index's write transactions (commits, deletes): never interleaved
        self._lock = threading.Lock()
        self._connections = Connections()

    def __repr__(self) -> str:
        return f"ObjectStore({str(self.root)!r})"

    def close(self) -> None:
        """Close the connections kept to the buckets' indexes (the store can still be used: it opens new ones)."""
        self._connections.close()

    def index(self, folder: Path) -> AbstractContextManager[sqlite3.Connection]:
        """A connection to a bucket's index for the block, lent by the store's pool (``index.Connections``)."""
        return self._connections.lend(folder)

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
        with self.index(folder):  # made (or upgraded) now, not at the first request
            pass
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
            return find_object(db, key)[0]

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
                    stored, content = find_object(db, key)
                    try:
                        return stored, open(content_file(folder, content), "rb")
                    except FileNotFoundError:
                        continue  # another process replaced it between the lookup and the open
        raise no_such_key(key)

    def delete(self, bucket: str, key: str) -> None:
        """Remove an object if it exists (deleting a missing key succeeds, as on OSS)."""
        folder = self._bucket(bucket)
        with self.transaction(folder) as db:
            row = db.execute("SELECT content FROM objects WHERE key = ?", (key_bytes(key),)).fetchone()
            db.execute("DELETE FROM objects WHERE key = ?", (key_bytes(key),))
        if row is not None:
            content_file(folder, row[0]).unlink(missing_ok=True)

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
        path = content_file(folder, content)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not move_last:
            os.replace(temporary, path)
        moved = not move_last
        try:
            with self.transaction(folder) as db:
                if within is not None:
                    within(db)
                if not moved:
                    os.replace(temporary, path)
                    moved = True
                old = db.execute("SELECT content FROM objects WHERE key = ?", (key_bytes(stored.key),)).fetchone()
                insert_object(db, stored, content)
        except BaseException:
            if move_last and moved:
                os.replace(path, temporary)  # back where it was: the caller still owns it
            elif not move_last:
                path.unlink(missing_ok=True)
            raise
        if old is not None:  # no lookup finds it since the commit: a reader that found it has it open
            content_file(folder, old[0]).unlink(missing_ok=True)


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
    return etag(md5.hexdigest()), copied


