"""The small file next to an upload's file that lets ``--resume`` continue it: ``FILE.upload.json``.

    {"version": 1, "endpoint": ..., "upload_id": ..., "key": ..., "size": ..., "mtime_ns": ..., "part_size": ...}

It holds no secret (the API key or token is asked for again), is written atomically (a Ctrl-C never leaves half
of it) when the upload starts, and removed once the upload is completed or aborted. The parts uploaded so far
are not in it: the function lists them (``GET /s3/multipart/{uploadId}``), so they are what the bucket has.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

VERSION = 1
SUFFIX = ".upload.json"
MAX_STATE_BYTES = 64 << 10


class StateError(Exception):
    """Raised when a state file is missing, unreadable, or not one this client wrote."""


@dataclass(frozen=True)
class UploadState:
    """An upload in progress: where it goes, and the file it was started for (size and modification time)."""

    endpoint: str
    upload_id: str
    key: str
    size: int
    mtime_ns: int
    part_size: int


def state_path(file: Path) -> Path:
    """Where the state of ``file``'s upload is kept: beside it."""
    return file.with_name(file.name + SUFFIX)


def save_state(file: Path, state: UploadState) -> Path:
    """Write the state beside ``file`` (readable by its owner only), replacing any older one at once."""
    path = state_path(file)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({"version": VERSION, **asdict(state)}, out, indent=1)
        out.write("\n")
    os.replace(scratch, path)
    return path


def load_state(file: Path) -> UploadState:
    """The state beside ``file``; a StateError saying why there is none to use."""
    path = state_path(file)
    try:
        with path.open("rb") as source:
            raw = source.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        raise StateError(f"no upload to resume: {path} does not exist") from None
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror}") from None
    try:
        document = json.loads(raw) if len(raw) <= MAX_STATE_BYTES else None
        if not isinstance(document, dict) or document.pop("version", None) != VERSION:
            raise ValueError
        state = UploadState(**document)
        if not all(isinstance(getattr(state, n), str) and getattr(state, n) for n in ("endpoint", "upload_id", "key")) \
                or not all(type(getattr(state, n)) is int for n in ("size", "mtime_ns", "part_size")):
            raise ValueError
    except (TypeError, ValueError):
        raise StateError(f"{path} is not an upload state this client wrote: delete it to start again") from None
    return state


def forget_state(file: Path) -> None:
    """Remove the state beside ``file`` (there may be none)."""
    state_path(file).unlink(missing_ok=True)
