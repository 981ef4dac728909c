"""CORS for the HTTP functions, with no I/O: which origins may call from a browser, and the headers that say so.

    CorsOrigins.parse(variable, raw)       ``PRESIGN_CORS_ORIGINS`` / ``LINKS_CORS_ORIGINS``: exact origins, or
                                           ``*`` alone; anything else a ConfigError naming the variable
    preflight(cors, method, allowed, hdrs) the headers of the 204 that answers a browser's OPTIONS, None when the
                                           request is not one (route it as usual); AccessDenied for an origin
                                           not listed
    with_cors(cors, hdrs, response)        a real answer, errors included, with Allow-Origin, Expose-Headers and
                                           ``Vary: Origin``

No setting means no CORS header at all. ``Access-Control-Allow-Credentials`` is never sent: callers
authenticate with headers (``Authorization``, ``X-Api-Key``), not cookies, so no credentialed request
is ever allowed, and ``*`` is answered as the literal ``*``, which browsers refuse for one.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.errors import AccessDenied, ConfigError
from shared.http.messages import HttpResponse

ALLOW_HEADERS = "Authorization, X-Api-Key, Content-Type, Accept, Uppy-Versions"
# Access-Control-Allow-Headers is exposed for clients that probe it with a plain OPTIONS (Uppy does).
EXPOSE_HEADERS = "Location, Retry-After, WWW-Authenticate, X-Request-Id, Access-Control-Allow-Headers"
MAX_AGE = "600"  # seconds a browser may cache a preflight's answer
DEFAULT_PORTS = {"http": "80", "https": "443"}  # the schemes an origin may have, and the port browsers leave out
_LABEL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_IPV6_CHARACTERS = frozenset("0123456789abcdef:.")
_EXAMPLE = "write each as scheme://host[:port], such as https://app.example.com"


class CorsOrigins:
    """The origins a function answers browsers from: a set of exact origins, or any origin (``*``)."""

    __slots__ = ("variable", "origins", "any_origin")

    def __init__(self, variable: str, origins: frozenset[str], *, any_origin: bool = False) -> None:
        self.variable = variable
        self.origins = origins
        self.any_origin = any_origin

    def __repr__(self) -> str:
        return f"CorsOrigins({self.variable}={'*' if self.any_origin else ','.join(sorted(self.origins))})"

    @classmethod
    def parse(cls, variable: str, raw: str | None) -> CorsOrigins | None:
        """The variable's origins, comma-separated (blank entries ignored); None when it is unset or blank."""
        if raw is None or not raw.strip():
            return None
        given = [entry.strip() for entry in raw.split(",") if entry.strip()]
        if not given:
            raise ConfigError(variable, f"{variable} holds no origin; {_EXAMPLE}, or * for any origin")
        if "*" in given:
            if len(given) > 1:
                raise ConfigError(variable, f"{variable}: * means any origin and must be the whole value, "
                                            "not one entry among others")
            return cls(variable, frozenset(), any_origin=True)
        for origin in given:
            problem = origin_problem(origin)
            if problem:
                raise ConfigError(variable, f"{variable} holds {origin[:100]!r}, which is not an origin: "
                                            f"{problem}; {_EXAMPLE}")
        return cls(variable, frozenset(given))

    def allow_origin(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value for a request from ``origin``; None when it is not allowed."""
        if self.any_origin:
            return "*"
        return origin if origin in self.origins else None


def origin_problem(origin: str) -> str | None:
    """What keeps ``origin`` from being an origin as a browser writes it, or None when it is one."""
    if origin == "null":
        return "null is what sandboxed frames and local files send, and anyone can send it"
    if "*" in origin:
        return "wildcards are not allowed: list every origin"
    scheme, separator, authority = origin.partition("://")
    if not separator or scheme not in DEFAULT_PORTS:
        return "it must start with https:// or http://, in lower case"
    if not authority or any(character in authority for character in "/?#@\\ "):
        return "an origin has a host and no path (not even /), query, fragment or user name"
    if authority.startswith("["):
        host, _, port = authority[1:].partition("]")
        if not host or not set(host) <= _IPV6_CHARACTERS or ":" not in host or (port and port[0] != ":"):
            return "an IPv6 host is written in brackets, in lower case, such as http://[::1]:8080"
        return _port_problem(scheme, port[1:]) if port else None
    host, _, port = authority.partition(":")
    return _host_problem(host) or (_port_problem(scheme, port) if ":" in authority else None)


def _host_problem(host: str) -> str | None:
    if not host.isascii():
        return "write the host name in its ASCII (punycode) form, as browsers send it"
    if host != host.lower():
        return f"browsers send the host in lower case: {host.lower()}"
    labels = host.split(".")
    if len(host) > 253 or any(not 0 < len(label) < 64 or not set(label) <= _LABEL_CHARACTERS
                              or label[0] == "-" or label[-1] == "-" for label in labels):
        return "the host is not a host name (letters, digits and hyphens, in labels separated by dots)"
    return None


def _port_problem(scheme: str, port: str) -> str | None:
    if not port.isdigit() or port[0] == "0" or int(port) > 65535:
        return "the port must be a number from 1 to 65535"
    if port == DEFAULT_PORTS[scheme]:
        return f"browsers leave out the default port: drop :{port}"
    return None


def preflight(cors: CorsOrigins | None, method: str, allowed: tuple[str, ...] | None,
              headers: Mapping[str, str]) -> dict[str, str] | None:
    """The headers of the 204 that answers a browser's OPTIONS to a route serving ``allowed``; None when this
    is not one (no setting, another method, no Origin, no such route). An origin not listed: AccessDenied.

    With or without Access-Control-Request-Method: some clients probe the allowed headers with a plain OPTIONS.
    """
    origin = headers.get("origin")
    if cors is None or method != "OPTIONS" or origin is None or allowed is None:
        return None
    allow_origin = cors.allow_origin(origin)
    if allow_origin is None:
        raise AccessDenied(f"origin {origin[:128]} is not in {cors.variable}: this API does not answer "
                           "browsers on that origin")
    return {"Access-Control-Allow-Origin": allow_origin, "Access-Control-Allow-Methods": ", ".join(allowed),
            "Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Max-Age": MAX_AGE,
            "Access-Control-Expose-Headers": EXPOSE_HEADERS, "Vary": "Origin"}


def with_cors(cors: CorsOrigins | None, headers: Mapping[str, str], response: HttpResponse) -> HttpResponse:
    """``response`` with ``Vary: Origin`` and, for an allowed Origin, Allow-Origin and Expose-Headers added."""
    if cors is None:
        return response
    origin = headers.get("origin")
    allow_origin = cors.allow_origin(origin) if origin is not None else None
    if allow_origin is not None:
        response.headers.setdefault("Access-Control-Allow-Origin", allow_origin)
        response.headers.setdefault("Access-Control-Expose-Headers", EXPOSE_HEADERS)
    _vary_on_origin(response.headers)
    return response


def _vary_on_origin(headers: dict[str, str]) -> None:
    """Add Origin to the response's Vary header (whatever its spelling), once."""
    name = next((name for name in headers if name.lower() == "vary"), "Vary")
    present = [value.strip().lower() for value in headers.get(name, "").split(",") if value.strip()]
    if "origin" not in present and "*" not in present:
        headers[name] = ", ".join([headers[name], "Origin"]) if present else "Origin"
