"""One small request and response type that every platform adapter converts to and from."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from shared.errors import PresignError

MAX_BODY_BYTES = 1 << 20  # 1 MiB: a full batch of 1000 items fits with room to spare
JSON_TYPE = "application/json; charset=utf-8"
MAX_CLIENT_REQUEST_ID = 128
INVALID_REQUEST_ID = "<invalid>"  # logged in place of a caller's request id that is not printable ASCII
# The request ids a caller may send, logged as ``client_request_id`` (never used as ours): the first one given.
CLIENT_REQUEST_ID_HEADERS = ("x-request-id", "x-fc-request-id", "x-ca-request-id")
ERROR_HEADERS = {"X-Content-Type-Options": "nosniff"}


def new_request_id() -> str:
    """A fresh request id of our own: 32 hex digits (os.urandom: ``secrets`` would cost a cold start)."""
    return os.urandom(16).hex()


def client_request_id(headers: Mapping[str, str]) -> str | None:
    """The request id the caller sent (lower-cased header names), for the log only; a marker when it is not
    1..128 characters of printable ASCII, so that it can neither forge log lines nor flood them."""
    for name in CLIENT_REQUEST_ID_HEADERS:
        given = headers.get(name)
        if given:
            printable = len(given) <= MAX_CLIENT_REQUEST_ID and all(" " <= c <= "~" for c in given)
            return given if printable else INVALID_REQUEST_ID
    return None


class HttpRequest:
    """An HTTP request as the functions see it: lower-cased header names, raw body bytes.

    ``query`` maps each name to every value it was given, in order, so that a handler can refuse
    repeated parameters (Function Compute joins them with commas before we ever see them).
    ``request_id`` is ours (the platform's, or a fresh one), never the caller's: that one, checked,
    is ``client_request_id``, for the log only.
    """

    __slots__ = ("method", "path", "query", "headers", "body", "client_ip", "request_id", "client_request_id")

    def __init__(self, method: str, path: str, *, query: Mapping[str, list[str]] | None = None,
                 headers: Mapping[str, str] | None = None, body: bytes = b"", client_ip: str = "",
                 request_id: str | None = None) -> None:
        self.method = method.upper()
        self.path = path
        self.query = dict(query or {})
        self.headers = {name.lower(): value for name, value in (headers or {}).items()}
        self.body = body
        self.client_ip = client_ip
        self.request_id = request_id or new_request_id()
        self.client_request_id = client_request_id(self.headers)

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.path}, request_id={self.request_id!r})"


class HttpResponse:
    """Status, single-valued headers and a body: what every platform can carry."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Mapping[str, str] | None = None, body: bytes = b"") -> None:
        self.status = status
        self.headers = dict(headers or {})
        self.body = body

    def __repr__(self) -> str:
        return f"HttpResponse({self.status})"


def json_response(status: int, payload: object, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """Serialise payload as compact UTF-8 JSON with the right content type."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, {"Content-Type": JSON_TYPE, "Cache-Control": "no-store", **(headers or {})}, body)


def error_body(error: PresignError, request_id: str) -> dict[str, object]:
    """The one JSON error shape: ``{"error": {"code", "message", "request_id"}}``."""
    return {"error": {"code": error.code, "message": error.public_message, "request_id": request_id}}


def error_response(error: PresignError, request_id: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """Turn any PresignError into its HTTP response (nosniff, our request id); the only place this mapping happens."""
    return json_response(error.status, error_body(error, request_id),
                         {**ERROR_HEADERS, "X-Request-Id": request_id, **(headers or {})})
