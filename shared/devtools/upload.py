"""``python -m shared upload FILE``: upload a file through the presign function's S3 routes (Uppy's protocol).

A file up to 16 MiB is one form upload (``GET /s3/params``); a larger one is a multipart upload (``POST
/s3/multipart``, part URLs signed by ``.../batch``, 4 parts in flight, ``.../complete``), resumable with
``--resume`` and abortable with ``--abort``. Prints the object's key and ETag. The API key or token is read
from the environment or a file by preference: a flag's value is visible to every user of the machine in ``ps``.
Exit status: 0 uploaded, 1 the upload failed, 2 a bad command line, 130 Ctrl-C (the upload can be resumed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from shared.devtools.upload_client import DEFAULT_IN_FLIGHT, DEFAULT_PART_SIZE, MIB, Resume, Uploader
from shared.devtools.upload_http import RouteError, Routes, Transport
from shared.devtools.upload_parts import MAX_PART_SIZE, MIN_PART_SIZE, UploadFailed
from shared.devtools.upload_state import SUFFIX, StateError
from shared.devtools.usage import UsageError

DEFAULT_ENDPOINT = "http://127.0.0.1:9000"  # serve's presign function
API_KEY_VARIABLE = "PRESIGN_API_KEY"
TOKEN_VARIABLE = "PRESIGN_TOKEN"
MAX_IN_FLIGHT = 32
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_SECRET_CHARS = 8192
FAILED = 1
INTERRUPTED = 130
_SIZE = re.compile(r"(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)", re.I)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``upload`` command's flags."""
    parser.epilog = (f"Credentials: ${API_KEY_VARIABLE} or ${TOKEN_VARIABLE}, or --api-key/--token with @FILE "
                     "(the first line of FILE). A value typed after the flag works too, but every user of the "
                     "machine sees it in ps and it stays in the shell's history. The secret is never printed.")
    parser.add_argument("file", metavar="FILE", help="the file to upload")
    parser.add_argument("--endpoint", default=None,
                        help=f"the presign function's base URL (default {DEFAULT_ENDPOINT}, serve's)")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--api-key", metavar="KEY|@FILE", help=f"send X-Api-Key (default ${API_KEY_VARIABLE})")
    given.add_argument("--token", metavar="JWT|@FILE",
                       help=f"send Authorization: Bearer (default ${TOKEN_VARIABLE})")
    parser.add_argument("--parts", type=int, default=DEFAULT_IN_FLIGHT,
                        help=f"parts in flight at once, 1..{MAX_IN_FLIGHT} (default {DEFAULT_IN_FLIGHT})")
    parser.add_argument("--part-size", metavar="SIZE", help=f"bytes per part, e.g. 5MiB: 100KiB..5GiB (default "
                        f"{DEFAULT_PART_SIZE // MIB}MiB, more when the file would need over 10,000 parts)")
    parser.add_argument("--resume", nargs="?", const="", metavar="UPLOAD_ID",
                        help=f"continue the upload recorded in FILE{SUFFIX}, or the one with this id (with --key)")
    parser.add_argument("--key", help="the key of the upload --resume UPLOAD_ID continues (as printed at its start)")
    parser.add_argument("--abort", action="store_true",
                        help="abort the upload --resume names instead (the bucket drops its parts)")
    parser.add_argument("--content-type", help="the object's Content-Type (default: guessed from FILE's name)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of two lines")


def run(args: argparse.Namespace, *, environ: Mapping[str, str], stdout: IO[str], stderr: IO[str] | None = None,
        **_: object) -> int:
    """Upload FILE; print ``key: ...`` and ``etag: ...`` (or a JSON object)."""
    stderr = stderr or sys.stderr
    path, resume = _checked(args)
    endpoint = endpoint_url(args.endpoint or DEFAULT_ENDPOINT)
    routes = Routes(endpoint, credentials_header(args, environ), Transport())
    if urlsplit(endpoint).scheme == "http" and urlsplit(endpoint).hostname not in LOOPBACK:
        stderr.write(f"warning: {endpoint} is plain HTTP: the API key or token crosses the network readable\n")
    uploader = Uploader(routes, stderr=stderr, terminal=_is_terminal(stderr), in_flight=args.parts,
                        part_size=parse_size(args.part_size) if args.part_size else None,
                        content_type=args.content_type, endpoint_given=args.endpoint is not None)
    try:
        with _interruptible():
            if args.abort:
                stdout.write(f"aborted: {uploader.abort(path, resume or Resume())}\n")
                return 0
            uploaded = uploader.upload(path, resume=resume)
    except KeyboardInterrupt:
        if uploader.progress is not None:
            uploader.progress.end_line()
        stderr.write(interrupted_line(uploader, args.file) + "\n")
        return INTERRUPTED
    except (RouteError, UploadFailed, StateError, OSError, http.client.HTTPException) as exc:
        if uploader.progress is not None:
            uploader.progress.end_line()
        stderr.write(f"error: {_reason(exc, routes.base)}\n")
        return FAILED
    if args.json:
        stdout.write(json.dumps({"key": uploaded.key, "etag": uploaded.etag, "parts": uploaded.parts}) + "\n")
    else:
        stdout.write(f"key: {uploaded.key}\netag: {uploaded.etag}\n")
    return 0


