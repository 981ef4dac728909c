"""What a caller asks of ``POST /presign/post``: a form upload (PostObject) to one key or under a prefix, checked.

    {"key": "inbox/a.pdf"} or {"key_prefix": "inbox/alice/"}      exactly one
    "content_type": "application/pdf"    the upload's Content-Type, exactly
    "content_type": "image/"             any Content-Type starting with it: a value ending in "/"
    "max_size", "expires", "success_action_status" (200, 201, 204), "meta", "bucket"

With ``key_prefix`` the form's ``key`` field is ``<key_prefix>${filename}`` (OSS puts the uploaded file's name in
its place) and the caller may send any key starting with the prefix. A ``key`` holding ``${filename}`` is refused:
it is not one key, so it is asked for (and authorized) as a ``key_prefix``.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared import fields
from shared.errors import InvalidArgument
from shared.oss.limits import MAX_POST_SIZE
from shared.oss.object_keys import MAX_KEY_BYTES
from shared.oss.post_policy import FILENAME, SUCCESS_STATUSES
from shared.presign.request import (
    MAX_REQUESTED_EXPIRES,
    checked_bucket,
    checked_content_type,
    checked_key,
    checked_meta,
)

FIELDS = ("key", "key_prefix", "bucket", "content_type", "max_size", "expires", "success_action_status", "meta")
_TYPE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$&-^_.+")  # a media type's name (RFC 6838)


class PostRequest:
    """One checked request for an upload form."""

    __slots__ = FIELDS

    key: str | None
    key_prefix: str | None
    bucket: str
    content_type: str | None
    max_size: int | None
    expires: int
    success_action_status: int | None
    meta: dict[str, str] | None

    def __init__(self, values: Mapping[str, object]) -> None:
        for name in FIELDS:
            setattr(self, name, values.get(name))

    def __repr__(self) -> str:
        where = self.key if self.key is not None else f"{self.key_prefix}*"
        return f"PostRequest({self.bucket}/{where})"

    @classmethod
    def parse(cls, given: Mapping[str, object], *, default_bucket: str | None, default_expires: int) -> PostRequest:
        """Check every field of the JSON object; unknown fields are errors."""
        for name in given:
            if name not in FIELDS:
                raise InvalidArgument(str(name)[:64], f"unknown field {str(name)[:64]!r}; /presign/post takes "
                                                      f"{', '.join(FIELDS)}")
        if ("key" in given) == ("key_prefix" in given):
            raise InvalidArgument("key", "give exactly one of key and key_prefix")
        values: dict[str, object] = {"bucket": checked_bucket(given.get("bucket", default_bucket))}
        if "key" in given:
            values["key"] = _key(given["key"])
        else:
            values["key_prefix"] = _key_prefix(given["key_prefix"])
        if "content_type" in given:
            values["content_type"] = _content_type(given["content_type"])
        if "max_size" in given:
            values["max_size"] = fields.whole_number(given["max_size"], "max_size", low=1, high=MAX_POST_SIZE)
        values["expires"] = (fields.whole_number(given["expires"], "expires", low=1, high=MAX_REQUESTED_EXPIRES)
                             if "expires" in given else default_expires)
        if "success_action_status" in given:
            values["success_action_status"] = _status(given["success_action_status"])
        if "meta" in given:
            values["meta"] = checked_meta(given["meta"])
        return cls(values)

    @property
    def scope(self) -> str:
        """The key, or the prefix every uploaded key starts with: what the policy authorizes."""
        return self.key if self.key is not None else str(self.key_prefix)

    def options(self) -> frozenset[str]:
        """The policy options this request uses (a rule must allow each of them), as for a presigned PUT."""
        return frozenset(name for name in ("content_type", "meta") if getattr(self, name))


def _key(value: object) -> str:
    if isinstance(value, str) and FILENAME in value:
        raise InvalidArgument("key", f"a key holding {FILENAME} is not one key: send the part before it as "
                                     f"key_prefix (the form's key is then <key_prefix>{FILENAME})")
    return checked_key(value)


def _key_prefix(value: object) -> str:
    if value == "":
        return ""  # the whole bucket: only a rule with "prefix": "" allows it
    prefix = fields.text(value, "key_prefix", max_chars=MAX_KEY_BYTES)
    if len(prefix.encode("utf-8")) >= MAX_KEY_BYTES:
        raise InvalidArgument("key_prefix", f"key_prefix must leave room for a name: at most {MAX_KEY_BYTES - 1} "
                                            "bytes of UTF-8")
    if prefix[0] in "/\\":
        raise InvalidArgument("key_prefix", "key_prefix must not start with '/' or '\\': OSS does not accept "
                                            "such object names")
    # A prefix ending in "$" or holding "${" would let ${filename} rewrite the prefix itself.
    if "${" in prefix or prefix.endswith("$"):
        raise InvalidArgument("key_prefix", "key_prefix must not contain '${' or end with '$'")
    return prefix


def _content_type(value: object) -> str:
    """An exact type (``text/csv``), or a prefix ending in ``/`` (``image/``) that any subtype matches."""
    if isinstance(value, str) and value.endswith("/"):
        kind = value[:-1]
        if not kind or len(kind) > 127 or not set(kind.lower()) <= _TYPE_CHARS or "/" in kind:
            raise InvalidArgument("content_type", f"a content_type prefix must be a type and '/', such as "
                                                  f"'image/', got {value[:64]!r}")
        return value
    if isinstance(value, str) and value.endswith("/*"):
        raise InvalidArgument("content_type", f"for any subtype give the type and '/' ({value[:-1][:64]!r}), "
                                              "not a '*'")
    return checked_content_type(value)


def _status(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in SUCCESS_STATUSES:
        raise InvalidArgument("success_action_status", "success_action_status must be 200, 201 or 204")
    return value
