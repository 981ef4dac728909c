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
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import IO
from urllib.parse import urlsplit

from shared.clock import iso8601
from shared.credentials.provider import CredentialsProvider
from shared.credentials.value import Credentials
from shared.devtools.local_oss.addressing import ObjectRequest, bucket_and_key, decode_query
from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.verify import REDACTED, AuthFailure, Authorization, expectation, problems
from shared.errors import InvalidArgument
from shared.oss.signer import METHODS

MAX_SPACES = 8  # spaces tried as '+' in every combination (2**8 checks at most per request)
_SIGNATURE_CAUSES = ("signature", "token_wrong")
_HOST_REGION = re.compile(r"(?:^|\.)oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$")
Outcome = tuple[Authorization | None, list[AuthFailure]]  # what the verifier says about one request
Check = Callable[[ObjectRequest], Outcome]
Result = tuple[ObjectRequest, Authorization | None, list[AuthFailure]]


@dataclass(frozen=True)
class Finding:
    """One reason a URL is not valid (or a note about a valid one): a stable cause and a sentence."""

    cause: str
    text: str


@dataclass(frozen=True)
class Explanation:
    """The verdict on a URL: valid or not, for which request, why, and what OSS computes from it."""

    valid: bool
    request: ObjectRequest
    authorization: Authorization | None
    findings: tuple[Finding, ...]
    canonical_request: str | None = None
    string_to_sign: str | None = None

    @property
    def causes(self) -> tuple[str, ...]:
        """The findings' causes, in order."""
        return tuple(finding.cause for finding in self.findings)

    def render(self) -> str:
        """Word the explanation for a terminal."""
        what = f"{self.request.method} of key {self.request.key!r} in bucket {self.request.bucket!r}"
        auth = self.authorization
        lines = [f"{'valid' if self.valid else 'NOT VALID'}: {what}"]
        if auth is not None:
            expires = f", expires at {iso8601(auth.expires_at)}" if auth.expires_at is not None else ""
            lines.append(f"  signed by {auth.access_key_id} for {auth.scope_region} at {iso8601(auth.signed_at)}"
                         f"{expires}")
        lines += [f"- {finding.text}" for finding in self.findings]
        if self.canonical_request is not None:
            note = f" (the security token shows as {REDACTED})" if REDACTED in self.canonical_request else ""
            lines += [f"canonical request OSS computes from this URL{note}:", _indent(self.canonical_request),
                      "string to sign:", _indent(self.string_to_sign or "")]
        return "\n".join(lines) + "\n"


