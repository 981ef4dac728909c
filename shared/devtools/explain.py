"""``python -m shared explain URL``: say in plain words whether a presigned URL is valid now, and why not.

One verifier, two front ends: the checks are ``shared.devtools.local_oss.verify``'s, the ones the local
bucket runs. This module turns a URL into the requests it can stand for (each method; virtual host
or path style), runs the checks on each, tries the one repair that names a cause by itself (a
``+`` that became a space on the way), and words the result. It never prints the URL, its
signature or a security token.
"""

from __future__ import annotations

import argparse
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import IO
from urllib.parse import urlsplit

from shared.clock import utc_now
from shared.credentials.provider import CredentialsProvider
from shared.credentials.value import Credentials
from shared.devtools.explanation import Explanation, Finding, notes, sentence
from shared.devtools.local_oss.addressing import ObjectRequest, bucket_and_key, decode_query
from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.verify import AuthFailure, Authorization, expectation, problems
from shared.errors import InvalidArgument
from shared.oss.canonical import normalize_headers
from shared.oss.endpoints import check_bucket, check_region
from shared.oss.object_keys import url_unsafe_reason
from shared.oss.signer import METHODS

MAX_SPACES = 8  # spaces tried as '+' in every combination (2**8 checks at most per request)
_SIGNATURE_CAUSES = ("signature", "token_wrong")
_HOST_REGION = re.compile(r"(?:^|\.)oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$")
Outcome = tuple[Authorization | None, list[AuthFailure]]  # what the verifier says about one request
Check = Callable[[ObjectRequest], Outcome]
Result = tuple[ObjectRequest, Authorization | None, list[AuthFailure]]


def explain(url: str, *, credentials: Credentials, now: datetime, headers: Mapping[str, str] | None = None,
            method: str | None = None, bucket: str | None = None, region: str | None = None,
            fallback_region: str | None = None) -> Explanation:
    """Check a presigned URL as OSS would at ``now``, with the headers the client will send.

    The bucket's region is ``region``, else the one the host names (``oss-<region>.aliyuncs.com``),
    else ``fallback_region`` (the deployment's OSS_REGION, for a local bucket or a custom domain),
    else unknown: the URL's own credential scope is then taken, and a note says the region was not checked.
    """
    host, raw_path, raw_query = _split_url(url)
    lowered = {name.strip().lower(): value.strip() for name, value in (headers or {}).items()}
    try:
        query = decode_query(raw_query)
    except OssError as exc:
        return Explanation(False, ObjectRequest(method or "GET", bucket, None), None,
                           (Finding("malformed", exc.message),))
    _require_v4(query)
    keyring = {credentials.access_key_id: credentials}
    host_region, product = _expected_scope(host, query)
    region = region or host_region or fallback_region
    check = _checker(keyring, region or _claimed_region(query), product, now)
    methods = [method] + [m for m in METHODS if m != method] if method else list(METHODS)
    candidates = [ObjectRequest(m, b, k, query, lowered) for b, k in _addressings(host, raw_path, bucket)
                  for m in methods]
    if not candidates:
        return Explanation(False, ObjectRequest(method or "GET", bucket, None), None,
                           (Finding("malformed", "the URL names no object: its path has no key"),))
    explained = _judge(candidates, check, method, credentials, now)
    reason = url_unsafe_reason(explained.request.key or "")
    if reason:  # a dot segment: whatever the signature says, no client sends this path
        finding = Finding("dot_segment", f"{reason}, so this URL cannot fetch its object from any client")
        return replace(explained, valid=False, findings=(finding, *explained.findings))
    if region is None and explained.authorization is not None:
        note = Finding("region_unknown", f"signed for region {explained.authorization.scope_region}; the host's "
                                         "region is not known from its name: pass --region (or set OSS_REGION) "
                                         "to check it")
        return replace(explained, findings=(*explained.findings, note))
    return explained


def _claimed_region(query: tuple[tuple[str, str], ...]) -> str:
    scope = dict(query).get("x-oss-credential", "").split("/")
    return scope[2] if len(scope) == 5 else ""