def _checked(args: argparse.Namespace) -> tuple[Path, Resume | None]:
    """FILE and what to resume, or a UsageError naming the flag that is wrong."""
    if not 1 <= args.parts <= MAX_IN_FLIGHT:
        raise UsageError(f"--parts must be 1..{MAX_IN_FLIGHT}, got {args.parts}")
    if args.part_size is not None:
        parse_size(args.part_size)
    if args.endpoint is not None:
        endpoint_url(args.endpoint)
    if args.key is not None and not args.resume:
        raise UsageError("--key goes with --resume UPLOAD_ID")
    if args.resume and args.key is None:
        raise UsageError("--resume UPLOAD_ID needs --key KEY too (both are printed when the upload starts)")
    if args.abort and args.resume is None:
        raise UsageError(f"--abort needs --resume (the upload in FILE{SUFFIX}) or --resume UPLOAD_ID --key KEY")
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"FILE must be a regular file: {args.file}")
    if args.resume is None:
        return path, None
    return path, Resume(args.resume or None, args.key if args.resume else None)


def credentials_header(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, str]:
    """The header that authenticates the caller: X-Api-Key or Authorization: Bearer."""
    for flag, given, variable, header, prefix in (
            ("--api-key", args.api_key, API_KEY_VARIABLE, "X-Api-Key", ""),
            ("--token", args.token, TOKEN_VARIABLE, "Authorization", "Bearer ")):
        value = given if given is not None else environ.get(variable) if args.api_key is None and \
            args.token is None else None
        if value is None or given is None and not value.strip():
            continue
        secret = _secret(flag if given is not None else variable, value)
        return header, prefix + secret
    raise UsageError(f"no credentials: set {API_KEY_VARIABLE} (or {TOKEN_VARIABLE}), or give --api-key @FILE "
                     "(python -m shared serve prints its API key)")


def _secret(source: str, value: str) -> str:
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as file:
                value = file.readline(MAX_SECRET_CHARS + 1)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{source}: cannot read {value[1:]!r}: {getattr(exc, 'strerror', None) or exc}") from None
    value = value.strip()
    if not value or len(value) > MAX_SECRET_CHARS or not value.isprintable() or not value.isascii():
        raise UsageError(f"{source} must be 1..{MAX_SECRET_CHARS} printable ASCII characters")
    return value


def endpoint_url(text: str) -> str:
    """--endpoint: an http(s) URL of a host, with no query, fragment or user name in it."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        port, parts = -1, None
    if parts is None or port == -1 or parts.scheme not in ("http", "https") or not parts.hostname \
            or parts.query or parts.fragment or "@" in parts.netloc or not text.isprintable() or " " in text:
        raise UsageError(f"--endpoint must be an http:// or https:// URL of the presign function, such as "
                         f"{DEFAULT_ENDPOINT}")
    return text.rstrip("/")


def parse_size(text: str) -> int:
    """--part-size: bytes, or a whole number of KiB, MiB or GiB (5MiB, 512k), within OSS's part sizes."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"--part-size must be bytes or a size such as 5MiB, got {text!r}")
    size = int(match.group(1)) * _UNITS[match.group(2)[:1].lower()]
    if not MIN_PART_SIZE <= size <= MAX_PART_SIZE:
        raise UsageError(f"--part-size must be 100KiB..5GiB (OSS's part sizes), got {text!r}")
    return size


def interrupted_line(uploader: Uploader, file: str) -> str:
    """The one line a Ctrl-C prints: what is kept, and how to go on."""
    status = uploader.status
    if not status.multipart:
        return "interrupted: nothing was uploaded (a small file is sent in one request): run the command again"
    if status.state_file is None:
        return "interrupted before the upload started: run the command again"
    return (f"interrupted: {status.parts_done} of {status.parts_total} parts are uploaded; "
            f"python -m shared upload '{file}' --resume continues")


def _reason(exc: BaseException, endpoint: str) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
        return f"cannot reach {endpoint} or the bucket: {exc.strerror or exc}"
    return str(exc)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in the main thread for the block (the trampoline would end at once)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
