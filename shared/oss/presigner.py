"""A run of presigned URLs that differ only in key and parameters: one site, key pair, signing second,
lifetime and method, and no signed headers (``python -m shared sign --batch`` signs with it).

``presigner`` checks and works out once what ``shared.oss.signer.presign`` would for those arguments;
``Presigner.url`` then does, per object, what is left: the same object path, query and canonical
steps, with the canonical request's and string to sign's fixed text cut from those steps once, so the
URL is the one ``presign`` returns and costs little more than its signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from hashlib import sha256 as _sha256

from shared.credentials.value import Credentials
from shared.oss.canonical import KeyedSha256, canonical_request, query_parts, signing_hmac, string_to_sign
from shared.oss.endpoints import Endpoint, Site, bucket_site, object_path
from shared.oss.signer import (
    MAX_EXPIRES,
    METHODS,
    _check_method,
    _presign_query,
    _refuse_credentials,
    _signature_params,
    _SignatureParams,
    _signing_second,
    check_expires,
)

_URI, _QUERY = "\0uri\0", "\0query\0"  # markers no canonical URI or query holds (both are percent-encoded)
_DIGEST_LENGTH = 64  # hex SHA-256, the last line of the string to sign


class Presigner:
    """What the URLs for one site, key pair, signing second, lifetime and method share, when they sign no headers."""

    __slots__ = ("site", "method", "expires", "when", "timestamp", "_written", "_keyed", "_canonical", "_to_sign")

    def __init__(self, site: Site, method: str, expires: int, when: datetime, timestamp: str,
                 written: _SignatureParams, keyed: KeyedSha256) -> None:
        self.site = site
        self.method = method
        self.expires = expires
        self.when = when
        self.timestamp = timestamp
        self._written = written
        self._keyed = keyed
        # The canonical request and the string to sign, cut around what changes per URL. The pieces come
        # from the steps themselves, so they cannot drift from them (tests/test_oss_presigner.py checks).
        before_uri, rest = canonical_request(method, _URI, _QUERY, "", []).split(_URI)
        between, after_query = rest.split(_QUERY)
        self._canonical = (before_uri, between, after_query)
        self._to_sign = string_to_sign(timestamp, written.scope, "")[:-_DIGEST_LENGTH]

    def __repr__(self) -> str:
        return f"Presigner(method={self.method}, expires={self.expires}, timestamp={self.timestamp})"

    def url(self, key: str, params: Mapping[str, str | None] | None = None) -> str:
        """The presigned URL for key: what ``presign(...).url`` returns for the same arguments."""
        uri, url_prefix = object_path(self.site, key)
        written = self._written
        query = _presign_query(query_parts(params), written) if params else written.query
        before_uri, between, after_query = self._canonical
        digest = _sha256(f"{before_uri}{uri}{between}{query}{after_query}".encode()).hexdigest()  # string_to_sign's
        return f"{url_prefix}?{query}&x-oss-signature={self._keyed.hexdigest(self._to_sign + digest)}"


def presigner(credentials: Credentials, *, bucket: str, region: str, signing_time: datetime,
              endpoint: str | Endpoint | None = None, method: str = "GET", expires: int = 900, cname: bool = False,
              path_style: bool = False, cloudbox_id: str | None = None, product: str | None = None) -> Presigner:
    """Check and work out once what ``presign`` would for these arguments (and no headers)."""
    if type(expires) is not int or not 1 <= expires <= MAX_EXPIRES:  # presign's checks, in its order
        check_expires(expires)
    if type(credentials) is not Credentials:
        _refuse_credentials(credentials)
    method = method if method in METHODS else _check_method(method)
    site = bucket_site(bucket, region, endpoint, cname, path_style, cloudbox_id, product)
    when, timestamp = _signing_second(signing_time)
    written = _signature_params(credentials.access_key_id, timestamp, site.region, site.product, expires,
                                credentials.security_token, ())
    keyed = signing_hmac(credentials.access_key_secret, timestamp[:8], site.region, site.product)
    return Presigner(site, method, expires, when, timestamp, written, keyed)
