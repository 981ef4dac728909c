"""The two ways an OSS event reaches the object-created function.

- ``serve_oss_event``: Function Compute's event handler ``handler(event, context)``; returns the summary
  or raises (``DeliveryFailed``, a ConfigError), which makes the invocation fail so that FC retries it;
- ``serve_invoke``: custom runtimes (functions-framework), where FC POSTs the event to ``/invoke``;
  200 and the summary, or 4xx/5xx with ``x-fc-status: 404`` (FC's mark of a failed invocation) and
  the error. Only an admitted request (``invoke_access``: the invoke token, or FC's front end in FC
  mode) is read past its headers; its body is refused over 1 MiB before it is read (``Content-Length``)
  or as soon as a chunked body passes it.

Both bind the invocation's context, so that links are signed with its credentials first (as the HTTP
functions' adapters do); over HTTP only an FC-mode invocation has one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

from shared.credentials.invocation import invocation, request_id_of
from shared.errors import NotFound, PresignError, Unauthenticated
from shared.http.limits import read_body
from shared.http.messages import (
    ERROR_HEADERS,
    HttpResponse,
    client_request_id,
    error_body,
    error_response,
    json_response,
)
from shared.object_created.invoke_access import InvokeAccess
from shared.object_created.wiring import EventHandler

if TYPE_CHECKING:
    pass

INVOKE_PATH = "/invoke"
INITIALIZE_PATH = "/initialize"


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
    @property
    def environ(self) -> Mapping[str, object]: ...


def serve_oss_event(handler: EventHandler, event: object, context: object = None) -> dict[str, object]:
    """Handle one OSS trigger event under its invocation context; raise when FC should retry it."""
    with invocation(context):
        return handler.handle(event, request_id=request_id_of(context))


def serve_invoke(handler: EventHandler, access: InvokeAccess,
                 flask_request: InvokeRequest) -> tuple[Iterator[bytes], int, dict[str, str]]:
    """Answer functions-framework's request: ``POST /invoke`` handles the event in its body.

    The body goes back as an iterator: functions-framework then skips its after-request hook, which
    would otherwise read a refused body whole (gunicorn drains or drops what is left, bounded)."""
    headers = {name.lower(): value for name, value in flask_request.headers.items()}
    response = invoke_response(handler, access, method=flask_request.method, path=flask_request.path,
                               headers=headers, read_body=lambda: read_body(flask_request.environ))
    response.headers["Content-Length"] = str(len(response.body))
    return iter((response.body,)), response.status, response.headers


def invoke_response(handler: EventHandler, access: InvokeAccess, *, method: str, path: str,
                    headers: Mapping[str, str], read_body: Callable[[], bytes]) -> HttpResponse:
    """The custom-runtime contract, platform-neutral (header names lower-cased): a summary or a failure."""
    if method != "POST" or path not in (INVOKE_PATH, INITIALIZE_PATH):
        return error_response(NotFound("POST the event to /invoke"), os.urandom(16).hex())
    if path == INITIALIZE_PATH:  # the instance was initialised when this module was imported; no body is read
        return json_response(200, {"status": "ok"})
    request_id = os.urandom(16).hex()  # ours, unless FC's front end is the caller
    try:
        admission = access.admit(headers, headers.get("x-fc-request-id", ""))
        if admission.via == "fc":
            request_id = headers["x-fc-request-id"]
        body = read_body()
    except PresignError as error:
        handler.audit.write("invoke_refused", request_id=request_id, client_request_id=client_request_id(headers),
                            status=error.status, code=error.code, reason=error.message)
        extra = {"WWW-Authenticate": 'Bearer realm="invoke"'} if isinstance(error, Unauthenticated) else {}
        return _failure(error, request_id, extra)
    with invocation(admission.context or {"request_id": request_id}):
        try:
            summary = handler.handle(body, request_id=request_id)
        except PresignError as error:
            return _failure(error, request_id)
    return json_response(200, summary, {"x-fc-status": "200"})



def _failure(error: PresignError, request_id: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
    payload = error_body(error, request_id)
    if hasattr(error, "summary"):
        payload["summary"] = error.summary
    return json_response(error.status, payload, {"x-fc-status": "404", **ERROR_HEADERS, **(headers or {})})

