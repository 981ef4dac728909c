"""What the HTTP apps share around their handlers: a route table lookup, the JSON body, error headers."""

from __future__ import annotations

import json
from collections.abc import Mapping

from shared.auth.authenticator import WWW_AUTHENTICATE
from shared.errors import (
    InvalidArgument,
    MethodNotAllowed,
    NotFound,
    PresignError,
    Unauthenticated,
    UnsupportedMediaType,
)
from shared.fields import unique_names
from shared.http.messages import HttpRequest


def route_methods(path: str, routes: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    """The methods the route at ``path`` serves (trailing slashes dropped); None when there is no such route."""
    found = find_route(path, routes)
    return routes[found[0]] if found else None


def find_route(path: str, routes: Mapping[str, tuple[str, ...]]) -> tuple[str, dict[str, str]] | None:
    """The route serving ``path`` and its path parameters: an exact route, else one with ``{name}`` segments
    (each matching one non-empty segment; literal segments win: ``/a/{id}/batch`` before ``/a/{id}/{n}``)."""
    path = path.rstrip("/") or "/"
    if path in routes:
        return path, {}
    segments = path.split("/")
    for pattern in sorted((p for p in routes if "{" in p), key=lambda p: p.count("{")):
        wanted = pattern.split("/")
        if len(wanted) != len(segments):
            continue
        params = {}
        for expected, given in zip(wanted, segments, strict=True):
            if expected.startswith("{") and expected.endswith("}") and given:
                params[expected[1:-1]] = given
            elif expected != given:
                break
        else:
            return pattern, params
    return None


def match_route(request: HttpRequest, routes: Mapping[str, tuple[str, ...]]) -> str:
    """Return the request's route (trailing slashes dropped); 404 for no route, 405 for a wrong method."""
    return match_route_params(request, routes)[0]


def match_route_params(request: HttpRequest, routes: Mapping[str, tuple[str, ...]]) -> tuple[str, dict[str, str]]:
    """The request's route and its path parameters; 404 for no route, 405 for a wrong method."""
    found = find_route(request.path, routes)
    if found is None:
        path = request.path.rstrip("/") or "/"
        raise NotFound(f"no route for {path[:128]}", code="NotFound")
    allowed = routes[found[0]]
    if request.method not in allowed:
        raise MethodNotAllowed(request.method[:16], allowed)
    return found


def json_object(request: HttpRequest) -> dict[str, object]:
    """The body as a JSON object: 415 unless sent as application/json, 400 unless valid (a name given twice in
    one object is invalid: which of the two a reader takes differs between parsers)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    try:
        given = json.loads(request.body.decode("utf-8"), parse_constant=_no_constants,
                           object_pairs_hook=unique_names)
    except UnicodeDecodeError:
        raise InvalidArgument("body", "body is not valid UTF-8") from None
    except ValueError as exc:
        raise InvalidArgument("body", f"body is not valid JSON: {str(exc)[:120]}") from None
    except RecursionError:
        raise InvalidArgument("body", "body is nested too deeply") from None
    if not isinstance(given, dict):
        raise InvalidArgument("body", "body must be a JSON object")
    return given


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def error_headers(error: PresignError) -> dict[str, str]:
    """The headers an error response needs: WWW-Authenticate for 401, Allow for 405, Retry-After for 503."""
    if isinstance(error, Unauthenticated):
        return {"WWW-Authenticate": WWW_AUTHENTICATE}
    if isinstance(error, MethodNotAllowed):
        return {"Allow": ", ".join(error.allowed)}
    if error.status == 503:
        return {"Retry-After": "5"}
    return {}
