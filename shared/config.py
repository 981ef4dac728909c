"""The one configuration loader: every environment variable the package reads is read here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from shared.errors import ConfigError, InvalidArgument

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


class LinksSettings(PresignSettings):
    """The presign settings (authentication, policy, signing) plus the ``LINK_*`` variables, checked once."""

    __slots__ = ("signing_keys", "bind_ip", "revoked_ids", "not_before", "revocation_object", "fail_open",
                 "base_url")

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(environ)
        self.signing_keys = _text(environ, "LINK_SIGNING_KEYS")  # parsed (and checked) by LinkSigner
        self.bind_ip = flag(environ, "LINK_BIND_IP")
        self.revoked_ids = _link_ids(environ, "LINK_REVOKED_IDS")
        self.not_before = _utc_time(environ, "LINK_NOT_BEFORE")
        self.revocation_object = _object(environ, "LINK_REVOCATION_OBJECT", self.signing.bucket)
        self.fail_open = flag(environ, "LINK_REVOCATION_FAIL_OPEN")
        self.base_url = _base_url(environ, "LINK_BASE_URL")

    def __repr__(self) -> str:
        return f"LinksSettings({self.signing!r}, base_url={self.base_url!r})"


def _link_ids(environ: Mapping[str, str], name: str) -> frozenset[str]:
    """Link ids separated by commas or white space; each one 16 base64url characters."""
    from shared.links.tokens import is_link_id

    ids = frozenset((environ.get(name) or "").replace(",", " ").split())
    for link_id in sorted(ids):
        if not is_link_id(link_id):
            raise ConfigError(name, f"{name} holds {link_id[:32]!r}, which is not a link id (16 characters "
                                    "of A-Z, a-z, 0-9, '-' and '_')")
    return ids


def _utc_time(environ: Mapping[str, str], name: str) -> datetime | None:
    from shared.links.revocation import parse_utc_time

    raw = _text(environ, name)
    try:
        return parse_utc_time(raw) if raw else None
    except ValueError as exc:
        raise ConfigError(name, f"{name} {exc}") from None


def _object(environ: Mapping[str, str], name: str, default_bucket: str | None) -> tuple[str, str] | None:
    """``oss://bucket/key``, or a key in ``OSS_BUCKET``."""
    from shared.oss.endpoints import check_bucket
    from shared.oss.object_keys import check_object_name

    raw = _text(environ, name)
    if raw is None:
        return None
    bucket, key = raw[6:].partition("/")[::2] if raw.startswith("oss://") else (default_bucket, raw)
    if bucket is None:
        raise ConfigError(name, f"{name} names a key but OSS_BUCKET is not set: write oss://bucket/key")
    try:
        check_bucket(bucket)
        check_object_name(key)
    except InvalidArgument as exc:
        raise ConfigError(name, f"{name} is not oss://bucket/key or a key: {exc.message}") from None
    return bucket, key


def _base_url(environ: Mapping[str, str], name: str) -> str | None:
    raw = _text(environ, name)
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not (parts.query or parts.fragment)
        _ = parts.port  # a port that is not a number 0..65535 raises ValueError
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(name, f"{name} must be an http or https URL without query or fragment, such as "
                                f"https://links.example.com, got {raw[:100]!r}")
    return raw.rstrip("/")


class OnCreatedSettings:
    """Everything the object-created function reads from the environment, checked once (cold start)."""

    __slots__ = ("signing", "rules", "budget", "concurrency", "attempts", "attempt_timeout", "link_signing_keys",
                 "link_base_url")

    def __init__(self, environ: Mapping[str, str]) -> None:
        from shared.object_created.rules import parse_rules

        self.signing = load_signing_defaults(environ)
        if not self.signing.region:
            raise ConfigError("OSS_REGION", "OSS_REGION is required, for example cn-hangzhou")
        if self.signing.cname and not self.signing.endpoint:
            raise ConfigError("OSS_ENDPOINT", "OSS_CNAME=true needs OSS_ENDPOINT set to the custom domain")
        self.rules = parse_rules(_inline_or_file(environ, "ON_CREATED_RULES"))
        self.budget = whole_number(environ, "ON_CREATED_BUDGET", 30, high=900, unit="seconds ")
        self.attempts = whole_number(environ, "ON_CREATED_ATTEMPTS", 4, high=10)
        self.attempt_timeout = whole_number(environ, "ON_CREATED_ATTEMPT_TIMEOUT", 5, high=60, unit="seconds ")
        self.concurrency = whole_number(environ, "ON_CREATED_CONCURRENCY", 4, high=16)
        self.link_signing_keys = _text(environ, "LINK_SIGNING_KEYS")  # checked by LinkSigner, when used
        self.link_base_url = _base_url(environ, "LINK_BASE_URL")
        if self.rules.uses("redirect") and not (self.link_signing_keys and self.link_base_url):
            raise ConfigError("LINK_SIGNING_KEYS" if not self.link_signing_keys else "LINK_BASE_URL",
                              "redirect links need the links function: LINK_SIGNING_KEYS and LINK_BASE_URL")

    def __repr__(self) -> str:
        return f"OnCreatedSettings({self.signing!r}, {self.rules!r})"  # the rest may hold secrets


def whole_number(environ: Mapping[str, str], name: str, default: int, *, high: int, unit: str = "") -> int:
    """Read a whole number 1..high (``unit`` such as ``"seconds "`` for the message)."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ConfigError(name, f"{name} must be a whole number {'of ' + unit if unit else ''}from 1 to {high}, "
                                f"got {raw[:32]!r}")
    return int(raw)


def _inline_or_file(environ: Mapping[str, str], name: str) -> str:
    """The variable's text, or the UTF-8 text of the file it names as ``@path``."""
    raw = _text(environ, name)
    if raw is None:
        raise ConfigError(name, f"{name} is required: a JSON list of rules, inline or @path/to/rules.json")
    if not raw.startswith("@"):
        return raw
    path = raw[1:].strip()
    if not path:
        raise ConfigError(name, f"{name}: '@' must be followed by a file path")
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(name, f"{name}: cannot read {path}: {reason}") from None
