"""The Function Compute invocation being served: its context, bound for the code that serves it.

On Function Compute the invocation's ``context.credentials`` (the function role's STS credentials)
are the freshest credentials there are: each invocation binds its context, and the provider that
``invocation_first`` builds asks it first, before the cached chain.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from datetime import datetime

from shared.credentials.provider import CredentialsProvider, SourceNotConfigured
from shared.credentials.sources import FunctionContextSource
from shared.credentials.value import Credentials

_INVOCATION: contextvars.ContextVar[object | None] = contextvars.ContextVar("fc_invocation_context", default=None)


def invocation(context: object) -> Binding:
    """Bind an invocation's context (and so its credentials) for the code that serves it: ``with invocation(c):``."""
    return Binding(context)


class Binding:
    """The context manager ``invocation`` returns (a class: contextlib would cost a cold start ~1 ms)."""

    __slots__ = ("context", "_token")

    def __init__(self, context: object) -> None:
        self.context = context

    def __enter__(self) -> None:
        self._token = _INVOCATION.set(self.context)

    def __exit__(self, *exc_info: object) -> None:
        _INVOCATION.reset(self._token)


def request_id_of(context: object) -> str:
    """The request id an FC context carries (``request_id`` or ``requestId``, attribute or key), or ""."""
    if isinstance(context, Mapping):
        value = context.get("request_id") or context.get("requestId")
    else:
        value = getattr(context, "request_id", None) or getattr(context, "requestId", None)
    return value if isinstance(value, str) else ""


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


class InvocationFirst:
    """The invocation's FC context credentials when it has some (fresh every call), else the fallback.

    Unlike the chain, it does not stick to the source that last worked: one invocation may carry a
    context and the next (a python3.12 runtime, a local test) may not.
    """

    def __init__(self, fallback: CredentialsProvider) -> None:
        self.context_source = FunctionContextSource(_CurrentInvocation())
        self.fallback = fallback

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """The bound invocation's credentials, else the fallback's."""
        try:
            return self.context_source.get_credentials(min_valid_until=min_valid_until)
        except SourceNotConfigured:
            return self.fallback.get_credentials(min_valid_until=min_valid_until)


def invocation_first(environ: Mapping[str, str], *, clock: Callable[[], datetime],
                     session: object = None) -> CredentialsProvider:
    """The invocation's FC context first, then the cached default chain.

    With ``ALIBABA_CLOUD_ROLE_ARN`` asking for AssumeRole, the role is assumed with those credentials
    (the invocation's, else the chain's), as the chain alone would: the role is never skipped.
    """
    from shared.credentials.chain import default_provider  # the whole chain: only when a function is built

    if environ.get("ALIBABA_CLOUD_ROLE_ARN", "").strip():
        from shared.credentials.cache import CredentialsCache
        from shared.credentials.sts import AssumeRoleSource, wants_assume_role

        if wants_assume_role(environ):
            plain = {name: value for name, value in environ.items() if name != "ALIBABA_CLOUD_ROLE_ARN"}
            base = InvocationFirst(default_provider(plain, session=session, clock=clock))
            role = AssumeRoleSource.from_environ(environ, base, session=session, clock=clock)
            return CredentialsCache(role, clock=clock)
    return InvocationFirst(default_provider(environ, session=session, clock=clock))
