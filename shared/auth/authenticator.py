"""Who is calling: an API key, an HS256 JWT, or the principal a trusted gateway vouches for.

Methods are tried in that order, and the first credential presented decides: a bad API key or token
never falls through to the next method. A header of a method that is not configured is ignored (a
gateway may forward its own ``Authorization``). Every refusal is one ``Unauthenticated`` with one of
two messages, so the caller learns nothing about which check failed; ``detail`` tells the log, and
never carries the key, the token or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.auth.jwt import INVALID_CREDENTIALS, MIN_SECRET_BYTES, JwtVerifier, encode_jwt
from shared.errors import ConfigError, Unauthenticated

__all__ = ["AUTH_REQUIRED", "INVALID_CREDENTIALS", "WWW_AUTHENTICATE", "Authenticator", "Principal",
           "encode_jwt", "hash_api_key"]

WWW_AUTHENTICATE = 'Bearer realm="presign", ApiKey realm="presign", header="X-Api-Key"'
AUTH_REQUIRED = "authentication required: send X-Api-Key or Authorization: Bearer <token>"
VIAS = ("api_key", "jwt", "gateway")
MAX_API_KEY_CHARS = 1024
MAX_NAME_CHARS = 256
MAX_PREFIX_CHARS = 1023  # the longest object key

# Character sets rather than regular expressions: compiling those cost a cold start ~0.5 ms.
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_TOKEN_CHARS = frozenset("!#$%&'*+.^_`|~-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")  # RFC 9110
_CREDENTIAL_HEADERS = ("x-api-key", "authorization")


class Principal:
    """An authenticated caller: its name, how it proved it, and a key prefix that narrows its policy."""

    __slots__ = ("name", "via", "prefix")

    name: str
    via: str
    prefix: str | None

    def __init__(self, name: str, via: str, prefix: str | None = None) -> None:
        if via not in VIAS:
            raise ValueError(f"via must be one of {', '.join(VIAS)}, got {via!r}")
        for field, value in (("name", name), ("via", via), ("prefix", prefix)):
            object.__setattr__(self, field, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Principal is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Principal is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Principal):
            return NotImplemented
        return (self.name, self.via, self.prefix) == (other.name, other.via, other.prefix)

    def __hash__(self) -> int:
        return hash((self.name, self.via, self.prefix))

    def __repr__(self) -> str:
        return f"Principal(name={self.name!r}, via={self.via!r}, prefix={self.prefix!r})"


def hash_api_key(key: str) -> str:
    """Return the SHA-256 hex digest that goes into ``PRESIGN_API_KEYS`` in place of the key."""
    if not _valid_api_key(key):
        raise ValueError(f"an API key is 1..{MAX_API_KEY_CHARS} printable ASCII characters without spaces")
    return hashlib.sha256(key.encode("ascii")).hexdigest()


class Authenticator:
    """Turns a request's lower-cased headers into a Principal, or refuses with Unauthenticated."""

    __slots__ = ("_api_keys", "_jwt", "_gateway_header")

    def __init__(self, *, api_keys: Sequence[tuple[str, bytes]] = (), jwt_secrets: Sequence[bytes] = (),
                 jwt_issuer: str | None = None, jwt_audience: str | None = None,
                 gateway_header: str | None = None) -> None:
        if not (api_keys or jwt_secrets or gateway_header):
            raise ConfigError("PRESIGN_API_KEYS", "no authentication configured: set PRESIGN_API_KEYS, "
                                                  "PRESIGN_JWT_SECRET or PRESIGN_TRUST_GATEWAY")
        if any(len(digest) != 32 for _, digest in api_keys):
            raise ValueError("api_keys holds (principal, 32-byte SHA-256 digest) pairs")
        self._api_keys = tuple(api_keys)
        self._jwt = JwtVerifier(jwt_secrets, issuer=jwt_issuer, audience=jwt_audience)
        self._gateway_header = gateway_header.lower() if gateway_header else None

    @classmethod
    def from_settings(cls, *, api_keys: str | None, jwt_secrets: str | None, jwt_issuer: str | None,
                      jwt_audience: str | None, trust_gateway: bool,
                      gateway_header: str | None) -> Authenticator:
        """Check the raw ``PRESIGN_*`` values once; anything wrong is a ConfigError naming its variable."""
        jwt_issuer, jwt_audience = _text(jwt_issuer), _text(jwt_audience)
        secrets = _parse_secrets(jwt_secrets)
        for variable, value in (("PRESIGN_JWT_ISSUER", jwt_issuer), ("PRESIGN_JWT_AUDIENCE", jwt_audience)):
            if value and not secrets:
                raise ConfigError(variable, f"{variable} is set but PRESIGN_JWT_SECRET is not")
        return cls(api_keys=_parse_api_keys(api_keys), jwt_secrets=secrets, jwt_issuer=jwt_issuer,
                   jwt_audience=jwt_audience, gateway_header=_gateway_header(trust_gateway, gateway_header))

    def __repr__(self) -> str:
        return (f"Authenticator(api_keys={len(self._api_keys)}, jwt_secrets={len(self._jwt)}, "
                f"gateway_header={self._gateway_header!r})")

    def configures(self, name: str, via: str) -> bool:
        """True while the configuration admits this principal this way: an API key of that name, JWT, the gateway."""
        if via == "api_key":
            return any(name == known for known, _ in self._api_keys)  # names are not secret: the link shows it
        if via == "jwt":
            return bool(self._jwt)
        return via == "gateway" and self._gateway_header is not None

    def authenticate(self, headers: Mapping[str, str], *, now: datetime) -> Principal:
        """Return the caller the first presented credential proves, or raise Unauthenticated."""
        if now.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        ignored: list[str] = []
        api_key = headers.get("x-api-key")
        if api_key is not None:
            if self._api_keys:
                return self._by_api_key(api_key)
            ignored.append("X-Api-Key (API keys not configured)")
        scheme, token = _authorization(headers.get("authorization"))
        if scheme == "bearer":
            if self._jwt:
                return self._by_jwt(token, now.timestamp())
            ignored.append("Bearer token (JWT not configured)")
        elif scheme:
            ignored.append("Authorization (not Bearer)")
        if self._gateway_header is not None and self._gateway_header in headers:
            return self._by_gateway(headers[self._gateway_header])
        detail = "no credentials presented" + (f"; ignored {', '.join(ignored)}" if ignored else "")
        raise Unauthenticated(AUTH_REQUIRED, detail=detail)

    def _by_api_key(self, key: str) -> Principal:
        if not _valid_api_key(key):
            raise _invalid("malformed api key")
        presented = hashlib.sha256(key.encode("ascii")).digest()
        found = None
        for name, digest in self._api_keys:  # every entry, no early exit: timing tells no position
            if hmac.compare_digest(presented, digest):
                found = name
        if found is None:
            raise _invalid("unknown api key")
        return Principal(found, "api_key")

    def _by_jwt(self, token: str, now: float) -> Principal:
        claims = self._jwt.claims(token, now)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not _valid_name(subject):
            raise _invalid("sub claim missing or not a valid principal name")
        prefix = claims.get("prefix")
        if "prefix" in claims and not (isinstance(prefix, str) and 0 < len(prefix) <= MAX_PREFIX_CHARS):
            raise _invalid("prefix claim is not a non-empty string")  # null or "" must not mean "everything"
        return Principal(subject, "jwt", prefix if isinstance(prefix, str) else None)

    def _by_gateway(self, name: str) -> Principal:
        if not _valid_name(name):
            raise _invalid("gateway principal header is empty, too long or not printable")
        return Principal(name, "gateway")


