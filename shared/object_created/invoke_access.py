"""Who may ``POST /invoke``: a caller with the invoke token, or Function Compute's own front end, in FC mode only.

Default deny. ``ON_CREATED_INVOKE_TOKEN`` (one or more comma-separated secrets, each at least 16
characters; every one verifies, for rotation) admits ``Authorization: Bearer <token>``, compared in
constant time. ``ON_CREATED_FC_RUNTIME=true`` states that Function Compute runs this process as a
custom runtime or custom container, so that only FC's front end reaches its port; then a request
carrying what FC documents for an event invocation (``x-fc-control-path: /invoke`` and an
``x-fc-request-id``) is admitted without a token, and only such a request's ``x-fc-*`` credentials are
ever read. The headers themselves prove nothing (anyone can send them): the mode is safe because of
where the process runs, so it is refused at cold start unless FC's own ``FC_FUNCTION_NAME`` is set
(FC reserves the ``FC_`` prefix). An HTTP trigger's requests (``x-fc-control-path: /http-invoke``) are
never admitted that way. With neither setting, every HTTP invocation is refused.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.errors import AccessDenied, ConfigError, Unauthenticated

TOKEN_VARIABLE = "ON_CREATED_INVOKE_TOKEN"
FC_MODE_VARIABLE = "ON_CREATED_FC_RUNTIME"
FC_PRESENCE_VARIABLE = "FC_FUNCTION_NAME"  # set by Function Compute in every instance; users cannot set FC_*
MIN_TOKEN_CHARS = 16
FC_EVENT_PATH = "/invoke"  # x-fc-control-path of an event invocation (an HTTP trigger's is /http-invoke)
_CREDENTIAL_HEADERS = (("access_key_id", "x-fc-access-key-id"), ("access_key_secret", "x-fc-access-key-secret"),
                       ("security_token", "x-fc-security-token"))


@dataclass(frozen=True)
class Admission:
    """Why a request may invoke: ``"token"`` or ``"fc"``; the FC context (credentials) only for the latter."""

    via: str
    context: Mapping[str, object] | None = field(default=None, repr=False)


def parse_tokens(value: str | None) -> tuple[bytes, ...]:
    """The tokens of ``ON_CREATED_INVOKE_TOKEN`` (comma-separated); a ConfigError for one too short to be a secret."""
    if value is None:
        return ()
    tokens = tuple(part.strip() for part in value.split(","))
    for token in tokens:
        if len(token) < MIN_TOKEN_CHARS or not (token.isascii() and token.isprintable()) or " " in token:
            raise ConfigError(TOKEN_VARIABLE, f"each {TOKEN_VARIABLE} entry must be at least {MIN_TOKEN_CHARS} "
                                              "printable ASCII characters without spaces (python3 -m shared keygen "
                                              "api-key makes one)")
    return tuple(token.encode("ascii") for token in tokens)


class InvokeAccess:
    """Admits or refuses one ``POST /invoke`` from its headers (lower-cased names); its repr shows no token."""

    __slots__ = ("_tokens", "fc_runtime", "error")

    def __init__(self, tokens: tuple[bytes, ...] = (), *, fc_runtime: bool = False,
                 error: ConfigError | None = None) -> None:
        self._tokens = tokens
        self.fc_runtime = fc_runtime
        self.error = error  # a broken setting: every invocation is refused with it

    def __repr__(self) -> str:
        return f"InvokeAccess(tokens={len(self._tokens)}, fc_runtime={self.fc_runtime})"

    def admit(self, headers: Mapping[str, str], request_id: str) -> Admission:
        """The admission, or raise: ConfigError (a broken setting), Unauthenticated (token), AccessDenied (off)."""
        if self.error is not None:
            raise self.error
        authorization = headers.get("authorization")
        if authorization is not None and self._tokens:
            if self._matches(authorization):
                return Admission("token")
            raise Unauthenticated(f"the bearer token does not match {TOKEN_VARIABLE}")
        if self.fc_runtime and headers.get("x-fc-control-path") == FC_EVENT_PATH and headers.get("x-fc-request-id"):
            return Admission("fc", fc_context(headers, request_id))
        if self._tokens:
            raise Unauthenticated(f"POST /invoke needs Authorization: Bearer <{TOKEN_VARIABLE}>")
        if self.fc_runtime:
            raise AccessDenied("only Function Compute's event invocations (x-fc-control-path: /invoke) may POST "
                               f"/invoke here; set {TOKEN_VARIABLE} for other callers")
        raise AccessDenied(f"HTTP invocation is off: set {TOKEN_VARIABLE} (a bearer secret), or "
                           f"{FC_MODE_VARIABLE}=true when Function Compute runs this as a custom runtime")

    def _matches(self, authorization: str) -> bool:
        scheme, _, given = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        presented = given.strip().encode("utf-8", "surrogateescape")
        found = False
        for token in self._tokens:  # every entry is compared: the time does not say which one matched
            found |= hmac.compare_digest(token, presented)
        return found


def fc_context(headers: Mapping[str, str], request_id: str) -> dict[str, object]:
    """An FC context from an event invocation's headers: the request id and the role's credentials, if sent."""
    credentials = {name: headers.get(header, "") for name, header in _CREDENTIAL_HEADERS}
    return {"request_id": request_id, "credentials": credentials if any(credentials.values()) else None}


def invoke_access(token_setting: str | None, *, fc_runtime: bool, on_fc: bool) -> InvokeAccess:
    """The access the settings describe; a broken one (ConfigError) refuses every invocation."""
    try:
        tokens = parse_tokens(token_setting)
        if fc_runtime and not on_fc:
            raise ConfigError(FC_MODE_VARIABLE, f"{FC_MODE_VARIABLE}=true, but {FC_PRESENCE_VARIABLE} is unset: "
                                                "Function Compute sets it in every instance, so this process is not "
                                                f"on Function Compute; use {TOKEN_VARIABLE} instead")
    except ConfigError as error:
        return InvokeAccess(error=error)
    return InvokeAccess(tokens, fc_runtime=fc_runtime)
