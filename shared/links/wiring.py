"""The links function's instance, built once at cold start: the presign gate and issuer, the link signer, revocation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import IO, TYPE_CHECKING

from shared.audit import AuditLog
from shared.clock import utc_now
from shared.credentials.provider import CredentialsProvider
from shared.errors import ConfigError
from shared.http.api import App, BrokenApp
from shared.links.app import LinksApp
from shared.links.revocation import Revocation
from shared.links.settings import LinksSettings
from shared.links.tokens import LinkSigner
from shared.oss.client import OssClient
from shared.presign.wiring import gate_and_issuer

if TYPE_CHECKING:
    import requests


def build_links_app(environ: Mapping[str, str], *, clock: Callable[[], datetime] = utc_now,
                    provider: CredentialsProvider | None = None, session: requests.Session | None = None,
                    audit_stream: IO[str] | None = None) -> App:
    """Read and check the configuration once; a bad one gives an app that answers 500 ConfigError."""
    audit = AuditLog(clock, audit_stream)
    try:
        settings = LinksSettings(environ)
        signer = LinkSigner.from_setting(settings.signing_keys)
        authenticator, policy, issuer = gate_and_issuer(settings, environ, clock=clock, provider=provider,
                                                        session=session)
    except ConfigError as error:
        return BrokenApp(error, audit)
    revocation = Revocation.from_settings(settings, OssClient(issuer, session=session))
    return LinksApp(settings, authenticator=authenticator, policy=policy, issuer=issuer, signer=signer,
                    revocation=revocation, audit=audit, clock=clock)
