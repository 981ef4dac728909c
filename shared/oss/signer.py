"""OSS Signature V4 (OSS4-HMAC-SHA256): presigned URLs (query auth) and Authorization headers.

This module checks the inputs and assembles the steps of ``shared.oss.canonical`` (canonical request,
string to sign, signing key, signature) into URLs. The signing time is an argument (``presign``);
``presign_now`` reads the clock.

What repeats from one URL to the next is worked out once and cached: each bucket's checked site
(``shared.oss.endpoints.bucket_site``), each second's credential scope and x-oss-* query parameters,
recurring caller parameters (``query_parts``) and each day's signing key (``signing_hmac``). A
``shared.oss.presigner`` holds all of that for a run of URLs that differ only in key and parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from shared.clock import iso8601, utc_now
from shared.credentials.value import Credentials
from shared.errors import InvalidArgument
from shared.oss.canonical import (
    ALGORITHM,
    RESERVED_PARAMS,
    UNSIGNED_PAYLOAD,
    additional_signed,
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uri,
    credential_scope,
    encode_params,
    is_default_signed,
    normalize_headers,
    query_parts,
    signature,
    signed_headers,
    signing_hmac,
    signing_key,
    string_to_sign,
    uri_encode,
)
from shared.oss.endpoints import Endpoint, bucket_site, object_path
from shared.oss.expiry import MAX_V4_LIFETIME

MAX_EXPIRES = MAX_V4_LIFETIME  # OSS refuses V4 presigned URLs that live longer than 7 days
METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
# The steps are re-exported: callers may take them from here or from shared.oss.canonical.
__all__ = [
    "ALGORITHM", "MAX_EXPIRES", "METHODS", "RESERVED_PARAMS", "UNSIGNED_PAYLOAD", "PresignedUrl", "SignedRequest",
    "additional_signed", "canonical_headers", "canonical_query", "canonical_request", "canonical_uri",
    "check_expires", "credential_scope", "encode_params", "is_default_signed", "normalize_headers",
    "presign", "presign_now", "sign_request", "signature", "signed_headers", "signing_hmac", "signing_key",
    "string_to_sign", "uri_encode",
]


class PresignedUrl:
    """A presigned URL and what a client needs to use it: method, expiry, headers to send."""

    __slots__ = ("url", "method", "expires", "signed_headers", "signing_time",
                 "canonical_request", "string_to_sign")

    def __init__(self, url: str, method: str, expires: int, signed_headers: dict[str, str],
                 signing_time: datetime, canonical_request: str, string_to_sign: str) -> None:
        self.url = url
        self.method = method
        self.expires = expires
        self.signed_headers = signed_headers
        self.signing_time = signing_time
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign

    @property
    def expires_at(self) -> datetime:
        """When OSS stops accepting the URL: the signing time (whole seconds) plus expires."""
        return self.signing_time + timedelta(seconds=self.expires)

    def __repr__(self) -> str:
        # The URL carries the signature (and maybe a token): keep it out of reprs and logs.
        return f"PresignedUrl(method={self.method}, expires_at={iso8601(self.expires_at)})"

    def to_dict(self) -> dict[str, object]:
        """Return the JSON shape callers get: url, method, expires_at, signed_headers."""
        return {"url": self.url, "method": self.method, "expires_at": iso8601(self.expires_at),
                "signed_headers": dict(self.signed_headers)}


class SignedRequest:
    """An ordinary request signed with the Authorization header: URL, method and headers to send."""

    __slots__ = ("url", "method", "headers")

    def __init__(self, url: str, method: str, headers: dict[str, str]) -> None:
        self.url = url
        self.method = method
        self.headers = headers

    def __repr__(self) -> str:
        return f"SignedRequest(method={self.method})"


def presign(
    credentials: Credentials,
    *,
    bucket: str,
    key: str,
    region: str,
    signing_time: datetime,
    endpoint: str | Endpoint | None = None,
    method: str = "GET",
    expires: int = 900,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str | None] | None = None,
    additional_headers: Iterable[str] = (),
    cname: bool = False,
    path_style: bool = False,
    cloudbox_id: str | None = None,
    product: str | None = None,
) -> PresignedUrl:
    """Sign a URL that lets its holder send one request for one object until it expires."""
    if type(expires) is not int or not 1 <= expires <= MAX_EXPIRES:
        check_expires(expires)
    if type(credentials) is not Credentials:
        _refuse_credentials(credentials)
    method = method if method in METHODS else _check_method(method)
    site = bucket_site(bucket, region, endpoint, cname, path_style, cloudbox_id, product)
    when, timestamp = _signing_second(signing_time)
    uri, url_prefix = object_path(site, key)
    additional, signed = _presigned_headers(headers, additional_headers) if headers else ([], {})
    written = _signature_params(credentials.access_key_id, timestamp, site.region, site.product, expires,
                                credentials.security_token, tuple(additional) if additional else ())
    query = _presign_query(query_parts(params), written) if params else written.query
    canonical = canonical_request(method, uri, query, canonical_headers(signed) if signed else "", additional)
    to_sign = string_to_sign(timestamp, written.scope, canonical)
    sig = signing_hmac(credentials.access_key_secret, timestamp[:8], site.region, site.product).hexdigest(to_sign)
    return PresignedUrl(f"{url_prefix}?{query}&x-oss-signature={sig}", method, expires, signed, when, canonical,
                        to_sign)


def presign_now(credentials: Credentials, *, bucket: str, key: str, region: str,
                endpoint: str | Endpoint | None = None, method: str = "GET", expires: int = 900,
                headers: Mapping[str, str] | None = None, params: Mapping[str, str | None] | None = None,
                additional_headers: Iterable[str] = (), cname: bool = False, path_style: bool = False,
                cloudbox_id: str | None = None, product: str | None = None) -> PresignedUrl:
    """``presign`` at the current time."""
    return presign(credentials, bucket=bucket, key=key, region=region, signing_time=utc_now(), endpoint=endpoint,
                   method=method, expires=expires, headers=headers, params=params,
                   additional_headers=additional_headers, cname=cname, path_style=path_style,
                   cloudbox_id=cloudbox_id, product=product)


def sign_request(
    credentials: Credentials,
    *,
    bucket: str,
    key: str | None,
    region: str,
    signing_time: datetime,
    endpoint: str | Endpoint | None = None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str | None] | None = None,
    additional_headers: Iterable[str] = (),
    cname: bool = False,
    path_style: bool = False,
    cloudbox_id: str | None = None,
    product: str | None = None,
) -> SignedRequest:
    """Sign an ordinary request with the Authorization header (the payload is not signed)."""
    if type(credentials) is not Credentials:
        _refuse_credentials(credentials)
    method = method if method in METHODS else _check_method(method)
    site = bucket_site(bucket, region, endpoint, cname, path_style, cloudbox_id, product)
    _, timestamp = _signing_second(signing_time)
    scope = credential_scope(timestamp[:8], site.region, site.product)
    uri, url_prefix = object_path(site, key)
    lowered = normalize_headers(headers)
    lowered["x-oss-date"] = timestamp
    lowered["x-oss-content-sha256"] = UNSIGNED_PAYLOAD
    if credentials.security_token:
        lowered["x-oss-security-token"] = credentials.security_token
    additional = additional_signed(lowered, additional_headers)
    query = canonical_query(encode_params(params or {}))
    signed = signed_headers(lowered, additional)
    canonical = canonical_request(method, uri, query, canonical_headers(signed), additional)
    to_sign = string_to_sign(timestamp, scope, canonical)
    sig = signing_hmac(credentials.access_key_secret, timestamp[:8], site.region, site.product).hexdigest(to_sign)
    extra = f",AdditionalHeaders={';'.join(additional)}" if additional else ""
    lowered["authorization"] = f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}{extra},Signature={sig}"
    url = f"{url_prefix}?{query}" if query else url_prefix
    return SignedRequest(url, method, lowered)


def _refuse_credentials(credentials: object) -> None:
    raise TypeError(f"credentials must be Credentials, got {type(credentials).__name__}")


def _presigned_headers(headers: Mapping[str, str], names: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """The additional header names and the headers a presigned URL signs."""
    lowered = normalize_headers(headers)
    if lowered.get("x-oss-content-sha256", UNSIGNED_PAYLOAD) != UNSIGNED_PAYLOAD:
        # The query form always signs UNSIGNED-PAYLOAD: OSS refuses a URL that also signs a hash.
        raise InvalidArgument("headers", "a presigned URL cannot sign x-oss-content-sha256: it always signs "
                                         "UNSIGNED-PAYLOAD; leave the header out (or send Content-MD5 to bind "
                                         "the body)")
    additional = additional_signed(lowered, names) if names else []
    return additional, signed_headers(lowered, additional)


class _SignatureParams:
    """The credential scope and the x-oss-* query parameters the signature writes, encoded, sorted and joined."""

    __slots__ = ("scope", "parts", "query")

    def __init__(self, scope: str, parts: list[tuple[str, str]]) -> None:
        self.scope = scope
        self.parts = tuple(sorted(parts))  # (encoded name, "name=value")
        self.query = "&".join([text for _, text in self.parts])


@lru_cache(maxsize=256)
def _signature_params(access_key_id: str, timestamp: str, region: str, product: str, expires: int,
                      security_token: str | None, additional: tuple[str, ...]) -> _SignatureParams:
    """Build them once: within one second they repeat for every URL signed with one key pair and lifetime."""
    scope = credential_scope(timestamp[:8], region, product)
    values = [("x-oss-credential", uri_encode(f"{access_key_id}/{scope}")), ("x-oss-date", timestamp),
              ("x-oss-expires", str(expires)), ("x-oss-signature-version", ALGORITHM)]
    if security_token:
        values.append(("x-oss-security-token", uri_encode(security_token)))
    if additional:
        values.append(("x-oss-additional-headers", uri_encode(";".join(additional))))
    return _SignatureParams(scope, [(name, f"{name}={value}") for name, value in values])


def _presign_query(parts: list[tuple[str, str]], written: _SignatureParams) -> str:
    """The canonical query of the caller's parts and the signature's: ``canonical_query``, sorted by encoded name."""
    parts.sort()
    if parts[-1][0] >= written.parts[0][0]:  # a caller name sorts among the x-oss-* names
        parts += written.parts
        parts.sort()
        return "&".join([text for _, text in parts])
    # The usual case: every caller name sorts before the x-oss-* names, whose text is joined already.
    texts = [text for _, text in parts]
    texts.append(written.query)
    return "&".join(texts)


def _check_method(method: str) -> str:
    upper = method.upper() if isinstance(method, str) else method
    if upper not in METHODS:
        raise InvalidArgument("method", f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return upper


def check_expires(expires: int) -> None:
    """Raise InvalidArgument unless expires is a whole number of seconds in 1..604800."""
    if isinstance(expires, bool) or not isinstance(expires, int):
        raise InvalidArgument("expires", f"expires must be a whole number of seconds, got {expires!r}")
    if not 1 <= expires <= MAX_EXPIRES:
        raise InvalidArgument("expires", f"expires must be 1..{MAX_EXPIRES} seconds, got {expires}")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_last_second: tuple[int, datetime, str] = (-1, _EPOCH, "")


def _signing_second(moment: datetime) -> tuple[datetime, str]:
    """Return the signing time cut to whole seconds in UTC, and its ``yyyymmddThhmmssZ`` form.

    Many URLs are signed within the same second, so the last second's formatting is kept.
    """
    global _last_second
    if type(moment) is not datetime or moment.tzinfo is None:
        raise TypeError("signing_time must be a timezone-aware datetime")
    since = moment - _EPOCH
    seconds = since.days * 86400 + since.seconds
    last = _last_second
    if last[0] == seconds:
        return last[1], last[2]
    when = datetime.fromtimestamp(seconds, timezone.utc)
    stamp = f"{when.year:04d}{when.month:02d}{when.day:02d}T{when.hour:02d}{when.minute:02d}{when.second:02d}Z"
    _last_second = (seconds, when, stamp)
    return when, stamp
