"""OSS Signature V4 (OSS4-HMAC-SHA256): presigned URLs (query auth) and Authorization headers.

The steps are named after the specification:

    canonical_request = method \\n canonical_uri \\n canonical_query \\n canonical_headers \\n
                        additional_headers \\n UNSIGNED-PAYLOAD
    string_to_sign    = OSS4-HMAC-SHA256 \\n timestamp \\n credential_scope \\n hex(sha256(canonical_request))
    signing_key       = HMAC chain over "aliyun_v4" + secret: date, region, product, "aliyun_v4_request"
    signature         = hex(hmac_sha256(signing_key, string_to_sign))

The signing time is an argument (``presign``); ``presign_now`` reads the clock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import quote

from shared.credentials.value import Credentials
from shared.endpoints import Endpoint, check_bucket, default_endpoint, parse_endpoint
from shared.errors import InvalidArgument
from shared.object_keys import encode_key, needs_opaque_path

ALGORITHM = "OSS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_EXPIRES = 604_800  # OSS refuses V4 presigned URLs that live longer than 7 days
METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
# Query parameters the signature itself writes; a caller may not supply them.
RESERVED_PARAMS = frozenset({
    "x-oss-signature", "x-oss-signature-version", "x-oss-date", "x-oss-expires",
    "x-oss-credential", "x-oss-security-token", "x-oss-additional-headers",
})
_DEFAULT_SIGNED = ("content-type", "content-md5")
_sha256 = hashlib.sha256
_hmac_new = hmac.new


class PresignedUrl:
    """A presigned URL and what a client needs to use it: method, expiry, headers to send."""

    __slots__ = ("url", "method", "expires_at", "signed_headers", "signing_time",
                 "canonical_request", "string_to_sign")

    def __init__(self, url: str, method: str, expires_at: datetime, signed_headers: dict[str, str],
                 signing_time: datetime, canonical_request: str, string_to_sign: str) -> None:
        self.url = url
        self.method = method
        self.expires_at = expires_at
        self.signed_headers = signed_headers
        self.signing_time = signing_time
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign

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


def iso8601(moment: datetime) -> str:
    """Format an aware datetime as ``2025-03-04T05:06:07Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def credential_scope(date: str, region: str, product: str) -> str:
    """Return ``<yyyymmdd>/<region>/<product>/aliyun_v4_request``."""
    return f"{date}/{region}/{product}/aliyun_v4_request"


@lru_cache(maxsize=128)
def signing_key(secret: str, date: str, region: str, product: str) -> bytes:
    """Derive the day's signing key; cached, so a URL costs one SHA-256 and one HMAC."""
    key = ("aliyun_v4" + secret).encode("utf-8")
    for part in (date, region, product, "aliyun_v4_request"):
        key = _hmac_new(key, part.encode("utf-8"), _sha256).digest()
    return key


def canonical_uri(bucket: str | None, raw_key: bytes | None) -> str:
    """Return ``/bucket/key`` with everything but unreserved characters and ``/`` encoded."""
    if bucket is None:
        return "/"
    return "/" + bucket + "/" + quote(raw_key or b"", safe="/")


