"""The settings every function shares, built once per instance from the environment (through ``shared.env``).

    SigningDefaults    where URLs point: OSS_BUCKET, OSS_REGION, OSS_ENDPOINT, OSS_CNAME
    PresignSettings    the presign function's: signing, lifetimes, authentication, policy text, CORS origins
    PresignUploadSettings  those and PRESIGN_MAX_UPLOAD_SIZE, for form uploads (the links function has none), and
                       PRESIGN_UPLOAD_KEY (checked by shared.presign.upload_keys) and PRESIGN_UPLOAD_META for the
                       S3 routes' uploads

The links and object-created functions extend them in their own packages (``shared.links.settings``,
``shared.object_created.settings``), where the values they check are defined.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared import env
from shared.errors import ConfigError, InvalidArgument
from shared.http.cors import CorsOrigins
from shared.oss.endpoints import check_bucket, check_region, parse_endpoint
from shared.oss.expiry import MAX_V4_LIFETIME
from shared.oss.limits import MAX_POST_SIZE

DEFAULT_MAX_UPLOAD_SIZE = 100 * 1024 * 1024  # bytes: a form upload's default bound (100 MiB)
UPLOAD_META_VARIABLE = "PRESIGN_UPLOAD_META"
MAX_UPLOAD_META = 32
_META_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


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
        bucket=env.text(environ, "OSS_BUCKET"),
        region=env.text(environ, "OSS_REGION"),
        endpoint=env.text(environ, "OSS_ENDPOINT"),
        cname=env.flag(environ, "OSS_CNAME"),
    )


def function_signing_defaults(environ: Mapping[str, str]) -> SigningDefaults:
    """The signing defaults a deployed function needs: a region, a valid default bucket if any, and an
    endpoint for a custom domain. A bad OSS_BUCKET is the deployment's error, found at start-up: not a 400."""
    signing = load_signing_defaults(environ)
    if signing.bucket is not None:
        try:
            check_bucket(signing.bucket)
        except InvalidArgument:  # its message quotes the value: the variable's name is enough here
            raise ConfigError("OSS_BUCKET", "OSS_BUCKET is not a valid bucket name: 3..63 lower-case letters, "
                                            "digits and hyphens, starting and ending with a letter or digit") from None
    if not signing.region:
        raise ConfigError("OSS_REGION", "OSS_REGION is required, for example cn-hangzhou")
    try:
        check_region(signing.region)
    except InvalidArgument:
        raise ConfigError("OSS_REGION", "OSS_REGION must be letters, digits and hyphens, like cn-hangzhou") from None
    if signing.cname and not signing.endpoint:
        raise ConfigError("OSS_ENDPOINT", "OSS_CNAME=true needs OSS_ENDPOINT set to the custom domain")
    if signing.endpoint is not None:  # else every request would fail, or the instance would not start
        try:
            parse_endpoint(signing.endpoint, cname=signing.cname)
        except InvalidArgument as error:
            raise ConfigError("OSS_ENDPOINT", f"OSS_ENDPOINT: {error.message}") from None
    return signing


class PresignSettings:
    """Everything the presign function reads from the environment, checked once; links extend it."""

    __slots__ = ("signing", "default_expires", "max_expires", "api_keys", "jwt_secrets", "jwt_issuer",
                 "jwt_audience", "trust_gateway", "gateway_header", "policy", "cors")

    CORS_VARIABLE = "PRESIGN_CORS_ORIGINS"  # the links function reads its own (LINKS_CORS_ORIGINS)

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.signing = function_signing_defaults(environ)
        self.default_expires = env.seconds(environ, "PRESIGN_DEFAULT_EXPIRES", 900, high=MAX_V4_LIFETIME)
        self.max_expires = env.seconds(environ, "PRESIGN_MAX_EXPIRES", None, high=MAX_V4_LIFETIME)
        self.api_keys = env.text(environ, "PRESIGN_API_KEYS")
        self.jwt_secrets = env.text(environ, "PRESIGN_JWT_SECRET")
        self.jwt_issuer = env.text(environ, "PRESIGN_JWT_ISSUER")
        self.jwt_audience = env.text(environ, "PRESIGN_JWT_AUDIENCE")
        self.trust_gateway = env.flag(environ, "PRESIGN_TRUST_GATEWAY")
        self.gateway_header = env.text(environ, "PRESIGN_GATEWAY_PRINCIPAL_HEADER")
        self.policy = env.text(environ, "PRESIGN_POLICY")  # parsed (and checked) by Policy.parse
        self.cors = CorsOrigins.parse(self.CORS_VARIABLE, env.text(environ, self.CORS_VARIABLE))

    def __repr__(self) -> str:
        return f"PresignSettings({self.signing!r})"  # the rest may hold secrets


class PresignUploadSettings(PresignSettings):
    """The presign function's settings: PresignSettings and the form uploads' size bound. ``max_upload_size`` is
    the ``max_size`` of a form whose caller gives none, and the cap of a policy rule that sets no ``max_size``."""

    __slots__ = ("max_upload_size", "upload_key", "upload_meta")

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(environ)
        self.max_upload_size = env.whole_number(environ, "PRESIGN_MAX_UPLOAD_SIZE", DEFAULT_MAX_UPLOAD_SIZE,
                                                high=MAX_POST_SIZE, unit="bytes ")
        self.upload_key = env.text(environ, "PRESIGN_UPLOAD_KEY")  # checked by shared.presign.upload_keys
        self.upload_meta = upload_meta_names(env.text(environ, UPLOAD_META_VARIABLE))


def upload_meta_names(raw: str | None) -> frozenset[str]:
    """``PRESIGN_UPLOAD_META``: the metadata names an upload keeps as x-oss-meta-*, comma-separated (default none)."""
    names = frozenset(name.strip().lower() for name in (raw or "").split(",") if name.strip())
    for name in names:
        if len(name) > 64 or not set(name) <= _META_NAME_CHARS:
            raise ConfigError(UPLOAD_META_VARIABLE, f"{UPLOAD_META_VARIABLE} holds {name[:64]!r}: a name is 1..64 "
                                                    "letters, digits, '-' or '_'")
    if len(names) > MAX_UPLOAD_META:
        raise ConfigError(UPLOAD_META_VARIABLE, f"{UPLOAD_META_VARIABLE} names at most {MAX_UPLOAD_META} fields")
    return names
