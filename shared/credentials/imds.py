"""The ECS/ECI instance's RAM role, from the metadata service at 100.100.100.200.

    PUT /latest/api/token                          X-aliyun-ecs-metadata-token-ttl-seconds: 21600
    GET /latest/meta-data/ram/security-credentials/         -> the role name (unless configured)
    GET /latest/meta-data/ram/security-credentials/<role>   -> {"Code": "Success", "AccessKeyId", ...}

The GETs carry the token as X-aliyun-ecs-metadata-token (IMDSv2). When the token request is answered
with an error, the GETs go without it (IMDSv1) unless ``ALIBABA_CLOUD_IMDSV1_DISABLED=true``. No answer
at all within the short timeout means "not on ECS": the chain moves on without delay.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.clock import Clock, utc_now
from shared.credentials.document import credentials_from_document, decode_json, require_success_code
from shared.credentials.provider import NoSource
from shared.credentials.transport import base_url, send
from shared.credentials.value import Credentials
from shared.env import flag
from shared.errors import CredentialsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Any

DEFAULT_ENDPOINT = "http://100.100.100.200"
TOKEN_PATH = "/latest/api/token"
CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"
TOKEN_TTL_HEADER = "X-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aliyun-ecs-metadata-token"
DEFAULT_TOKEN_TTL = 21600
DEFAULT_TIMEOUT = 1.0


def imds_endpoint(environ: Mapping[str, str]) -> str:
    """Return the metadata service's base URL: ALIBABA_CLOUD_IMDS_ENDPOINT, or 100.100.100.200."""
    override = environ.get("ALIBABA_CLOUD_IMDS_ENDPOINT", "").strip()
    if not override:
        return DEFAULT_ENDPOINT
    return base_url("ALIBABA_CLOUD_IMDS_ENDPOINT", override, default_scheme="http")


class MetadataSource:
    """Fetch the instance role's STS credentials from the metadata service (IMDSv2, IMDSv1 fallback)."""

    name = "ecs_ram_role"

    def __init__(self, *, role_name: str | None = None, endpoint: str = DEFAULT_ENDPOINT,
                 imdsv1_disabled: bool = False, session: Any = None, clock: Clock | None = None,
                 timeout: float = DEFAULT_TIMEOUT, token_ttl: int = DEFAULT_TOKEN_TTL) -> None:
        self.role_name = role_name or None
        self.endpoint = endpoint.rstrip("/")
        self.imdsv1_disabled = imdsv1_disabled
        self.timeout = timeout
        self.token_ttl = token_ttl
        self._session = session
        self._clock = clock or utc_now

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, session: Any = None,
                     clock: Clock | None = None) -> MetadataSource | NoSource:
        """Build from ALIBABA_CLOUD_ECS_METADATA(_DISABLED), _IMDSV1_DISABLED and _IMDS_ENDPOINT."""
        if flag(environ, "ALIBABA_CLOUD_ECS_METADATA_DISABLED"):
            return NoSource(cls.name, "disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        return cls(role_name=environ.get("ALIBABA_CLOUD_ECS_METADATA", "").strip() or None,
                   endpoint=imds_endpoint(environ),
                   imdsv1_disabled=flag(environ, "ALIBABA_CLOUD_IMDSV1_DISABLED"),
                   session=session, clock=clock)

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Fetch a token, find the role, and return the role's current credentials."""
        headers = self._token_headers()
        role = self.role_name or self._discover_role(headers)
        from urllib.parse import quote  # reached only on ECS: not at every cold start

        response = self._get(CREDENTIALS_PATH + quote(role, safe=""), headers)
        if response.status_code == 404:
            raise CredentialsError(self.name, f"the instance has no RAM role named {role!r} (HTTP 404)")
        if response.status_code != 200:
            raise CredentialsError(self.name, f"credentials of role {role!r}: HTTP {response.status_code}")
        document = decode_json(self.name, response.content, "the metadata service")
        require_success_code(self.name, document)
        return credentials_from_document(self.name, document, now=self._clock())

    def _token_headers(self) -> dict[str, str]:
        """Return the IMDSv2 token header, or no header when falling back to IMDSv1 is allowed."""
        response = send(self._session, self.name, "PUT", self.endpoint + TOKEN_PATH,
                        headers={TOKEN_TTL_HEADER: str(self.token_ttl)}, timeout=self.timeout,
                        unreachable_means_absent=True, direct=True)
        token = response.text.strip() if response.status_code == 200 else ""
        if token:
            return {TOKEN_HEADER: token}
        if self.imdsv1_disabled:
            status = response.status_code
            raise CredentialsError(self.name, f"the IMDSv2 token request answered HTTP {status}, "
                                              "and ALIBABA_CLOUD_IMDSV1_DISABLED forbids IMDSv1")
        return {}

    def _discover_role(self, headers: dict[str, str]) -> str:
        """Ask the metadata service which RAM role the instance has."""
        response = self._get(CREDENTIALS_PATH, headers)
        if response.status_code == 404:
            raise CredentialsError(self.name, "no RAM role is attached to this instance (HTTP 404)")
        if response.status_code != 200:
            raise CredentialsError(self.name, f"role name lookup: HTTP {response.status_code}")
        names: list[str] = response.text.split()
        if not names:
            raise CredentialsError(self.name, "no RAM role is attached to this instance (empty answer)")
        return names[0]

    def _get(self, path: str, headers: dict[str, str]) -> Any:
        """GET one metadata path with the token headers."""
        return send(self._session, self.name, "GET", self.endpoint + path, headers=headers,
                    timeout=self.timeout, direct=True)

    def __repr__(self) -> str:
        return f"MetadataSource(endpoint={self.endpoint!r}, role_name={self.role_name!r})"