def encode_params(params: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """Percent-encode every name and value (``/`` too); a None or empty value is a bare name."""
    pairs = []
    for name, value in params.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgument("params", "query parameter names must be non-empty strings")
        if value is not None and not isinstance(value, str):
            raise InvalidArgument("params", f"query parameter {name!r} must be a string")
        pairs.append((quote(name, safe=""), quote(value, safe="") if value else ""))
    return pairs


def canonical_query(encoded_pairs: Iterable[tuple[str, str]]) -> str:
    """Join encoded pairs sorted by encoded name; a pair with an empty value is its name alone."""
    return "&".join(f"{name}={value}" if value else name for name, value in sorted(encoded_pairs))


def normalize_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Lower-case header names once; refuse duplicates and values that could split a header."""
    lowered: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgument("headers", "header names and values must be strings")
        lower = name.strip().lower()
        if not lower or any(c in lower for c in " \t\r\n\0:"):
            raise InvalidArgument("headers", f"header name {name!r} is not a valid token")
        if any(c in value for c in "\r\n\0"):
            raise InvalidArgument("headers", f"header {name!r} has a CR, LF or NUL in its value")
        if lower in lowered:
            raise InvalidArgument("headers", f"header {lower!r} is given twice")
        lowered[lower] = value
    return lowered


def is_default_signed(name: str) -> bool:
    """True for the headers V4 always signs: Content-Type, Content-MD5 and every x-oss-*."""
    return name.startswith("x-oss-") or name in _DEFAULT_SIGNED


def additional_signed(headers: Mapping[str, str], names: Iterable[str]) -> list[str]:
    """Return the additional headers to sign: lower-cased, sorted, present, not default-signed."""
    return sorted({n.lower() for n in names if not is_default_signed(n.lower()) and headers.get(n.lower())})


def signed_headers(headers: Mapping[str, str], additional: list[str]) -> dict[str, str]:
    """Select the headers the signature covers (the client must send exactly these)."""
    return {k: v for k, v in headers.items() if is_default_signed(k) or k in additional}


def canonical_headers(signed: Mapping[str, str]) -> str:
    """Return ``name:value\\n`` for each signed header, sorted by name."""
    return "".join(f"{name}:{signed[name]}\n" for name in sorted(signed))


def canonical_request(method: str, uri: str, query: str, headers_block: str,
                      additional: list[str], payload_hash: str = UNSIGNED_PAYLOAD) -> str:
    """Assemble the canonical request from its six parts."""
    return f"{method}\n{uri}\n{query}\n{headers_block}\n{';'.join(additional)}\n{payload_hash}"


def string_to_sign(timestamp: str, scope: str, canonical: str) -> str:
    """Return the string to sign for a canonical request."""
    digest = _sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def signature(key: bytes, to_sign: str) -> str:
    """Return the hex HMAC-SHA256 of the string to sign."""
    return _hmac_new(key, to_sign.encode("utf-8"), _sha256).hexdigest()


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
    check_expires(expires)
    req = _Prepared(credentials, bucket, key, region, signing_time, endpoint, method,
                    cname, path_style, cloudbox_id, product)
    lowered = normalize_headers(headers)
    additional = additional_signed(lowered, additional_headers)
    pairs = encode_params(params or {})
    for name, _ in pairs:
        if name.lower() in RESERVED_PARAMS:
            raise InvalidArgument("params", f"query parameter {name!r} is written by the signature itself")
    pairs.append(("x-oss-credential", quote(f"{credentials.access_key_id}/{req.scope}", safe="")))
    pairs.append(("x-oss-date", req.timestamp))
    pairs.append(("x-oss-expires", str(expires)))
    pairs.append(("x-oss-signature-version", ALGORITHM))
    if credentials.security_token:
        pairs.append(("x-oss-security-token", quote(credentials.security_token, safe="")))
    if additional:
        pairs.append(("x-oss-additional-headers", quote(";".join(additional), safe="")))
    query = canonical_query(pairs)
    signed = signed_headers(lowered, additional)
    canonical = canonical_request(req.method, req.uri, query, canonical_headers(signed), additional)
    to_sign = string_to_sign(req.timestamp, req.scope, canonical)
    sig = signature(req.key_for(credentials), to_sign)
    url = f"{req.url_prefix}?{query}&x-oss-signature={sig}"
    return PresignedUrl(url, req.method, req.when + timedelta(seconds=expires), signed,
                        req.when, canonical, to_sign)


def presign_now(credentials: Credentials, **request: object) -> PresignedUrl:
    """``presign`` at the current time."""
    return presign(credentials, signing_time=datetime.now(timezone.utc), **request)  # type: ignore[arg-type]


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
    sig = signature(req.key_for(credentials), to_sign)
    extra = f",AdditionalHeaders={';'.join(additional)}" if additional else ""
    lowered["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{req.scope}{extra},Signature={sig}"
    )
    url = f"{req.url_prefix}?{query}" if query else req.url_prefix
    return SignedRequest(url, req.method, lowered)


class _Prepared:
    """What presigning and header signing share: checked inputs, scope, canonical URI, URL prefix."""

    __slots__ = ("method", "when", "timestamp", "region", "product", "scope", "uri", "url_prefix")

    def __init__(self, credentials: Credentials, bucket: str, key: str | None, region: str,
                 signing_time: datetime, endpoint: str | Endpoint | None, method: str,
                 cname: bool, path_style: bool, cloudbox_id: str | None, product: str | None) -> None:
        if not isinstance(credentials, Credentials):
            raise TypeError(f"credentials must be Credentials, got {type(credentials).__name__}")
        self.method = _check_method(method)
        _check_region(region)
        check_bucket(bucket)
        raw_key = None if key is None else encode_key(key)
        site = _resolve_endpoint(endpoint, region, cloudbox_id, cname, path_style)
        self.when = _whole_seconds_utc(signing_time)
        self.timestamp = f"{self.when:%Y%m%dT%H%M%SZ}"
        self.region = cloudbox_id or region  # CloudBox signs with the box id in the region's place
        self.product = product or ("oss-cloudbox" if cloudbox_id else "oss")
        self.scope = credential_scope(self.timestamp[:8], self.region, self.product)
        self.uri = canonical_uri(bucket, raw_key)
        if key is None:
            path = ""
        elif needs_opaque_path(key):
            path = quote(raw_key, safe="")  # type: ignore[arg-type]
        else:
            path = self.uri[len(bucket) + 2:]  # the canonical encoding already suits the URL
        self.url_prefix = site.base_url(bucket) + path

    def key_for(self, credentials: Credentials) -> bytes:
        """Return the cached signing key for this request's date and scope."""
        return signing_key(credentials.access_key_secret, self.timestamp[:8], self.region, self.product)


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


def _whole_seconds_utc(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise TypeError("signing_time must be a timezone-aware datetime")
    return moment.astimezone(timezone.utc).replace(microsecond=0)
