"""The local sources: keys given in code, the Function Compute context, and environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.clock import Clock, utc_now
from shared.credentials.document import ensure_unexpired
from shared.credentials.provider import SourceNotConfigured
from shared.credentials.value import Credentials
from shared.errors import CredentialsError

# (key id, secret, token) variable names, in the order they are tried: the names the OSS documentation
# uses first (a deliberate choice for this package), then the ones Function Compute 3.0 injects for
# the function's role.
ENVIRONMENT_NAMES = (
    ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"),
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"),
)

_CONTEXT_FIELDS = (
    ("access_key_id", "accessKeyId"),
    ("access_key_secret", "accessKeySecret"),
    ("security_token", "securityToken"),
)


class ExplicitSource:
    """Credentials given in code; None means this source is not used."""

    name = "explicit"

    def __init__(self, credentials: Credentials | None, *, clock: Clock | None = None) -> None:
        if credentials is not None and not isinstance(credentials, Credentials):
            raise TypeError(f"credentials must be Credentials or None, got {type(credentials).__name__}")
        self._credentials = credentials
        self._clock = clock or utc_now

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Return the given credentials unless they have expired."""
        if self._credentials is None:
            raise SourceNotConfigured(self.name, "no credentials given in code")
        return ensure_unexpired(self.name, self._credentials, now=self._clock())

    def __repr__(self) -> str:
        return f"ExplicitSource({self._credentials!r})"


class FunctionContextSource:
    """The credentials of the function's role that Function Compute hands over in ``context.credentials``.

    Attributes may be snake_case or camelCase, and the context may be an object or a mapping. No
    context, no ``credentials`` or empty ones (python3.12 runtimes) mean "not here". Function Compute
    documents these STS credentials as valid for 36 hours but does not say since when, so they carry
    no expiration here.
    """

    name = "fc_context"

    def __init__(self, context: object | None) -> None:
        self._context = context

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Read the key id, secret and token of the context's credentials."""
        if self._context is None:
            raise SourceNotConfigured(self.name, "no Function Compute context given")
        holder = _field(self._context, ("credentials",))
        if not holder:
            raise SourceNotConfigured(self.name, "the context carries no credentials")
        key_id, secret, token = (_text(_field(holder, names)) for names in _CONTEXT_FIELDS)
        if not (key_id or secret or token):
            raise SourceNotConfigured(self.name, "the context's credentials are empty")
        if not key_id or not secret:
            missing = [names[0] for names, value in zip(_CONTEXT_FIELDS, (key_id, secret), strict=False) if not value]
            raise CredentialsError(self.name, f"context.credentials lacks {' and '.join(missing)}")
        return Credentials(key_id, secret, token)

    def __repr__(self) -> str:
        return f"FunctionContextSource(context={type(self._context).__name__})"


class EnvironmentSource:
    """Keys from environment variables (see ENVIRONMENT_NAMES); a half-set pair names what is missing."""

    name = "environment"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Return the first complete set of variables, or say which one is missing."""
        found = [self._read(names) for names in ENVIRONMENT_NAMES]
        for credentials in found:
            if credentials is not None:
                return credentials
        tried = " or ".join(f"{key_id}/{secret}" for key_id, secret, _ in ENVIRONMENT_NAMES)
        raise SourceNotConfigured(self.name, f"neither {tried} is set")

    def _read(self, names: tuple[str, str, str]) -> Credentials | None:
        """Read one group of variables; None when none is set, CredentialsError when it is half set."""
        values = [self._environ.get(name, "").strip() for name in names]
        key_id, secret, token = values
        if not any(values):
            return None
        missing = [name for name, value in zip(names[:2], (key_id, secret), strict=True) if not value]
        if missing:
            present = [name for name, value in zip(names, values, strict=True) if value]
            raise CredentialsError(self.name, f"{_are(missing)} not set, but {_are(present)}: set both keys")
        return Credentials(key_id, secret, token or None)

    def __repr__(self) -> str:
        return "EnvironmentSource()"


def _field(holder: object, names: tuple[str, ...]) -> object | None:
    """Return the first non-empty value among ``names``, read as attributes or as mapping keys."""
    for name in names:
        value: object = holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)
        if value:
            return value
    return None


def _text(value: object | None) -> str | None:
    """Return a non-blank string value, or None for anything else."""
    return value if isinstance(value, str) and value.strip() else None


def _are(names: list[str]) -> str:
    """Say "A is" or "A and B are", for messages about variables."""
    return f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'}"
