"""``python -m shared``: the command line. ``sign`` prints presigned URLs, one or a batch.

Usage errors and missing credentials print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import IO, NoReturn, TypedDict, cast

from shared.clock import parse_iso8601, utc_now
from shared.config import SigningDefaults, load_signing_defaults
from shared.credentials.provider import CredentialsProvider
from shared.credentials.value import Credentials
from shared.devtools.package import add_parser as add_package_parser
from shared.devtools.usage import USAGE_ERROR, Parser, UsageError
from shared.errors import InvalidArgument, PresignError
from shared.oss.expiry import Lifetime
from shared.oss.object_keys import check_object_name
from shared.oss.signer import check_expires, presign

# Batch line fields and the type each must have.
_FIELDS: dict[str, type] = {
    "bucket": str, "key": str, "region": str, "endpoint": str, "method": str, "expires": int,
    "at": str, "headers": dict, "params": dict, "additional_headers": list, "cname": bool,
    "path_style": bool, "cloudbox_id": str,
}
ProviderFactory = Callable[[Mapping[str, str]], CredentialsProvider]


class SignRequest(TypedDict, total=False):
    """One URL to sign, from the flags or a batch line: the fields of _FIELDS, of which only key is required."""

    key: str
    bucket: str
    region: str
    endpoint: str
    method: str
    expires: int
    at: str
    headers: dict[str, str]
    params: dict[str, str]
    additional_headers: list[str]
    cname: bool
    path_style: bool
    cloudbox_id: str


def run() -> NoReturn:
    """``python -m shared``: run the command line and exit with its status."""
    # A failed command's one-line error names every credential source and why it failed; the
    # chain's warnings on the way there would only repeat it.
    logging.getLogger("shared").setLevel(logging.ERROR)
    sys.exit(main())


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None,
         stdin: IO[str] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         provider_factory: ProviderFactory | None = None) -> int:
    """Run the command line; return the exit status."""
    environ = os.environ if environ is None else environ
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    try:
        args = _build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("name a command: sign, explain or serve (see: python -m shared --help)")
        status: int = args.run(args, environ=environ, stdin=stdin, stdout=stdout,
                               provider_factory=provider_factory or _default_provider)
        return status
    except (UsageError, PresignError) as exc:
        stderr.write(f"error: {exc}\n")
        return USAGE_ERROR


def _build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m shared", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", parser_class=Parser)
    sign = commands.add_parser("sign", help="print a presigned URL",
                               description="Print an OSS Signature V4 presigned URL for KEY.")
    sign.add_argument("key", nargs="?", metavar="KEY", help="object key")
    sign.add_argument("--batch", action="store_true", help="read JSON lines on stdin, write one result per line")
    sign.add_argument("--bucket", help="bucket (default $OSS_BUCKET)")
    sign.add_argument("--region", help="region such as cn-hangzhou (default $OSS_REGION)")
    sign.add_argument("--endpoint", help="[scheme://]host[:port] (default $OSS_ENDPOINT, else the region's)")
    sign.add_argument("--method", default="GET", help="GET, PUT, HEAD, POST or DELETE (default GET)")
    sign.add_argument("--expires", type=int, default=900, help="lifetime in seconds, 1..604800 (default 900)")
    sign.add_argument("--at", help="signing time, 2025-03-04T05:06:07Z or 20250304T050607Z (default now)")
    sign.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                      help="a header the client will send (Content-Type, x-oss-* ... are signed)")
    sign.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                      help="a query parameter such as response-content-type=text/plain")
    sign.add_argument("--additional-header", action="append", default=[], metavar="NAME",
                      help="also sign this header")
    sign.add_argument("--cname", action="store_true", help="the endpoint is a custom domain bound to the bucket")
    sign.add_argument("--path-style", action="store_true", help="put the bucket in the path, not the host")
    sign.add_argument("--cloudbox-id", help="sign for this CloudBox (product oss-cloudbox)")
    sign.add_argument("--json", action="store_true", help="print a JSON object instead of the bare URL")
    sign.set_defaults(run=_run_sign)
    explain = commands.add_parser("explain", help="say whether a presigned URL is valid now, and if not why",
                                  description="Check a presigned URL as OSS would, with the credential chain's keys.")
    explain.add_argument("url", metavar="URL", help="the presigned URL (quote it for the shell)")
    explain.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                         help="a header the client sends with the URL")
    explain.add_argument("--method", help="the client's method (default: whichever the URL is signed for)")
    explain.add_argument("--bucket", help="the bucket, when the URL's host is a custom domain")
    explain.set_defaults(run=_run_explain)
    serve = commands.add_parser("serve", help="serve the functions against a local, signature-checking bucket",
                                description="Serve the HTTP functions on 127.0.0.1 against a local bucket that "
                                            "checks signatures (or real OSS when OSS_BUCKET is set).")
    serve.add_argument("--port", type=int, default=9000, help="presign function port (default 9000)")
    serve.add_argument("--links-port", type=int, default=9001, help="links function port (default 9001)")
    serve.add_argument("--oss-port", type=int, default=9100, help="local bucket port (default 9100)")
    serve.add_argument("--data", default=".local-oss", help="the local bucket's folder (default ./.local-oss)")
    serve.add_argument("--bucket", default="examplebucket", help="the local bucket (default examplebucket)")
    serve.add_argument("--region", default="cn-hangzhou", help="the local bucket's region (default cn-hangzhou)")
    serve.set_defaults(run=_run_serve)
    add_package_parser(commands)
    return parser


def _default_provider(environ: Mapping[str, str]) -> CredentialsProvider:
    from shared.credentials.chain import default_provider
    return default_provider(environ)


def _run_explain(args: argparse.Namespace, *, environ: Mapping[str, str], stdin: IO[str], stdout: IO[str],
                 provider_factory: ProviderFactory) -> int:
    from shared.devtools.explain import run_explain

    return run_explain(args, environ=environ, stdin=stdin, stdout=stdout, provider_factory=provider_factory)


def _run_serve(args: argparse.Namespace, *, environ: Mapping[str, str], stdout: IO[str], **_: object) -> int:
    from shared.devtools.serve import run

    return run(args, environ=environ, stdout=stdout)


def _run_sign(args: argparse.Namespace, *, environ: Mapping[str, str], stdin: IO[str], stdout: IO[str],
              provider_factory: ProviderFactory) -> int:
    if args.batch and args.key:
        raise UsageError("give either KEY or --batch, not both")
    if not args.batch and args.key is None:
        raise UsageError("KEY is required (or --batch to read requests from stdin)")
    defaults = load_signing_defaults(environ)
    provider = provider_factory(environ)
    if args.batch:
        return _run_batch(stdin, stdout, defaults, provider)
    request = _request_from_args(args)
    result = sign_one(request, defaults, provider)
    stdout.write((json.dumps(result, ensure_ascii=False) if args.json else str(result["url"])) + "\n")
    return 0


def _run_batch(stdin: IO[str], stdout: IO[str], defaults: SigningDefaults, provider: CredentialsProvider) -> int:
    for line in stdin:
        if not line.strip():
            continue
        try:
            result: dict[str, object] = sign_one(_request_from_line(line), defaults, provider)
        except PresignError as exc:
            result = {"error": {"code": exc.code, "message": exc.message}}
        stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def sign_one(request: SignRequest, defaults: SigningDefaults, provider: CredentialsProvider) -> dict[str, object]:
    """Fill defaults, check the object name, take credentials and sign; return the JSON result."""
    bucket = request.pop("bucket", None) or defaults.bucket
    region = request.pop("region", None) or defaults.region
    if not bucket:
        raise InvalidArgument("bucket", "no bucket: pass --bucket or set OSS_BUCKET")
    if not region:
        raise InvalidArgument("region", "no region: pass --region or set OSS_REGION")
    if "endpoint" not in request and defaults.endpoint:
        request["endpoint"] = defaults.endpoint
        request["cname"] = bool(request.get("cname")) or defaults.cname
    key = request["key"]
    check_object_name(key)
    at = request.pop("at", None)
    now = parse_time(at) if at else utc_now()
    expires = request.pop("expires", 900)
    credentials, lifetime = _credentials_for(provider, expires, now)
    # What is left of the request is presign's own keywords; a missing one takes presign's default.
    url = presign(credentials, bucket=bucket, key=key, region=region, signing_time=now, expires=lifetime.expires,
                  endpoint=request.get("endpoint"), method=request.get("method", "GET"),
                  headers=request.get("headers"), params=request.get("params"),
                  additional_headers=request.get("additional_headers", ()), cname=request.get("cname", False),
                  path_style=request.get("path_style", False), cloudbox_id=request.get("cloudbox_id"))
    result = url.to_dict()
    if lifetime.capped_by:
        result["expires_capped_by"] = lifetime.capped_by
    return result


def _credentials_for(provider: CredentialsProvider, expires: int, now: datetime) -> tuple[Credentials, Lifetime]:
    from shared.oss.expiry import effective_lifetime

    check_expires(expires)
    credentials = provider.get_credentials(min_valid_until=now + timedelta(seconds=expires))
    return credentials, effective_lifetime(expires, now=now, credentials=credentials)


def parse_time(text: str) -> datetime:
    """Parse ``2025-03-04T05:06:07Z`` or ``20250304T050607Z`` (UTC) into an aware datetime."""
    value = text.strip()
    try:
        if len(value) == 16 and value[8] == "T":
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        return parse_iso8601(value, utc_only=True)
    except ValueError:
        raise InvalidArgument("at", "at must be a UTC time like 2025-03-04T05:06:07Z or 20250304T050607Z, "
                                    f"got {text!r}") from None


def _request_from_args(args: argparse.Namespace) -> SignRequest:
    request: SignRequest = {"key": args.key, "method": args.method, "expires": args.expires,
                                  "cname": args.cname, "path_style": args.path_style}
    for name in ("bucket", "region", "endpoint", "at", "cloudbox_id"):
        if getattr(args, name) is not None:
            request[name] = getattr(args, name)
    request["headers"] = dict(_split(h, ":", "--header", "'Name: value'") for h in args.header)
    request["params"] = dict(_split(p, "=", "--param", "name=value") for p in args.param)
    request["additional_headers"] = list(args.additional_header)
    return request


def _split(text: str, sep: str, flag: str, form: str) -> tuple[str, str]:
    name, found, value = text.partition(sep)
    if not found or not name.strip():
        raise UsageError(f"{flag} takes {form}, got {text!r}")
    return name.strip(), value.strip() if sep == ":" else value


def _request_from_line(line: str) -> SignRequest:
    try:
        request = json.loads(line)
    except ValueError as exc:
        raise InvalidArgument("line", f"not valid JSON: {exc}") from None
    if not isinstance(request, dict):
        raise InvalidArgument("line", "each line must be a JSON object")
    for name, value in request.items():
        kind = _FIELDS.get(name)
        if kind is None:
            raise InvalidArgument(name, f"unknown field {name!r}; known: {', '.join(sorted(_FIELDS))}")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidArgument(name, f"{name} must be of type {kind.__name__}")
    if "key" not in request:
        raise InvalidArgument("key", "key is required")
    return cast(SignRequest, request)  # every field is one of _FIELDS, of its type
