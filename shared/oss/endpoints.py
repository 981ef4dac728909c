"""OSS endpoints: parse one once, then build each object's URL prefix from it.

Addressing styles:
- ``virtual``: ``https://<bucket>.<endpoint>/<key>``, the default for OSS domain endpoints;
- ``path``: ``https://<endpoint>/<bucket>/<key>``, chosen automatically for IP addresses and
  ``localhost`` (no DNS name can carry the bucket), or asked for with ``path_style``;
- ``cname``: ``https://<custom domain>/<key>``, a domain bound to one bucket.

The scheme is https unless the endpoint says ``http://``.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from shared.errors import InvalidArgument

VIRTUAL, PATH, CNAME = "virtual", "path", "cname"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_BUCKET_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class Endpoint:
    """A parsed endpoint: scheme, host (with port, lower-cased) and addressing style."""

    __slots__ = ("scheme", "host", "style")

    def __init__(self, scheme: str, host: str, style: str) -> None:
        self.scheme = scheme
        self.host = host
        self.style = style

    def __repr__(self) -> str:
        return f"Endpoint({self.scheme}://{self.host}, style={self.style})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Endpoint):
            return NotImplemented
        return (self.scheme, self.host, self.style) == (other.scheme, other.host, other.style)

    def __hash__(self) -> int:
        return hash((self.scheme, self.host, self.style))

    def base_url(self, bucket: str) -> str:
        """Return scheme, host and the path prefix that comes before the encoded key."""
        if self.style == VIRTUAL:
            return f"{self.scheme}://{bucket}.{self.host}/"
        if self.style == PATH:
            return f"{self.scheme}://{self.host}/{bucket}/"
        return f"{self.scheme}://{self.host}/"


def default_endpoint(region: str, *, internal: bool = False) -> str:
    """Return the public (or internal, VPC) OSS endpoint of a region."""
    return f"oss-{region}-internal.aliyuncs.com" if internal else f"oss-{region}.aliyuncs.com"


@lru_cache(maxsize=64)
def parse_endpoint(endpoint: str, *, cname: bool = False, path_style: bool = False) -> Endpoint:
    """Parse ``[scheme://]host[:port]``; raise InvalidArgument naming what is wrong."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise InvalidArgument("endpoint", "endpoint must be a host name such as oss-cn-hangzhou.aliyuncs.com")
    text = endpoint.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidArgument("endpoint", f"endpoint {endpoint!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument("endpoint", f"endpoint scheme must be http or https, got {parts.scheme!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidArgument("endpoint", f"endpoint {endpoint!r} must be scheme://host[:port] with nothing after it")
    hostname = parts.hostname or ""
    ipv6 = ":" in hostname
    if not hostname or not (ipv6 or set(hostname) <= _HOST_CHARS):
        raise InvalidArgument("endpoint", f"endpoint {endpoint!r} has no valid host name")
    host = f"[{hostname}]" if ipv6 else hostname
    if port is not None:
        host = f"{host}:{port}"
    if cname:
        style = CNAME
    elif path_style or ipv6 or _is_ip_or_localhost(hostname):
        style = PATH
    else:
        style = VIRTUAL
    return Endpoint(parts.scheme, host, style)


def _is_ip_or_localhost(hostname: str) -> bool:
    """True for localhost and dotted IPv4 addresses: names that cannot carry a bucket subdomain."""
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    labels = hostname.split(".")
    return len(labels) == 4 and all(label.isdigit() and len(label) <= 3 for label in labels)


def check_bucket(bucket: str) -> None:
    """Raise InvalidArgument unless the name follows OSS's bucket naming rules."""
    if not isinstance(bucket, str) or not bucket:
        raise InvalidArgument("bucket", "bucket is required")
    if not (3 <= len(bucket) <= 63 and set(bucket) <= _BUCKET_CHARS and bucket[0] != "-" and bucket[-1] != "-"):
        raise InvalidArgument(
            "bucket",
            f"bucket {bucket!r} is not a valid name: 3..63 lower-case letters, digits and hyphens, "
            "starting and ending with a letter or digit",
        )
