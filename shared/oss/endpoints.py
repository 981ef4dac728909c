"""OSS endpoints: parse one once, then build each object's URL prefix from it.

``bucket_site`` checks a bucket, its region and its endpoint once per combination (cached); ``object_path``
then gives one object's canonical URI and URL prefix, the per-request part.

Addressing styles:
- ``virtual``: ``https://<bucket>.<endpoint>/<key>``, the default for OSS domain endpoints;
- ``path``: ``https://<endpoint>/<bucket>/<key>``, chosen automatically for IP addresses and
  ``localhost`` (no DNS name can carry the bucket), or asked for with ``path_style``;
- ``cname``: ``https://<custom domain>/<key>``, a domain bound to one bucket.

The scheme is https unless the endpoint says ``http://``.
"""

from __future__ import annotations

from functools import lru_cache

from shared.errors import InvalidArgument
from shared.oss.canonical import uri_encode
from shared.oss.object_keys import check_key, needs_opaque_path

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
    from urllib.parse import urlsplit  # several ms at cold start: only a configured endpoint needs it

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


class Site:
    """One bucket at one endpoint, checked once: the URL base, the URI prefix, the region and product signed."""

    __slots__ = ("base_url", "uri_prefix", "region", "product")

    def __init__(self, base_url: str, uri_prefix: str, region: str, product: str) -> None:
        self.base_url = base_url
        self.uri_prefix = uri_prefix
        self.region = region
        self.product = product


@lru_cache(maxsize=256)
def bucket_site(bucket: str, region: str, endpoint: str | Endpoint | None, cname: bool, path_style: bool,
                cloudbox_id: str | None, product: str | None) -> Site:
    """Check bucket, region and endpoint once per combination."""
    check_region(region)
    check_bucket(bucket)
    parsed = _resolve_endpoint(endpoint, region, cloudbox_id, cname, path_style)
    # CloudBox signs with the box id in the region's place.
    return Site(parsed.base_url(bucket), f"/{bucket}/", cloudbox_id or region,
                product or ("oss-cloudbox" if cloudbox_id else "oss"))


def object_path(site: Site, key: str | None) -> tuple[str, str]:
    """The canonical URI and the URL before the query, for a key (or the bucket itself, for None)."""
    if key is None:
        return site.uri_prefix, site.base_url
    check_key(key)
    path = uri_encode(key, True)
    uri = site.uri_prefix + path
    if ("/." in key or "//" in key or key[0] in "./") and needs_opaque_path(key):
        path = uri_encode(key)  # clients would rewrite this path: keep it one segment
    return uri, site.base_url + path


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


def check_region(region: str) -> None:
    """Raise InvalidArgument unless the region is a name OSS could have (letters, digits, hyphens)."""
    if not isinstance(region, str) or not region:
        raise InvalidArgument("region", "region is required, for example cn-hangzhou")
    if not all(c.isascii() and (c.isalnum() or c == "-") for c in region):
        raise InvalidArgument("region", f"region {region!r} must be letters, digits and hyphens, like cn-hangzhou")


def _resolve_endpoint(endpoint: str | Endpoint | None, region: str, cloudbox_id: str | None,
                      cname: bool, path_style: bool) -> Endpoint:
    if isinstance(endpoint, Endpoint):
        return endpoint
    if endpoint is None:
        if cname:
            raise InvalidArgument("endpoint", "a custom domain (cname) needs its endpoint")
        if not cloudbox_id:  # a checked region makes a valid host: what parse_endpoint would return for it
            return Endpoint("https", default_endpoint(region).lower(), PATH if path_style else VIRTUAL)
        endpoint = f"{cloudbox_id}.{region}.oss-cloudbox.aliyuncs.com"
    return parse_endpoint(endpoint, cname=cname, path_style=path_style)
