"""STS role sources: AssumeRole (RPC-signed with the chain's credentials) and AssumeRoleWithOIDC (RRSA).

Endpoint: ``ALIBABA_CLOUD_STS_ENDPOINT`` (scheme://host[:port]) if set; else
``sts[-vpc].<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com`` (``-vpc`` when
``ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true``); else ``sts.aliyuncs.com``; always https unless overridden.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime

from shared.clock import Clock, utc_now
from shared.credentials.document import credentials_from_document, decode_json, redact
from shared.credentials.provider import CredentialsProvider, NoSource
from shared.credentials.rpc import rpc_timestamp, signed_query
from shared.credentials.transport import base_url, send
from shared.credentials.value import Credentials
from shared.env import flag
from shared.errors import ConfigError, CredentialsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Any

API_VERSION = "2015-04-01"
GLOBAL_ENDPOINT = "https://sts.aliyuncs.com"
DEFAULT_DURATION = 3600
DURATION_RANGE = (900, 43200)
DEFAULT_TIMEOUT = 5.0
OIDC_VARIABLES = (
    "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
)


def sts_endpoint(environ: Mapping[str, str]) -> str:
    """Return the STS base URL the environment asks for (see the module docstring)."""
    override = environ.get("ALIBABA_CLOUD_STS_ENDPOINT", "").strip()
    if override:
        return base_url("ALIBABA_CLOUD_STS_ENDPOINT", override, default_scheme="https")
    region = environ.get("ALIBABA_CLOUD_STS_REGION", "").strip()
    if not region:
        return GLOBAL_ENDPOINT
    prefix = "sts-vpc" if flag(environ, "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") else "sts"
    return f"https://{prefix}.{region}.aliyuncs.com"


def wants_assume_role(environ: Mapping[str, str]) -> bool:
    """Tell whether a role ARN is given without the OIDC variables: then AssumeRole tops the chain."""
    oidc = ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE")
    return bool(_text(environ, "ALIBABA_CLOUD_ROLE_ARN")) and not any(_text(environ, name) for name in oidc)


def check_duration(variable: str, value: object) -> int:
    """Return a role session duration in 900..43200 s, or raise ConfigError naming the variable."""
    low, high = DURATION_RANGE
    try:
        seconds = int(str(value).strip())
    except ValueError:
        seconds = 0
    if not low <= seconds <= high:
        raise ConfigError(variable, f"{variable} must be {low}..{high} seconds, got {value!r}")
    return seconds


class _RoleSession:
    """What both STS calls share: the role, the session, the endpoint, the HTTP seam and the clock."""

    name = "sts"

    def __init__(self, role_arn: str, *, role_session_name: str | None, duration_seconds: int,
                 policy: str | None, endpoint: str, session: Any, clock: Clock | None,
                 timeout: float) -> None:
        if not role_arn:
            raise ValueError("role_arn must be a non-empty string")
        self.role_arn = role_arn
        self.role_session_name = role_session_name
        if not DURATION_RANGE[0] <= duration_seconds <= DURATION_RANGE[1]:
            raise ValueError(f"duration_seconds must be 900..43200, got {duration_seconds!r}")
        self.duration_seconds = duration_seconds
        self.policy = policy or None
        self.endpoint = endpoint.rstrip("/")
        self._session = session
        self._clock = clock or utc_now
        self.timeout = timeout

    def _role_params(self, action: str, now: datetime) -> dict[str, str]:
        """Return the parameters every STS role call carries."""
        params = {
            "Action": action,
            "Format": "JSON",
            "Version": API_VERSION,
            "Timestamp": rpc_timestamp(now),
            "RoleArn": self.role_arn,
            "RoleSessionName": self.role_session_name or f"oss-presign-{int(now.timestamp())}",
            "DurationSeconds": str(self.duration_seconds),
        }
        if self.policy:
            params["Policy"] = self.policy
        return params

    def _exchange(self, action: str, method: str, url: str, *, secrets: tuple[str | None, ...],
                  data: Mapping[str, str] | None = None) -> Credentials:
        """Call STS and read the ``Credentials`` of its answer; errors name the action, never a secret."""
        response = send(self._session, self.name, method, url, timeout=self.timeout, data=data)
        body = response.content
        if response.status_code != 200:
            detail = _sts_error(response.status_code, body, secrets)
            raise CredentialsError(self.name, f"STS {action} failed: {detail}")
        document = decode_json(self.name, body, f"STS {action}")
        inner = document.get("Credentials")
        if not isinstance(inner, dict):
            raise CredentialsError(self.name, f"STS {action} answered without Credentials")
        return credentials_from_document(self.name, inner, now=self._clock())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(role_arn={self.role_arn!r}, endpoint={self.endpoint!r})"


class AssumeRoleSource(_RoleSession):
    """Assume a RAM role with the credentials of another provider (STS AssumeRole, RPC-signed)."""

    name = "ram_role_arn"

    def __init__(self, base: CredentialsProvider, role_arn: str, *, role_session_name: str | None = None,
                 duration_seconds: int = DEFAULT_DURATION, policy: str | None = None,
                 external_id: str | None = None, endpoint: str = GLOBAL_ENDPOINT, session: Any = None,
                 clock: Clock | None = None, timeout: float = DEFAULT_TIMEOUT,
                 nonce: Callable[[], str] | None = None) -> None:
        super().__init__(role_arn, role_session_name=role_session_name, duration_seconds=duration_seconds,
                         policy=policy, endpoint=endpoint, session=session, clock=clock, timeout=timeout)
        self.base = base
        self.external_id = external_id or None
        self._nonce = nonce or (lambda: os.urandom(16).hex())

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], base: CredentialsProvider, *, session: Any = None,
                     clock: Clock | None = None) -> AssumeRoleSource:
        """Build from ALIBABA_CLOUD_ROLE_ARN and its optional companions."""
        role_arn = _text(environ, "ALIBABA_CLOUD_ROLE_ARN")
        if role_arn is None:
            raise ConfigError("ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_ROLE_ARN is not set")
        return cls(base, role_arn, **_role_options(environ),
                   external_id=_text(environ, "ALIBABA_CLOUD_ROLE_EXTERNAL_ID"),
                   endpoint=sts_endpoint(environ), session=session, clock=clock)

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Call AssumeRole signed with the base provider's credentials and return the role's."""
        try:
            base = self.base.get_credentials()
        except CredentialsError as exc:
            reason = f"no credentials to call AssumeRole with ({exc.message})"
            raise CredentialsError(self.name, reason) from exc
        now = self._clock()
        params = self._role_params("AssumeRole", now)
        if self.external_id:
            params["ExternalId"] = self.external_id
        query = signed_query("GET", params, access_key_id=base.access_key_id,
                             access_key_secret=base.access_key_secret, security_token=base.security_token,
                             now=now, nonce=self._nonce())
        secrets = (base.access_key_secret, base.security_token)
        return self._exchange("AssumeRole", "GET", f"{self.endpoint}/?{query}", secrets=secrets)


