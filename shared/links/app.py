"""The links HTTP API, platform-neutral: long-lived, revocable links that mint a fresh presigned URL per click.

    POST /links            {"key", "bucket"?, "ttl", "filename"?, "disposition"?, "url_expires"?}
                           -> {"link", "link_id", "expires_at"}
    POST /links/batch      {"items": [...]}: one link or error per item, in order
    GET, HEAD /d/{token}   public: 302 to a fresh presigned URL, or one 404 for every bad link
    GET  /healthz          200, no authentication, nothing secret

Creating a link is authorized exactly as ``/presign`` authorizes a GET, by the same policy; the rule's
``max_link_ttl`` caps ``ttl`` (the answer then says ``"ttl_capped_by": "policy"``), its ``max_expires``
and ``PRESIGN_MAX_EXPIRES`` cap ``url_expires``, and the token names the principal. Following one
needs only the token: its signature and expiry; then, for a link a principal made, that principal
still configured and the policy still allowing the link (its rule's caps as they are now); then
revocation; then a URL signed for the click's method (a HEAD gets a HEAD URL) that lives
min(url_expires, the link's remaining life, the rule's max_expires, PRESIGN_MAX_EXPIRES, the credentials).
A token is a bearer credential: the log names a link by its id, a refused token by its SHA-256.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial

from shared.audit import AuditLog, url_digest
from shared.auth.authenticator import Authenticator, Principal
from shared.auth.policy import Policy
from shared.clock import iso8601
from shared.errors import AccessDenied, InvalidArgument, InvalidLink, MethodNotAllowed, PresignError
from shared.http.api import REDIRECT_HEADERS, Api, Call, batch
from shared.http.messages import ERROR_HEADERS, HttpRequest, HttpResponse, error_response, json_response
from shared.http.routing import error_headers, json_object, match_route
from shared.links.request import LinkRequest
from shared.links.revocation import Revocation
from shared.links.settings import LinksSettings
from shared.links.tokens import Link, LinkSigner, new_link
from shared.oss.issuer import IssuedUrl, Issuer
from shared.presign.request import PresignRequest

ROUTES = {"/links": ("POST",), "/links/batch": ("POST",), "/healthz": ("GET", "HEAD")}
LINK_PATH = "/d/"
FOLLOW_METHODS = ("GET", "HEAD")
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_PAGE = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">'
         '<meta name="viewport" content="width=device-width, initial-scale=1">'
         "<title>{title}</title></head>\n<body><h1>{title}</h1><p>{text}</p></body></html>\n")
_NOT_FOUND_TEXT = "This link is not valid: it may have expired or been withdrawn. Ask whoever sent it for a new one."


class LinksApp(Api):
    """Routes, authenticates and authorizes link creation; checks links and redirects their clicks."""

    routes = ROUTES

    def __init__(self, settings: LinksSettings, *, authenticator: Authenticator, policy: Policy, issuer: Issuer,
                 signer: LinkSigner, revocation: Revocation, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        super().__init__(authenticator=authenticator, policy=policy, issuer=issuer, audit=audit, clock=clock,
                         cors=settings.cors)
        self.settings = settings
        self.signer = signer
        self.revocation = revocation

    def methods_for(self, path: str) -> tuple[str, ...] | None:
        """A link's methods (GET, HEAD) for /d/{token}, else the route table's."""
        return FOLLOW_METHODS if path.startswith(LINK_PATH) else super().methods_for(path)

    def route(self, call: Call) -> HttpResponse:
        """A public /d/{token} click, /healthz, or an authenticated /links or /links/batch."""
        request = call.request
        if request.path.startswith(LINK_PATH):
            return self._follow(request)
        route = match_route(request, ROUTES)
        if route == "/healthz":
            return json_response(200, {"status": "ok"})
        principal = self.authenticate(call)
        create = partial(self._create, request, principal)
        if route == "/links/batch":
            return batch(call, self.audit, json_object(request), create, noun="link requests")
        return json_response(200, create(json_object(request)))

    def _create(self, request: HttpRequest, principal: Principal, given: Mapping[str, object]) -> dict[str, object]:
        order = LinkRequest.parse(given, default_bucket=self.settings.signing.bucket)
        target = order.target
        grant = self.policy.authorize_link(principal, bucket=target.bucket, key=target.key,
                                           options=target.options(), ttl=order.ttl)
        base = self._public_base(request)
        url_expires = min(cap for cap in (order.url_expires, grant.max_expires, self.settings.max_expires) if cap)
        link = new_link(bucket=target.bucket, key=target.key, ttl=min(order.ttl, grant.max_link_ttl),
                        url_expires=url_expires, now=self.clock(), filename=target.filename,
                        disposition=target.disposition, principal=principal.name, via=principal.via)
        token = self.signer.sign(link)
        result: dict[str, object] = {"link": f"{base}{LINK_PATH}{token}", "link_id": link.link_id,
                                     "expires_at": iso8601(link.expires_at)}
        if grant.max_link_ttl < order.ttl:
            result["ttl_capped_by"] = "policy"
        self.audit.write("link_created", request_id=request.request_id, client_request_id=request.client_request_id,
                         principal=principal.name, bucket=link.bucket, key=link.key, link_id=link.link_id,
                         kid=self.signer.kid,
                         expires_at=result["expires_at"], ttl_capped_by=result.get("ttl_capped_by"),
                         url_expires=url_expires, client_ip=request.client_ip, rule=grant.rule)
        return result

    def _public_base(self, request: HttpRequest) -> str:
        """``LINK_BASE_URL``, else the scheme and host this request came in on."""
        if self.settings.base_url:
            return self.settings.base_url
        host = request.headers.get("host", "")
        if not _HOST.fullmatch(host):
            raise InvalidArgument("host", "the Host header is missing or not a host name, and LINK_BASE_URL is "
                                          "not set to give this function's public address")
        scheme = request.headers.get("x-forwarded-proto", "https").split(",")[0].strip().lower()
        return f"{scheme if scheme in ('http', 'https') else 'https'}://{host}"

    def _follow(self, request: HttpRequest) -> HttpResponse:
        """Check the token, then revocation, then redirect to a fresh URL; any refusal is logged and paged."""
        token = request.path[len(LINK_PATH):].rstrip("/")
        link: Link | None = None
        try:
            if request.method not in FOLLOW_METHODS:
                raise MethodNotAllowed(request.method[:16], FOLLOW_METHODS)
            now = self.clock()
            link = self.signer.unsign(token, now=now)
            ends, url_cap = self._still_allowed(link, now)
            revocation_note = self.revocation.check(link, now=now)
            issued = self._mint(request, link, now, ends=ends, url_cap=url_cap)
        except PresignError as error:
            self._link_refused(request, token, link, error)
            return self._link_error(request, error)
        self._followed(request, link, issued, revocation_note)
        return HttpResponse(302, {"Location": issued.presigned.url, **REDIRECT_HEADERS})

    def _still_allowed(self, link: Link, now: datetime) -> tuple[datetime, int | None]:
        """When the link ends and its URLs' policy cap, as the configuration stands now; InvalidLink if it
        names a principal that is no longer configured or that the policy no longer allows this link."""
        if link.principal is None or link.via is None:  # the object-created function's, or a version 1 token
            return link.expires_at, None
        who = f"principal {link.principal!r} ({link.via})"
        if not self.authenticator.configures(link.principal, link.via):
            raise InvalidLink(f"{who} is no longer configured", link_id=link.link_id)
        ttl = int((link.expires_at - link.issued_at).total_seconds())
        try:
            grant = self.policy.authorize_link(Principal(link.principal, link.via), bucket=link.bucket,
                                               key=link.key, options=link_options(link), ttl=ttl)
        except AccessDenied as denied:
            raise InvalidLink(f"the policy no longer allows {who} this link: {denied.detail}",
                              link_id=link.link_id) from None
        ends = link.issued_at + timedelta(seconds=grant.max_link_ttl)
        if now >= ends:
            raise InvalidLink(f"expired: {grant.rule}.max_link_ttl is now {grant.max_link_ttl} s", link_id=link.link_id)
        return min(link.expires_at, ends), grant.max_expires

    def _followed(self, request: HttpRequest, link: Link, issued: IssuedUrl, revocation_note: str | None) -> None:
        url = issued.presigned
        self.audit.write("link_followed", request_id=request.request_id, client_request_id=request.client_request_id,
                         link_id=link.link_id, bucket=link.bucket, key=link.key, principal=link.principal,
                         method=url.method,
                         expires_at=iso8601(url.expires_at), expires_in=url.expires, capped_by=issued.capped_by,
                         client_ip=request.client_ip, url_sha256=url_digest(url.url), revocation=revocation_note)

    def _mint(self, request: HttpRequest, link: Link, now: datetime, *, ends: datetime,
              url_cap: int | None) -> IssuedUrl:
        """Sign the click's method for min(url_expires, the link's remaining life, the rule's and deployment's caps)."""
        remaining = math.floor((ends - now).total_seconds())
        if remaining < 1:
            raise InvalidLink("expired", link_id=link.link_id)
        order = PresignRequest({"method": request.method, "bucket": link.bucket, "key": link.key,
                                "filename": link.filename, "disposition": link.disposition,
                                "bind_ip": self.settings.bind_ip})
        headers, params = order.signing_parts(request.client_ip)
        cap = min(remaining, self.settings.max_expires or remaining, url_cap or remaining)
        return self.issuer.presign(bucket=link.bucket, key=link.key, method=request.method, expires=link.url_expires,
                                   policy_max=cap, headers=headers, params=params)

    def _link_error(self, request: HttpRequest, error: PresignError) -> HttpResponse:
        """A small HTML page for browsers, the JSON error otherwise; never cached; no body for HEAD."""
        headers = {"Referrer-Policy": "no-referrer", **ERROR_HEADERS, **error_headers(error)}
        if "text/html" in request.headers.get("accept", "").lower():
            response = HttpResponse(error.status, {"Content-Type": "text/html; charset=utf-8",
                                                   "Cache-Control": "no-store", **headers}, error_page(error))
        else:
            response = error_response(error, request.request_id, headers)
        if request.method == "HEAD":
            response.body = b""
        return response

    def _link_refused(self, request: HttpRequest, token: str, link: Link | None, error: PresignError) -> None:
        link_id = link.link_id if link is not None else getattr(error, "link_id", None)
        self.audit.write("link_refused", request_id=request.request_id, client_request_id=request.client_request_id,
                         status=error.status, code=error.code,
                         reason=error.detail or error.message, link_id=link_id,
                         principal=link.principal if link is not None else None, token_sha256=url_digest(token),
                         method=request.method[:16], client_ip=request.client_ip)


def link_options(link: Link) -> frozenset[str]:
    """The policy options a link uses, as its request did when it was created."""
    return frozenset({"filename"}) if link.filename else frozenset()


def error_page(error: PresignError) -> bytes:
    """The page a browser shows for a refused link: the same for every 404, whatever its reason."""
    if error.status == 404:
        title, text = "Link not found", _NOT_FOUND_TEXT
    else:
        title, text = "Link unavailable", html.escape(error.public_message)
    return _PAGE.format(title=title, text=text).encode("utf-8")
