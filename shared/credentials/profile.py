"""The shared credentials file for local use: ``~/.alibabacloud/credentials.ini``.

    [default]                      # or the section ALIBABA_CLOUD_PROFILE names
    type = access_key              # access_key | ecs_ram_role | ram_role_arn | oidc_role_arn
    access_key_id = ...
    access_key_secret = ...

``ecs_ram_role`` takes ``role_name``; ``ram_role_arn`` takes the key pair plus ``role_arn`` and optional
``role_session_name``, ``policy``, ``external_id``, ``duration_seconds``; ``oidc_role_arn`` takes
``role_arn``, ``oidc_provider_arn``, ``oidc_token_file_path`` and optional ``role_session_name``,
``policy``. ``enable = false`` turns a profile off. ``ALIBABA_CLOUD_CREDENTIALS_FILE`` names another file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime

from shared.clock import Clock
from shared.credentials.imds import MetadataSource, imds_endpoint
from shared.credentials.provider import CredentialsProvider, NoSource, SourceNotConfigured
from shared.credentials.sources import ExplicitSource
from shared.credentials.sts import (
    DEFAULT_DURATION,
    DURATION_RANGE,
    AssumeRoleSource,
    OidcRoleSource,
    sts_endpoint,
)
from shared.credentials.value import Credentials
from shared.env import flag
from shared.errors import CredentialsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Any

TYPES = ("access_key", "ecs_ram_role", "ram_role_arn", "oidc_role_arn")


class CredentialsFileSource:
    """Read one profile of the credentials file and delegate to the source its ``type`` names."""

    name = "credentials_file"

    def __init__(self, path: str, *, profile: str = "default", required: bool = False,
                 environ: Mapping[str, str] | None = None, session: Any = None,
                 clock: Clock | None = None) -> None:
        self.path = path
        self.profile = profile
        self.required = required
        self._environ = environ or {}
        self._session = session
        self._clock = clock
        self._inner: CredentialsProvider | None = None
        self._type = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, session: Any = None,
                     clock: Clock | None = None) -> CredentialsFileSource | NoSource:
        """Find the file (ALIBABA_CLOUD_CREDENTIALS_FILE or ~/.alibabacloud/credentials.ini) and profile."""
        path = environ.get("ALIBABA_CLOUD_CREDENTIALS_FILE", "").strip()
        home = environ.get("HOME", "").strip() or environ.get("USERPROFILE", "").strip()
        if not path and not home:
            return NoSource(cls.name, "neither ALIBABA_CLOUD_CREDENTIALS_FILE nor HOME is set")
        profile = environ.get("ALIBABA_CLOUD_PROFILE", "").strip() or "default"
        return cls(path or os.path.join(home, ".alibabacloud", "credentials.ini"), profile=profile,
                   required=bool(path), environ=environ, session=session, clock=clock)

    def get_credentials(self, *, min_valid_until: datetime | None = None) -> Credentials:
        """Load the profile once, then ask its source; errors name the file, the profile and its type."""
        if self._inner is None:
            self._inner = self._load()
        try:
            return self._inner.get_credentials(min_valid_until=min_valid_until)
        except CredentialsError as exc:
            reason = f"profile [{self.profile}] ({self._type}) of {self.path}: {exc.message}"
            raise CredentialsError(self.name, reason) from exc

    def _load(self) -> CredentialsProvider:
        """Parse the file and build the profile's source."""
        section = self._section()
        if section.get("enable", "").strip().lower() == "false":
            reason = f"profile [{self.profile}] of {self.path} has enable = false"
            raise SourceNotConfigured(self.name, reason)
        self._type = section.get("type", "").strip()
        builders = {
            "access_key": self._access_key,
            "ecs_ram_role": self._ecs_ram_role,
            "ram_role_arn": self._ram_role_arn,
            "oidc_role_arn": self._oidc_role_arn,
        }
        if not self._type:
            raise self._error("lacks type")
        if self._type not in builders:
            raise self._error(f"has type {self._type!r}; supported: {', '.join(TYPES)}")
        return builders[self._type](section)

    def _section(self) -> Mapping[str, str]:
        """Return the profile's section; a missing default file means "not here"."""
        if not os.path.isfile(self.path):
            error = CredentialsError if self.required else SourceNotConfigured
            raise error(self.name, f"{self.path} does not exist")
        import configparser  # only a credentials file that exists needs it

        parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#",))
        try:
            with open(self.path, encoding="utf-8") as file:
                parser.read_file(file)
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            # Never quote the parser's message: it repeats the offending line, which may hold a secret.
            line = getattr(exc, "lineno", None) or getattr(exc, "errors", [(None,)])[0][0]
            where = f" at line {line}" if line else ""
            reason = f"cannot read {self.path}{where} ({type(exc).__name__})"
            raise CredentialsError(self.name, reason) from None
        if not parser.has_section(self.profile):
            raise CredentialsError(self.name, f"{self.path} has no profile [{self.profile}]")
        return parser[self.profile]

    def _access_key(self, section: Mapping[str, str]) -> CredentialsProvider:
        """A static key pair."""
        return ExplicitSource(self._key_pair(section), clock=self._clock)

    def _ecs_ram_role(self, section: Mapping[str, str]) -> CredentialsProvider:
        """The instance's role from the metadata service, optionally naming the role."""
        return MetadataSource(role_name=_optional(section, "role_name"),
                              endpoint=imds_endpoint(self._environ),
                              imdsv1_disabled=flag(self._environ, "ALIBABA_CLOUD_IMDSV1_DISABLED"),
                              session=self._session, clock=self._clock)

    def _ram_role_arn(self, section: Mapping[str, str]) -> CredentialsProvider:
        """A role assumed with the profile's key pair."""
        return AssumeRoleSource(
            ExplicitSource(self._key_pair(section), clock=self._clock), self._required(section, "role_arn"),
            role_session_name=_optional(section, "role_session_name"),
            duration_seconds=self._duration(section), policy=_optional(section, "policy"),
            external_id=_optional(section, "external_id"), endpoint=sts_endpoint(self._environ),
            session=self._session, clock=self._clock,
        )

    def _oidc_role_arn(self, section: Mapping[str, str]) -> CredentialsProvider:
        """A role assumed with an OIDC token file."""
        return OidcRoleSource(
            self._required(section, "role_arn"), self._required(section, "oidc_provider_arn"),
            self._required(section, "oidc_token_file_path"),
            role_session_name=_optional(section, "role_session_name"),
            duration_seconds=self._duration(section), policy=_optional(section, "policy"),
            endpoint=sts_endpoint(self._environ), session=self._session, clock=self._clock,
        )

    def _key_pair(self, section: Mapping[str, str]) -> Credentials:
        """Read access_key_id and access_key_secret."""
        key_id = self._required(section, "access_key_id")
        return Credentials(key_id, self._required(section, "access_key_secret"))

    def _duration(self, section: Mapping[str, str]) -> int:
        """Read duration_seconds (900..43200, default 3600)."""
        raw = _optional(section, "duration_seconds")
        if raw is None:
            return DEFAULT_DURATION
        if not raw.isdigit() or not DURATION_RANGE[0] <= int(raw) <= DURATION_RANGE[1]:
            raise self._error(f"has duration_seconds {raw!r}; it must be 900..43200")
        return int(raw)

    def _required(self, section: Mapping[str, str], key: str) -> str:
        """Return a key's value, or raise CredentialsError naming the key (never its value)."""
        value = _optional(section, key)
        if value is None:
            raise self._error(f"lacks {key}")
        return value

    def _error(self, what: str) -> CredentialsError:
        """Build an error about the profile: the file, the section, what is wrong with it."""
        return CredentialsError(self.name, f"profile [{self.profile}] of {self.path} {what}")

    def __repr__(self) -> str:
        return f"CredentialsFileSource({self.path!r}, profile={self.profile!r})"


def _optional(section: Mapping[str, str], key: str) -> str | None:
    """Return a key's stripped value, or None when it is missing or blank."""
    value = section.get(key, "").strip()
    return value or None