def _checker(keyring: Mapping[str, Credentials], region: str, product: str, now: datetime) -> Check:
    def check(request: ObjectRequest) -> Outcome:
        return problems(request, keyring=keyring, region=region, now=now, product=product)
    return check


def _judge(candidates: list[ObjectRequest], check: Check, method: str | None, credentials: Credentials,
           now: datetime) -> Explanation:
    """Pick the request the URL most likely stands for, and say what stops it."""
    results: list[Result] = [(request, *check(request)) for request in candidates]
    best = next((r for r in results if not r[2]), None) or \
        next((r for r in results if not _signature_failed(r[2])), None)
    findings: list[Finding] = []
    if best is None:
        best, where = _repair_plus(results, check)
        if where:
            findings.append(Finding("plus_as_space", f"a '+' was turned into a space on the way ({where}): read "
                                                     f"as '+' the signature verifies; a '+' must travel as %2B"))
    request, auth, failures = best if best is not None else results[0]
    if method and request.method != method:
        findings.insert(0, Finding("method", f"the URL is signed for {request.method}, not {method}"))
    findings += [Finding(f.cause, sentence(f, auth, credentials, now)) for f in failures]
    valid = not failures and not findings
    if valid and auth is not None:
        findings += notes(request, auth, now)
    shown = None
    if any(f.cause == "signature" for f in failures) and auth is not None:
        expected = expectation(request, auth)
        shown = (expected.shown_canonical_request, expected.string_to_sign)
        if not request.headers and not auth.additional:
            findings.append(Finding("headers_hint", "no method verifies without headers, so the URL was most likely "
                                                    "signed with headers the client must send exactly: Content-Type "
                                                    "and Content-MD5 when it was signed with them (a PUT URL signed "
                                                    "with a Content-Type needs that Content-Type), and every x-oss-* "
                                                    "header it was signed with; pass them with --header 'Name: value'"))
    method_known = valid or not any(f.cause == "headers_hint" for f in findings)
    canonical, to_sign = shown or (None, None)
    return Explanation(valid, request, auth, tuple(findings), canonical_request=canonical, string_to_sign=to_sign,
                       method_known=method_known)


def _signature_failed(failures: list[AuthFailure]) -> bool:
    return any(f.cause in _SIGNATURE_CAUSES for f in failures)


def _repair_plus(results: list[Result], check: Check) -> tuple[Result | None, str]:
    """Find a request that verifies once some spaces are read back as '+'; say where they were."""
    for request, _, _ in results:
        for repaired, where in _plus_variants(request):
            auth, failures = check(repaired)
            if not _signature_failed(failures):
                return (repaired, auth, failures), where
    return None, ""


def _plus_variants(request: ObjectRequest) -> Iterator[tuple[ObjectRequest, str]]:
    """Yield the request with each combination of its spaces (key and query values) read as '+'."""
    texts = [request.key or ""] + [value for _, value in request.query]
    spaces = [(i, j) for i, text in enumerate(texts) for j, char in enumerate(text) if char == " "]
    if not spaces:
        return
    combos = itertools.product((False, True), repeat=len(spaces)) if len(spaces) <= MAX_SPACES else \
        iter([(True,) * len(spaces)])
    for combo in combos:
        chosen = [place for place, flip in zip(spaces, combo, strict=True) if flip]
        if not chosen:
            continue
        changed = [list(text) for text in texts]
        for i, j in chosen:
            changed[i][j] = "+"
        fields = sorted({i for i, _ in chosen})
        where = ", ".join("in the key" if i == 0 else f"in parameter {request.query[i - 1][0]}" for i in fields)
        query = tuple((name, "".join(changed[n + 1])) for n, (name, _) in enumerate(request.query))
        yield replace(request, key="".join(changed[0]) or None, query=query), where


def _split_url(url: str) -> tuple[str, bytes, bytes]:
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError:
        hostname = None
    if hostname is None or parts.scheme not in ("http", "https"):
        raise InvalidArgument("url", f"URL must be an http(s) URL with a host, got {url[:60]!r}")
    return parts.netloc.rpartition("@")[2], parts.path.encode("utf-8") or b"/", parts.query.encode("utf-8")


