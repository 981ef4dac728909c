"""The presign function's instance, built once at cold start from the environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from shared.audit import AuditLog
from shared.auth.authenticator import Authenticator
from shared.auth.policy import Policy
from shared.clock import utc_now
from shared.config import PresignSettings, PresignUploadSettings
from shared.credentials.invocation import invocation_first
from shared.credentials.provider import CredentialsProvider
from shared.errors import ConfigError
from shared.http.api import App, BrokenApp
from shared.oss.client import OssClient
from shared.oss.issuer import Issuer
from shared.presign.app import PresignApp
from shared.presign.upload_keys import UploadKeys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import IO

    import requests


def gate_and_issuer(settings: PresignSettings, environ: Mapping[str, str], *, clock: Callable[[], datetime],
                    provider: CredentialsProvider | None, session: object) -> tuple[Authenticator, Policy, Issuer]:
    """What the presign and links apps share: the authenticator, the policy and the issuer."""
    authenticator = Authenticator.from_settings(
        api_keys=settings.api_keys, jwt_secrets=settings.jwt_secrets, jwt_issuer=settings.jwt_issuer,
        jwt_audience=settings.jwt_audience, trust_gateway=settings.trust_gateway,
        gateway_header=settings.gateway_header)
    policy = Policy.parse(settings.policy)
    signing = settings.signing
    assert signing.region, "function_signing_defaults requires OSS_REGION"
    issuer = Issuer(provider or invocation_first(environ, clock=clock, session=session), region=signing.region,
                    endpoint=signing.endpoint, cname=signing.cname, clock=clock)
    return authenticator, policy, issuer


def build_presign_app(environ: Mapping[str, str], *, clock: Callable[[], datetime] = utc_now,
                      provider: CredentialsProvider | None = None, session: requests.Session | None = None,
                      audit_stream: IO[str] | None = None) -> App:
    """Read and check the configuration once; a bad one gives an app that answers 500 ConfigError."""
    audit = AuditLog(clock, audit_stream)
    try:
        settings = PresignUploadSettings(environ)
        authenticator, policy, issuer = gate_and_issuer(settings, environ, clock=clock, provider=provider,
                                                        session=session)
        upload_keys = UploadKeys.parse(settings.upload_key)
    except ConfigError as error:
        return BrokenApp(error, audit)
    return PresignApp(settings, authenticator=authenticator, policy=policy, issuer=issuer,
                      oss=OssClient(issuer, session=session), audit=audit, clock=clock, upload_keys=upload_keys)
