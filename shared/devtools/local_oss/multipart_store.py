"""Multipart uploads in the local bucket's store: uploads and parts in the bucket's index, parts in files.

    <root>/<bucket>/%uploads/<upload id>/data        parts of a known length, each in its slot
    <root>/<bucket>/%uploads/<upload id>/<content>   a part that has no free slot, or a chunked one

The upload's part size (``uploads.stride``) is taken from its first part. A part of a known length that
fits is written with ``os.pwrite`` into its slot of the data file, at stride x (number - 1), once the slot
is given to it in one IMMEDIATE transaction (``slots``): concurrent parts never write the same bytes and no
file is made per part. A slot already taken, a part longer than its slot or a chunked part streams into
``%tmp/`` and is renamed into the upload's folder as a file of its own; a failed write frees its slot. Either
way the part is indexed (``parts.start`` says where it lives) in a transaction that finds the upload still
there; a part uploaded twice keeps the last. Concurrent part uploads, aborts and completes are serialised by
those transactions, across threads and processes; uploads live in the index, so they outlast a restart.

Completing checks the listed parts (order, ETags, sizes). When they are parts 1..n in their slots, all full
but the last, and no other slot was given out, the data file already holds the object's bytes: it is
trimmed and renamed into the object. Otherwise the parts are copied, in the kernel where it can, into a file
in ``%tmp/``. The object is committed in the transaction that removes the upload, if no listed part changed
meanwhile: it appears whole or not at all, and the parts go with the upload.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.index import DEFAULT_CONTENT_TYPE, TMP, UPLOADS, StoredObject, key_bytes
from shared.devtools.local_oss.multipart_files import DATA, PartSlot, append_part
from shared.devtools.local_oss.multipart_parts import (
    MAX_LISTED,
    Part,
    Upload,
    UploadPage,
    chosen_parts,
    multipart_etag,
    upload_page,
)
from shared.devtools.local_oss.store import Body, ObjectStore, copy_body
from shared.errors import InvalidArgument
from shared.oss.object_keys import check_object_name

_UPLOAD_ID = re.compile(r"[0-9A-F]{32}")
SLOT_LIMIT = 1 << 40  # bytes: a part whose slot would end past this is written to its own file
_PART_FIELDS = "number, size, etag, modified, content, start"


class _NotInPlace(Exception):
    """Raised in a complete's transaction when the data file is no longer exactly the object: copy instead."""


