"""Credentials from ``ALIBABA_CLOUD_CREDENTIALS_URI``: a GET answering the metadata service's JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.clock import Clock, utc_now
from shared.credentials.document import credentials_from_document, decode_json, require_success_code
from shared.credentials.provider import NoSource
from shared.credentials.transport import send, where
from shared.credentials.value import Credentials
from shared.errors import ConfigError, CredentialsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Any

DEFAULT_TIMEOUT = 5.0


class CredentialsUriSource:
    """GET a URI that answers ``{"Code": "Success", "AccessKeyId", "AccessKeySecret", ...}``."""

    name = "credentials_uri"

    def __init__(self, uri: str, *, session: Any = None, clock: Clock | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        from urllib.parse import urlsplit  # only when ALIBABA_CLOUD_CREDENTIALS_URI is set

        if urlsplit(uri).scheme not in ("http", "https") or not urlsplit(uri).hostname:
            raise ValueError("uri must be an http or https URL")
        self.uri = uri
        self.timeout = timeout
        self._session = session
        self._clock = clock or utc_now

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, session: Any = None,
                     clock: Clock | None = None) -> CredentialsUriSource | NoSource:
        """Build from ALIBABA_CLOUD_CREDENTIALS_URI, or a NoSource when it is not set."""
        uri = environ.get("ALIBABA_CLOUD_CREDENTIALS_URI", "").strip()
        if not uri:
            return NoSource(cls.name, "ALIBABA_CLOUD_CREDENTIALS_URI is not set")
        try:
            return cls(uri, session=session, clock=clock)
        except ValueError:
            raise ConfigError("ALIBABA_CLOUD_CREDENTIALS_URI",
                              "ALIBABA_CLOUD_CREDENTIALS_URI must be an http or https URL") from None

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """GET the URI and read the credentials of its answer."""
        response = send(self._session, self.name, "GET", self.uri, timeout=self.timeout)
        if response.status_code != 200:
            raise CredentialsError(self.name, f"{where(self.uri)} answered HTTP {response.status_code}")
        document = decode_json(self.name, response.content, where(self.uri))
        require_success_code(self.name, document)
        return credentials_from_document(self.name, document, now=self._clock())

    def __repr__(self) -> str:
        return f"CredentialsUriSource({where(self.uri)!r})"
