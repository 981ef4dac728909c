"""The links function's settings: the presign settings plus the ``LINK_*`` variables, checked once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared import env
from shared.clock import parse_iso8601
from shared.config import PresignSettings
from shared.errors import ConfigError, InvalidArgument
from shared.links.tokens import is_link_id
from shared.oss.endpoints import check_bucket
from shared.oss.object_keys import check_object_name


class LinksSettings(PresignSettings):
    """The presign settings (authentication, policy, signing) plus the ``LINK_*`` variables, checked once."""

    __slots__ = ("signing_keys", "bind_ip", "revoked_ids", "not_before", "revocation_object", "fail_open",
                 "base_url")

    CORS_VARIABLE = "LINKS_CORS_ORIGINS"

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(environ)
        self.signing_keys = env.text(environ, "LINK_SIGNING_KEYS")  # parsed (and checked) by LinkSigner
        self.bind_ip = env.flag(environ, "LINK_BIND_IP")
        self.revoked_ids = _link_ids(environ, "LINK_REVOKED_IDS")
        self.not_before = _utc_time(environ, "LINK_NOT_BEFORE")
        self.revocation_object = _object(environ, "LINK_REVOCATION_OBJECT", self.signing.bucket)
        self.fail_open = env.flag(environ, "LINK_REVOCATION_FAIL_OPEN")
        self.base_url = env.base_url(environ, "LINK_BASE_URL")

    def __repr__(self) -> str:
        return f"LinksSettings({self.signing!r}, base_url={self.base_url!r})"


def _link_ids(environ: Mapping[str, str], name: str) -> frozenset[str]:
    """Link ids separated by commas or white space; each one 16 base64url characters."""
    ids = frozenset((environ.get(name) or "").replace(",", " ").split())
    for link_id in sorted(ids):
        if not is_link_id(link_id):
            raise ConfigError(name, f"{name} holds {link_id[:32]!r}, which is not a link id (16 characters "
                                    "of A-Z, a-z, 0-9, '-' and '_')")
    return ids


def _utc_time(environ: Mapping[str, str], name: str) -> datetime | None:
    raw = env.text(environ, name)
    try:
        return parse_iso8601(raw) if raw else None
    except ValueError as exc:
        raise ConfigError(name, f"{name} {exc}") from None


def _object(environ: Mapping[str, str], name: str, default_bucket: str | None) -> tuple[str, str] | None:
    """``oss://bucket/key``, or a key in ``OSS_BUCKET``."""
    raw = env.text(environ, name)
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
