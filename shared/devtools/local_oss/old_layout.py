"""The local bucket's layout before its index: one file per key, read once so the store can import it.

    <root>/<bucket>/<escaped key path>        the object's bytes (the key's ``/`` are folders)
    <root>/<bucket>/%meta/<escaped key path>  JSON: key, content_type, etag, size, mtime_ns, user_meta

A part of a key was named as itself, or escaped: ``%`` ``\\`` ``:`` as ``%25`` ``%5C`` ``%3A``, ``.``
and ``..`` as ``%2E`` and ``%2E%2E``, an empty part as ``%``. A name is read back only when escaping
the key it decodes to gives that very name again, so a file the old store could not have served
(``%41``, ``%2e``, ``%foo``) is no key's, and stays where it is, as do symlinks.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from shared.errors import InvalidArgument
from shared.oss.object_keys import check_object_name

META = "%meta"
_ESCAPES = str.maketrans({"%": "%25", "\\": "%5C", ":": "%3A"})


@dataclass(frozen=True)
class OldObject:
    """One file of the old layout, its key, and its metadata when that describes this very file."""

    path: Path
    key: str
    size: int
    mtime: int
    etag: str | None = None
    content_type: str | None = None
    user_meta: Mapping[str, str] = field(default_factory=dict)


def old_objects(folder: Path, *, skip: Iterable[str]) -> Iterator[OldObject]:
    """The old layout's objects in a bucket folder; ``skip`` names top-level folders that are not keys'."""
    skipped = {META, *skip}
    for parent, folders, files in os.walk(folder):  # symlinked folders are listed, never entered
        here = Path(parent)
        if here == folder:
            folders[:] = [name for name in folders if name not in skipped]
        for name in sorted(files):
            path = here / name
            key = old_key(path.relative_to(folder).parts)
            status = path.lstat()
            if key is not None and stat.S_ISREG(status.st_mode):
                yield _described(folder, path, key, status)


def old_key(names: tuple[str, ...]) -> str | None:
    """The key the old layout stored under these names, or None when they escape no key."""
    parts = ["" if name == "%" else unquote(name) for name in names]
    if any(old_name(part) != name for part, name in zip(parts, names, strict=True)):
        return None
    key = "/".join(parts)
    try:
        check_object_name(key)
    except InvalidArgument:
        return None
    return key


def old_name(part: str) -> str:
    """How the old layout named one part of a key."""
    if not part:
        return "%"
    if part in (".", ".."):
        return "%2E" * len(part)
    return part.translate(_ESCAPES)


def remove_old_objects(folder: Path, objects: Iterable[OldObject], *, skip: Iterable[str]) -> None:
    """Remove imported files, ``%meta/`` and the folders they leave empty (never those in ``skip``)."""
    for item in objects:
        item.path.unlink(missing_ok=True)
    shutil.rmtree(folder / META, ignore_errors=True)
    skipped, emptied = set(skip), []
    for parent, folders, _ in os.walk(folder):
        if Path(parent) == folder:
            folders[:] = [name for name in folders if name not in skipped]
        else:
            emptied.append(parent)
    for parent in reversed(emptied):
        try:
            os.rmdir(parent)
        except OSError:
            pass  # not empty: it holds files that escape no key


def _described(folder: Path, path: Path, key: str, status: os.stat_result) -> OldObject:
    meta = _read_json(folder / META / path.relative_to(folder))
    mtime = int(status.st_mtime)
    if (meta.get("key"), meta.get("size"), meta.get("mtime_ns")) != (key, status.st_size, status.st_mtime_ns):
        return OldObject(path, key, status.st_size, mtime)  # no metadata, or stale: the file was replaced by hand
    etag, content_type, user_meta = meta.get("etag"), meta.get("content_type"), meta.get("user_meta")
    return OldObject(path, key, status.st_size, mtime, etag if isinstance(etag, str) else None,
                     content_type if isinstance(content_type, str) else None,
                     {str(n): str(v) for n, v in user_meta.items()} if isinstance(user_meta, dict) else {})


def _read_json(path: Path) -> dict[str, object]:
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
