"""Objects on disk: one folder per bucket under a root, one file per object, metadata apart.

    <root>/<bucket>/<key path>          the object's bytes (the key's ``/`` are folders)
    <root>/<bucket>/%meta/<key path>    JSON: the key, Content-Type, ETag, size, mtime, x-oss-meta-*
    <root>/<bucket>/%tmp/               uploads in progress, renamed into place when complete

A key segment is stored under its own name when that is a plain file name; otherwise it is
escaped: ``%`` ``\\`` ``:`` as ``%25`` ``%5C`` ``%3A``, a ``.`` or ``..`` segment as ``%2E`` or
``%2E%2E``, an empty segment (``a//b``, ``folder/``) as ``%``. No escaped name has ``%`` followed by
anything but two hex digits, so ``%meta`` and ``%tmp`` are never a key's, and no key names a path
outside its bucket's folder (the resolved path is checked too, against symlinks placed by hand).
Keys that still cannot be files are refused, never changed: a NUL, a segment longer than 255
bytes, a key below another object (``a`` and ``a/b``), two keys a case-insensitive file system
folds together, and the names OSS itself refuses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from shared.devtools.local_oss.errors import OssError
from shared.errors import InvalidArgument
from shared.oss.endpoints import check_bucket
from shared.oss.object_keys import check_object_name

NAME_MAX = 255  # bytes in one file name on common file systems
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_META, _TMP = "%meta", "%tmp"
_ESCAPES = str.maketrans({"%": "%25", "\\": "%5C", ":": "%3A"})
_CHUNK = 1 << 16


@dataclass(frozen=True)
class StoredObject:
    """What the local bucket knows about one object."""

    key: str
    size: int
    etag: str
    content_type: str
    last_modified: datetime
    user_meta: Mapping[str, str] = field(default_factory=dict)


def key_segments(key: str) -> tuple[str, ...]:
    """Return the file names a key is stored under, or raise InvalidObjectName saying why it cannot be."""
    try:
        check_object_name(key)
    except InvalidArgument as exc:
        raise OssError("InvalidObjectName", exc.message) from None
    if "\0" in key:
        raise OssError("InvalidObjectName", "the local bucket cannot store a key with a NUL character as a file")
    segments = tuple(_escape(segment) for segment in key.split("/"))
    if any(len(segment.encode("utf-8")) > NAME_MAX for segment in segments):
        raise OssError("InvalidObjectName", f"the local bucket cannot store this key as a file: a part between "
                                            f"slashes is longer than {NAME_MAX} bytes")
    return segments


def _escape(segment: str) -> str:
    if not segment:
        return "%"
    if segment in (".", ".."):
        return "%2E" * len(segment)
    return segment.translate(_ESCAPES)


class ObjectStore:
    """The buckets under one root folder; PUTs are atomic (temporary file, then rename)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()  # placing, replacing and pruning files and folders

    def __repr__(self) -> str:
        return f"ObjectStore({str(self.root)!r})"

    def create_bucket(self, bucket: str) -> Path:
        """Create a bucket's folder (and the root) if missing; return it."""
        check_bucket(bucket)
        folder = self.root / bucket
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def has_bucket(self, bucket: str) -> bool:
        """True when the bucket's folder exists."""
        return (self.root / bucket).is_dir()

    def object_path(self, bucket: str, key: str) -> Path:
        """Return the file that holds (or would hold) an object; refuse keys that cannot be files."""
        folder = self._bucket(bucket)
        path = folder.joinpath(*key_segments(key))
        if not path.resolve().is_relative_to(folder.resolve()):
            raise OssError("InvalidObjectName", "the key's path leads outside the bucket's folder (a symlink)")
        return path

    def put(self, bucket: str, key: str, body: BinaryIO, length: int, *, modified: datetime,
            content_type: str | None = None, user_meta: Mapping[str, str] | None = None,
            content_md5: str | None = None, content_sha256: str | None = None) -> StoredObject:
        """Write ``length`` bytes from body as the object, atomically; check Content-MD5 and SHA-256 if given."""
        path = self.object_path(bucket, key)
        scratch = self.root / bucket / _TMP
        scratch.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=scratch)
        try:
            with os.fdopen(handle, "wb") as out:
                etag = _copy(body, length, out, content_md5, content_sha256)
            seconds = int(modified.timestamp())  # HTTP dates have whole seconds
            os.utime(temporary, ns=(seconds * 1_000_000_000,) * 2)
            stored = StoredObject(key, length, etag, content_type or DEFAULT_CONTENT_TYPE,
                                  datetime.fromtimestamp(seconds, timezone.utc), dict(user_meta or {}))
            with self._lock:
                self._place(bucket, path, temporary, stored)
            return stored
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def open(self, bucket: str, key: str) -> tuple[StoredObject, BinaryIO]:
        """Return an object's description and its file, open for reading; NoSuchKey if there is none."""
        try:
            path = self.object_path(bucket, key)
        except OssError as exc:
            if exc.code == "NoSuchBucket":
                raise
            raise _no_such_key(key) from None
        with self._lock:
            try:
                file = open(path, "rb")
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
                raise _no_such_key(key) from None
            status = os.fstat(file.fileno())
            meta = _read_json(self._meta_path(bucket, path))
        fresh = meta.get("size") == status.st_size and meta.get("mtime_ns") == status.st_mtime_ns
        if fresh and meta.get("key") != key:
            file.close()  # a case-insensitive file system folded another key onto this file
            raise _no_such_key(key)
        return _describe(key, file, status, meta if fresh else {}), file

    def delete(self, bucket: str, key: str) -> None:
        """Remove an object if it exists (deleting a missing key succeeds, as on OSS)."""
        try:
            path = self.object_path(bucket, key)
        except OssError as exc:
            if exc.code == "NoSuchBucket":
                raise
            return
        folder, meta = self.root / bucket, self._meta_path(bucket, path)
        with self._lock:
            if path.is_file():
                path.unlink()
                _prune(path.parent, folder)
            if meta.is_file():
                meta.unlink()
                _prune(meta.parent, folder / _META)

    def _bucket(self, bucket: str) -> Path:
        try:
            check_bucket(bucket)
        except InvalidArgument:
            raise OssError("NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket) from None
        folder = self.root / bucket
        if not folder.is_dir():
            raise OssError("NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)
        return folder

    def _meta_path(self, bucket: str, path: Path) -> Path:
        folder = self.root / bucket
        return folder / _META / path.relative_to(folder)

    def _place(self, bucket: str, path: Path, temporary: str, stored: StoredObject) -> None:
        """Move a finished upload into place and record its metadata (under the store's lock)."""
        if path.is_dir():
            raise _conflict(stored.key, "a folder of other objects has this name")
        meta = self._meta_path(bucket, path)
        existing = _read_json(meta) if path.is_file() else {}
        if existing.get("key") not in (None, stored.key) and path.stat().st_mtime_ns == existing.get("mtime_ns"):
            raise _conflict(stored.key, f"the file system does not tell it from the key {existing['key']!r}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise _conflict(stored.key, "a part of its path is an object") from None
        os.replace(temporary, path)
        _write_meta(meta, self.root / bucket / _META, stored, path.stat())


def _copy(body: BinaryIO, length: int, out: BinaryIO, content_md5: str | None, content_sha256: str | None) -> str:
    """Copy exactly ``length`` bytes; check the digests the client declared; return the ETag."""
    md5, sha256, left = hashlib.md5(), hashlib.sha256(), length
    while left > 0:
        chunk = body.read(min(_CHUNK, left))
        if not chunk:
            raise OssError("IncompleteBody", f"the body ended after {length - left} of {length} bytes")
        md5.update(chunk)
        if content_sha256:
            sha256.update(chunk)
        out.write(chunk)
        left -= len(chunk)
    if content_md5 is not None and content_md5 != base64.b64encode(md5.digest()).decode():
        raise OssError("InvalidDigest", "The Content-MD5 you specified is not the MD5 of the body.")
    if content_sha256 and content_sha256 != sha256.hexdigest():
        raise OssError("InvalidDigest", "The x-oss-content-sha256 you specified is not the SHA-256 of the body.")
    return f'"{md5.hexdigest().upper()}"'


def _describe(key: str, file: BinaryIO, status: os.stat_result, meta: Mapping[str, object]) -> StoredObject:
    """Describe an object from its metadata, or from the file alone when it was placed by hand."""
    etag = meta.get("etag")
    if not isinstance(etag, str):
        digest = hashlib.md5()
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
        file.seek(0)
        etag = f'"{digest.hexdigest().upper()}"'
    guessed = mimetypes.guess_type(key)[0] or DEFAULT_CONTENT_TYPE
    content_type = meta.get("content_type")
    user_meta = meta.get("user_meta")
    return StoredObject(key, status.st_size, etag, content_type if isinstance(content_type, str) else guessed,
                        datetime.fromtimestamp(status.st_mtime_ns / 1e9, timezone.utc),
                        dict(user_meta) if isinstance(user_meta, dict) else {})


def _write_meta(meta: Path, meta_root: Path, stored: StoredObject, status: os.stat_result) -> None:
    """Write the metadata file atomically, clearing stale entries of objects removed by hand."""
    for parent in reversed(meta.relative_to(meta_root).parents):
        if (meta_root / parent).is_file():
            (meta_root / parent).unlink()
    if meta.is_dir():
        shutil.rmtree(meta)
    meta.parent.mkdir(parents=True, exist_ok=True)
    record = {"key": stored.key, "content_type": stored.content_type, "etag": stored.etag,
              "size": status.st_size, "mtime_ns": status.st_mtime_ns, "user_meta": dict(stored.user_meta)}
    temporary = meta.with_name(meta.name + ".%new")
    temporary.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    os.replace(temporary, meta)


def _read_json(path: Path) -> dict[str, object]:
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _prune(folder: Path, stop: Path) -> None:
    """Remove folders left empty by a delete, up to (not including) ``stop``."""
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _no_such_key(key: str) -> OssError:
    return OssError("NoSuchKey", "The specified key does not exist.", Key=key)


def _conflict(key: str, reason: str) -> OssError:
    return OssError("KeyConflict", f"the local bucket cannot store {key!r} as a file: {reason}", Key=key)
