"""The one HTTP error boundary every app answers through, its batch loop and its refusal log line.

    answer(request, audit, route)   run the app's route; a PresignError becomes its JSON error and one
                                    "refused" line, anything else a 500 whose log line names only its type;
                                    every answer carries our request id in ``X-Request-Id``
    batch(call, audit, body, item)  ``{"items": [...]}`` in, one result or error per item, in order
    Api                             the base of the presign and links apps: the gate, the boundary, CORS
    BrokenApp                       what a function whose configuration is wrong answers with: 500
                                    ConfigError, and 503 ``{"status": "misconfigured"}`` on /healthz
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from shared.audit import AuditLog
from shared.auth.authenticator import Authenticator, Principal
from shared.auth.policy import Policy
from shared.errors import InvalidArgument, PayloadTooLarge, PresignError
from shared.http.cors import CorsOrigins, preflight, with_cors
from shared.http.messages import ERROR_HEADERS, HttpRequest, HttpResponse, error_body, error_response, json_response
from shared.http.routing import error_headers, route_methods
from shared.oss.issuer import Issuer

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # the protocol is for the type checker; at run time a plain base class

MAX_BATCH = 1000
HEALTH_PATHS = ("/healthz", "/healthz/")
REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class App(Protocol):
    """Anything that answers an HttpRequest."""

    def handle(self, request: HttpRequest) -> HttpResponse: ...


class Call:
    """One request being answered, and its principal once authenticated (for the refusal log line)."""

    __slots__ = ("request", "principal")

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.principal: Principal | None = None


def answer(request: HttpRequest, audit: AuditLog, route: Callable[[Call], HttpResponse]) -> HttpResponse:
    """Answer one request through ``route``; every failure becomes its JSON error, never a traceback."""
    call = Call(request)
    try:
        response = route(call)
    except PresignError as error:
        refused(audit, call, error)
        return error_response(error, request.request_id, error_headers(error))
    except Exception as error:  # a bug: log its type only (its text may hold request data)
        audit.write("error", request_id=request.request_id, client_request_id=request.client_request_id,
                    error=type(error).__name__)
        return error_response(PresignError("internal error"), request.request_id)
    response.headers["X-Request-Id"] = request.request_id
    return response


def refused(audit: AuditLog, call: Call, error: PresignError, *, item: int | None = None) -> None:
    """The one log line of a refusal: status, code, the precise reason, who asked and for what."""
    request = call.request
    audit.write("refused", request_id=request.request_id, client_request_id=request.client_request_id,
                status=error.status, code=error.code, reason=error.detail or error.message,
                principal=call.principal.name if call.principal else None, method=request.method[:16],
                path=request.path[:256], client_ip=request.client_ip, item=item)


def batch(call: Call, audit: AuditLog, body: Mapping[str, object],
          item: Callable[[Mapping[str, object]], dict[str, object]], *, noun: str) -> HttpResponse:
    """Answer ``{"items": [...]}`` (at most MAX_BATCH) with one result or error per item, in order."""
    unknown = sorted(name for name in body if name != "items")
    if unknown:  # e.g. an "expires" meant for every item: refused rather than silently not applied
        raise InvalidArgument(unknown[0], f"unknown field {unknown[0]!r}; a batch takes only items")
    items = body.get("items")
    if not isinstance(items, list):
        raise InvalidArgument("items", f"items must be a list of {noun}")
    if len(items) > MAX_BATCH:
        raise PayloadTooLarge(f"a batch holds at most {MAX_BATCH} items, got {len(items)}")
    results: list[dict[str, object]] = []
    for index, given in enumerate(items):
        try:
            if not isinstance(given, Mapping):
                raise InvalidArgument(f"items[{index}]", "each item must be a JSON object")
            results.append(item(given))
        except PresignError as error:
            refused(audit, call, error, item=index)
            results.append(error_body(error, call.request.request_id))
    return json_response(200, {"items": results})


class Api:
    """An HTTP API behind the one boundary: callers authenticated, each URL authorized by the policy and issued."""

    routes: Mapping[str, tuple[str, ...]] = {}  # each route's methods: what a browser's preflight is told

    def __init__(self, *, authenticator: Authenticator, policy: Policy, issuer: Issuer, audit: AuditLog,
                 clock: Callable[[], datetime], cors: CorsOrigins | None = None) -> None:
        self.authenticator = authenticator
        self.policy = policy
        self.issuer = issuer
        self.audit = audit
        self.clock = clock
        self.cors = cors

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request; every failure becomes its JSON error, never a traceback; CORS headers on each."""
        return with_cors(self.cors, request.headers, answer(request, self.audit, self.preflight_or_route))

    def preflight_or_route(self, call: Call) -> HttpResponse:
        """A browser's OPTIONS answered 204 before authentication and without I/O, or the app's route."""
        request = call.request
        granted = preflight(self.cors, request.method, self.methods_for(request.path), request.headers)
        return HttpResponse(204, granted) if granted is not None else self.route(call)

    def methods_for(self, path: str) -> tuple[str, ...] | None:
        """The methods the route at ``path`` serves, from the route table; None when there is no such route."""
        return route_methods(path, self.routes)

    def route(self, call: Call) -> HttpResponse:
        """Answer one request, or raise the PresignError that refuses it."""
        raise NotImplementedError

    def authenticate(self, call: Call) -> Principal:
        """Who is asking (401 when nobody verifiable); remembered on the call for the refusal log line."""
        call.principal = self.authenticator.authenticate(call.request.headers, now=self.clock())
        return call.principal


def adapter_refusal(app: App, origin: str | None, response: HttpResponse) -> HttpResponse:
    """A request an adapter could not read, refused: readable by a page on an origin the app's CORS allows."""
    return with_cors(app.cors if isinstance(app, Api) else None, {"origin": origin} if origin else {}, response)


class BrokenApp:
    """What a function with a configuration error runs: every request gets the same 500 ConfigError, and a
    health check 503, so that the platform sees the instance is not fit to serve."""

    def __init__(self, error: PresignError, audit: AuditLog) -> None:
        self.error = error
        self.audit = audit

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer 500 ConfigError naming the variable, never its value; /healthz 503 naming nothing."""
        health = request.path in HEALTH_PATHS and request.method in ("GET", "HEAD")
        self.audit.write("refused", request_id=request.request_id, client_request_id=request.client_request_id,
                         status=503 if health else self.error.status, code=self.error.code, reason=self.error.message)
        if health:
            headers = {**ERROR_HEADERS, "X-Request-Id": request.request_id}
            return json_response(503, {"status": "misconfigured"}, headers)
        return error_response(self.error, request.request_id)