class MultipartStore:
    """InitiateMultipartUpload, UploadPart, ListParts, ListMultipartUploads, Complete and Abort over a store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"MultipartStore({self.store!r})"

    def initiate(self, bucket: str, key: str, *, now: datetime, content_type: str | None = None,
                 user_meta: Mapping[str, str] | None = None) -> Upload:
        """Start an upload for key; the object it completes into gets this Content-Type and metadata."""
        folder = self.store.bucket_folder(bucket)
        try:
            check_object_name(key)
        except InvalidArgument as exc:
            raise OssError("InvalidObjectName", exc.message) from None
        upload = Upload(secrets.token_hex(16).upper(), key, content_type or DEFAULT_CONTENT_TYPE, _milliseconds(now),
                        dict(user_meta or {}))
        (folder / UPLOADS / upload.upload_id).mkdir(parents=True)
        with self.store.transaction(folder) as db:
            db.execute("INSERT INTO uploads (upload_id, key, content_type, user_meta, initiated) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (upload.upload_id, key_bytes(key), upload.content_type, json.dumps(dict(upload.user_meta)),
                        _unix_ms(upload.initiated)))
        return upload

    def upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        """The upload of that id for that key; NoSuchUpload when there is none (or it is another key's)."""
        with self.store.index(self.store.bucket_folder(bucket)) as db:
            return _find_upload(db, key, upload_id)

    def put_part(self, bucket: str, key: str, upload_id: str, number: int, body: Body, length: int | None, *,
                 now: datetime, content_md5: str | None = None, content_sha256: str | None = None) -> Part:
        """Stream ``length`` bytes (or to the body's end) as part ``number``, replacing any earlier one."""
        folder = self.store.bucket_folder(bucket)
        start = self._take_slot(folder, key, upload_id, number, length) if length else None  # NoSuchUpload first
        if start is not None:
            try:
                with PartSlot(folder / UPLOADS / upload_id / DATA, start, upload_id) as out:
                    etag, size = copy_body(body, length, out, content_md5, content_sha256)
                return self._index_part(folder, key, upload_id, Part(number, size, etag, _milliseconds(now),
                                                                     secrets.token_hex(16), start), None)
            except BaseException:
                with self.store.transaction(folder) as db:  # the slot's bytes are no part's: a retry may use it
                    db.execute("DELETE FROM slots WHERE upload_id = ? AND number = ?", (upload_id, number))
                raise
        self.upload(bucket, key, upload_id)  # refuse before reading the body
        (folder / TMP).mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder / TMP)
        try:
            with os.fdopen(handle, "wb") as out:
                etag, size = copy_body(body, length, out, content_md5, content_sha256)
            part = Part(number, size, etag, _milliseconds(now), secrets.token_hex(16))
            return self._index_part(folder, key, upload_id, part, temporary)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def list_parts(self, bucket: str, key: str, upload_id: str, *, marker: int = 0,
                   limit: int = MAX_LISTED) -> tuple[list[Part], bool]:
        """The parts numbered above ``marker``, at most ``limit``, and whether more follow."""
        with self.store.index(self.store.bucket_folder(bucket)) as db, db:
            db.execute("BEGIN")
            _find_upload(db, key, upload_id)
            rows = db.execute(f"SELECT {_PART_FIELDS} FROM parts WHERE upload_id = ? AND number > ? ORDER BY number "
                              "LIMIT ?", (upload_id, marker, limit + 1)).fetchall()
        return [_part(row) for row in rows[:limit]], len(rows) > limit

    def list_uploads(self, bucket: str, *, prefix: str = "", delimiter: str = "", key_marker: str = "",
                     upload_id_marker: str = "", limit: int = MAX_LISTED) -> UploadPage:
        """Uploads in progress in (key, upload id) order after the markers; keys sharing a part of the name
        between ``prefix`` and ``delimiter`` count as one common prefix."""
        if key_marker and upload_id_marker:
            after = "(key > ? OR (key = ? AND upload_id > ?))"
            markers: tuple[bytes | str, ...] = (key_bytes(key_marker), key_bytes(key_marker), upload_id_marker)
        else:
            after, markers = "key > ?", (key_bytes(key_marker),)
        prefix_bytes = key_bytes(prefix)
        with self.store.index(self.store.bucket_folder(bucket)) as db, db:
            db.execute("BEGIN")
            rows = db.execute(f"SELECT upload_id, key, content_type, initiated, user_meta FROM uploads WHERE {after} "
                              "AND substr(key, 1, ?) = ? ORDER BY key, upload_id", (*markers, len(prefix_bytes),
                                                                                       prefix_bytes))
            return upload_page(map(_upload, rows), prefix, delimiter, limit)

    def complete(self, bucket: str, key: str, upload_id: str, listed: Sequence[tuple[int, str]] | None, *,
                 now: datetime) -> StoredObject:
        """Make the listed parts (all of them when None), in order, the object; remove the upload and its parts."""
        folder = self.store.bucket_folder(bucket)
        with self.store.index(folder) as db, db:
            db.execute("BEGIN")
            upload = _find_upload(db, key, upload_id)
            parts = {row[0]: _part(row) for row in db.execute(
                f"SELECT {_PART_FIELDS} FROM parts WHERE upload_id = ?", (upload_id,))}
            stride, slots = _stride(db, upload_id), _slots(db, upload_id)
        chosen = chosen_parts(parts, listed)
        stored = StoredObject(key, sum(part.size for part in chosen), multipart_etag([p.etag for p in chosen]),
                              upload.content_type, now.replace(microsecond=0).astimezone(timezone.utc),
                              upload.user_meta)
        try:
            if not (stored.size and _in_place(chosen, stride, slots)):
                raise _NotInPlace
            self._complete_in_place(bucket, folder / UPLOADS / upload_id, stored, chosen)
        except _NotInPlace:
            self._complete_by_copy(bucket, folder, upload_id, stored, chosen)
        shutil.rmtree(folder / UPLOADS / upload_id, ignore_errors=True)
        return stored

    def _complete_in_place(self, bucket: str, uploads: Path, stored: StoredObject, chosen: Sequence[Part]) -> None:
        """Rename the data file into the object, if it still holds exactly the listed parts, in order."""
        data = uploads / DATA

        def check(db: sqlite3.Connection) -> None:
            if _slots(db, uploads.name) != {part.number for part in chosen}:
                raise _NotInPlace  # a slot was given out meanwhile: copy (and check) instead
            try:  # bytes past the listed parts' slots are no part's (no writer holds a slot there)
                os.truncate(data, stored.size)
            except FileNotFoundError:
                raise _NotInPlace from None  # gone with an abort: the copy says which part is missing
            _remove_upload(db, stored.key, uploads.name, chosen)

        self.store.commit_file(bucket, stored, str(data), check, move_last=True)

    def _complete_by_copy(self, bucket: str, folder: Path, upload_id: str, stored: StoredObject,
                          chosen: Sequence[Part]) -> None:
        """Copy the listed parts, in order, into a new file and make it the object."""
        (folder / TMP).mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder / TMP)
        try:
            with os.fdopen(handle, "wb") as out:
                for part in chosen:
                    append_part(folder / UPLOADS / upload_id, part, out)
            self.store.commit_file(bucket, stored, temporary,
                                   lambda db: _remove_upload(db, stored.key, upload_id, chosen))
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Remove an upload and its parts; NoSuchUpload when there is none."""
        folder = self.store.bucket_folder(bucket)
        with self.store.transaction(folder) as db:
            _remove_upload(db, key, upload_id, ())
        shutil.rmtree(folder / UPLOADS / upload_id, ignore_errors=True)

    def _take_slot(self, folder: Path, key: str, upload_id: str, number: int, length: int) -> int | None:
        """Give part ``number`` its slot of the data file (the upload's stride is its first part's length):
        where it starts; None when the slot is taken, or the part too long for it (it goes to its own file)."""
        with self.store.transaction(folder) as db:
            _find_upload(db, key, upload_id)
            stride = _stride(db, upload_id) or length
            start = (number - 1) * stride
            if length > stride or start + length > SLOT_LIMIT or db.execute(
                    "SELECT 1 FROM slots WHERE upload_id = ? AND number = ?", (upload_id, number)).fetchone():
                return None
            db.execute("UPDATE uploads SET stride = ? WHERE upload_id = ?", (stride, upload_id))
            db.execute("INSERT INTO slots (upload_id, number) VALUES (?, ?)", (upload_id, number))
        return start

    def _index_part(self, folder: Path, key: str, upload_id: str, part: Part, temporary: str | None) -> Part:
        """Index a finished part (moving its own file into its upload's folder), if the upload is still there."""
        target = folder / UPLOADS / upload_id / part.content
        with self.store.transaction(folder) as db:
            _find_upload(db, key, upload_id)
            if temporary is not None:
                os.replace(temporary, target)
            try:
                old = db.execute("SELECT content, start FROM parts WHERE upload_id = ? AND number = ?",
                                 (upload_id, part.number)).fetchone()
                db.execute("INSERT OR REPLACE INTO parts (upload_id, number, content, size, etag, modified, start) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)", (upload_id, part.number, part.content, part.size,
                                                            part.etag, _unix_ms(part.last_modified), part.start))
            except BaseException:
                if temporary is not None:
                    target.unlink(missing_ok=True)
                raise
        if old is not None and old[1] is None:
            (target.parent / old[0]).unlink(missing_ok=True)
        return part


def _find_upload(db: sqlite3.Connection, key: str, upload_id: str) -> Upload:
    row = None
    if _UPLOAD_ID.fullmatch(upload_id):  # only an id of that shape names a folder
        row = db.execute("SELECT upload_id, key, content_type, initiated, user_meta FROM uploads WHERE upload_id = ?",
                         (upload_id,)).fetchone()
    if row is None or row[1] != key_bytes(key):
        raise OssError("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the "
                                       "upload may have been aborted or completed.", UploadId=upload_id)
    return _upload(row)


def _remove_upload(db: sqlite3.Connection, key: str, upload_id: str, chosen: Sequence[Part]) -> None:
    """Delete an upload's rows, after checking that none of ``chosen`` was replaced since it was read."""
    _find_upload(db, key, upload_id)
    current = dict(db.execute("SELECT number, content FROM parts WHERE upload_id = ?", (upload_id,)).fetchall())
    changed = [part.number for part in chosen if current.get(part.number) != part.content]
    if changed:
        raise OssError("InvalidPart", "A listed part was uploaded again while the upload was being completed.",
                       PartNumber=str(changed[0]))
    db.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
    db.execute("DELETE FROM slots WHERE upload_id = ?", (upload_id,))
    db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))


