"""Configuration and checks shared by the presign function's tests."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from urllib.parse import parse_qsl, unquote, urlsplit

from shared.credentials import Credentials
from shared.oss.signer import presign

API_KEY = "alice-api-key-0123456789"
JWT_SECRET = "jwt-secret-for-tests-0123456789abcdef"
ACCESS_KEY = Credentials("LTAI5tPresignTests", "presign-secret-0123456789")
POLICY = {
    "principals": {
        "alice": [
            {"bucket": "examplebucket", "prefix": "reports/", "methods": ["GET", "HEAD"], "max_expires": 3600,
             "allow": ["filename", "process", "version_id", "bind_ip", "traffic_limit", "content_type",
                       "check_exists"]},
            {"bucket": "examplebucket", "prefix": "uploads/alice/", "methods": ["PUT"],
             "allow": ["content_type", "meta"]},
        ],
        "bob": [{"bucket": "examplebucket", "keys": ["public/*.pdf"], "methods": ["GET"]}],
        "*": [{"bucket": "examplebucket", "prefix": "shared/", "methods": ["GET"]}],
    }
}


def environment(**overrides: str) -> dict[str, str]:
    """A complete configuration for the presign function; overrides win, empty values remove."""
    environ = {
        "OSS_REGION": "cn-hangzhou", "OSS_BUCKET": "examplebucket",
        "OSS_ACCESS_KEY_ID": ACCESS_KEY.access_key_id, "OSS_ACCESS_KEY_SECRET": ACCESS_KEY.access_key_secret,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true", "HOME": "/nonexistent",
        "PRESIGN_API_KEYS": "alice:" + hashlib.sha256(API_KEY.encode()).hexdigest(),
        "PRESIGN_JWT_SECRET": JWT_SECRET, "PRESIGN_POLICY": json.dumps(POLICY),
    }
    environ.update(overrides)
    return {name: value for name, value in environ.items() if value != ""}


def assert_signed_by(url: str, credentials: Credentials, *, method: str, headers: dict[str, str] | None = None,
                     region: str = "cn-hangzhou") -> dict[str, str]:
    """Recompute the URL's signature from its own parts with the signer; return its query."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    host_bucket = parts.hostname.split(".")[0] if not parts.hostname[0].isdigit() else None  # type: ignore[union-attr]
    path = unquote(parts.path)
    bucket, key = (host_bucket, path[1:]) if host_bucket else tuple(path[1:].split("/", 1))
    signing_time = datetime.strptime(query["x-oss-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    params = {name: value for name, value in query.items()
              if name not in ("x-oss-date", "x-oss-expires", "x-oss-credential", "x-oss-signature",
                              "x-oss-signature-version", "x-oss-security-token", "x-oss-additional-headers")}
    endpoint = f"{parts.scheme}://{parts.netloc.split('.', 1)[1] if host_bucket else parts.netloc}"
    again = presign(credentials, bucket=bucket, key=key, region=region, endpoint=endpoint, method=method,
                    expires=int(query["x-oss-expires"]), signing_time=signing_time, headers=headers, params=params)
    assert dict(parse_qsl(urlsplit(again.url).query))["x-oss-signature"] == query["x-oss-signature"]
    return query
