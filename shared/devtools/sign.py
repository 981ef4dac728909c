"""``python -m shared sign``: presigned URLs from the command line, one (flags) or a batch (JSON lines).

The flags make one request for ``shared.devtools.signing``; ``--batch`` reads JSON lines and answers
each (``shared.devtools.sign_batch``), one result or error line per input line, in order.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from typing import IO

from shared.config import load_signing_defaults
from shared.credentials.provider import CredentialsProvider
from shared.devtools.signing import Signer, SignRequest, parse_time
from shared.devtools.usage import UsageError

__all__ = ["configure", "parse_time", "run"]
ProviderFactory = Callable[[Mapping[str, str]], CredentialsProvider]


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``sign`` command's flags."""
    parser.add_argument("key", nargs="?", metavar="KEY", help="object key")
    parser.add_argument("--batch", action="store_true", help="read JSON lines on stdin, write one result per line")
    parser.add_argument("--bucket", help="bucket (default $OSS_BUCKET)")
    parser.add_argument("--region", help="region such as cn-hangzhou (default $OSS_REGION)")
    parser.add_argument("--endpoint", help="[scheme://]host[:port] (default $OSS_ENDPOINT, else the region's)")
    parser.add_argument("--method", default="GET", help="GET, PUT, HEAD, POST or DELETE (default GET)")
    parser.add_argument("--expires", type=int, default=900, help="lifetime in seconds, 1..604800 (default 900)")
    parser.add_argument("--at", help="signing time, 2025-03-04T05:06:07Z or 20250304T050607Z (default now)")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="a header the client will send (Content-Type, x-oss-* ... are signed)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a query parameter such as response-content-type=text/plain")
    parser.add_argument("--additional-header", action="append", default=[], metavar="NAME",
                        help="also sign this header")
    parser.add_argument("--cname", action="store_true", help="the endpoint is a custom domain bound to the bucket")
    parser.add_argument("--path-style", action="store_true", help="put the bucket in the path, not the host")
    parser.add_argument("--cloudbox-id", help="sign for this CloudBox (product oss-cloudbox)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of the bare URL")


def run(args: argparse.Namespace, *, environ: Mapping[str, str], stdin: IO[str], stdout: IO[str],
        provider_factory: ProviderFactory) -> int:
    """The ``sign`` command: print one URL (or its JSON), or answer a batch line by line."""
    if args.batch and args.key:
        raise UsageError("give either KEY or --batch, not both")
    if not args.batch and args.key is None:
        raise UsageError("KEY is required (or --batch to read requests from stdin)")
    defaults = load_signing_defaults(environ)
    for name in ("bucket", "region", "endpoint"):  # the flags are the defaults of a batch's lines too
        if getattr(args, name) is not None:
            setattr(defaults, name, getattr(args, name))
    defaults.cname = defaults.cname or args.cname
    signer = Signer(defaults, provider_factory(environ))
    if args.batch:
        from shared.devtools.sign_batch import answer_batch  # one URL does not pay for the batch's modules

        return answer_batch(signer, stdin, stdout)
    result = signer.sign(_request_from_args(args))
    stdout.write((json.dumps(result, ensure_ascii=False) if args.json else str(result["url"])) + "\n")
    return 0


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
