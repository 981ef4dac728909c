"""The steps of OSS Signature V4, named after the specification, each a small pure function.

    canonical_request = method \\n canonical_uri \\n canonical_query \\n canonical_headers \\n
                        additional_headers \\n UNSIGNED-PAYLOAD
    string_to_sign    = OSS4-HMAC-SHA256 \\n timestamp \\n credential_scope \\n hex(sha256(canonical_request))
    signing_key       = HMAC chain over "aliyun_v4" + secret: date, region, product, "aliyun_v4_request"
    signature         = hex(hmac_sha256(signing_key, string_to_sign))

``shared.oss.signer`` assembles them into presigned URLs and signed requests; the local bucket checks
requests with the same steps, so there is one canonicalisation, not two.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from functools import lru_cache

from shared.errors import InvalidArgument

ALGORITHM = "OSS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Query parameters the signature itself writes; a caller may not supply them.
RESERVED_PARAMS = frozenset({
    "x-oss-signature", "x-oss-signature-version", "x-oss-date", "x-oss-expires",
    "x-oss-credential", "x-oss-security-token", "x-oss-additional-headers",
})
_DEFAULT_SIGNED = ("content-type", "content-md5")
# RFC 9110 section 5.6.2: a field name is a token; no client can send a name with any other character.
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
# Lookup tables: a byte (or an ASCII character's code) to itself or to its %XX escape.
_ENCODED = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))
_ENCODED_KEEP_SLASH = tuple("/" if b == 0x2F else e for b, e in enumerate(_ENCODED))
_ASCII, _ASCII_KEEP_SLASH = _ENCODED[:128], _ENCODED_KEEP_SLASH[:128]
_sha256 = hashlib.sha256
_hmac_new = hmac.new


def credential_scope(date: str, region: str, product: str) -> str:
    """Return ``<yyyymmdd>/<region>/<product>/aliyun_v4_request``."""
    return f"{date}/{region}/{product}/aliyun_v4_request"


def signing_key(secret: str, date: str, region: str, product: str) -> bytes:
    """Derive the day's signing key (``signing_hmac`` caches it per scope)."""
    key = ("aliyun_v4" + secret).encode("utf-8")
    for part in (date, region, product, "aliyun_v4_request"):
        key = _hmac_new(key, part.encode("utf-8"), _sha256).digest()
    return key


def uri_encode(text: str, keep_slash: bool = False) -> str:
    """Percent-encode the UTF-8 of text but RFC 3986 unreserved characters (and ``/`` when asked)."""
    if text.isascii():
        return text.translate(_ASCII_KEEP_SLASH if keep_slash else _ASCII)
    table = _ENCODED_KEEP_SLASH if keep_slash else _ENCODED
    return "".join(map(table.__getitem__, text.encode("utf-8")))


def canonical_uri(bucket: str | None, key: str | None) -> str:
    """Return ``/bucket/key`` with everything but unreserved characters and ``/`` encoded."""
    if bucket is None:
        return "/"
    return f"/{bucket}/{uri_encode(key or '', True)}"


def encode_params(params: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """Percent-encode every name and value (``/`` too); a None or empty value is a bare name.

    Names the signature writes itself (``x-oss-signature``, ``x-oss-date`` ...) are refused.
    """
    return [(_encode_name(name), _encode_value(name, value)) for name, value in params.items()]


def query_parts(params: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """Each parameter as (encoded name, its ``name=value`` text), checked as ``encode_params`` checks them.

    The same few parameters recur (response-content-type ...), so string values come from a cache.
    """
    parts = []
    for name, value in params.items():
        if value is None or type(value) is str:
            parts.append(_cached_query_part(name, value))
        else:
            parts.append(_query_part(name, value))  # refused there (and maybe unhashable): kept out of the cache
    return parts


def _query_part(name: str, value: str | None) -> tuple[str, str]:
    encoded = _encode_name(name)
    text = _encode_value(name, value)
    return encoded, f"{encoded}={text}" if text else encoded


_cached_query_part = lru_cache(maxsize=1024)(_query_part)


@lru_cache(maxsize=512)
def _encode_name(name: str) -> str:
    """Encode and check a query parameter name: few distinct names recur, so remember them."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument("params", "query parameter names must be non-empty strings")
    if name.lower() in RESERVED_PARAMS:
        raise InvalidArgument("params", f"query parameter {name!r} is written by the signature itself")
    return uri_encode(name)


def _encode_value(name: str, value: str | None) -> str:
    if value:
        if type(value) is not str:
            raise InvalidArgument("params", f"query parameter {name!r} must be a string")
        return uri_encode(value)
    if value is None or value == "":
        return ""
    raise InvalidArgument("params", f"query parameter {name!r} must be a string")


def canonical_query(encoded_pairs: Iterable[tuple[str, str]]) -> str:
    """Join encoded pairs sorted by encoded name; a pair with an empty value is its name alone."""
    return "&".join([f"{name}={value}" if value else name for name, value in sorted(encoded_pairs)])


def header_value(value: str) -> str:
    """A header value as OSS receives it: HTTP drops spaces and tabs around it (RFC 9110 section 5.5)."""
    return value.strip(" \t")


def normalize_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Lower-case header names and trim values once; refuse duplicates and values that could split a header."""
    lowered: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgument("headers", "header names and values must be strings")
        lower = name.strip().lower()
        if not lower or not _TOKEN_CHARS.issuperset(lower):
            raise InvalidArgument("headers", f"header name {name!r} is not a valid token")
        if any(c in value for c in "\r\n\0"):
            raise InvalidArgument("headers", f"header {name!r} has a CR, LF or NUL in its value")
        if lower in lowered:
            raise InvalidArgument("headers", f"header {lower!r} is given twice")
        lowered[lower] = header_value(value)
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


class KeyedSha256:
    """HMAC-SHA256 with the key's inner and outer pads hashed once (RFC 2104), for the hot path.

    ``hmac.new`` pays OpenSSL's MAC set-up on every call; copying two pre-keyed SHA-256 states is
    about twice as fast and gives the same digest.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # a SHA-256 block; signing keys are 32 bytes
        self._inner = _sha256(bytes(b ^ 0x36 for b in block))
        self._outer = _sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, message: str) -> str:
        inner = self._inner.copy()
        inner.update(message.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@lru_cache(maxsize=128)
def signing_hmac(secret: str, date: str, region: str, product: str) -> KeyedSha256:
    """The day's signing key, ready to sign; cached, so a URL costs one SHA-256 and one HMAC."""
    return KeyedSha256(signing_key(secret, date, region, product))
