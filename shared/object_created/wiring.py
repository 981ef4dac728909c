"""The object-created function's instance, built once at cold start from the environment."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import IO, TYPE_CHECKING, Protocol

from shared.audit import AuditLog
from shared.clock import utc_now
from shared.credentials.invocation import invocation_first
from shared.credentials.provider import CredentialsProvider
from shared.errors import ConfigError
from shared.object_created.handler import ObjectCreatedHandler
from shared.object_created.object_links import LinkMaker
from shared.object_created.settings import OnCreatedSettings
from shared.object_created.webhooks import WebhookSender
from shared.oss.issuer import Issuer

if TYPE_CHECKING:
    from shared.links.tokens import LinkSigner


class EventHandler(Protocol):
    """Anything that handles one OSS event: the real handler, or the one a bad configuration leaves."""

    audit: AuditLog

    def handle(self, event: object, *, request_id: str = "") -> dict[str, object]: ...


class BrokenHandler:
    """What a function with a configuration error runs: every event fails with the same ConfigError."""

    def __init__(self, error: ConfigError, audit: AuditLog) -> None:
        self.error = error
        self.audit = audit

    def handle(self, event: object, *, request_id: str = "") -> dict[str, object]:
        """Log and raise the ConfigError, so that FC keeps the event for a retry after the fix."""
        self.audit.write("event_refused", request_id=request_id, code=self.error.code,
                         variable=self.error.variable, reason=self.error.message)
        raise self.error


def build_on_created_handler(environ: Mapping[str, str], *, clock: Callable[[], datetime] = utc_now,
                             provider: CredentialsProvider | None = None, session: object = None,
                             audit_stream: IO[str] | None = None, sleep: Callable[[float], None] = time.sleep,
                             monotonic: Callable[[], float] = time.monotonic) -> EventHandler:
    """Read and check the configuration once; a bad one gives a handler that fails every event."""
    audit = AuditLog(clock, audit_stream)
    try:
        settings = OnCreatedSettings(environ)
        signer = _link_signer(settings.link_signing_keys) if settings.rules.uses("redirect") else None
        assert settings.signing.region, "function_signing_defaults requires OSS_REGION"
        issuer = Issuer(provider or invocation_first(environ, clock=clock, session=session),
                        region=settings.signing.region, endpoint=settings.signing.endpoint,
                        cname=settings.signing.cname, clock=clock)
    except ConfigError as error:
        audit.write("config_error", code=error.code, variable=error.variable, reason=error.message)
        return BrokenHandler(error, audit)
    sender = WebhookSender(attempts=settings.attempts, attempt_timeout=settings.attempt_timeout,
                           budget=settings.budget, sleep=sleep, monotonic=monotonic)
    links = LinkMaker(issuer, link_signer=signer, link_base_url=settings.link_base_url, clock=clock)
    return ObjectCreatedHandler(settings.rules, buckets=settings.buckets, links=links, sender=sender, audit=audit,
                                concurrency=settings.concurrency, budget=settings.budget, monotonic=monotonic)


def _link_signer(keys: str | None) -> LinkSigner:
    """The links function's signer for ``LINK_SIGNING_KEYS`` (a ConfigError when they are wrong); loaded only
    for redirect rules."""
    from shared.links.tokens import LinkSigner

    return LinkSigner.from_setting(keys)