def _require_v4(query: tuple[tuple[str, str], ...]) -> None:
    names = {name for name, _ in query}
    if "x-oss-signature" in names or "x-oss-credential" in names:
        return
    if "OSSAccessKeyId" in names or "Signature" in names:
        raise InvalidArgument("url", "this is an OSS V1 URL (OSSAccessKeyId, Signature); explain checks V4 only")
    raise InvalidArgument("url", "this is not a presigned URL: it has no x-oss-signature or x-oss-credential")


def _expected_scope(host: str, query: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """The region and product OSS would expect: the host's region when it names one ("" when it names none)."""
    scope = dict(query).get("x-oss-credential", "").split("/")
    claimed_region, claimed_product = (scope[2], scope[3]) if len(scope) == 5 else ("", "oss")
    name = (host.rpartition(":")[0] if host.count(":") == 1 else host).lower()
    if name.endswith(".oss-cloudbox.aliyuncs.com"):
        return claimed_region, "oss-cloudbox"
    match = _HOST_REGION.search(name)
    if match is None:  # a custom domain or a local bucket: the host says nothing to compare with
        return "", claimed_product
    return claimed_region if match.group(1).startswith("accelerate") else match.group(1), "oss"


def _addressings(host: str, raw_path: bytes, bucket: str | None) -> list[tuple[str, str | None]]:
    """The (bucket, key) pairs a URL can mean, the likeliest first."""
    name = (host.rpartition(":")[0] if host.count(":") == 1 else host).lower()
    pairs: list[tuple[str, str | None]] = []
    attempts: list[str | None] = []
    if bucket:
        attempts.append(bucket)  # a custom domain bound to this bucket, or the bucket named below
    first = name.split(".")[0]
    ip_or_local = name == "localhost" or name.replace(".", "").isdigit() or name.startswith("[")
    if "." in name and not ip_or_local and not first.startswith("oss-"):
        attempts.append(first)  # virtual host
    attempts.append(None)  # path style
    for host_bucket in attempts:
        try:
            found, key = bucket_and_key(raw_path, host_bucket)
        except OssError:
            continue
        if found is not None and key is not None and (found, key) not in pairs \
                and (bucket is None or found == bucket):
            pairs.append((found, key))
    return pairs


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``explain`` command's arguments."""
    parser.add_argument("url", metavar="URL", help="the presigned URL (quote it for the shell)")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="a header the client sends with the URL")
    parser.add_argument("--method", help="the client's method (default: whichever the URL is signed for)")
    parser.add_argument("--bucket", help="the bucket, when the URL's host is a custom domain")
    parser.add_argument("--region", help="the bucket's region, when the host does not name it "
                                         "(default $OSS_REGION; a local bucket or a custom domain)")


def run(args: argparse.Namespace, *, environ: Mapping[str, str], stdin: IO[str], stdout: IO[str],
        provider_factory: Callable[[Mapping[str, str]], CredentialsProvider]) -> int:
    """The ``explain`` command: print the explanation; exit 0 when valid, 1 when not."""
    headers: dict[str, str] = {}
    for text in args.header:
        name, colon, value = text.partition(":")
        if not colon or not name.strip():
            raise InvalidArgument("header", f"--header takes 'Name: value', got {text!r}")
        headers[name.strip()] = value.strip()
    normalize_headers(headers)  # names a client can send, values that cannot split a header: as sign checks them
    method = args.method.upper() if args.method is not None else None
    if method is not None and method not in METHODS:
        raise InvalidArgument("method", f"method must be one of {', '.join(METHODS)}, got {args.method!r}")
    if args.bucket is not None:  # a flag given is checked as sign checks it, not taken as a mismatch
        check_bucket(args.bucket)
    if args.region is not None:
        check_region(args.region)
    credentials = provider_factory(environ).get_credentials()
    result = explain(args.url, credentials=credentials, now=utc_now(), headers=headers, method=method,
                     bucket=args.bucket, region=args.region, fallback_region=environ.get("OSS_REGION") or None)
    stdout.write(result.render())
    return 0 if result.valid else 1
