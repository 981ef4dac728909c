"""``python -m shared sign --batch``: JSON lines in, one result or error line out per line, in order.

A batch streams: each block of input that has arrived is answered before the next is awaited.

Most lines of a batch differ from the one before only in key and parameters: a GET with the
defaults' bucket, region and endpoint, with ``key`` and maybe ``expires``, ``at`` and ``params``.
Such a *plain* line is signed by a ``Presigner`` kept per (``at``, ``expires``) while the held
credentials serve, and its URL written between the JSON text that surrounds every URL of that run.
Every other line takes ``Signer.sign``, the one-URL path. Both sign with the same steps and say the
same bytes (``tests/test_devtools_sign_batch.py`` holds them to it over random lines).

With two processors and long-lived keys, ``Halves`` has a forked ``sign_worker.Worker`` answer about
half of each large block meanwhile; the block's answers are still written in input order.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, cast

from shared.clock import iso8601
from shared.credentials.value import Credentials
from shared.devtools import sign_worker
from shared.devtools.signing import MARGIN, Signer, encode, remember, request_from_line
from shared.errors import PresignError
from shared.oss.object_keys import check_object_name, url_unsafe_reason
from shared.oss.presigner import Presigner, presigner

_PLAIN_FIELDS = frozenset({"key", "expires", "at", "params"})
_read_document = json.JSONDecoder().raw_decode  # what json.loads does, less its checks on the argument
_JSON_SPACE = " \t\n\r"
# A plain run: its presigner, the JSON text before and after each URL, and the credentials it signs with.
Run = tuple[Presigner, str, str, Credentials]
# A plain line's key, at (None for "now"), expires and params (None when it gives none).
PlainRequest = tuple[str, "str | None", int, "dict[str, str | None] | None"]


def answer_batch(signer: Signer, stdin: IO[str], stdout: IO[str]) -> int:
    """Answer every JSON line of stdin, in order; a bad line gets its error line and the rest go on."""
    answers = BatchAnswers(signer)
    halves = Halves(answers) if hasattr(getattr(stdin, "buffer", None), "read1") and sign_worker.available() else None
    try:
        for block in _blocks(stdin):
            lines = [line for line in block if line.strip()]
            if halves is not None and len(lines) >= sign_worker.SHARED_BLOCK:
                stdout.write(halves.answer(cast("list[bytes]", lines)))
            else:
                stdout.write("".join([answers.answer(line) for line in lines]))
            stdout.flush()
    finally:
        if halves is not None:
            halves.stop()
    return 0


class Halves:
    """Answers a large block half here and half in a ``sign_worker.Worker``, once the credentials allow it."""

    def __init__(self, answers: BatchAnswers) -> None:
        self.answers = answers
        self.worker: sign_worker.Worker | None = None
        self._tried = False

    def answer(self, lines: list[bytes]) -> str:
        """The block's answers, in order, as this process alone would give them."""
        answer, first = self.answers.answer, ""
        if self.worker is None:
            if self._tried:
                return "".join([answer(line) for line in lines])
            first, lines = answer(lines[0]), lines[1:]  # which resolves the credentials
            if not self._may_share():
                return first + "".join([answer(line) for line in lines])
            self._tried = True
            self.worker = sign_worker.Worker(answer)
        middle = len(lines) * 12 // 25  # a little less here: this process also writes both halves
        self.worker.send(lines[middle:])
        mine = "".join([answer(line) for line in lines[:middle]])
        theirs = self.worker.receive()
        if theirs is None:  # the worker failed: answer its half here, and go on alone
            self.worker = None
            theirs = "".join([answer(line) for line in lines[middle:]])
        return first + mine + theirs

    def _may_share(self) -> bool:
        """Long-lived keys (never fetched again) and no other thread (a fork copies only this one)."""
        held = self.answers.signer.held
        threading = sys.modules.get("threading")
        return held is not None and held.expiration is None and (threading is None or threading.active_count() == 1)

    def stop(self) -> None:
        """Stop the worker, if there is one."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


def answer_line(signer: Signer, line: str | bytes) -> str:
    """One line's answer by the one-URL path: its result or its error, as a JSON line."""
    try:
        result: dict[str, object] = signer.sign(request_from_line(line))
    except PresignError as exc:
        result = {"error": {"code": exc.code, "message": exc.message}}
    return encode(result) + "\n"


