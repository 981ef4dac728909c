"""Function Compute events to HttpRequest and back: FC 3.0 HTTP triggers and API Gateway triggers.

Both arrive as JSON (bytes, str, or already a dict) and both want the same answer:
``{"statusCode", "headers", "body", "isBase64Encoded"}``, headers single-valued and none starting
with ``x-fc-`` (the platform reserves them). The shapes differ:

- FC 3.0: ``rawPath`` (URL-encoded), ``requestContext.http.method`` and ``.sourceIp``,
  ``requestContext.requestId``, ``queryParameters`` with repeated values joined by commas.
- API Gateway: ``path``, ``httpMethod``, ``queryParameters``, and the client address in the first
  entry of ``X-Forwarded-For`` (set by the gateway).

The request id is the platform's: the context's, else FC 3.0's ``requestContext.requestId``, else a
fresh one. Request-id headers (``X-Request-Id``, ``X-Ca-Request-Id``) are only logged.

``isBase64Encoded`` may be a bool or the string ``"true"``.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.credentials.invocation import invocation, request_id_of
from shared.errors import InvalidArgument, PayloadTooLarge, PresignError
from shared.fields import json_event
from shared.http.api import App, adapter_refusal
from shared.http.limits import check_head
from shared.http.messages import MAX_BODY_BYTES, HttpRequest, HttpResponse, error_response, new_request_id


def serve_fc_event(app: App, event: object, context: object = None) -> dict[str, object]:
    """Answer one FC 3.0 or API Gateway event, under its invocation context, with the dict both expect."""
    platform_request_id = request_id_of(context)
    with invocation(context):
        try:
            request = request_from_event(event)
        except PresignError as error:
            return response_to_event(adapter_refusal(app, _origin_of(event), error_response(
                error, platform_request_id or new_request_id())))
        if platform_request_id:
            request.request_id = platform_request_id
        return response_to_event(app.handle(request))


def request_from_event(event: object) -> HttpRequest:
    """Adapt an FC 3.0 HTTP trigger or API Gateway event; raise InvalidArgument for anything else."""
    shape = json_event(event)
    check_event_head(shape)
    if isinstance(shape.get("requestContext"), Mapping) and "rawPath" in shape:
        return _from_fc3(shape)
    if "httpMethod" in shape and "path" in shape:
        return _from_api_gateway(shape)
    raise InvalidArgument("event", "event is neither an FC 3.0 HTTP trigger nor an API Gateway request")


def check_event_head(event: Mapping[str, object]) -> None:
    """414 or 431 before the query or the headers are adapted. The query counts as its names and values in
    UTF-8 with an ``=`` and an ``&`` each: the platform decoded them from a query string at least that long."""
    query, query_bytes = event.get("queryParameters"), 0
    if isinstance(query, Mapping):
        for name, item in query.items():
            for value in item if isinstance(item, list) else [item]:
                query_bytes += _size(name) + _size(value) + 2
    headers = event.get("headers")
    fields = [(str(name), str(value)) for name, value in headers.items()] if isinstance(headers, Mapping) else []
    check_head(_size(event.get("rawPath") or event.get("path") or ""), query_bytes, fields)


def _size(value: object) -> int:
    return len(value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else len(str(value))


def response_to_event(response: HttpResponse) -> dict[str, object]:
    """Return the dict both FC 3.0 and API Gateway expect, body as text or base64."""
    headers = {name: value for name, value in response.headers.items() if not name.lower().startswith("x-fc-")}
    try:
        return {"statusCode": response.status, "headers": headers, "body": response.body.decode("utf-8"),
                "isBase64Encoded": False}
    except UnicodeDecodeError:
        import base64  # binary bodies only: not at cold start

        return {"statusCode": response.status, "headers": headers,
                "body": base64.b64encode(response.body).decode("ascii"), "isBase64Encoded": True}


def _origin_of(event: object) -> str | None:
    """The Origin header of an event that could not be adapted, when it has one (for CORS on the refusal)."""
    try:
        headers = json_event(event).get("headers")
    except PresignError:
        return None
    if not isinstance(headers, Mapping):
        return None
    origin = next((value for name, value in headers.items() if str(name).lower() == "origin"), None)
    return origin if isinstance(origin, str) else None


def _from_fc3(event: Mapping[str, object]) -> HttpRequest:
    context = event["requestContext"]
    context = context if isinstance(context, Mapping) else {}  # request_from_event checked it is an object
    http = context.get("http")
    http = http if isinstance(http, Mapping) else {}
    headers = _headers(event.get("headers"))
    return HttpRequest(
        _text(http.get("method") or "GET", "requestContext.http.method"),
        _decoded_path(_text(event.get("rawPath") or http.get("path") or "/", "rawPath")),
        query=_query(event.get("queryParameters")), headers=headers, body=_body(event),
        client_ip=_text(http.get("sourceIp") or "", "requestContext.http.sourceIp"),
        request_id=_text(context.get("requestId") or "", "requestContext.requestId") or None,
    )


def _from_api_gateway(event: Mapping[str, object]) -> HttpRequest:
    headers = _headers(event.get("headers"))
    forwarded = headers.get("x-forwarded-for", "")
    return HttpRequest(
        _text(event["httpMethod"], "httpMethod"), _text(event["path"], "path"),
        query=_query(event.get("queryParameters")), headers=headers, body=_body(event),
        client_ip=forwarded.split(",")[0].strip(),
    )


def _decoded_path(raw: str) -> str:
    """The percent-decoded path; urllib.parse (several ms at cold start) only for a path that has escapes."""
    if "%" not in raw:
        return raw  # what unquote returns for it
    from urllib.parse import unquote

    return unquote(raw)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgument("event", f"event field {field} must be a string")
    return value


def _headers(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgument("event", "event field headers must be an object")
    headers = {}
    for name, header in value.items():
        if isinstance(header, list):  # some gateways send multi-valued headers as lists
            header = ",".join(str(item) for item in header)
        headers[str(name).lower()] = _text(header, f"headers.{name}")
    return headers


def _query(value: object) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgument("event", "event field queryParameters must be an object")
    query = {}
    for name, item in value.items():
        items = item if isinstance(item, list) else [item]
        query[str(name)] = [_text(one, f"queryParameters.{name}") for one in items]
    return query


def _body(event: Mapping[str, object]) -> bytes:
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise InvalidArgument("event", "event field body must be a string")
    encoded = event.get("isBase64Encoded")
    if encoded is True or (isinstance(encoded, str) and encoded.lower() == "true"):
        if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise PayloadTooLarge(f"request body is over {MAX_BODY_BYTES} bytes")
        import base64  # only base64 bodies need it: not at cold start

        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:  # binascii.Error is one
            raise InvalidArgument("body", "body is marked base64 but is not valid base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is over {MAX_BODY_BYTES} bytes")
    return raw
