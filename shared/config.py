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