class OidcRoleSource(_RoleSession):
    """Exchange the platform's OIDC token for a role's credentials (STS AssumeRoleWithOIDC, unsigned)."""

    name = "oidc_role_arn"

    def __init__(self, role_arn: str, oidc_provider_arn: str, oidc_token_file: str, *,
                 role_session_name: str | None = None, duration_seconds: int = DEFAULT_DURATION,
                 policy: str | None = None, endpoint: str = GLOBAL_ENDPOINT, session: Any = None,
                 clock: Clock | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(role_arn, role_session_name=role_session_name, duration_seconds=duration_seconds,
                         policy=policy, endpoint=endpoint, session=session, clock=clock, timeout=timeout)
        if not oidc_provider_arn or not oidc_token_file:
            raise ValueError("oidc_provider_arn and oidc_token_file must be non-empty strings")
        self.oidc_provider_arn = oidc_provider_arn
        self.oidc_token_file = oidc_token_file

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, session: Any = None,
                     clock: Clock | None = None) -> OidcRoleSource | NoSource:
        """Build from the three OIDC variables; none set means "not here", some set is an error."""
        role_arn, provider_arn, token_file = (_text(environ, name) for name in OIDC_VARIABLES)
        if not provider_arn and not token_file:
            return NoSource(cls.name, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN and _OIDC_TOKEN_FILE are not set")
        values = (role_arn, provider_arn, token_file)
        missing = [name for name, value in zip(OIDC_VARIABLES, values, strict=True) if not value]
        if not (role_arn and provider_arn and token_file):
            return NoSource(cls.name, f"{' and '.join(missing)} not set, though other OIDC variables are",
                            misconfigured=True)
        return cls(role_arn, provider_arn, token_file, **_role_options(environ),
                   endpoint=sts_endpoint(environ), session=session, clock=clock)

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Read the token file afresh (the platform rotates it) and exchange it for the role's credentials."""
        token = self._read_token()
        params = self._role_params("AssumeRoleWithOIDC", self._clock())
        params.update({"OIDCProviderArn": self.oidc_provider_arn, "OIDCToken": token})
        url = f"{self.endpoint}/"
        return self._exchange("AssumeRoleWithOIDC", "POST", url, secrets=(token,), data=params)

    def _read_token(self) -> str:
        """Return the OIDC token from its file, or raise CredentialsError naming the file."""
        try:
            with open(self.oidc_token_file, encoding="utf-8") as file:
                token = file.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            message = f"cannot read the OIDC token file {self.oidc_token_file}: {reason}"
            raise CredentialsError(self.name, message) from None
        if not token:
            raise CredentialsError(self.name, f"the OIDC token file {self.oidc_token_file} is empty")
        return token


def _role_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read the role session's optional settings: name, duration and scope-down policy."""
    duration = _text(environ, "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION")
    return {
        "role_session_name": _text(environ, "ALIBABA_CLOUD_ROLE_SESSION_NAME"),
        "duration_seconds": check_duration("ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION", duration)
        if duration else DEFAULT_DURATION,
        "policy": _text(environ, "ALIBABA_CLOUD_ROLE_POLICY"),
    }


def _sts_error(status: int, body: bytes, secrets: tuple[str | None, ...]) -> str:
    """Describe an STS error answer by status, Code, Message and RequestId, with secrets hidden."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return f"HTTP {status}"
    code = redact(str(document.get("Code", "")), secrets)
    message = redact(str(document.get("Message", "")), secrets)
    request_id = str(document.get("RequestId", ""))[:64]
    return f"HTTP {status} {code}: {message} (RequestId {request_id or 'none'})"


def _text(environ: Mapping[str, str], name: str) -> str | None:
    """Return a variable's stripped value, or None when it is unset or blank."""
    value = environ.get(name, "").strip()
    return value or None