def _authorization(value: str | None) -> tuple[str, str]:
    """Split an Authorization header into its lower-cased scheme and the rest; ("", "") when absent."""
    if value is None:
        return "", ""
    scheme, _, credentials = value.strip().partition(" ")
    return scheme.lower(), credentials.lstrip(" ")


def _invalid(detail: str) -> Unauthenticated:
    return Unauthenticated(INVALID_CREDENTIALS, detail=detail)


def _valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME_CHARS and name.isprintable() and name == name.strip() and name != "*"


def _valid_api_key(key: str) -> bool:
    return 0 < len(key) <= MAX_API_KEY_CHARS and key.isascii() and key.isprintable() and " " not in key


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _parse_api_keys(raw: str | None) -> list[tuple[str, bytes]]:
    """Parse ``principal:sha256hex,...``; errors name the entry's position, never its hash."""
    entries: list[tuple[str, bytes]] = []
    text = _text(raw)
    if not text:
        return entries
    for position, entry in enumerate(text.split(","), start=1):
        name, colon, digest = entry.strip().rpartition(":")
        problem = None
        if not colon or not name:
            problem = "expected principal:sha256hex"
        elif not _valid_name(name):
            problem = f"the principal name must be 1..{MAX_NAME_CHARS} printable characters, not '*'"
        elif not (len(digest) == 64 and set(digest) <= _HEX_DIGITS):
            problem = f"the hash must be 64 hex digits (sha256 of the key), got {len(digest)} characters"
        elif bytes.fromhex(digest) in {known for _, known in entries}:
            problem = "repeats the hash of an earlier entry"
        if problem:
            raise ConfigError("PRESIGN_API_KEYS", f"PRESIGN_API_KEYS entry {position}: {problem}")
        entries.append((name, bytes.fromhex(digest)))
    return entries


def _parse_secrets(raw: str | None) -> list[bytes]:
    """Split ``PRESIGN_JWT_SECRET`` into its rotation list; each secret must be at least 32 bytes."""
    text = _text(raw)
    if not text:
        return []
    secrets = [secret.strip().encode("utf-8") for secret in text.split(",")]
    for position, secret in enumerate(secrets, start=1):
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError("PRESIGN_JWT_SECRET", f"PRESIGN_JWT_SECRET secret {position} is shorter than "
                                                    f"{MIN_SECRET_BYTES} bytes")
    return secrets


def _gateway_header(trust_gateway: bool, name: str | None) -> str | None:
    """Return the lower-cased header the gateway sets, when trusting it."""
    name = _text(name)
    if not trust_gateway:
        return None
    variable = "PRESIGN_GATEWAY_PRINCIPAL_HEADER"
    if not name:
        raise ConfigError(variable, f"PRESIGN_TRUST_GATEWAY=true needs {variable}, the header the gateway "
                                    "sets to the principal it authenticated")
    if not set(name) <= _TOKEN_CHARS or name.lower() in _CREDENTIAL_HEADERS:
        raise ConfigError(variable, f"{variable} must be a header name, other than X-Api-Key and "
                                    "Authorization")
    return name.lower()
