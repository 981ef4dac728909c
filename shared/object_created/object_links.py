"""The link a rule gives a new object: a presigned URL, or a long-lived redirect link of the links function.

- ``presigned``: a GET URL signed by the ``Issuer`` for min(``expires``, the credentials' life, 7 days);
- ``redirect``: ``<LINK_BASE_URL>/d/<token>``, a link token signed with ``LINK_SIGNING_KEYS`` (the links
  function's keys) that lives ``ttl``; each click is answered by the links function with a fresh URL.

``"filename": "from_key"`` makes the download's name the key's last segment, as an attachment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.audit import url_digest
from shared.clock import utc_now
from shared.errors import InvalidArgument
from shared.object_created.rules import Rule
from shared.oss.content_disposition import content_disposition
from shared.oss.issuer import Issuer
from shared.oss.object_keys import url_unsafe_reason

if TYPE_CHECKING:
    from shared.links.tokens import LinkSigner

REDIRECT_URL_EXPIRES = 300  # each URL the links function mints per click (its own default for POST /links)


@dataclass(frozen=True)
class ObjectLink:
    """A link to deliver and when it stops working; its repr shows the URL's SHA-256 only."""

    url: str
    expires_at: datetime
    capped_by: str | None = None  # what cut a presigned URL short: "credentials", "max_v4_lifetime"
    link_id: str | None = None  # a redirect link's id: the name to revoke it by

    def __repr__(self) -> str:
        return f"ObjectLink(url_sha256={url_digest(self.url)[:16]}, expires_at={self.expires_at.isoformat()})"


class LinkMaker:
    """Makes the link a rule asks for; ``link_signer`` and ``link_base_url`` only for redirect links."""

    def __init__(self, issuer: Issuer, *, link_signer: LinkSigner | None = None, link_base_url: str | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.issuer = issuer
        self.link_signer = link_signer
        self.link_base_url = link_base_url.rstrip("/") if link_base_url else None
        self.clock = clock

    def make(self, rule: Rule, *, bucket: str, key: str) -> ObjectLink:
        """The rule's link for the object; InvalidArgument for a key no link can carry."""
        unsafe = url_unsafe_reason(key)
        if unsafe:
            raise InvalidArgument("key", unsafe)
        filename = key.rsplit("/", 1)[-1] if rule.filename_from_key else None
        if rule.link == "redirect":
            return self._redirect(rule, bucket=bucket, key=key, filename=filename)
        return self._presigned(rule, bucket=bucket, key=key, filename=filename)

    def _presigned(self, rule: Rule, *, bucket: str, key: str, filename: str | None) -> ObjectLink:
        params = {"response-content-disposition": content_disposition(filename)} if filename else None
        issued = self.issuer.presign(bucket=bucket, key=key, method="GET", expires=rule.lifetime, params=params)
        return ObjectLink(issued.presigned.url, issued.presigned.expires_at, capped_by=issued.capped_by)

    def _redirect(self, rule: Rule, *, bucket: str, key: str, filename: str | None) -> ObjectLink:
        from shared.links.tokens import new_link

        if self.link_signer is None or self.link_base_url is None:
            raise ValueError("redirect links need a link_signer and a link_base_url")
        link = new_link(bucket=bucket, key=key, ttl=rule.lifetime, url_expires=REDIRECT_URL_EXPIRES,
                        now=self.clock(), filename=filename, disposition="attachment" if filename else None)
        token = self.link_signer.sign(link)
        return ObjectLink(f"{self.link_base_url}/d/{token}", link.expires_at, link_id=link.link_id)
