"""The presign HTTP API, platform-neutral: HttpRequest in, HttpResponse out.

    GET  /presign?key=...        one URL, as JSON or (redirect=1) as a 302
    POST /presign                the same fields as a JSON object
    POST /presign/batch          {"items": [...]}: one result or error per item, in order
    POST /presign/post           {"key" or "key_prefix", ...}: a signed form for a size-bounded upload (PostObject)
    /s3/...                      Uppy's S3 protocol: forms and multipart uploads (``shared.presign.uploads``)
    GET  /healthz                200, no authentication, nothing secret

Every request is authenticated, then each URL is authorized by the policy (default deny), signed
for no longer than the policy, the credentials and Signature V4 allow, and logged. A form is bounded
to the policy's ``max_size`` as a URL is to its ``max_expires``: a larger ask is cut and the answer says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial

from shared.audit import AuditLog, url_digest
from shared.auth.authenticator import Authenticator, Principal
from shared.auth.policy import Policy
from shared.clock import iso8601
from shared.config import PresignUploadSettings
from shared.errors import InvalidArgument
from shared.fields import single_values
from shared.http.api import REDIRECT_HEADERS, Api, Call, batch
from shared.http.messages import HttpRequest, HttpResponse, json_response
from shared.http.routing import json_object, match_route
from shared.oss.client import OssClient
from shared.oss.issuer import Issuer
from shared.presign.request import PresignRequest
from shared.presign.upload_keys import UploadKeys
from shared.presign.upload_routes import UPLOAD_ROUTES

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from shared.presign.post_request import PostRequest
    from shared.presign.uploads import Uploads

ROUTES = {"/presign": ("GET", "POST"), "/presign/batch": ("POST",), "/presign/post": ("POST",),
          "/healthz": ("GET", "HEAD"), **UPLOAD_ROUTES}


class PresignApp(Api):
    """Routes, authenticates, authorizes, signs and logs."""

    routes = ROUTES

    def __init__(self, settings: PresignUploadSettings, *, authenticator: Authenticator, policy: Policy,
                 issuer: Issuer, oss: OssClient, audit: AuditLog, clock: Callable[[], datetime],
                 upload_keys: UploadKeys | None = None) -> None:
        super().__init__(authenticator=authenticator, policy=policy, issuer=issuer, audit=audit, clock=clock,
                         cors=settings.cors)
        self.settings = settings
        self.oss = oss
        self.upload_keys = upload_keys or UploadKeys.parse(None)
        self._uploads: Uploads | None = None

    @property
    def uploads(self) -> Uploads:
        """The S3-protocol routes, built (and their code loaded) by the first upload request."""
        if self._uploads is None:
            from shared.oss.multipart import MultipartUploads
            from shared.presign.uploads import Uploads

            self._uploads = Uploads(self.settings, policy=self.policy, issuer=self.issuer,
                                    multipart=MultipartUploads(self.oss), keys=self.upload_keys, audit=self.audit,
                                    clock=self.clock, authenticate=self.authenticate, issue_form=self.issue_form)
        return self._uploads

    def route(self, call: Call) -> HttpResponse:
        """/healthz, or an authenticated /presign, /presign/batch, /presign/post or S3 route."""
        request = call.request
        if request.path.startswith("/s3/"):
            return self.uploads.answer(call)
        route = match_route(request, ROUTES)
        if route == "/healthz":
            return json_response(200, {"status": "ok"})
        principal = self.authenticate(call)
        if route == "/presign/batch":
            return batch(call, self.audit, json_object(request), partial(self._batch_item, request, principal),
                         noun="request objects")
        if route == "/presign/post":
            from shared.presign.post_request import PostRequest

            form = PostRequest.parse(json_object(request), default_bucket=self.settings.signing.bucket,
                                     default_expires=self.settings.default_expires)
            return json_response(200, self.issue_form(request, principal, form, form.options())[0])
        given = json_object(request) if request.method == "POST" else single_values(request.query)
        order = self._parse(given)
        result = self._issue(request, principal, order)
        if order.redirect:
            if order.method == "PUT":
                raise InvalidArgument("redirect", "redirect applies to GET and HEAD only")
            return HttpResponse(302, {"Location": str(result["url"]), **REDIRECT_HEADERS})
        return json_response(200, result)

    def _batch_item(self, request: HttpRequest, principal: Principal, item: Mapping[str, object]) -> dict[str, object]:
        order = self._parse(item)
        if order.redirect:
            raise InvalidArgument("redirect", "redirect does not apply to batch items")
        return self._issue(request, principal, order)

    def _parse(self, given: Mapping[str, object]) -> PresignRequest:
        return PresignRequest.parse(given, default_bucket=self.settings.signing.bucket,
                                    default_expires=self.settings.default_expires)

    def _issue(self, request: HttpRequest, principal: Principal, order: PresignRequest) -> dict[str, object]:
        grant = self.policy.authorize(principal, bucket=order.bucket, key=order.key, method=order.method,
                                      options=order.options())
        if order.check_exists:
            self.oss.head_object(order.bucket, order.key, version_id=order.version_id)
        headers, params = order.signing_parts(request.client_ip)
        caps = [cap for cap in (grant.max_expires, self.settings.max_expires) if cap]
        issued = self.issuer.presign(bucket=order.bucket, key=order.key, method=order.method,
                                     expires=order.expires, policy_max=min(caps) if caps else None,
                                     headers=headers, params=params)
        url = issued.presigned
        result: dict[str, object] = {
            "url": url.url, "method": url.method, "bucket": order.bucket, "key": order.key,
            "expires_at": iso8601(url.expires_at), "expires_in": url.expires,
            "signed_headers": dict(url.signed_headers),
        }
        if issued.capped_by:
            result["expires_capped_by"] = issued.capped_by
        self.audit.write("issued", request_id=request.request_id, client_request_id=request.client_request_id,
                         principal=principal.name, bucket=order.bucket, key=order.key, method=url.method,
                         expires_at=result["expires_at"], client_ip=request.client_ip, url_sha256=url_digest(url.url),
                         rule=grant.rule)
        return result

    def issue_form(self, request: HttpRequest, principal: Principal, order: PostRequest,
                   options: frozenset[str]) -> tuple[dict[str, object], int]:
        """Authorize (for ``options``) and sign one upload form: its size and lifetime cut to what the policy
        allows, and logged; the form's JSON and its lifetime in seconds."""
        default_size = self.settings.max_upload_size
        wanted = order.max_size or default_size
        grant = self.policy.authorize_upload(principal, bucket=order.bucket, key=order.scope,
                                             key_prefix=order.key is None, options=options,
                                             max_size=wanted, default_max_size=default_size)
        size_cap = default_size if grant.max_size is None else grant.max_size
        caps = [cap for cap in (grant.max_expires, self.settings.max_expires) if cap]
        issued = self.issuer.presign_post(bucket=order.bucket, key=order.key, key_prefix=order.key_prefix,
                                          expires=order.expires, policy_max=min(caps) if caps else None,
                                          max_size=min(wanted, size_cap), content_type=order.content_type,
                                          success_action_status=order.success_action_status, meta=order.meta)
        form = issued.form
        result = form.to_dict()
        if issued.capped_by:
            result["expires_capped_by"] = issued.capped_by
        if wanted > size_cap:
            result["max_size_capped_by"] = "policy"
        self.audit.write("issued", request_id=request.request_id, client_request_id=request.client_request_id,
                         principal=principal.name, bucket=order.bucket, key=order.key, key_prefix=order.key_prefix,
                         method="POST", expires_at=result["expires_at"], max_size=form.max_size,
                         client_ip=request.client_ip, policy_sha256=url_digest(form.fields["policy"]), rule=grant.rule)
        return result, issued.expires
