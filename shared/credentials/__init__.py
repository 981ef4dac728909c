"""Credentials for signing: the value, the sources, the default chain and the refresh-ahead cache.

    value.py       Credentials, the frozen value (repr hides the secret and the token)
    provider.py    the provider protocol, SourceNotConfigured ("not here", the chain skips it)
    sources.py     explicit keys, the Function Compute context, environment variables
    sts.py         AssumeRole and AssumeRoleWithOIDC (rpc.py: the RPC HMAC-SHA1 signature)
    imds.py        the ECS/ECI metadata service
    uri.py         ALIBABA_CLOUD_CREDENTIALS_URI
    profile.py     ~/.alibabacloud/credentials.ini
    chain.py       the documented order, and default_provider()
    cache.py       refresh ahead of expiry, single flight, keep valid credentials on failure
    log.py         the shared.credentials logger, logging imported only when a record could show
    invocation.py  the FC invocation being served: its context bound, its credentials asked first

Importing this package costs only the value class: everything else loads on first use (PEP 562), so
that the signer, which needs ``Credentials`` alone, stays cheap to import in serverless cold starts;
``requests`` is imported by the network sources only when they make a call.
"""

from __future__ import annotations

from shared.credentials.value import Credentials

_LAZY = {
    "AssumeRoleSource": "sts",
    "CredentialsCache": "cache",
    "CredentialsChain": "chain",
    "CredentialsFileSource": "profile",
    "CredentialsProvider": "provider",
    "CredentialsUriSource": "uri",
    "EnvironmentSource": "sources",
    "ExplicitSource": "sources",
    "FunctionContextSource": "sources",
    "MetadataSource": "imds",
    "NoSource": "provider",
    "OidcRoleSource": "sts",
    "SourceNotConfigured": "provider",
    "default_provider": "chain",
    "default_sources": "chain",
}

__all__ = ["Credentials", *sorted(_LAZY)]


def __getattr__(name: str) -> object:
    """Import the module that defines ``name`` on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the eager and the lazy names alike."""
    return sorted([*globals(), *_LAZY])