def explain(url: str, *, credentials: Credentials, now: datetime, headers: Mapping[str, str] | None = None,
            method: str | None = None, bucket: str | None = None, region: str | None = None) -> Explanation:
    """Check a presigned URL as OSS would at ``now``, with the headers the client will send.

    The bucket's region is ``region``, else the one the host names (``oss-<region>.aliyuncs.com``),
    else the URL's own credential scope (so a region mismatch cannot show).
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
    region = region or host_region
    check = _checker(keyring, region, product, now)
    methods = [method] + [m for m in METHODS if m != method] if method else list(METHODS)
    candidates = [ObjectRequest(m, b, k, query, lowered) for b, k in _addressings(host, raw_path, bucket)
                  for m in methods]
    if not candidates:
        return Explanation(False, ObjectRequest(method or "GET", bucket, None), None,
                           (Finding("malformed", "the URL names no object: its path has no key"),))
    return _judge(candidates, check, method, credentials, now)


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
    findings += [Finding(f.cause, _sentence(f, auth, credentials, now)) for f in failures]
    valid = not failures and not findings
    if valid and auth is not None:
        findings += _notes(request, auth, now)
    shown = None
    if any(f.cause == "signature" for f in failures) and auth is not None:
        expected = expectation(request, auth)
        shown = (expected.shown_canonical_request, expected.string_to_sign)
        if not request.headers and not auth.additional:
            findings.append(Finding("headers_hint", "if the URL was signed with headers (Content-Type, Content-MD5, "
                                                    "x-oss-*), the client must send exactly those: pass them with "
                                                    "--header 'Name: value'"))
    return Explanation(valid, request, auth, tuple(findings), *(shown or (None, None)))


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


def _sentence(failure: AuthFailure, auth: Authorization | None, credentials: Credentials, now: datetime) -> str:
    """Word one failure for the person holding the URL."""
    if auth is None:
        return failure.message
    expires_at = auth.expires_at or auth.signed_at
    words: dict[str, Callable[[], str]] = {
        "expired": lambda: f"expired at {iso8601(expires_at)}, {_duration(now - expires_at)} ago "
                           f"(signed at {iso8601(auth.signed_at)} to last {auth.expires} s)",
        "not_yet_valid": lambda: f"not yet valid: it is dated {iso8601(auth.signed_at)}, "
                                 f"{_duration(auth.signed_at - now)} from now, and OSS refuses dates more than "
                                 f"15 minutes ahead (is a clock wrong?)",
        "credential_date": lambda: f"credential date mismatch: the credential scope's date {auth.scope_date} is not "
                                   f"the day of x-oss-date {auth.timestamp}",
        "region": lambda: f"region mismatch: {failure.message.replace('this bucket is', 'the host is')}",
        "access_key": lambda: f"signed with access key id {auth.access_key_id}, but your credentials are "
                              f"{credentials.access_key_id}: the signature cannot be checked with them",
        "token_missing": lambda: f"a security token is expected: access key id {auth.access_key_id} is temporary "
                                 f"(STS) and the URL carries no x-oss-security-token",
        "token_unexpected": lambda: f"the URL carries a security token, but your credentials for "
                                    f"{auth.access_key_id} have none",
        "token_wrong": lambda: "the URL's security token is not your credentials' token (were the STS credentials "
                               "renewed since it was signed?)",
        "header_missing": lambda: f"signed header(s) the client must send: {failure.details['MissingHeaders']} "
                                  f"(check with --header 'Name: value')",
        "signature": lambda: "signature mismatch: the signature is not the one these credentials give for the "
                             "canonical request below",
    }
    sentence = words.get(failure.cause)
    return sentence() if sentence else failure.message


def _notes(request: ObjectRequest, auth: Authorization, now: datetime) -> list[Finding]:
    notes: list[Finding] = []
    if auth.expires_at is not None:  # always, for a presigned URL: x-oss-expires is required
        notes.append(Finding("valid_until", f"valid for {_duration(auth.expires_at - now)} more"))
    signed = sorted(n for n in request.headers if n in auth.additional or n.startswith("x-oss-")
                    or n in ("content-type", "content-md5"))
    if signed:
        notes.append(Finding("send_headers", "the client must send: " + ", ".join(
            f"{name}: {request.headers[name]}" for name in signed)))
    source = request.param("x-oss-ac-source-ip")
    if source:
        notes.append(Finding("source_ip", f"only requests from {source} are allowed (not checked here)"))
    return notes


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
    """The region and product OSS would expect: the host's region when it names one, else the URL's own."""
    scope = dict(query).get("x-oss-credential", "").split("/")
    claimed_region, claimed_product = (scope[2], scope[3]) if len(scope) == 5 else ("", "oss")
    name = (host.rpartition(":")[0] if host.count(":") == 1 else host).lower()
    if name.endswith(".oss-cloudbox.aliyuncs.com"):
        return claimed_region, "oss-cloudbox"
    match = _HOST_REGION.search(name)
    if match is None:  # a custom domain or a local bucket: the host says nothing to compare with
        return claimed_region, claimed_product
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


def _duration(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    parts = [(days, "d"), (rest // 3600, "h"), (rest % 3600 // 60, "min"), (rest % 60, "s")]
    shown = [f"{amount} {unit}" for amount, unit in parts if amount][:2]
    return " ".join(shown) or "0 s"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


def run_explain(args: argparse.Namespace, *, environ: Mapping[str, str], stdin: IO[str], stdout: IO[str],
                provider_factory: Callable[[Mapping[str, str]], CredentialsProvider]) -> int:
    """The ``explain`` command: print the explanation; exit 0 when valid, 1 when not."""
    headers: dict[str, str] = {}
    for text in args.header:
        name, colon, value = text.partition(":")
        if not colon or not name.strip():
            raise InvalidArgument("header", f"--header takes 'Name: value', got {text!r}")
        headers[name.strip()] = value.strip()
    method = args.method.upper() if args.method else None
    if method is not None and method not in METHODS:
        raise InvalidArgument("method", f"method must be one of {', '.join(METHODS)}, got {args.method!r}")
    credentials = provider_factory(environ).get_credentials()
    result = explain(args.url, credentials=credentials, now=datetime.now(timezone.utc), headers=headers,
                     method=method, bucket=args.bucket)
    stdout.write(result.render())
    return 0 if result.valid else 1
