"""The S3 routes of the presign function: the protocol of Uppy's ``@uppy/aws-s3`` plugin (its Companion's).

    GET    /s3/params?filename=&type=&metadata[n]=v       a form upload (PostObject), for a small file
    POST   /s3/multipart  {"filename", "type", "metadata"}  InitiateMultipartUpload -> {"uploadId", "key"}
    GET    /s3/multipart/{uploadId}/{partNumber}?key=     a presigned PUT of one part -> {"url", "expires", "headers"}
    GET    /s3/multipart/{uploadId}/batch?key=&partNumbers=1,2   {"presignedUrls": {"1": url, ...}}
    GET    /s3/multipart/{uploadId}?key=                  ListParts, every page -> [{"PartNumber", "Size", "ETag"}]
    POST   /s3/multipart/{uploadId}/complete?key=  {"parts": [...]}   -> {"location", "key", "etag"}
    DELETE /s3/multipart/{uploadId}?key=                  AbortMultipartUpload -> 204

The caller never names the key of a new upload: ``PRESIGN_UPLOAD_KEY`` makes it, and the policy must allow it
(``"multipart"`` on a PUT rule; POST for the form). Every later route authorizes ``key`` for the caller again, so
nobody touches an upload under a key they may not upload to; OSS refuses an upload id that is not ``key``'s
(NoSuchUpload). Before completing, the parts' total is held to the rule's ``max_size``: over it, the upload is
aborted and the answer is 413. Errors keep the JSON shape and add a top-level ``message``: all Uppy shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.audit import AuditLog, url_digest
from shared.auth.authenticator import Principal
from shared.auth.policy import Grant, Policy
from shared.config import PresignUploadSettings
from shared.errors import PayloadTooLarge, PresignError
from shared.fields import single_values
from shared.http.api import Call, refused
from shared.http.messages import HttpRequest, HttpResponse, error_body, json_response
from shared.http.routing import error_headers, json_object, match_route_params
from shared.oss.issuer import Issuer
from shared.oss.limits import MAX_POST_SIZE
from shared.oss.multipart import MultipartUploads
from shared.presign import upload_fields as checked
from shared.presign.post_request import PostRequest
from shared.presign.request import checked_bucket
from shared.presign.upload_keys import UploadKeys
from shared.presign.upload_routes import UPLOAD_ROUTES

FORM_STATUS = 201  # OSS then answers the form with XML naming the object's Location, which Uppy reads
FormIssuer = Callable[[HttpRequest, Principal, PostRequest, frozenset[str]], tuple[dict[str, object], int]]


class Uploads:
    """Answers the S3 routes: authenticates, makes and authorizes keys, signs parts, talks to OSS, logs."""

    def __init__(self, settings: PresignUploadSettings, *, policy: Policy, issuer: Issuer,
                 multipart: MultipartUploads, keys: UploadKeys, audit: AuditLog, clock: Callable[[], datetime],
                 authenticate: Callable[[Call], Principal], issue_form: FormIssuer) -> None:
        self.settings = settings
        self.policy = policy
        self.issuer = issuer
        self.multipart = multipart
        self.keys = keys
        self.audit = audit
        self.clock = clock
        self.authenticate = authenticate
        self.issue_form = issue_form

    def answer(self, call: Call) -> HttpResponse:
        """Answer one request to an S3 route; a refusal in our JSON shape with a top-level ``message``."""
        request = call.request
        try:
            route, params = match_route_params(request, UPLOAD_ROUTES)
            principal = self.authenticate(call)
            return self._route(request, principal, route, params)
        except PresignError as error:
            refused(self.audit, call, error)
            body = {**error_body(error, request.request_id), "message": error.public_message}
            return json_response(error.status, body, {"X-Content-Type-Options": "nosniff",
                                                      "X-Request-Id": request.request_id, **error_headers(error)})

    def _route(self, request: HttpRequest, principal: Principal, route: str, params: dict[str, str]) -> HttpResponse:
        if route == "/s3/params":
            return json_response(200, self._form(request, principal))
        if route == "/s3/multipart":
            return json_response(200, self._initiate(request, principal))
        query = single_values(request.query)
        upload = Upload(checked_bucket(self.settings.signing.bucket), checked.upload_key(query),
                        checked.upload_id(params["uploadId"]))
        grant = self._grant(principal, upload.key)
        if route == "/s3/multipart/{uploadId}/complete":
            return json_response(200, self._complete(request, principal, upload, grant))
        if route == "/s3/multipart/{uploadId}/batch":
            numbers = checked.part_numbers(query.get("partNumbers"))
            urls = {str(number): self._part_url(request, principal, upload, grant, number)[0] for number in numbers}
            return json_response(200, {"presignedUrls": urls})
        if route == "/s3/multipart/{uploadId}/{partNumber}":
            url, expires = self._part_url(request, principal, upload, grant, checked.part_number(params["partNumber"]))
            return json_response(200, {"url": url, "expires": expires, "headers": {}})
        if request.method == "DELETE":
            self.multipart.abort(upload.bucket, upload.key, upload.upload_id)
            self._log(request, principal, upload, "aborted")
            return HttpResponse(204, {"Cache-Control": "no-store"})
        parts = self.multipart.list_parts(upload.bucket, upload.key, upload.upload_id)
        return json_response(200, [part.to_dict() for part in parts])

    def _new_key(self, principal: Principal, filename: str) -> str:
        return self.keys.render(principal=principal.name, filename=filename, moment=self.clock())

    def _form(self, request: HttpRequest, principal: Principal) -> dict[str, object]:
        """A PostObject form for a new key, through the very code of POST /presign/post."""
        upload = checked.NewUpload.from_query(single_values(request.query), self.settings.upload_meta)
        # max_size: as much as the rule allows (PostObject's 5 GB at most), not the deployment's default.
        given: dict[str, object] = {"key": self._new_key(principal, upload.filename), "max_size": MAX_POST_SIZE,
                                    "success_action_status": FORM_STATUS}
        if upload.content_type:
            given["content_type"] = upload.content_type
        if upload.meta:
            given["meta"] = upload.meta
        order = PostRequest.parse(given, default_bucket=self.settings.signing.bucket,
                                  default_expires=self.settings.default_expires)
        form, expires = self.issue_form(request, principal, order, frozenset())
        return {"method": "POST", "url": form["url"], "fields": form["fields"], "headers": {}, "expires": expires}

    def _initiate(self, request: HttpRequest, principal: Principal) -> dict[str, object]:
        upload = checked.NewUpload.from_body(json_object(request), self.settings.upload_meta)
        bucket = checked_bucket(self.settings.signing.bucket)
        key = self._new_key(principal, upload.filename)
        self._grant(principal, key)
        upload_id = self.multipart.initiate(bucket, key, content_type=upload.content_type, meta=upload.meta)
        self._log(request, principal, Upload(bucket, key, upload_id), "initiated")
        return {"uploadId": upload_id, "key": key}

    def _grant(self, principal: Principal, key: str) -> Grant:
        return self.policy.authorize_multipart(principal, bucket=checked_bucket(self.settings.signing.bucket),
                                               key=key, default_max_size=self.settings.max_upload_size)

    def _part_url(self, request: HttpRequest, principal: Principal, upload: Upload, grant: Grant,
                  number: int) -> tuple[str, int]:
        """A presigned PUT of one part (no Content-Type signed: Uppy's part PUTs send none), and its lifetime."""
        caps = [cap for cap in (grant.max_expires, self.settings.max_expires) if cap]
        issued = self.issuer.presign(bucket=upload.bucket, key=upload.key, method="PUT",
                                     expires=self.settings.default_expires, policy_max=min(caps) if caps else None,
                                     params={"partNumber": str(number), "uploadId": upload.upload_id})
        url = issued.presigned
        self._log(request, principal, upload, "part", part_number=number, url_sha256=url_digest(url.url),
                  rule=grant.rule)
        return url.url, url.expires

    def _complete(self, request: HttpRequest, principal: Principal, upload: Upload,
                  grant: Grant) -> dict[str, object]:
        """Hold the parts' total to the rule's max_size (over it: abort, 413), then complete."""
        parts = checked.completed_parts(json_object(request))
        named = {number for number, _ in parts}
        total = sum(part.size for part in self.multipart.list_parts(upload.bucket, upload.key, upload.upload_id)
                    if part.number in named)
        cap = self.settings.max_upload_size if grant.max_size is None else grant.max_size
        if total > cap:
            self.multipart.abort(upload.bucket, upload.key, upload.upload_id)
            self._log(request, principal, upload, "aborted", size=total, max_size=cap)
            raise PayloadTooLarge(f"the upload's parts hold {total} bytes, over the {cap} bytes the policy allows: "
                                  "the upload was aborted")
        completed = self.multipart.complete(upload.bucket, upload.key, upload.upload_id, parts)
        self._log(request, principal, upload, "completed", size=total, parts=len(parts), rule=grant.rule)
        return {"location": completed.location, "key": upload.key, "etag": completed.etag}

    def _log(self, request: HttpRequest, principal: Principal, upload: Upload, action: str, **fields: object) -> None:
        self.audit.write("multipart", action=action, request_id=request.request_id,
                         client_request_id=request.client_request_id, principal=principal.name, bucket=upload.bucket,
                         key=upload.key, upload_id=upload.upload_id, client_ip=request.client_ip, **fields)


class Upload:
    """One multipart upload: bucket, key and upload id."""

    __slots__ = ("bucket", "key", "upload_id")

    def __init__(self, bucket: str, key: str, upload_id: str) -> None:
        self.bucket = bucket
        self.key = key
        self.upload_id = upload_id

    def __repr__(self) -> str:
        return f"Upload({self.bucket}/{self.key})"

