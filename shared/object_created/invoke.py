"""The two ways an OSS event reaches the object-created function.

- ``serve_oss_event``: Function Compute's event handler ``handler(event, context)``; returns the summary
  or raises (``DeliveryFailed``, a ConfigError), which makes the invocation fail so that FC retries it;
- ``serve_invoke``: custom runtimes (functions-framework), where FC POSTs the event to ``/invoke`` with
  its context in ``x-fc-*`` headers; 200 and the summary, or 5xx with ``x-fc-status: 404`` (FC's mark
  of a failed invocation) and the error.

Both bind the invocation's context, so that links are signed with its credentials first (as the HTTP
functions' adapters do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from shared.credentials.invocation import invocation, request_id_of
from shared.errors import PresignError
from shared.http.messages import HttpResponse, error_body, json_response
from shared.object_created.wiring import EventHandler

INVOKE_PATH = "/invoke"
INITIALIZE_PATH = "/initialize"
_CONTEXT_HEADERS = (("access_key_id", "x-fc-access-key-id"), ("access_key_secret", "x-fc-access-key-secret"),
                    ("security_token", "x-fc-security-token"))


class RequestHeaders(Protocol):
    """A request's headers as name, value pairs: Flask's (werkzeug) ``Headers`` is one, a dict another."""

    def items(self) -> Iterable[tuple[str, str]]: ...


class InvokeRequest(Protocol):
    """What functions-framework hands the target: the parts of a Flask request that are read."""

    @property
    def headers(self) -> RequestHeaders: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    def get_data(self) -> bytes: ...


def serve_oss_event(handler: EventHandler, event: object, context: object = None) -> dict[str, object]:
    """Handle one OSS trigger event under its invocation context; raise when FC should retry it."""
    with invocation(context):
        return handler.handle(event, request_id=request_id_of(context))


def serve_invoke(handler: EventHandler, flask_request: InvokeRequest) -> tuple[bytes, int, dict[str, str]]:
    """Answer functions-framework's request: ``POST /invoke`` handles the event in its body."""
    headers = {name.lower(): value for name, value in flask_request.headers.items()}
    response = invoke_response(handler, method=flask_request.method, path=flask_request.path, headers=headers,
                               body=flask_request.get_data())
    return response.body, response.status, response.headers


def invoke_response(handler: EventHandler, *, method: str, path: str, headers: Mapping[str, str],
                    body: bytes) -> HttpResponse:
    """The custom-runtime contract, platform-neutral (header names lower-cased): a summary or a failure."""
    request_id = headers.get("x-fc-request-id", "")
    if method != "POST" or path not in (INVOKE_PATH, INITIALIZE_PATH):
        return json_response(404, {"error": {"code": "NotFound", "message": "POST the event to /invoke",
                                              "request_id": request_id}})
    if path == INITIALIZE_PATH:  # the instance was initialised when this module was imported
        return json_response(200, {"status": "ok"})
    with invocation(_header_context(headers, request_id)):
        try:
            summary = handler.handle(body, request_id=request_id)
        except PresignError as error:
            payload = error_body(error, request_id)
            if hasattr(error, "summary"):
                payload["summary"] = error.summary
            return json_response(error.status, payload, {"x-fc-status": "404"})
    return json_response(200, summary, {"x-fc-status": "200"})


def _header_context(headers: Mapping[str, str], request_id: str) -> dict[str, object]:
    """An FC context from the custom runtime's headers: the request id and the role's credentials."""
    credentials = {name: headers.get(header, "") for name, header in _CONTEXT_HEADERS}
    return {"request_id": request_id, "credentials": credentials if any(credentials.values()) else None}
