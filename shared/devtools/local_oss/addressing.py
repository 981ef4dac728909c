"""From an HTTP request target to the object request the verifier checks: bucket, key, query, headers.

Addressing as OSS does it:
- virtual host: ``Host: <bucket>.<service host>``, the path is the key;
- path style: any other host, the first path segment is the bucket, the rest the key.

The path is percent-decoded into the key (``+`` stays ``+``); query names and values are decoded
as forms are (``+`` is a space). Invalid UTF-8 is an ``InvalidURI`` error, never replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from shared.devtools.local_oss.errors import OssError
from shared.errors import InvalidArgument
from shared.oss.endpoints import check_bucket


@dataclass(frozen=True)
class ObjectRequest:
    """One request as the verifier sees it: decoded bucket, key and query, lower-cased headers."""

    method: str
    bucket: str | None
    key: str | None
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    client_ip: str | None = None

    def param(self, name: str) -> str | None:
        """Return the value of a query parameter, or None when it is absent."""
        for given, value in self.query:
            if given == name:
                return value
        return None

    def __repr__(self) -> str:
        # The query and the headers may carry a signature or a security token.
        return f"ObjectRequest({self.method} bucket={self.bucket!r} key={self.key!r})"


def split_target(raw_target: bytes) -> tuple[bytes, bytes]:
    """Split a raw request target into path and query (a fragment is never sent, but is dropped)."""
    target = raw_target.split(b"#", 1)[0]
    path, _, query = target.partition(b"?")
    return path, query


def decode_query(raw_query: bytes) -> tuple[tuple[str, str], ...]:
    """Decode ``a=1&b&c=x%2By`` into ordered pairs; a name given twice is refused."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for part in raw_query.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        decoded = (_decode(name.replace(b"+", b" ")), _decode(value.replace(b"+", b" ")))
        if decoded[0] in seen:
            raise OssError("InvalidArgument", f"query parameter {decoded[0]!r} is given twice")
        seen.add(decoded[0])
        pairs.append(decoded)
    return tuple(pairs)


def bucket_and_key(raw_path: bytes, host_bucket: str | None) -> tuple[str | None, str | None]:
    """Return (bucket, key) of a raw path: the host's bucket (virtual host) or the first segment."""
    if not raw_path.startswith(b"/"):
        raise OssError("InvalidURI", "the request path must start with '/'")
    if host_bucket is not None:
        return host_bucket, _decode(raw_path[1:]) or None
    first, slash, rest = raw_path[1:].partition(b"/")
    if not first:
        return None, None
    bucket = _decode(first)
    try:
        check_bucket(bucket)
    except InvalidArgument as exc:
        raise OssError("InvalidBucketName", exc.message, BucketName=bucket) from None
    return bucket, (_decode(rest) or None) if slash else None


def bucket_from_host(host: str | None, service_hosts: Iterable[str]) -> str | None:
    """Return the bucket of a virtual-host name (``bucket.localhost:9000``), or None for path style."""
    if not host:
        return None
    name = _strip_port(host.strip().lower())
    for service in service_hosts:
        suffix = "." + _strip_port(service.lower())
        if name.endswith(suffix) and len(name) > len(suffix):
            bucket = name[: -len(suffix)]
            try:
                check_bucket(bucket)
            except InvalidArgument as exc:
                raise OssError("InvalidBucketName", exc.message, BucketName=bucket) from None
            return bucket
    return None


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _decode(raw: bytes) -> str:
    """Percent-decode to UTF-8 text; an invalid sequence is an error, not a replacement character."""
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise OssError("InvalidURI", "the request URI is not valid percent-encoded UTF-8") from None
