"""An upload through the presign function's S3 routes: one form POST for a small file, multipart above that.

    Uploader(routes, ...).upload(path)               form upload up to ``threshold`` bytes, else multipart
    Uploader(...).upload(path, resume=Resume(...))   continue a multipart upload: only the parts not yet listed
    Uploader(...).abort(Resume(...))                 abort it: the bucket drops its parts

A multipart upload's id and key are written beside the file (``upload_state``) as soon as it starts, so that a
Ctrl-C, a lost connection or a reboot is continued by ``--resume``; the parts the bucket already holds are read
back through the function (``GET /s3/multipart/{uploadId}``), and one whose size is not the plan's is sent again.
"""

from __future__ import annotations

import hashlib
import http.client
import mimetypes
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from shared.devtools.upload_http import PIECE, RouteError, Routes, route_error
from shared.devtools.upload_parts import (
    MAX_PART_SIZE,
    MAX_PARTS,
    PartPlan,
    PartSender,
    PartUrls,
    Retry,
    UploadFailed,
    plan_parts,
)
from shared.devtools.upload_progress import Progress
from shared.devtools.upload_state import UploadState, forget_state, load_state, save_state, state_path

MIB = 1 << 20
DEFAULT_PART_SIZE = 8 * MIB
DEFAULT_THRESHOLD = 16 * MIB  # bytes: larger files go multipart, as on the demo page
DEFAULT_IN_FLIGHT = 4
DEFAULT_RETRY = Retry()


@dataclass(frozen=True)
class Uploaded:
    """What the bucket holds now: the object's key and ETag (with OSS's quotes)."""

    key: str
    etag: str
    parts: int  # 0 for a form upload


@dataclass(frozen=True)
class Resume:
    """Which upload to continue: the one in the file's state file, or one named by its id and key."""

    upload_id: str | None = None
    key: str | None = None


@dataclass
class Status:
    """How far the upload got, for the line a Ctrl-C prints."""

    multipart: bool = False
    parts_total: int = 0
    parts_done: int = 0
    state_file: Path | None = None


