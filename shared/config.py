"""The one configuration loader: every environment variable the package reads is read here."""

from __future__ import annotations

from collections.abc import Mapping

from shared.errors import ConfigError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class SigningDefaults:
    """Where URLs point unless a request says otherwise: bucket, region, endpoint, custom domain."""

    __slots__ = ("bucket", "region", "endpoint", "cname")

    def __init__(self, bucket: str | None, region: str | None, endpoint: str | None, cname: bool) -> None:
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint
        self.cname = cname

    def __repr__(self) -> str:
        return (f"SigningDefaults(bucket={self.bucket!r}, region={self.region!r}, "
                f"endpoint={self.endpoint!r}, cname={self.cname})")


def load_signing_defaults(environ: Mapping[str, str]) -> SigningDefaults:
    """Read ``OSS_BUCKET``, ``OSS_REGION``, ``OSS_ENDPOINT`` and ``OSS_CNAME``."""
    return SigningDefaults(
        bucket=_text(environ, "OSS_BUCKET"),
        region=_text(environ, "OSS_REGION"),
        endpoint=_text(environ, "OSS_ENDPOINT"),
        cname=flag(environ, "OSS_CNAME"),
    )


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    """Read a boolean variable; anything but a clear yes or no is a ConfigError naming it."""
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"{name} must be true or false, got {raw!r}")


class PresignSettings:
    """Everything the presign and links functions read from the environment, checked once."""

    __slots__ = ("signing", "default_expires", "max_expires", "api_keys", "jwt_secrets", "jwt_issuer",
                 "jwt_audience", "trust_gateway", "gateway_header", "policy")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.signing = load_signing_defaults(environ)
        if not self.signing.region:
            raise ConfigError("OSS_REGION", "OSS_REGION is required, for example cn-hangzhou")
        if self.signing.cname and not self.signing.endpoint:
            raise ConfigError("OSS_ENDPOINT", "OSS_CNAME=true needs OSS_ENDPOINT set to the custom domain")
        self.default_expires = seconds(environ, "PRESIGN_DEFAULT_EXPIRES", 900)
        self.max_expires = seconds(environ, "PRESIGN_MAX_EXPIRES", None)
        self.api_keys = _text(environ, "PRESIGN_API_KEYS")
        self.jwt_secrets = _text(environ, "PRESIGN_JWT_SECRET")
        self.jwt_issuer = _text(environ, "PRESIGN_JWT_ISSUER")
        self.jwt_audience = _text(environ, "PRESIGN_JWT_AUDIENCE")
        self.trust_gateway = flag(environ, "PRESIGN_TRUST_GATEWAY")
        self.gateway_header = _text(environ, "PRESIGN_GATEWAY_PRINCIPAL_HEADER")
        self.policy = _text(environ, "PRESIGN_POLICY")

    def __repr__(self) -> str:
        return f"PresignSettings({self.signing!r})"  # the rest may hold secrets


def seconds(environ: Mapping[str, str], name: str, default: int | None, *, high: int = 604_800) -> int | None:
    """Read a lifetime in whole seconds, 1..high."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ConfigError(name, f"{name} must be a whole number of seconds from 1 to {high}, got {raw!r}")
    return int(raw)
