"""The package's one exception tree; each class maps to one HTTP status and one stable code.

    PresignError                     base: ``status``, ``code``, ``message``
    ├── InvalidArgument (ValueError) 400 a field of the request is wrong (``field`` names it)
    ├── InvalidUpload                400 OSS refused to complete a multipart upload (InvalidPart, EntityTooSmall ...)
    ├── Unauthenticated              401 no or bad credentials from the caller
    ├── AccessDenied                 403 authenticated, but the policy does not allow it
    ├── NotFound                     404 no such route, link or object
    │   └── InvalidLink              404 a link token that is malformed, forged, expired or revoked
    ├── MethodNotAllowed             405 the route exists, the HTTP method does not
    ├── PayloadTooLarge              413 body or batch over its limit
    ├── UriTooLong                   414 a query string or path over its limit, refused before it is parsed
    ├── UnsupportedMediaType         415 a body that is not JSON
    ├── HeadersTooLarge              431 a header block (or one header line) over its limit
    ├── ConfigError                  500 the deployment's configuration is wrong (``variable``)
    ├── UpstreamError                502 OSS or another upstream failed or timed out
    │   └── DeliveryFailed           502 some records' webhook deliveries finally failed (``event_ids``)
    └── CredentialsError             503 no usable credentials right now
        └── CredentialsUnavailable   503 the same, once every source has been tried

Messages never carry a secret, a session token or a signature: they are shown to callers and logs.
``detail`` says more for the log line only (which check failed), where telling the caller would help
an attacker: every bad token gets the same message, the log says why. ``public_message`` is what the
caller is told: the message, except for credential failures, whose message (every source tried, its
URL, file or variable) goes to the log only.
Callers' programming mistakes (wrong types passed in code) raise plain ``TypeError``/``ValueError``.
"""

from __future__ import annotations


class PresignError(Exception):
    """Raised for any failure the service reports to its caller."""

    status: int = 500
    code: str = "InternalError"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    @property
    def public_message(self) -> str:
        """The message the caller is shown."""
        return self.message


class InvalidArgument(PresignError, ValueError):
    """Raised when one field of a request is missing, malformed or out of range."""

    status = 400
    code = "InvalidArgument"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidUpload(PresignError):
    """Raised when OSS refuses the parts of a multipart upload: ``code`` is OSS's own (InvalidPart ...)."""

    status = 400
    code = "InvalidUpload"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Unauthenticated(PresignError):
    """Raised when the caller sent no credentials, or credentials that do not verify."""

    status = 401
    code = "Unauthenticated"


class AccessDenied(PresignError):
    """Raised when the caller is known but the policy does not allow the request."""

    status = 403
    code = "AccessDenied"


class NotFound(PresignError):
    """Raised when a route, a link or an object does not exist (or must look as if it did not)."""

    status = 404
    code = "NotFound"

    def __init__(self, message: str = "not found", *, code: str | None = None, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        if code is not None:
            self.code = code


class InvalidLink(NotFound):
    """Raised for every way a link token can be bad: one opaque 404, with ``reason`` for the log only."""

    def __init__(self, reason: str, *, link_id: str | None = None) -> None:
        super().__init__("no such link", detail=reason)
        self.reason = reason
        self.link_id = link_id  # set once the signature verified: the id is then the signer's, not a guess


class MethodNotAllowed(PresignError):
    """Raised when the route exists but not for this HTTP method."""

    status = 405
    code = "MethodNotAllowed"

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"method {method} is not allowed here; use {', '.join(allowed)}")
        self.allowed = allowed


class PayloadTooLarge(PresignError):
    """Raised when a body or a batch exceeds its limit."""

    status = 413
    code = "PayloadTooLarge"


class UriTooLong(PresignError):
    """Raised when a request's query string or path is over its limit: refused before anything parses it."""

    status = 414
    code = "UriTooLong"


class UnsupportedMediaType(PresignError):
    """Raised when a request body is not of a content type the route accepts."""

    status = 415
    code = "UnsupportedMediaType"


class HeadersTooLarge(PresignError):
    """Raised when a request's header block, or one header line, is over its limit."""

    status = 431
    code = "HeadersTooLarge"


class ConfigError(PresignError):
    """Raised when the deployment's configuration is missing or malformed."""

    status = 500
    code = "ConfigError"

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable


class UpstreamError(PresignError):
    """Raised when OSS or another upstream service fails, answers garbage or times out."""

    status = 502
    code = "UpstreamError"


class DeliveryFailed(UpstreamError):
    """Raised after every record of an event was tried, when some finally failed: names their event ids only."""

    def __init__(self, event_ids: list[str], summary: dict[str, object], *, shown: int = 20) -> None:
        more = " ..." if len(event_ids) > shown else ""
        super().__init__(f"webhook delivery failed for {len(event_ids)} of {summary.get('records')} records: "
                         f"event ids {', '.join(event_ids[:shown])}{more}")
        self.event_ids = event_ids
        self.summary = summary


class CredentialsError(PresignError):
    """Raised when a credential source fails: it names the source and the cause (for the log), never a secret."""

    status = 503
    code = "CredentialsUnavailable"
    # The caller is told only this: the search (internal URLs, file paths, variable names) is for the log.
    PUBLIC_MESSAGE = "no signing credentials are available right now; try again later, quoting the request id"

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source

    @property
    def public_message(self) -> str:
        """A fixed message: the sources tried and why they failed are the log's."""
        return self.PUBLIC_MESSAGE


class CredentialsUnavailable(CredentialsError):
    """Raised when no source could provide usable credentials."""
