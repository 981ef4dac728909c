"""PostObject with a V4 policy: the form a browser sends to upload one object, bounded in size.

    policy            = {"expiration": <ISO 8601, milliseconds, Z>, "conditions": [...]}, compact JSON, UTF-8
    policy (field)    = base64(policy)
    x-oss-signature   = hex(hmac_sha256(signing_key(secret, date, region, "oss"), base64(policy)))

The conditions bind everything that was authorised: the bucket, the key (``eq``) or its prefix
(``starts-with``), ``content-length-range`` (always), the V4 fields and the security token, the
content type (``eq``, or ``starts-with`` for a value ending in ``/`` such as ``image/``),
``success_action_status`` and each ``x-oss-meta-*``. OSS refuses a form field no condition names,
so nothing else can be smuggled in.

``presign_post`` takes the signing time as an argument and returns a ``PostForm``: the URL to post
to, the fields to send before ``file``, and when the policy expires.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

from shared.clock import iso8601
from shared.credentials.value import Credentials
from shared.errors import InvalidArgument
from shared.oss.canonical import ALGORITHM, credential_scope, signing_hmac
from shared.oss.endpoints import Endpoint, bucket_site
from shared.oss.limits import MAX_POST_SIZE
from shared.oss.object_keys import check_object_name
from shared.oss.signer import check_expires

SUCCESS_STATUSES = (200, 201, 204)
FILENAME = "${filename}"  # OSS replaces it in the key field with the uploaded file's name
Condition = Mapping[str, str] | Sequence[object]
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


class PostForm:
    """A signed upload form: where to post it, the fields to send before ``file``, and its limits."""

    __slots__ = ("url", "fields", "expires_at", "max_size", "bucket", "key", "key_prefix", "policy")

    def __init__(self, url: str, fields: dict[str, str], expires_at: datetime, max_size: int, bucket: str,
                 key: str | None, key_prefix: str | None, policy: str) -> None:
        self.url = url
        self.fields = fields
        self.expires_at = expires_at
        self.max_size = max_size
        self.bucket = bucket
        self.key = key
        self.key_prefix = key_prefix
        self.policy = policy  # the policy's JSON text, as signed

    def __repr__(self) -> str:
        # The fields carry the signature (and maybe a token): keep them out of reprs and logs.
        return f"PostForm(bucket={self.bucket!r}, max_size={self.max_size}, expires_at={iso8601(self.expires_at)})"

    def to_dict(self) -> dict[str, object]:
        """The JSON shape callers get: url, fields, expires_at, max_size, bucket, and key or key_prefix."""
        answer: dict[str, object] = {"url": self.url, "fields": dict(self.fields),
                                     "expires_at": iso8601(self.expires_at), "max_size": self.max_size,
                                     "bucket": self.bucket}
        if self.key is not None:
            answer["key"] = self.key
        else:
            answer["key_prefix"] = self.key_prefix
        return answer


def policy_expiration(moment: datetime) -> str:
    """The policy's form of a time: UTC with milliseconds, ``2026-12-01T13:00:00.000Z``."""
    utc = moment.astimezone(timezone.utc)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"  # %Y does not pad years < 1000


def policy_document(expiration: datetime, conditions: Sequence[Condition]) -> str:
    """The policy's JSON text: compact, keys in order, non-ASCII characters as themselves."""
    document = {"expiration": policy_expiration(expiration), "conditions": [_plain(c) for c in conditions]}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def encode_policy(document: str) -> str:
    """The ``policy`` form field: base64 of the policy's UTF-8 bytes (the string that is signed)."""
    return base64.b64encode(document.encode("utf-8")).decode("ascii")


def policy_signature(secret: str, date: str, region: str, policy_base64: str, product: str = "oss") -> str:
    """``x-oss-signature``: hex HMAC-SHA256 of the base64 policy, with the day's V4 signing key."""
    return signing_hmac(secret, date, region, product).hexdigest(policy_base64)


