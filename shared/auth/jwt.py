"""HS256 JSON Web Tokens with the standard library: strict parsing, constant-time checks, claims.

Only HS256 is accepted; ``alg: none`` and every other algorithm are refused before any key is used.
Every refusal is ``Unauthenticated("invalid credentials")`` whose ``detail`` (for the log) says which
check failed; it never carries the token or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping, Sequence

from shared.errors import Unauthenticated

INVALID_CREDENTIALS = "invalid credentials"
LEEWAY = 60  # seconds of clock skew allowed on exp, nbf and iat
MAX_TOKEN_CHARS = 8192
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key must be at least as long as the hash
# RFC 7515 2: no padding, no whitespace (a set: a compiled pattern costs a cold start)
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def encode_jwt(claims: Mapping[str, object], secret: str) -> str:
    """Mint an HS256 JWT (for tests and operators' tools; the service itself only verifies)."""
    header = _b64encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64encode(json.dumps(dict(claims), separators=(",", ":")).encode("utf-8"))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64encode(signature)}"


class JwtVerifier:
    """Verifies HS256 tokens against every configured secret (rotation), then their time claims."""

    __slots__ = ("_keys", "_issuer", "_audience")

    def __init__(self, secrets: Sequence[bytes], *, issuer: str | None = None, audience: str | None = None) -> None:
        if any(len(secret) < MIN_SECRET_BYTES for secret in secrets):
            raise ValueError(f"every JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        self._keys = tuple(hmac.new(secret, digestmod=hashlib.sha256) for secret in secrets)
        self._issuer = issuer
        self._audience = audience

    def __len__(self) -> int:
        return len(self._keys)

    def claims(self, token: str, now: float) -> dict[str, object]:
        """Return the payload of a valid token at ``now`` (seconds since the epoch)."""
        claims = self._verified_claims(token)
        _check_times(claims, now)
        self._check_issuer_and_audience(claims)
        return claims

    def _verified_claims(self, token: str) -> dict[str, object]:
        if not token:
            raise _invalid("empty bearer token")
        if len(token) > MAX_TOKEN_CHARS:
            raise _invalid("token over 8 KiB")
        if not token.isascii():
            raise _invalid("token is not ASCII")
        segments = token.split(".")
        if len(segments) != 3:
            raise _invalid(f"token has {len(segments)} segments, not 3")
        header = _decode_json(segments[0], "header")
        if "alg" not in header:
            raise _invalid("alg missing")
        if header["alg"] != "HS256":
            raise _invalid("alg not allowed (only HS256)")
        if "crit" in header:
            raise _invalid("crit header not supported")
        if not self._signature_matches(f"{segments[0]}.{segments[1]}", segments[2]):
            raise _invalid("bad signature")
        return _decode_json(segments[1], "payload")

    def _signature_matches(self, signing_input: str, signature: str) -> bool:
        try:
            presented = _b64decode(signature)
        except ValueError:
            return False
        message = signing_input.encode("ascii")
        matched = False
        for key in self._keys:  # every secret, no early exit
            mac = key.copy()
            mac.update(message)
            matched |= hmac.compare_digest(mac.digest(), presented)
        return matched

    def _check_issuer_and_audience(self, claims: Mapping[str, object]) -> None:
        if self._issuer is not None and claims.get("iss") != self._issuer:
            raise _invalid("wrong issuer" if "iss" in claims else "iss claim missing")
        if self._audience is None:
            if "aud" in claims:  # RFC 7519 4.1.3: a token for a named audience is not for us
                raise _invalid("token names an audience but PRESIGN_JWT_AUDIENCE is not set")
            return
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or self._audience not in audiences:
            raise _invalid("wrong audience" if "aud" in claims else "aud claim missing")

def _check_times(claims: Mapping[str, object], now: float) -> None:
    """Apply exp (required), nbf and iat (optional), each with LEEWAY seconds of clock skew."""
    if "exp" not in claims:
        raise _invalid("exp claim missing")
    times: dict[str, float] = {}
    for name in ("exp", "nbf", "iat"):
        if name in claims:
            value = claims[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise _invalid(f"{name} claim is not a number")
            times[name] = float(value)
    if now >= times["exp"] + LEEWAY:
        raise _invalid("token expired")
    if "nbf" in times and now < times["nbf"] - LEEWAY:
        raise _invalid("token not yet valid (nbf)")
    if "iat" in times and times["iat"] > now + LEEWAY:
        raise _invalid("token issued in the future (iat)")


def _decode_json(segment: str, part: str) -> dict[str, object]:
    """Decode one token segment: strict base64url, then a JSON object."""
    try:  # a repeated name keeps its last value, as RFC 7515 4 allows
        document = json.loads(_b64decode(segment).decode("utf-8"))
    except (ValueError, RecursionError):
        raise _invalid(f"malformed token {part}") from None
    if not isinstance(document, dict):
        raise _invalid(f"token {part} is not a JSON object")
    return document


def _b64encode(raw: bytes) -> str:
    import base64  # a token's first use, not the cold start, pays for it

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(segment: str) -> bytes:
    """Decode unpadded base64url; padding, whitespace, other alphabets and stray bits are refused."""
    if not segment or not set(segment) <= _BASE64URL or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    import base64

    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if _b64encode(raw) != segment:  # non-zero unused bits: a second spelling of the same bytes
        raise ValueError("not canonical base64url")
    return raw


def _invalid(detail: str) -> Unauthenticated:
    return Unauthenticated(INVALID_CREDENTIALS, detail=detail)
