"""CORS over HTTP: PutBucketCors, GetBucketCors, DeleteBucketCors (``?cors``, header-signed), the preflight
(``OPTIONS``) and the headers an actual cross-origin request is answered with.

    PUT ?cors      200; the rules replace the bucket's, kept in its index across restarts
    GET ?cors      200 the XML; 404 NoSuchCORSConfiguration when there is none
    DELETE ?cors   204
    OPTIONS        200 with Access-Control-* for the first rule that matches; 400 BadRequest without Origin
                   or Access-Control-Request-Method; 403 AccessForbidden "CORSResponse: ..." otherwise

An actual request with an Origin gets the first matching rule's headers, errors included (a page must be
able to read an EntityTooLarge); with no match it gets none, only ``Vary: Origin``, which every answer
to a request with an Origin carries once the bucket has rules (ResponseVary is kept and returned, but
requests without an Origin never read the rules, so they get no Vary).
"""

from __future__ import annotations

from shared.devtools.local_oss.addressing import ObjectRequest
from shared.devtools.local_oss.cors import (
    CorsConfiguration,
    allow_headers,
    matching_rule,
    parse_cors_xml,
    render_cors_xml,
    requested_headers,
)
from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.exchange import Incoming, Reply
from shared.devtools.local_oss.small_bodies import read_small_body
from shared.devtools.local_oss.store import ObjectStore
from shared.devtools.local_oss.verify import HEADER, Authorization

SETTING = "cors"
MAX_BODY = 64 << 10  # bytes of a PutBucketCors body
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
               "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
               "whitelisted by the resource's CORS spec.")


def bucket_cors(store: ObjectStore, request: ObjectRequest, incoming: Incoming, auth: Authorization) -> Reply:
    """Answer PUT, GET or DELETE ``?cors`` for a verified request."""
    bucket = request.bucket or ""
    if auth.style != HEADER:
        raise OssError("AccessDenied", "Bucket CORS operations must be signed with the Authorization header, "
                                       "not a presigned URL.")
    if request.method == "PUT":
        put_configuration(store, bucket, parse_cors_xml(_read_body(incoming)))
        return Reply(200)
    if request.method == "GET":
        config = configuration(store, bucket)
        if config is None:
            raise OssError("NoSuchCORSConfiguration", "The CORS configuration does not exist.", BucketName=bucket)
        return Reply(200, [("Content-Type", "application/xml")], render_cors_xml(config))
    if request.method == "DELETE":
        put_configuration(store, bucket, None)
        return Reply(204)
    raise OssError("NotImplemented", f"The local bucket does not support {request.method} ?cors.")


def preflight(store: ObjectStore, request: ObjectRequest) -> Reply:
    """Answer an OPTIONS request as OSS does: the first matching rule's headers, or a refusal."""
    origin = request.headers.get("origin")
    method = request.headers.get("access-control-request-method")
    if not origin:
        raise OssError("BadRequest", "Insufficient information. Origin request header needed.")
    if not method:
        raise OssError("BadRequest", "Insufficient information. Access-Control-Request-Method request header "
                                     "needed.")
    config = configuration(store, request.bucket or "")
    if config is None:
        raise OssError("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
    wanted = requested_headers(request.headers.get("access-control-request-headers"))
    rule = matching_rule(config, origin, method, wanted)
    if rule is None:
        raise OssError("AccessForbidden", NOT_ALLOWED, Method=method, ResourceType="Object" if request.key
                       else "Bucket")
    return Reply(200, allow_headers(rule, origin, wanted, preflight=True))


def response_cors(store: ObjectStore, request: ObjectRequest) -> list[tuple[str, str]]:
    """The CORS headers for an actual request's answer: none without an Origin or a matching rule."""
    origin = request.headers.get("origin")
    if not origin or request.bucket is None or not store.has_bucket(request.bucket):
        return []
    config = configuration(store, request.bucket)
    if config is None:
        return []
    rule = matching_rule(config, origin, request.method)
    return allow_headers(rule, origin) if rule is not None else [("Vary", "Origin")]


def configuration(store: ObjectStore, bucket: str) -> CorsConfiguration | None:
    """The bucket's rules, None when it has none."""
    text = store.setting(bucket, SETTING)
    return None if text is None else CorsConfiguration.from_json(text)


def put_configuration(store: ObjectStore, bucket: str, config: CorsConfiguration | None) -> None:
    """Replace the bucket's rules (None removes them), as PutBucketCors does: for tools that set up buckets."""
    store.put_setting(bucket, SETTING, None if config is None else config.to_json())


def _read_body(incoming: Incoming) -> bytes:
    """The PutBucketCors body, at most MAX_BODY bytes, checked against the digests the request declares."""
    if incoming.content_length is None and not incoming.chunked:
        raise OssError("MissingContentLength", "You must provide the Content-Length HTTP header.")
    return read_small_body(incoming, MAX_BODY, "A CORS configuration")