def _in_place(chosen: Sequence[Part], stride: int | None, slots: set[int]) -> bool:
    """Whether the data file holds the object: the listed parts are parts 1..n, each in its slot, every one but
    the last filling it, and no other slot was given out."""
    return bool(stride) and slots == set(range(1, len(chosen) + 1)) and all(
        part.number == number and part.start == (number - 1) * (stride or 0) and
        (part.size == stride or number == len(chosen)) for number, part in enumerate(chosen, start=1))


def _stride(db: sqlite3.Connection, upload_id: str) -> int | None:
    row = db.execute("SELECT stride FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _slots(db: sqlite3.Connection, upload_id: str) -> set[int]:
    return {row[0] for row in db.execute("SELECT number FROM slots WHERE upload_id = ?", (upload_id,))}


def _upload(row: tuple[str, bytes, str, int, str]) -> Upload:
    upload_id, key, content_type, initiated, user_meta = row
    return Upload(upload_id, key.decode("utf-8"), content_type, _from_unix_ms(initiated), json.loads(user_meta))


def _part(row: tuple[int, int, str, int, str, int | None]) -> Part:
    number, size, etag, modified, content, start = row
    return Part(number, size, etag, _from_unix_ms(modified), content, start)


def _milliseconds(moment: datetime) -> datetime:
    return _from_unix_ms(_unix_ms(moment))


def _unix_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_unix_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, timezone.utc)
