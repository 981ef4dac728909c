"""WSGI to HttpRequest and back: Function Compute 2.0 HTTP functions, any WSGI server, and
functions-framework (whose Flask request carries the WSGI environ)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Protocol
from urllib.parse import unquote_to_bytes

from shared.errors import InvalidArgument, PresignError
from shared.http.api import App, adapter_refusal
from shared.http.limits import check_environ, read_body
from shared.http.messages import HttpRequest, HttpResponse, error_response, new_request_id


class FlaskRequest(Protocol):
    """What functions-framework hands a target: a Flask request, of which only the WSGI environ is read."""

    @property
    def environ(self) -> Mapping[str, object]: ...


class InputStream(Protocol):
    """PEP 3333's ``wsgi.input``, as far as it is read here."""

    def read(self, size: int, /) -> bytes: ...


def serve_wsgi(app: App, environ: Mapping[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    """Answer one WSGI request."""
    return respond(_answer(app, environ), start_response)


def serve_flask(app: App, flask_request: FlaskRequest) -> tuple[bytes, int, dict[str, str]]:
    """Answer one functions-framework (Flask) request, through its WSGI environ."""
    response = _answer(app, flask_request.environ)
    return response.body, response.status, response.headers


def _answer(app: App, environ: Mapping[str, object]) -> HttpResponse:
    try:
        check_environ(environ)
        request = request_from_environ(environ)
    except PresignError as error:
        origin = environ.get("HTTP_ORIGIN")
        return adapter_refusal(app, str(origin) if origin else None, error_response(error, new_request_id()))
    return app.handle(request)


def request_from_environ(environ: Mapping[str, object]) -> HttpRequest:
    """Adapt a WSGI environ; reads at most MAX_BODY_BYTES of body (413 beyond). The request id is a fresh one:
    any a caller sends (X-Request-Id, X-Fc-Request-Id) is only logged, as ``client_request_id``."""
    headers = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items()
               if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return HttpRequest(
        str(environ.get("REQUEST_METHOD", "GET")), _path(environ),
        query=parse_query(str(environ.get("QUERY_STRING", ""))), headers=headers, body=read_body(environ),
        client_ip=str(environ.get("REMOTE_ADDR", "")),
    )


def respond(response: HttpResponse, start_response: Callable[..., object]) -> Iterable[bytes]:
    """Send an HttpResponse through WSGI's start_response."""
    reason = HTTPStatus(response.status).phrase
    headers = [(name, value) for name, value in response.headers.items()]
    headers.append(("Content-Length", str(len(response.body))))
    start_response(f"{response.status} {reason}", headers)
    return [response.body]


def parse_query(query_string: str) -> dict[str, list[str]]:
    """Split a query string, keeping every value of a repeated name; ``+`` means space (forms)."""
    query: dict[str, list[str]] = {}
    for pair in query_string.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        query.setdefault(_decode(name), []).append(_decode(value))
    return query


def _decode(text: str) -> str:
    try:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument("query", "query string is not valid UTF-8 once percent-decoded") from None


def _path(environ: Mapping[str, object]) -> str:
    # PEP 3333 hands PATH_INFO over as latin-1-decoded bytes.
    raw = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")) or "/"
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise InvalidArgument("path", "request path is not valid UTF-8") from None

