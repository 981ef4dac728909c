"""A run of presigned URLs that differ only in key and parameters: one site, key pair, signing second,
lifetime and method, and no signed headers (``python -m shared sign --batch`` signs with it).

``presigner`` checks and works out once what ``shared.oss.signer.presign`` would for those arguments;
``Presigner.url`` then takes, per object, the very steps ``presign`` takes (``_signed_url``), so the
URL is the one ``presign`` returns and costs little more than its signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.credentials.value import Credentials
from shared.oss.canonical import KeyedSha256, signing_hmac
from shared.oss.endpoints import Endpoint, Site, object_path
from shared.oss.signer import _checked, _signature_params, _SignatureParams, _signed_url, _signing_second


class Presigner:
    """What the URLs for one site, key pair, signing second, lifetime and method share, when they sign no headers."""

    __slots__ = ("site", "method", "expires", "when", "timestamp", "_written", "_keyed")

    def __init__(self, site: Site, method: str, expires: int, when: datetime, timestamp: str,
                 written: _SignatureParams, keyed: KeyedSha256) -> None:
        self.site = site
        self.method = method
        self.expires = expires
        self.when = when
        self.timestamp = timestamp
        self._written = written
        self._keyed = keyed

    def __repr__(self) -> str:
        return f"Presigner(method={self.method}, expires={self.expires}, timestamp={self.timestamp})"

    def url(self, key: str, params: Mapping[str, str | None] | None = None) -> str:
        """The presigned URL for key: what ``presign(...).url`` returns for the same arguments."""
        uri, url_prefix = object_path(self.site, key)
        return _signed_url(self.method, uri, url_prefix, params, self.timestamp, self._written, "", [],
                           self._keyed)[0]


def presigner(credentials: Credentials, *, bucket: str, region: str, signing_time: datetime,
              endpoint: str | Endpoint | None = None, method: str = "GET", expires: int = 900, cname: bool = False,
              path_style: bool = False, cloudbox_id: str | None = None, product: str | None = None) -> Presigner:
    """Check and work out once what ``presign`` would for these arguments (and no headers)."""
    method, site = _checked(credentials, method, expires, bucket, region, endpoint, cname, path_style, cloudbox_id,
                            product)
    when, timestamp = _signing_second(signing_time)
    written = _signature_params(credentials.access_key_id, timestamp, site.region, site.product, expires,
                                credentials.security_token, ())
    keyed = signing_hmac(credentials.access_key_secret, timestamp[:8], site.region, site.product)
    return Presigner(site, method, expires, when, timestamp, written, keyed)