def presign_post(
    credentials: Credentials,
    *,
    bucket: str,
    region: str,
    signing_time: datetime,
    max_size: int,
    key: str | None = None,
    key_prefix: str | None = None,
    content_type: str | None = None,
    expires: int = 3600,
    min_size: int = 0,
    success_action_status: int | None = None,
    meta: Mapping[str, str] | None = None,
    endpoint: str | Endpoint | None = None,
    cname: bool = False,
    path_style: bool = False,
) -> PostForm:
    """Sign a form that uploads one object (``key``) or any object under ``key_prefix``, of at most ``max_size``
    bytes, until ``signing_time + expires``."""
    if type(credentials) is not Credentials:
        raise TypeError(f"credentials must be Credentials, got {type(credentials).__name__}")
    if type(signing_time) is not datetime or signing_time.tzinfo is None:
        raise TypeError("signing_time must be a timezone-aware datetime")
    check_expires(expires)
    _check_size(min_size, max_size)
    site = bucket_site(bucket, region, endpoint, cname, path_style, None, None)
    when = signing_time.astimezone(timezone.utc).replace(microsecond=0)
    timestamp = f"{when.year:04d}{when:%m%dT%H%M%S}Z"
    v4 = {"x-oss-signature-version": ALGORITHM,
          "x-oss-credential": f"{credentials.access_key_id}/{credential_scope(timestamp[:8], region, 'oss')}",
          "x-oss-date": timestamp}
    if credentials.security_token:
        v4["x-oss-security-token"] = credentials.security_token
    key_condition, key_field = _key_condition(key, key_prefix)
    bound = _bound_fields(content_type, success_action_status, meta)
    conditions: list[Condition] = [{"bucket": bucket}, *({name: value} for name, value in v4.items()), key_condition]
    conditions += _content_type_condition(content_type)
    conditions.append(["content-length-range", min_size, max_size])
    conditions += [{name: value} for name, value in bound.items() if name != "Content-Type"]
    expires_at = when + timedelta(seconds=expires)
    document = policy_document(expires_at, conditions)
    encoded = encode_policy(document)
    signed = policy_signature(credentials.access_key_secret, timestamp[:8], region, encoded)
    fields = {"key": key_field, **bound, "policy": encoded, **v4, "x-oss-signature": signed}
    return PostForm(site.base_url, fields, expires_at, max_size, bucket, key, key_prefix, document)


def _check_size(min_size: int, max_size: int) -> None:
    for name, value in (("max_size", max_size), ("min_size", min_size)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_POST_SIZE:
            raise InvalidArgument(name, f"{name} must be a whole number of bytes in 0..{MAX_POST_SIZE}, got {value!r}")
    if min_size > max_size:
        raise InvalidArgument("min_size", f"min_size ({min_size}) must not exceed max_size ({max_size})")


def _key_condition(key: str | None, key_prefix: str | None) -> tuple[list[object], str]:
    """The key's condition and the key field to send: the key itself, or the prefix and ``${filename}``."""
    if (key is None) == (key_prefix is None):
        raise InvalidArgument("key", "give exactly one of key and key_prefix")
    if key is not None:
        check_object_name(key)
        if FILENAME in key:
            raise InvalidArgument("key", f"a key bound exactly cannot hold {FILENAME}; use key_prefix")
        return ["eq", "$key", key], key
    if not isinstance(key_prefix, str):
        raise InvalidArgument("key_prefix", f"key_prefix must be a string, got {type(key_prefix).__name__}")
    if key_prefix:
        check_object_name(key_prefix + "x")
    # A prefix ending in "$" or holding "${" would let ${filename} rewrite the prefix itself.
    if "${" in key_prefix or key_prefix.endswith("$"):
        raise InvalidArgument("key_prefix", "key_prefix must not contain '${' or end with '$'")
    return ["starts-with", "$key", key_prefix], key_prefix + FILENAME


def _content_type_condition(content_type: str | None) -> list[Condition]:
    if content_type is None:
        return []
    if content_type.endswith("/"):
        return [["starts-with", "$Content-Type", content_type]]
    return [["eq", "$Content-Type", content_type]]


def _bound_fields(content_type: str | None, status: int | None, meta: Mapping[str, str] | None) -> dict[str, str]:
    """The form fields whose values the policy fixes: Content-Type (exact), success_action_status, x-oss-meta-*."""
    fields: dict[str, str] = {}
    if content_type is not None:
        _check_text("content_type", content_type)
        if not content_type.endswith("/"):
            fields["Content-Type"] = content_type
    if status is not None:
        if isinstance(status, bool) or status not in SUCCESS_STATUSES:
            raise InvalidArgument("success_action_status", f"success_action_status must be 200, 201 or 204, "
                                                           f"got {status!r}")
        fields["success_action_status"] = str(status)
    for name, value in (meta or {}).items():
        if not isinstance(name, str) or not name or not set(name.lower()) <= _TOKEN_CHARS:
            raise InvalidArgument("meta", "meta names must be letters, digits, '-' or '_'")
        _check_text(f"meta.{name}", value)
        fields[f"x-oss-meta-{name.lower()}"] = value
    return fields


def _check_text(field: str, value: object) -> None:
    if not isinstance(value, str) or not value or any(c in value for c in "\r\n\0"):
        raise InvalidArgument(field, f"{field} must be non-empty text without CR, LF or NUL")


def _plain(condition: Condition) -> object:
    """A condition as JSON takes it: a one-entry object or a list."""
    return dict(condition) if isinstance(condition, Mapping) else list(condition)