class BatchAnswers:
    """Answers a batch's lines, plain ones from the run they belong to, the others by ``answer_line``."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        defaults = signer.defaults
        self._plain = bool(defaults.bucket and defaults.region)  # else every line gets the one-URL path's error
        self._runs: dict[tuple[str, int], Run] = {}

    def answer(self, line: str | bytes) -> str:
        """The line's answer: exactly what ``answer_line`` says for it."""
        request = _plain_request(line) if self._plain else None
        if request is None:
            return answer_line(self.signer, line)
        key, at, expires, params = request
        try:
            check_object_name(key)  # the checks and their order are Signer.sign's
            if url_unsafe_reason(key):
                return answer_line(self.signer, line)
            run = self._runs.get((at, expires)) if at else None
            if run is None or run[3] is not self.signer.held:
                run = self._run(at, expires)
            if run is None:
                return answer_line(self.signer, line)
            url = run[0].url(key, params)
        except PresignError as exc:
            return encode({"error": {"code": exc.code, "message": exc.message}}) + "\n"
        return run[1] + url + run[2]

    def _run(self, at: str | None, expires: int) -> Run | None:
        """The presigner and JSON text for lines at ``at`` (now if None) that ask for ``expires``; None if the
        URL could not be written as plain text (the site's URL needs JSON escapes)."""
        signer = self.signer
        now = signer.moment(at) if at else signer.clock()
        credentials, lifetime = signer.credentials_for(expires, now)
        defaults = signer.defaults
        assert defaults.bucket and defaults.region  # self._plain
        endpoint = defaults.endpoint or None
        signing = presigner(credentials, bucket=defaults.bucket, region=defaults.region, signing_time=now,
                            expires=lifetime.expires, endpoint=endpoint, cname=bool(endpoint and defaults.cname))
        base = signing.site.base_url
        if encode(base) != f'"{base}"':
            return None
        rest: dict[str, object] = {"method": signing.method, "expires_at": _expires_at(signing.when, signing.expires),
                                   "signed_headers": {}}
        if lifetime.capped_by:
            rest["expires_capped_by"] = lifetime.capped_by
        run = (signing, '{"url": "', '", ' + encode(rest)[1:] + "\n", credentials)
        expiration = credentials.expiration
        # Kept only while Signer.credentials_for would keep these credentials for such a line.
        if at and (expiration is None or expiration - MARGIN >= now + timedelta(seconds=expires)):
            remember(self._runs, (at, expires), run)
        return run


def _expires_at(when: datetime, expires: int) -> str:
    return iso8601(when + timedelta(seconds=expires))


def _plain_request(line: str | bytes) -> PlainRequest | None:
    """A plain request's key, at, expires and params, if the line is one with fields of the right types.

    What json.loads accepts, it reads the same: a line starting with "{" but a NUL would be read
    as UTF-16 there, and one not valid UTF-8 is refused there; both are left to it.
    """
    if type(line) is bytes:
        if line[:1] != b"{" or line[1:2] == b"\0":
            return None
        try:
            text = line.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return None
    elif type(line) is str and line[:1] == "{":
        text = line
    else:
        return None
    try:
        request, end = _read_document(text)
    except ValueError:
        return None
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        return None  # extra data after the object
    if type(request) is not dict or not request.keys() <= _PLAIN_FIELDS:
        return None
    get = request.get
    key, at, expires, params = get("key"), get("at", ""), get("expires", 900), get("params", request)
    if type(key) is not str or type(expires) is not int or type(at) is not str or type(params) is not dict:
        return None  # a field missing (key) or of the wrong type: the one-URL path says which
    return key, at or None, expires, None if params is request else params


def _blocks(stdin: IO[str]) -> Iterator[list[str] | list[bytes]]:
    """The input's lines, a block at a time: whatever has arrived (so a slow producer is answered as it goes).

    From a real stream the lines stay bytes: json.loads reads UTF-8 itself and names a line that is not.
    """
    buffer = getattr(stdin, "buffer", None)
    if buffer is None or not hasattr(buffer, "read1"):
        for line in stdin:
            yield [line]
        return
    pending = b""
    while chunk := buffer.read1(1 << 16):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield lines
    if pending:
        yield [pending]
