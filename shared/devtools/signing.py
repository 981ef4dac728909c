"""Signing the URLs of ``python -m shared sign``: one request (from the flags or a batch line) to its JSON result.

A ``Signer`` resolves signing times and credentials once and reuses them while they serve
(credentials are fetched again only when a URL would outlive them), so within a batch a line costs
little more than its signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TypedDict, TypeVar, cast

from shared.clock import iso8601, parse_iso8601, utc_now
from shared.config import SigningDefaults
from shared.credentials.provider import CredentialsProvider
from shared.credentials.value import SAFETY_MARGIN, Credentials
from shared.errors import InvalidArgument
from shared.oss.expiry import Lifetime, effective_lifetime
from shared.oss.object_keys import check_object_name, url_unsafe_reason
from shared.oss.signer import check_expires, presign

# Batch line fields and the type each must have.
_FIELDS: dict[str, type] = {
    "bucket": str, "key": str, "region": str, "endpoint": str, "method": str, "expires": int,
    "at": str, "headers": dict, "params": dict, "additional_headers": list, "cname": bool,
    "path_style": bool, "cloudbox_id": str,
}
MARGIN = timedelta(seconds=SAFETY_MARGIN)
_CACHE_SIZE = 4096  # entries per batch cache: a long stream of distinct times keeps its memory bounded
K = TypeVar("K")
V = TypeVar("V")
encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps would build an encoder per line


class SignRequest(TypedDict, total=False):
    """One URL to sign, from the flags or a batch line: the fields of _FIELDS, of which only key is required."""

    key: str
    bucket: str
    region: str
    endpoint: str
    method: str
    expires: int
    at: str
    headers: dict[str, str]
    params: dict[str, str]
    additional_headers: list[str]
    cname: bool
    path_style: bool
    cloudbox_id: str


class Signer:
    """Signs requests with the defaults and the provider's credentials, remembering what it can reuse."""

    def __init__(self, defaults: SigningDefaults, provider: CredentialsProvider, *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.defaults = defaults
        self.provider = provider
        self.clock = clock  # the signing time of a request without ``at``
        self._times: dict[str, datetime] = {}
        self._texts: dict[datetime, str] = {}
        self.held: Credentials | None = None
        self._lifetimes: dict[tuple[int, datetime], Lifetime] = {}  # for the held credentials

    def sign(self, request: SignRequest) -> dict[str, object]:
        """Fill defaults, check the object name, take credentials and sign; return the JSON result."""
        bucket = request.get("bucket") or self.defaults.bucket
        region = request.get("region") or self.defaults.region
        if not bucket:
            raise InvalidArgument("bucket", "no bucket: pass --bucket or set OSS_BUCKET")
        if not region:
            raise InvalidArgument("region", "no region: pass --region or set OSS_REGION")
        endpoint, cname = request.get("endpoint"), request.get("cname", False)
        if endpoint is None and self.defaults.endpoint:
            endpoint, cname = self.defaults.endpoint, cname or self.defaults.cname
        path_style, cloudbox_id = request.get("path_style", False), request.get("cloudbox_id")
        if cname and path_style:
            raise InvalidArgument("path_style", "cname and path_style exclude each other: a custom domain (--cname, "
                                                "OSS_CNAME) is the bucket's own host, with no bucket in the path")
        if cloudbox_id == "":
            raise InvalidArgument("cloudbox_id", "cloudbox_id is empty: give a CloudBox id or leave it out")
        key = request["key"]
        check_object_name(key)
        unsafe = url_unsafe_reason(key)
        if unsafe:
            raise InvalidArgument("key", f"{unsafe}, so no URL can fetch it")
        at = request.get("at")
        now = self.moment(at) if at else self.clock()
        credentials, lifetime = self.credentials_for(request.get("expires", 900), now)
        url = presign(credentials, bucket=bucket, key=key, region=region, signing_time=now, expires=lifetime.expires,
                      endpoint=endpoint, method=request.get("method", "GET"), headers=request.get("headers"),
                      params=request.get("params"), additional_headers=request.get("additional_headers", ()),
                      cname=cname, path_style=path_style, cloudbox_id=cloudbox_id)
        expires_at = url.expires_at
        at_text = self._texts.get(expires_at) or remember(self._texts, expires_at, iso8601(expires_at))
        result: dict[str, object] = {"url": url.url, "method": url.method, "expires_at": at_text,
                                     "signed_headers": dict(url.signed_headers)}  # PresignedUrl.to_dict's shape
        if lifetime.capped_by:
            result["expires_capped_by"] = lifetime.capped_by
        return result

    def moment(self, text: str) -> datetime:
        """The signing time a line's ``at`` names, parsed once per batch."""
        moment = self._times.get(text)
        if moment is None:
            moment = remember(self._times, text, parse_time(text))
        return moment

    def credentials_for(self, expires: int, now: datetime) -> tuple[Credentials, Lifetime]:
        """Credentials that outlive the URL if any do: the held ones while they serve, else fresh ones."""
        check_expires(expires)
        needed = now + timedelta(seconds=expires)
        held = self.held
        if held is None or (held.expiration is not None and held.expiration - MARGIN < needed):
            held = self.held = self.provider.get_credentials(min_valid_until=needed)
            self._lifetimes.clear()
        lifetime = self._lifetimes.get((expires, now))
        if lifetime is None:
            fresh = effective_lifetime(expires, now=now, credentials=held)
            lifetime = remember(self._lifetimes, (expires, now), fresh)
        return held, lifetime


def remember(cache: dict[K, V], key: K, value: V) -> V:
    """Keep a value for the rest of the batch; a cache that fills up (distinct times, say) starts again."""
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


def parse_time(text: str) -> datetime:
    """Parse ``2025-03-04T05:06:07Z`` or ``20250304T050607Z`` (UTC) into an aware datetime."""
    value = text.strip()
    try:
        if len(value) == 16 and value[8] == "T":
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        return parse_iso8601(value, utc_only=True)
    except ValueError:
        raise InvalidArgument("at", "at must be a UTC time like 2025-03-04T05:06:07Z or 20250304T050607Z, "
                                    f"got {text!r}") from None


def request_from_line(line: str | bytes) -> SignRequest:
    try:
        request = json.loads(line)
    except ValueError as exc:
        raise InvalidArgument("line", f"not valid JSON: {exc}") from None
    if not isinstance(request, dict):
        raise InvalidArgument("line", "each line must be a JSON object")
    for name, value in request.items():
        kind = _FIELDS.get(name)
        if kind is None:
            raise InvalidArgument(name, f"unknown field {name!r}; known: {', '.join(sorted(_FIELDS))}")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidArgument(name, f"{name} must be of type {kind.__name__}")
    if "key" not in request:
        raise InvalidArgument("key", "key is required")
    return cast(SignRequest, request)  # every field is one of _FIELDS, of its type
