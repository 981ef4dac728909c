"""The default credentials chain: every source in a documented order, the first that works is kept.

Order (``default_provider``):

    1. explicit        credentials given in code
    2. fc_context      the Function Compute context's ``credentials``
    3. environment     OSS_ACCESS_KEY_ID/_SECRET/OSS_SESSION_TOKEN, then ALIBABA_CLOUD_ACCESS_KEY_ID/...
    4. oidc_role_arn   ALIBABA_CLOUD_ROLE_ARN + _OIDC_PROVIDER_ARN + _OIDC_TOKEN_FILE (RRSA)
    5. ecs_ram_role    the metadata service (unless ALIBABA_CLOUD_ECS_METADATA_DISABLED=true)
    6. credentials_uri ALIBABA_CLOUD_CREDENTIALS_URI
    7. credentials_file ALIBABA_CLOUD_CREDENTIALS_FILE or ~/.alibabacloud/credentials.ini

Then, when ALIBABA_CLOUD_ROLE_ARN is set without the OIDC variables, the chain's credentials sign an
STS AssumeRole call and the role's credentials are used instead. The whole is wrapped in the
refresh-ahead cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.clock import Clock, utc_now
from shared.credentials import log
from shared.credentials.cache import UNAVAILABLE, CredentialsCache
from shared.credentials.imds import MetadataSource
from shared.credentials.profile import CredentialsFileSource
from shared.credentials.provider import CredentialsProvider, SourceNotConfigured
from shared.credentials.sources import EnvironmentSource, ExplicitSource, FunctionContextSource
from shared.credentials.sts import AssumeRoleSource, OidcRoleSource, wants_assume_role
from shared.credentials.uri import CredentialsUriSource
from shared.credentials.value import Credentials
from shared.errors import CredentialsError, CredentialsUnavailable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Any


class CredentialsChain:
    """Try sources in order until one gives credentials, then keep asking that one."""

    name = "chain"

    def __init__(self, sources: Sequence[CredentialsProvider]) -> None:
        if not sources:
            raise ValueError("a credentials chain needs at least one source")
        self.sources = tuple(sources)
        self.source: CredentialsProvider | None = None  # the source that worked, once one has

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Return the remembered source's credentials, or find the first source that works."""
        source = self.source
        if source is not None:
            return source.get_credentials(min_valid_until=min_valid_until)
        outcomes = []
        for source in self.sources:
            try:
                credentials = source.get_credentials(min_valid_until=min_valid_until)
            except SourceNotConfigured as exc:
                outcomes.append(f"{exc.message} [skipped]")
            except CredentialsError as exc:
                log.warning("credential source failed, trying the next: %s", exc.message)
                outcomes.append(f"{exc.message} [failed]")
            else:
                log.info("using credentials from %s", _name(source))
                self.source = source
                return credentials
        raise CredentialsUnavailable(UNAVAILABLE, "no source gave credentials; " + "; ".join(outcomes))

    def __repr__(self) -> str:
        return f"CredentialsChain([{', '.join(_name(source) for source in self.sources)}])"


def default_sources(environ: Mapping[str, str], *, context: object | None = None, session: Any = None,
                    clock: Clock | None = None, credentials: Credentials | None = None,
                    ) -> list[CredentialsProvider]:
    """Build every source of the documented order from the environment (no I/O happens here)."""
    return [
        ExplicitSource(credentials, clock=clock),
        FunctionContextSource(context),
        EnvironmentSource(environ),
        OidcRoleSource.from_environ(environ, session=session, clock=clock),
        MetadataSource.from_environ(environ, session=session, clock=clock),
        CredentialsUriSource.from_environ(environ, session=session, clock=clock),
        CredentialsFileSource.from_environ(environ, session=session, clock=clock),
    ]


def default_provider(environ: Mapping[str, str], *, context: object | None = None, session: Any = None,
                     clock: Clock | None = None, credentials: Credentials | None = None) -> CredentialsCache:
    """Build the default chain (plus AssumeRole when a role ARN asks for it) behind the refresh cache.

    Reads only ``environ``; malformed settings raise ConfigError now, sources are tried on first use.
    """
    clock = clock or utc_now
    provider: CredentialsProvider = CredentialsChain(
        default_sources(environ, context=context, session=session, clock=clock, credentials=credentials)
    )
    if wants_assume_role(environ):
        base = CredentialsCache(provider, clock=clock)
        provider = AssumeRoleSource.from_environ(environ, base, session=session, clock=clock)
    return CredentialsCache(provider, clock=clock)


def _name(source: object) -> str:
    """Name a source for logs: its ``name`` attribute, or its class."""
    return str(getattr(source, "name", type(source).__name__))
