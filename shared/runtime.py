"""Per-instance wiring, done once at cold start, and the three ways a request reaches an app.

- ``serve_fc_event``: Function Compute 3.0 HTTP triggers and API Gateway triggers;
- ``serve_wsgi``: Function Compute 2.0 HTTP functions and any WSGI server;
- ``serve_flask``: functions-framework (custom runtimes, containers, any HTTP FaaS).

On Function Compute the invocation's ``context.credentials`` (the function role's STS credentials)
are the freshest credentials there are: each invocation binds its context, and the credential chain
asks it first, before the cached sources.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import IO, Protocol

from shared.errors import ConfigError, PresignError
from shared.http.fc import request_from_event, response_to_event
from shared.http.messages import HttpRequest, HttpResponse, error_response
from shared.http.wsgi import request_from_environ, respond
from shared.oss.issuer import utc_now

_INVOCATION: contextvars.ContextVar[object | None] = contextvars.ContextVar("fc_invocation_context", default=None)


@contextlib.contextmanager
def invocation(context: object) -> Iterator[None]:
    """Bind an invocation's context (and so its credentials) for the code that serves it."""
    token = _INVOCATION.set(context)
    try:
        yield
    finally:
        _INVOCATION.reset(token)


class App(Protocol):
    """Anything that answers an HttpRequest."""

    def handle(self, request: HttpRequest) -> HttpResponse: ...


class _CurrentInvocation:
    """Stands for the context of the invocation being served, for FunctionContextSource."""

    @property
    def credentials(self) -> object:
        context = _INVOCATION.get()
        if context is None:
            return None
        if isinstance(context, Mapping):
            return context.get("credentials")
        return getattr(context, "credentials", None)


class _InvocationFirst:
    """The invocation's FC context credentials when it has some (fresh every call), else the chain.

    Unlike the chain, it does not stick to the source that last worked: one invocation may carry a
    context and the next (a python3.12 runtime, a local test) may not.
    """

    def __init__(self, fallback: object) -> None:
        from shared.credentials import FunctionContextSource

        self.context_source = FunctionContextSource(_CurrentInvocation())
        self.fallback = fallback

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> object:
        from shared.credentials import SourceNotConfigured

        try:
            return self.context_source.get_credentials(min_valid_until=min_valid_until)
        except SourceNotConfigured:
            return self.fallback.get_credentials(min_valid_until=min_valid_until)  # type: ignore[attr-defined]


def build_provider(environ: Mapping[str, str], *, clock: Callable[[], datetime], session: object = None) -> object:
    """The invocation's FC context first, then the cached default chain."""
    from shared.credentials import default_provider

    return _InvocationFirst(default_provider(environ, session=session, clock=clock))


def _gate_and_issuer(settings: object, environ: Mapping[str, str], *, clock: Callable[[], datetime],
                     provider: object, session: object) -> tuple[object, object, object]:
    """What the presign and links apps share: the authenticator, the policy and the issuer."""
    from shared.auth.authenticator import Authenticator
    from shared.oss.issuer import Issuer
    from shared.auth.policy import Policy

    authenticator = Authenticator.from_settings(
        api_keys=settings.api_keys, jwt_secrets=settings.jwt_secrets, jwt_issuer=settings.jwt_issuer,  # type: ignore[attr-defined]
        jwt_audience=settings.jwt_audience, trust_gateway=settings.trust_gateway,  # type: ignore[attr-defined]
        gateway_header=settings.gateway_header)  # type: ignore[attr-defined]
    policy = Policy.parse(settings.policy)  # type: ignore[attr-defined]
    signing = settings.signing  # type: ignore[attr-defined]
    issuer = Issuer(provider or build_provider(environ, clock=clock, session=session), region=signing.region,
                    endpoint=signing.endpoint, cname=signing.cname, clock=clock)
    return authenticator, policy, issuer


def build_presign_app(environ: Mapping[str, str], *, clock: Callable[[], datetime] = utc_now,
                      provider: object = None, session: object = None, audit_stream: IO[str] | None = None) -> App:
    """Read and check the configuration once; a bad one gives an app that answers 500 ConfigError."""
    from shared.audit import AuditLog
    from shared.config import PresignSettings
    from shared.oss.client import OssClient
    from shared.presign.app import BrokenApp, PresignApp

    audit = AuditLog(clock, audit_stream)
    try:
        settings = PresignSettings(environ)
        authenticator, policy, issuer = _gate_and_issuer(settings, environ, clock=clock, provider=provider,
                                                         session=session)
    except ConfigError as error:
        return BrokenApp(error, audit)
    return PresignApp(settings, authenticator=authenticator, policy=policy, issuer=issuer,  # type: ignore[arg-type]
                      oss=OssClient(issuer, session=session), audit=audit, clock=clock)  # type: ignore[arg-type]


def build_links_app(environ: Mapping[str, str], *, clock: Callable[[], datetime] = utc_now,
                    provider: object = None, session: object = None, audit_stream: IO[str] | None = None) -> App:
    """The links function's app: the presign app's gate and issuer, plus the link signer and revocation."""
    from shared.audit import AuditLog
    from shared.config import LinksSettings
    from shared.links.tokens import LinkSigner
    from shared.links.app import LinksApp
    from shared.oss.client import OssClient
    from shared.presign.app import BrokenApp
    from shared.links.revocation import Revocation

    audit = AuditLog(clock, audit_stream)
    try:
        settings = LinksSettings(environ)
        signer = LinkSigner.from_setting(settings.signing_keys)
        authenticator, policy, issuer = _gate_and_issuer(settings, environ, clock=clock, provider=provider,
                                                         session=session)
    except ConfigError as error:
        return BrokenApp(error, audit)
    revocation = Revocation.from_settings(settings, OssClient(issuer, session=session))  # type: ignore[arg-type]
    return LinksApp(settings, authenticator=authenticator, policy=policy, issuer=issuer, signer=signer,  # type: ignore[arg-type]
                    revocation=revocation, audit=audit, clock=clock)


def serve_fc_event(app: App, event: object, context: object = None) -> dict[str, object]:
    """Answer one FC 3.0 or API Gateway event with the response dict both expect."""
    with invocation(context):
        try:
            request = request_from_event(event)  # type: ignore[arg-type]
        except PresignError as error:
            return response_to_event(error_response(error, _request_id(context)))
        if not request.request_id:
            request.request_id = _request_id(context)
        return response_to_event(app.handle(request))


def serve_wsgi(app: App, environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    """Answer one WSGI request."""
    try:
        request = request_from_environ(environ)
    except PresignError as error:
        return respond(error_response(error, ""), start_response)
    return respond(app.handle(request), start_response)


def serve_flask(app: App, flask_request: object) -> tuple[bytes, int, dict[str, str]]:
    """Answer one functions-framework (Flask) request, through its WSGI environ."""
    try:
        request = request_from_environ(flask_request.environ)  # type: ignore[attr-defined]
    except PresignError as error:
        response = error_response(error, "")
    else:
        response = app.handle(request)
    return response.body, response.status, response.headers


def _request_id(context: object) -> str:
    if isinstance(context, Mapping):
        value = context.get("request_id") or context.get("requestId")
    else:
        value = getattr(context, "request_id", None) or getattr(context, "requestId", None)
    return value if isinstance(value, str) else ""
