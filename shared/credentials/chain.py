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

The network sources (4 to 7) are built, and their modules imported, on first use when the environment
sets none of the variables their ``from_environ`` checks (``NETWORK_VARIABLES``): then building them
cannot fail, so malformed settings still fail when the chain is built, and a cold start that finds
credentials sooner never imports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.clock import Clock, utc_now
from shared.credentials import log
from shared.credentials.cache import UNAVAILABLE, CredentialsCache
from shared.credentials.provider import CredentialsProvider, SourceNotConfigured
from shared.credentials.sources import EnvironmentSource, ExplicitSource, FunctionContextSource
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


# The network sources in chain order, each with the variables whose values its from_environ checks.
NETWORK_VARIABLES = {
    "oidc_role_arn": ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
    "ecs_ram_role": ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "ALIBABA_CLOUD_IMDS_ENDPOINT",
                     "ALIBABA_CLOUD_IMDSV1_DISABLED"),
    "credentials_uri": ("ALIBABA_CLOUD_CREDENTIALS_URI",),
    "credentials_file": (),
}


def default_sources(environ: Mapping[str, str], *, context: object | None = None, session: Any = None,
                    clock: Clock | None = None, credentials: Credentials | None = None,
                    ) -> list[CredentialsProvider]:
    """Build every source of the documented order from the environment (no I/O happens here)."""
    network: list[CredentialsProvider] = [
        network_source(name, environ, session=session, clock=clock)
        if any(environ.get(variable, "").strip() for variable in variables)
        else DeferredSource(name, environ, session=session, clock=clock)
        for name, variables in NETWORK_VARIABLES.items()
    ]
    return [ExplicitSource(credentials, clock=clock), FunctionContextSource(context), EnvironmentSource(environ),
            *network]


def network_source(name: str, environ: Mapping[str, str], *, session: Any, clock: Clock | None,
                   ) -> CredentialsProvider:
    """Build one network source from the environment, importing its module now."""
    if name == "oidc_role_arn":
        from shared.credentials.sts import OidcRoleSource
        return OidcRoleSource.from_environ(environ, session=session, clock=clock)
    if name == "ecs_ram_role":
        from shared.credentials.imds import MetadataSource
        return MetadataSource.from_environ(environ, session=session, clock=clock)
    if name == "credentials_uri":
        from shared.credentials.uri import CredentialsUriSource
        return CredentialsUriSource.from_environ(environ, session=session, clock=clock)
    from shared.credentials.profile import CredentialsFileSource
    return CredentialsFileSource.from_environ(environ, session=session, clock=clock)


class DeferredSource:
    """A network source built on first use, for an environment that sets none of its checked variables."""

    def __init__(self, name: str, environ: Mapping[str, str], *, session: Any, clock: Clock | None) -> None:
        self.name = name
        self._build = (environ, session, clock)
        self._source: CredentialsProvider | None = None

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Build the source (once), then ask it."""
        source = self._source
        if source is None:
            environ, session, clock = self._build
            source = self._source = network_source(self.name, environ, session=session, clock=clock)
        return source.get_credentials(min_valid_until=min_valid_until)

    def __repr__(self) -> str:
        return f"DeferredSource({self.name!r}, built={self._source is not None})"


def default_provider(environ: Mapping[str, str], *, context: object | None = None, session: Any = None,
                     clock: Clock | None = None, credentials: Credentials | None = None) -> CredentialsCache:
    """Build the default chain (plus AssumeRole when a role ARN asks for it) behind the refresh cache.

    Reads only ``environ``; malformed settings raise ConfigError now, sources are tried on first use.
    """
    clock = clock or utc_now
    provider: CredentialsProvider = CredentialsChain(
        default_sources(environ, context=context, session=session, clock=clock, credentials=credentials)
    )
    if environ.get("ALIBABA_CLOUD_ROLE_ARN", "").strip():  # without one, no AssumeRole (and no sts import)
        from shared.credentials.sts import AssumeRoleSource, wants_assume_role

        if wants_assume_role(environ):
            base = CredentialsCache(provider, clock=clock)
            provider = AssumeRoleSource.from_environ(environ, base, session=session, clock=clock)
    return CredentialsCache(provider, clock=clock)


def _name(source: object) -> str:
    """Name a source for logs: its ``name`` attribute, or its class."""
    return str(getattr(source, "name", type(source).__name__))
