"""The object-created function's wiring, done once per instance, and the two ways an event reaches it.

- ``serve_oss_event``: Function Compute's event handler ``handler(event, context)``; returns the summary
  or raises (``DeliveryFailed``, a ConfigError), which makes the invocation fail so that FC retries it;
- ``serve_invoke``: custom runtimes (functions-framework), where FC POSTs the event to ``/invoke`` with
  its context in ``x-fc-*`` headers; 200 and the summary, or 5xx with ``x-fc-status: 404`` (FC's mark
  of a failed invocation) and the error.

Both bind the invocation's context, so that links are signed with its credentials first (as
``shared.runtime`` does for the HTTP functions).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import IO, TYPE_CHECKING, Protocol

from shared.audit import AuditLog
from shared.errors import ConfigError, PresignError
from shared.http.messages import HttpResponse, error_body, json_response
from shared.oss.issuer import utc_now
from shared.runtime import build_provider, invocation

if TYPE_CHECKING:
    from shared.links.tokens import LinkSigner

INVOKE_PATH = "/invoke"
INITIALIZE_PATH = "/initialize"
_CONTEXT_HEADERS = (("access_key_id", "x-fc-access-key-id"), ("access_key_secret", "x-fc-access-key-secret"),
                    ("security_token", "x-fc-security-token"))


class EventHandler(Protocol):
    """Anything that handles one OSS event: the real handler, or the one a bad configuration leaves."""

    def handle(self, event: bytes | str | Mapping[str, object], *, request_id: str = "") -> dict[str, object]: ...


class BrokenHandler:
    """What a function with a configuration error runs: every event fails with the same ConfigError."""

    def __init__(self, error: ConfigError, audit: AuditLog) -> None:
        self.error = error
        self.audit = audit

    def handle(self, event: bytes | str | Mapping[str, object], *, request_id: str = "") -> dict[str, object]:
        """Log and raise the ConfigError, so that FC keeps the event for a retry after the fix."""
        self.audit.write("event_refused", request_id=request_id, code=self.error.code,
                         variable=self.error.variable, reason=self.error.message)
        raise self.error


def build_on_created_handler(environ: Mapping[str, str], *, clock: Callable[[], datetime] = utc_now,
                             provider: object = None, session: object = None,
                             audit_stream: IO[str] | None = None, sleep: Callable[[float], None] = time.sleep,
                             monotonic: Callable[[], float] = time.monotonic) -> EventHandler:
    """Read and check the configuration once; a bad one gives a handler that fails every event."""
    from shared.config import OnCreatedSettings
    from shared.oss.issuer import Issuer
    from shared.object_created.object_links import LinkMaker
    from shared.object_created.handler import ObjectCreatedHandler
    from shared.object_created.webhooks import WebhookSender

    audit = AuditLog(clock, audit_stream)
    try:
        settings = OnCreatedSettings(environ)
        signer = _link_signer(settings.link_signing_keys) if settings.rules.uses("redirect") else None
        provider = provider or build_provider(environ, clock=clock, session=session)
        issuer = Issuer(provider, region=settings.signing.region, endpoint=settings.signing.endpoint,  # type: ignore[arg-type]
                        cname=settings.signing.cname, clock=clock)
    except ConfigError as error:
        audit.write("config_error", code=error.code, variable=error.variable, reason=error.message)
        return BrokenHandler(error, audit)
    sender = WebhookSender(attempts=settings.attempts, attempt_timeout=settings.attempt_timeout,
                           budget=settings.budget, sleep=sleep, monotonic=monotonic)
    links = LinkMaker(issuer, link_signer=signer, link_base_url=settings.link_base_url, clock=clock)
    return ObjectCreatedHandler(settings.rules, links=links, sender=sender, audit=audit,
                                concurrency=settings.concurrency, budget=settings.budget, monotonic=monotonic)


def _link_signer(keys: str | None) -> LinkSigner:
    """The links function's signer for ``LINK_SIGNING_KEYS`` (a ConfigError when they are wrong)."""
    from shared.links.tokens import LinkSigner

    return LinkSigner.from_setting(keys)


def serve_oss_event(handler: EventHandler, event: object, context: object = None) -> dict[str, object]:
    """Handle one OSS trigger event under its invocation context; raise when FC should retry it."""
    with invocation(context):
        return handler.handle(event, request_id=_request_id(context))  # type: ignore[arg-type]


def serve_invoke(handler: EventHandler, flask_request: object) -> tuple[bytes, int, dict[str, str]]:
    """Answer functions-framework's request: ``POST /invoke`` handles the event in its body."""
    headers = {name.lower(): value for name, value in flask_request.headers.items()}  # type: ignore[attr-defined]
    method, path = flask_request.method, flask_request.path  # type: ignore[attr-defined]
    response = invoke_response(handler, method=method, path=path, headers=headers,
                               body=flask_request.get_data())  # type: ignore[attr-defined]
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


def _request_id(context: object) -> str:
    if isinstance(context, Mapping):
        value = context.get("request_id") or context.get("requestId")
    else:
        value = getattr(context, "request_id", None) or getattr(context, "requestId", None)
    return value if isinstance(value, str) else ""