class Uploader:
    """Uploads files through one function endpoint; progress and notes go to ``stderr``."""

    def __init__(self, routes: Routes, *, stderr: IO[str], terminal: bool, in_flight: int = DEFAULT_IN_FLIGHT,
                 part_size: int | None = None, threshold: int = DEFAULT_THRESHOLD, content_type: str | None = None,
                 retry: Retry = DEFAULT_RETRY, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, endpoint_given: bool = False) -> None:
        self.endpoint_given = endpoint_given  # else a resumed upload goes on at the endpoint it started at
        self.routes, self.stderr, self.terminal = routes, stderr, terminal
        self.in_flight, self.part_size, self.threshold = in_flight, part_size, threshold
        self.content_type, self.retry, self.sleep, self.clock = content_type, retry, sleep, clock
        self.status = Status()
        self.progress: Progress | None = None

    def upload(self, path: Path, *, resume: Resume | None = None) -> Uploaded:
        """Upload the file at ``path`` (or continue its upload); its key and ETag once the bucket has it all."""
        with path.open("rb") as file:
            stat = os.fstat(file.fileno())
            if resume is None and stat.st_size <= self.threshold:
                return self._form(path, file, stat.st_size)
            return self._multipart(path, file.fileno(), stat, resume)

    def abort(self, path: Path, resume: Resume) -> str:
        """Abort an upload; its id. The state beside ``path`` goes too."""
        upload_id, key, _ = self._resumed(path, resume, None)
        self.routes.abort(upload_id, key)
        forget_state(path)
        return upload_id

    def _multipart(self, path: Path, fd: int, stat: os.stat_result, resume: Resume | None) -> Uploaded:
        self.status.multipart = True
        if resume is None:
            part_size = fit_part_size(stat.st_size, self.part_size or DEFAULT_PART_SIZE)
            upload_id, key = self.routes.start(path.name, self._type(path), {"name": path.name,
                                                                             "type": self._type(path)})
            self._remember(path, UploadState(self.routes.base, upload_id, key, stat.st_size, stat.st_mtime_ns,
                                             part_size))
            listed: dict[int, tuple[int, str]] = {}
        else:
            upload_id, key, recorded = self._resumed(path, resume, stat)
            listed = self.routes.list_parts(upload_id, key)
            first = listed.get(1, (0, ""))[0] or max((size for size, _ in listed.values()), default=0)
            part_size = fit_part_size(stat.st_size, self.part_size or recorded or first or DEFAULT_PART_SIZE)
        plan = plan_parts(stat.st_size, part_size)
        etags = {p.number: listed[p.number][1] for p in plan if listed.get(p.number, (-1, ""))[0] == p.size}
        todo = [p for p in plan if p.number not in etags]
        self.status.parts_total, self.status.parts_done = len(plan), len(etags)
        self._note(f"upload: {'resuming' if resume else 'started'} multipart upload {upload_id} of {key}: "
                   f"{len(plan)} parts of {part_size / MIB:g} MiB, {len(etags)} uploaded, {len(todo)} to send, "
                   f"{min(self.in_flight, max(len(todo), 1))} in flight")
        etags |= self._send(fd, stat.st_size, upload_id, key, plan, todo)
        if os.fstat(fd).st_mtime_ns != stat.st_mtime_ns:
            raise UploadFailed(f"{path} changed while it was uploaded: run again without --resume")
        answer = self.routes.complete(upload_id, key, etags)
        forget_state(path)
        etag = answer.get("etag") or answer.get("ETag") or multipart_etag([etags[n] for n in sorted(etags)])
        return Uploaded(key, str(etag), len(plan))

    def _send(self, fd: int, size: int, upload_id: str, key: str, plan: list[PartPlan], todo: list[PartPlan],
              ) -> dict[int, str]:
        done = size - sum(p.size for p in todo)
        progress = self.progress = Progress(self.stderr, size, done=done, terminal=self.terminal, clock=self.clock)
        urls = PartUrls(self.routes, upload_id, key, [p.number for p in todo], clock=self.clock)
        sender = PartSender(urls, self.routes.transport, fd, in_flight=self.in_flight, retry=self.retry,
                            sleep=self.sleep, done=done)

        def tick(parts_sent: int) -> None:
            self.status.parts_done = len(plan) - len(todo) + parts_sent
            progress.update(sender.sent())

        etags = sender.send_all(todo, tick)
        progress.update(size, final=True)
        progress.end_line()
        return etags

    def _resumed(self, path: Path, resume: Resume, stat: os.stat_result | None) -> tuple[str, str, int | None]:
        """The upload id, key and part size to continue (a state file also checks that the file is the same)."""
        if resume.upload_id is not None and resume.key is not None:
            return resume.upload_id, resume.key, None
        state = load_state(path)
        self.status.state_file = state_path(path)
        if stat is not None and (state.size, state.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            raise UploadFailed(f"{path} changed since its upload began: run again without --resume (or --abort "
                               "the old upload)")
        if not self.endpoint_given:
            self.routes.base = state.endpoint  # the upload lives where it was started
        return state.upload_id, state.key, state.part_size

    def _remember(self, path: Path, state: UploadState) -> None:
        try:
            self.status.state_file = save_state(path, state)
        except OSError as exc:
            self._note(f"upload: cannot write {state_path(path)} ({exc.strerror}): continue it with --resume "
                       f"{state.upload_id} --key '{state.key}'")

    def _form(self, path: Path, file: IO[bytes], size: int) -> Uploaded:
        content_type = self._type(path)
        form = self.routes.form(path.name, content_type, {"name": path.name, "type": content_type})
        fields, url = form.get("fields"), form.get("url")
        if form.get("method") != "POST" or not isinstance(url, str) or not isinstance(fields, dict):
            raise RouteError("GET /s3/params", 200, "BadAnswer", "not a POST form")
        body = FormBody({str(k): str(v) for k, v in fields.items()}, path.name, content_type, file, size)
        progress = self.progress = Progress(self.stderr, size, terminal=self.terminal, clock=self.clock)
        for attempt in range(1, self.retry.attempts + 1):
            try:
                answer = self.routes.transport.send("POST", url, body.headers, lambda: body.pieces(progress.update))
                if answer.status not in (200, 201, 204):
                    raise route_error("POST of the form", answer)  # never the URL or the policy's signature
                break
            except RouteError as exc:
                if not exc.retryable or attempt == self.retry.attempts:
                    raise
            except (OSError, http.client.HTTPException):
                if attempt == self.retry.attempts:
                    raise
            self.sleep(self.retry.delay(attempt))
        progress.update(size, final=True)
        progress.end_line()
        return Uploaded(body.fields.get("key", ""), answer.headers.get("etag", ""), 0)

    def _type(self, path: Path) -> str:
        return self.content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"

    def _note(self, line: str) -> None:
        self.stderr.write(line + "\n")
        self.stderr.flush()


class FormBody:
    """A PostObject body: the form's fields, then the file (last, as OSS requires), read as it is sent."""

    def __init__(self, fields: Mapping[str, str], filename: str, content_type: str, file: IO[bytes],
                 size: int) -> None:
        self.fields, self.file, self.size = fields, file, size
        boundary = "oss-presign-" + secrets.token_hex(16)
        quoted = filename.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                       for name, value in fields.items())
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n")
        self.head, self.tail = head.encode("utf-8"), f"\r\n--{boundary}--\r\n".encode("ascii")
        self.headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
                        "Content-Length": str(len(self.head) + size + len(self.tail))}

    def pieces(self, progress: Callable[[int], None]) -> Iterator[bytes]:
        """The body from its start, in pieces of 1 MiB; ``progress`` hears how much of the file is sent."""
        yield self.head
        for offset in range(0, self.size, PIECE):
            piece = os.pread(self.file.fileno(), min(PIECE, self.size - offset), offset)
            if not piece:
                raise UploadFailed("the file got shorter while it was uploaded")
            progress(offset + len(piece))
            yield piece
        yield self.tail


def fit_part_size(size: int, wanted: int) -> int:
    """``wanted``, or the least whole MiB that keeps the file within OSS's 10,000 parts."""
    if size > MAX_PARTS * MAX_PART_SIZE:
        raise UploadFailed(f"the file has {size} bytes: more than 10,000 parts of 5 GiB")
    least = -(-size // MAX_PARTS)
    return wanted if wanted >= least else -(-least // MIB) * MIB


def multipart_etag(etags: list[str]) -> str:
    """OSS's ETag of a completed upload: the uppercase hex MD5 of the parts' binary MD5s, then ``-N``."""
    try:
        joined = b"".join(bytes.fromhex(etag.strip('"')) for etag in etags)
    except ValueError:
        return ""
    return f'"{hashlib.md5(joined, usedforsecurity=False).hexdigest().upper()}-{len(etags)}"'
