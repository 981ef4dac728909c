"""OSS Signature V4 (OSS4-HMAC-SHA256): presigned URLs (query auth) and Authorization headers.

This module checks the inputs and assembles the steps of ``shared.oss.canonical`` (canonical request,
string to sign, signing key, signature) into URLs. The signing time is an argument (``presign``);
``presign_now`` reads the clock.
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
    signature,
    signed_headers,
    signing_hmac,
    signing_key,
    string_to_sign,
    uri_encode,
)
from shared.oss.endpoints import Endpoint, check_bucket, default_endpoint, parse_endpoint
from shared.oss.expiry import MAX_V4_LIFETIME
from shared.oss.object_keys import check_key, needs_opaque_path

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
    req = _Prepared(credentials, bucket, key, region, signing_time, endpoint, method,
                    cname, path_style, cloudbox_id, product)
    if headers:
        lowered = normalize_headers(headers)
        if lowered.get("x-oss-content-sha256", UNSIGNED_PAYLOAD) != UNSIGNED_PAYLOAD:
            # The query form always signs UNSIGNED-PAYLOAD: OSS refuses a URL that also signs a hash.
            raise InvalidArgument("headers", "a presigned URL cannot sign x-oss-content-sha256: it always signs "
                                             "UNSIGNED-PAYLOAD; leave the header out (or send Content-MD5 to bind "
                                             "the body)")
        additional = additional_signed(lowered, additional_headers) if additional_headers else []
        signed = signed_headers(lowered, additional)
    else:
        additional, signed = [], {}
    pairs = encode_params(params) if params else []
    pairs += (("x-oss-credential", _credential_param(credentials.access_key_id, req.scope)),
              ("x-oss-date", req.timestamp), ("x-oss-expires", str(expires)),
              ("x-oss-signature-version", ALGORITHM))
    if credentials.security_token:
        pairs.append(("x-oss-security-token", uri_encode(credentials.security_token)))
    if additional:
        pairs.append(("x-oss-additional-headers", uri_encode(";".join(additional))))
    query = canonical_query(pairs)
    canonical = canonical_request(req.method, req.uri, query, canonical_headers(signed) if signed else "",
                                  additional)
    to_sign = string_to_sign(req.timestamp, req.scope, canonical)
    sig = req.sign(credentials, to_sign)
    return PresignedUrl(f"{req.url_prefix}?{query}&x-oss-signature={sig}", req.method, expires, signed,
                        req.when, canonical, to_sign)


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
    req = _Prepared(credentials, bucket, key, region, signing_time, endpoint, method,
                    cname, path_style, cloudbox_id, product)
    lowered = normalize_headers(headers)
    lowered["x-oss-date"] = req.timestamp
    lowered["x-oss-content-sha256"] = UNSIGNED_PAYLOAD
    if credentials.security_token:
        lowered["x-oss-security-token"] = credentials.security_token
    additional = additional_signed(lowered, additional_headers)
    query = canonical_query(encode_params(params or {}))
    signed = signed_headers(lowered, additional)
    canonical = canonical_request(req.method, req.uri, query, canonical_headers(signed), additional)
    to_sign = string_to_sign(req.timestamp, req.scope, canonical)
    sig = req.sign(credentials, to_sign)
    extra = f",AdditionalHeaders={';'.join(additional)}" if additional else ""
    lowered["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{req.scope}{extra},Signature={sig}"
    )
    url = f"{req.url_prefix}?{query}" if query else req.url_prefix
    return SignedRequest(url, req.method, lowered)


class _Prepared:
    """What presigning and header signing share: checked inputs, scope, canonical URI, URL prefix."""

    __slots__ = ("method", "when", "timestamp", "date", "region", "product", "scope", "uri", "url_prefix")

    def __init__(self, credentials: Credentials, bucket: str, key: str | None, region: str,
                 signing_time: datetime, endpoint: str | Endpoint | None, method: str,
                 cname: bool, path_style: bool, cloudbox_id: str | None, product: str | None) -> None:
        if type(credentials) is not Credentials:
            raise TypeError(f"credentials must be Credentials, got {type(credentials).__name__}")
        self.method = method if method in METHODS else _check_method(method)
        base_url, self.region, self.product = _target(bucket, region, endpoint, cname, path_style,
                                                      cloudbox_id, product)
        self.when, self.timestamp = _signing_second(signing_time)
        self.date = self.timestamp[:8]
        self.scope = credential_scope(self.date, self.region, self.product)
        if key is None:
            self.uri, self.url_prefix = f"/{bucket}/", base_url
            return
        check_key(key)
        path = uri_encode(key, True)
        self.uri = f"/{bucket}/{path}"
        if ("/." in key or "//" in key or key[0] in "./") and needs_opaque_path(key):
            path = uri_encode(key)  # clients would rewrite this path: keep it one segment
        self.url_prefix = base_url + path

    def sign(self, credentials: Credentials, to_sign: str) -> str:
        """Return the signature, with the day's signing key from the cache."""
        keyed = signing_hmac(credentials.access_key_secret, self.date, self.region, self.product)
        return keyed.hexdigest(to_sign)


@lru_cache(maxsize=256)
def _target(bucket: str, region: str, endpoint: str | Endpoint | None, cname: bool, path_style: bool,
            cloudbox_id: str | None, product: str | None) -> tuple[str, str, str]:
    """Check bucket, region and endpoint once per combination; return URL base, scope region, product."""
    _check_region(region)
    check_bucket(bucket)
    site = _resolve_endpoint(endpoint, region, cloudbox_id, cname, path_style)
    # CloudBox signs with the box id in the region's place.
    return site.base_url(bucket), cloudbox_id or region, product or ("oss-cloudbox" if cloudbox_id else "oss")


@lru_cache(maxsize=256)
def _credential_param(access_key_id: str, scope: str) -> str:
    return uri_encode(f"{access_key_id}/{scope}")


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


def _check_region(region: str) -> None:
    if not isinstance(region, str) or not region:
        raise InvalidArgument("region", "region is required, for example cn-hangzhou")
    if not all(c.isascii() and (c.isalnum() or c == "-") for c in region):
        raise InvalidArgument("region", f"region {region!r} must be letters, digits and hyphens, like cn-hangzhou")


def _resolve_endpoint(endpoint: str | Endpoint | None, region: str, cloudbox_id: str | None,
                      cname: bool, path_style: bool) -> Endpoint:
    if isinstance(endpoint, Endpoint):
        return endpoint
    if endpoint is None:
        if cname:
            raise InvalidArgument("endpoint", "a custom domain (cname) needs its endpoint")
        endpoint = f"{cloudbox_id}.{region}.oss-cloudbox.aliyuncs.com" if cloudbox_id else default_endpoint(region)
    return parse_endpoint(endpoint, cname=cname, path_style=path_style)


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
