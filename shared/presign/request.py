"""What a caller asks of ``/presign``: parsed from a query string or a JSON object, and checked.

Every field is checked here, once, with an error naming it; the result knows which policy options
it uses and which headers and query parameters the signature must carry.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared import fields
from shared.errors import InvalidArgument
from shared.oss.content_disposition import content_disposition
from shared.oss.endpoints import check_bucket
from shared.oss.object_keys import check_object_name, url_unsafe_reason

METHODS = ("GET", "HEAD", "PUT")
MAX_REQUESTED_EXPIRES = 31_536_000  # a year: longer asks are refused; anything over 7 days is capped
TRAFFIC_LIMITS = (819_200, 838_860_800)  # bit/s, the range OSS accepts for x-oss-traffic-limit
_FIELDS = ("key", "bucket", "method", "expires", "filename", "disposition", "content_type", "version_id",
           "process", "traffic_limit", "bind_ip", "check_exists", "content_md5", "meta", "redirect")
_GET_ONLY = ("filename", "disposition", "version_id", "process", "redirect")
_PUT_ONLY = ("content_md5", "meta")
_META_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


class PresignRequest:
    """One checked request for a presigned URL."""

    __slots__ = _FIELDS

    key: str
    bucket: str
    method: str
    expires: int
    filename: str | None
    disposition: str | None
    content_type: str | None
    version_id: str | None
    process: str | None
    traffic_limit: int | None
    bind_ip: bool
    check_exists: bool
    content_md5: str | None
    meta: dict[str, str] | None
    redirect: bool

    def __init__(self, values: Mapping[str, object]) -> None:
        for name in _FIELDS:
            setattr(self, name, values.get(name))

    def __repr__(self) -> str:
        return f"PresignRequest({self.method} {self.bucket}/{self.key})"

    @classmethod
    def parse(cls, given: Mapping[str, object], *, default_bucket: str | None,
              default_expires: int) -> PresignRequest:
        """Check every field of a query or JSON object; unknown fields are errors."""
        for name in given:
            if name not in _FIELDS:
                raise InvalidArgument(str(name)[:64], f"unknown field {str(name)[:64]!r}")
        method = fields.choice(given.get("method", "GET"), "method", METHODS)
        _check_method_fields(given, method)
        values: dict[str, object] = {"method": method, "key": checked_key(given.get("key"))}
        values["bucket"] = checked_bucket(given.get("bucket", default_bucket))
        values["expires"] = (fields.whole_number(given["expires"], "expires", low=1, high=MAX_REQUESTED_EXPIRES)
                             if "expires" in given else default_expires)
        values.update(_options(given))
        if values["disposition"] and not values["filename"]:
            raise InvalidArgument("disposition", "disposition needs a filename")
        return cls(values)

    def options(self) -> frozenset[str]:
        """The policy options this request uses (a rule must allow each of them)."""
        used = {name for name in ("process", "version_id", "traffic_limit", "content_type", "meta")
                if getattr(self, name)}
        if self.filename:
            used.add("filename")
        if self.bind_ip:
            used.add("bind_ip")
        if self.check_exists:
            used.add("check_exists")
        return frozenset(used)

    def signing_parts(self, client_ip: str) -> tuple[dict[str, str], dict[str, str]]:
        """Return the headers and query parameters to sign."""
        headers: dict[str, str] = {}
        params: dict[str, str] = {}
        if self.method == "PUT":
            if self.content_type:
                headers["Content-Type"] = self.content_type
            if self.content_md5:
                headers["Content-MD5"] = self.content_md5
            for name, value in (self.meta or {}).items():
                headers[f"x-oss-meta-{name}"] = value
        elif self.content_type:
            params["response-content-type"] = self.content_type
        if self.filename:
            params["response-content-disposition"] = content_disposition(
                self.filename, self.disposition or "attachment")
        for name, param in (("version_id", "versionId"), ("process", "x-oss-process")):
            if getattr(self, name):
                params[param] = getattr(self, name)
        if self.traffic_limit:
            params["x-oss-traffic-limit"] = str(self.traffic_limit)
        if self.bind_ip:
            if not client_ip:
                raise InvalidArgument("bind_ip", "bind_ip needs the caller's address, which this request lacks")
            params["x-oss-ac-source-ip"] = client_ip
        return headers, params


def _check_method_fields(given: Mapping[str, object], method: str) -> None:
    for name in _GET_ONLY:
        if name in given and method == "PUT":
            raise InvalidArgument(name, f"{name} applies to GET and HEAD, not PUT")
    for name in _PUT_ONLY:
        if name in given and method != "PUT":
            raise InvalidArgument(name, f"{name} applies to PUT only")


def checked_key(value: object) -> str:
    """The key field: required, a name OSS stores, and one a URL carries intact."""
    if value is None:
        raise InvalidArgument("key", "key is required")
    key = fields.text(value, "key", max_chars=1023)
    check_object_name(key)
    reason = url_unsafe_reason(key)
    if reason:
        raise InvalidArgument("key", reason)
    return key


def checked_bucket(value: object) -> str:
    """The bucket field (or the default bucket): required, and a valid bucket name."""
    if value is None:
        raise InvalidArgument("bucket", "bucket is required (no OSS_BUCKET is configured)")
    if not isinstance(value, str):
        raise InvalidArgument("bucket", "bucket must be a string")
    check_bucket(value)
    return value


def _options(given: Mapping[str, object]) -> dict[str, object]:
    values: dict[str, object] = {name: None for name in _FIELDS[4:]}
    if "filename" in given:
        values["filename"] = fields.text(given["filename"], "filename", max_chars=255)
    if "disposition" in given:
        values["disposition"] = fields.choice(given["disposition"], "disposition", ("inline", "attachment"))
    if "content_type" in given:
        values["content_type"] = checked_content_type(given["content_type"])
    if "version_id" in given:
        values["version_id"] = fields.text(given["version_id"], "version_id", max_chars=256, ascii_only=True)
    if "process" in given:
        values["process"] = fields.text(given["process"], "process", max_chars=1024, ascii_only=True)
    if "traffic_limit" in given:
        values["traffic_limit"] = fields.whole_number(given["traffic_limit"], "traffic_limit",
                                                      low=TRAFFIC_LIMITS[0], high=TRAFFIC_LIMITS[1])
    for name in ("bind_ip", "check_exists", "redirect"):
        values[name] = fields.flag(given[name], name) if name in given else False
    if "content_md5" in given:
        values["content_md5"] = _content_md5(given["content_md5"])
    if "meta" in given:
        values["meta"] = checked_meta(given["meta"])
    return values


def checked_content_type(value: object) -> str:
    """The content_type field: ASCII ``type/subtype``, parameters allowed."""
    content_type = fields.text(value, "content_type", max_chars=255, ascii_only=True)
    kind, _, _ = content_type.partition(";")
    if kind.count("/") != 1 or " " in kind.strip() or not all(part for part in kind.strip().split("/")):
        raise InvalidArgument("content_type", f"content_type must look like type/subtype, got {content_type!r}")
    return content_type


def _content_md5(value: object) -> str:
    import base64  # only an upload that binds its body needs it

    text = fields.text(value, "content_md5", max_chars=24, ascii_only=True)
    try:
        if len(base64.b64decode(text, validate=True)) == 16:
            return text
    except ValueError:  # binascii.Error is one
        pass
    raise InvalidArgument("content_md5", "content_md5 must be the base64 of a 16-byte MD5 digest")


def checked_meta(value: object) -> dict[str, str]:
    """The meta field: at most 32 names (lower-cased) to ASCII values, 8 KiB in all."""
    if not isinstance(value, Mapping):
        raise InvalidArgument("meta", "meta must be an object of name to value (JSON body only)")
    if len(value) > 32:
        raise InvalidArgument("meta", f"meta may have at most 32 entries, got {len(value)}")
    meta = {}
    for name, item in value.items():
        lower = str(name).lower()
        if not lower or len(lower) > 64 or not set(lower) <= _META_NAME_CHARS:
            raise InvalidArgument("meta", "meta names must be 1..64 letters, digits, '-' or '_'")
        meta[lower] = fields.text(item, f"meta.{lower}", max_chars=1024, ascii_only=True)
    if sum(len(k) + len(v) for k, v in meta.items()) > 8192:
        raise InvalidArgument("meta", "meta may carry at most 8 KiB in all")
    return meta
