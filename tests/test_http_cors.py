"""CORS on the presign and links functions: the origin settings, preflights and real answers, through the
apps served on 127.0.0.1 (WSGI and functions-framework) with requests, and through FC 3.0 and API Gateway
events built from the sample events."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import requests
from events import apigw_event, fc3_event
from http_servers import WsgiApp
from presign_env import API_KEY, environment
from processes import free_port, functions_framework_command, running

from shared.errors import ConfigError
from shared.http.cors import ALLOW_HEADERS, EXPOSE_HEADERS, CorsOrigins
from shared.http.fc import serve_fc_event
from shared.http.wsgi import serve_wsgi
from shared.links.wiring import build_links_app
from shared.presign.wiring import build_presign_app

APP_ORIGIN = "https://app.example.com"
PAGE_ORIGIN = "http://127.0.0.1:9200"
OTHER_ORIGIN = "https://evil.example.net"
ORIGINS = f"{APP_ORIGIN}, {PAGE_ORIGIN}"
LINK_KEYS = "k1:link-signing-secret-one-0123456789"
PREFLIGHT = {"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "x-api-key, content-type"}
ALICE = {"X-Api-Key": API_KEY}


def cors_headers(headers: object) -> dict[str, str]:
    """The response's Access-Control-* headers, names lower-cased."""
    items = headers.items() if hasattr(headers, "items") else []  # type: ignore[union-attr]
    return {name.lower(): value for name, value in items if name.lower().startswith("access-control-")}


class Served:
    """An app built from an environment, served on 127.0.0.1, with its audit log captured."""

    def __init__(self, start: Callable[[WsgiApp], str], build: Callable[..., object], **overrides: str) -> None:
        self.audit = io.StringIO()
        self.app = build(environment(**{"LINK_SIGNING_KEYS": LINK_KEYS, **overrides}), audit_stream=self.audit)
        self.base = start(partial(serve_wsgi, self.app))

    def request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return requests.request(method, self.base + path, timeout=10, allow_redirects=False, **kwargs)  # type: ignore[arg-type]

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.audit.getvalue().splitlines()]


@pytest.fixture
def presign(wsgi_server: Callable[[WsgiApp], str]) -> Served:
    return Served(wsgi_server, build_presign_app, PRESIGN_CORS_ORIGINS=ORIGINS)


@pytest.fixture
def links(wsgi_server: Callable[[WsgiApp], str]) -> Served:
    return Served(wsgi_server, build_links_app, LINKS_CORS_ORIGINS=ORIGINS)


# The settings.

@pytest.mark.parametrize("raw, origins", [
    ("https://app.example.com", {"https://app.example.com"}),
    (" https://app.example.com ,http://localhost:3000,, ", {"https://app.example.com", "http://localhost:3000"}),
    ("http://127.0.0.1:9200,http://[::1]:8080,https://a-b.c9.example", {"http://127.0.0.1:9200",
                                                                          "http://[::1]:8080", "https://a-b.c9.example"}),
], ids=["one", "spaces-and-blank-entries", "addresses-and-hyphens"])
def test_exact_origins_are_read(raw: str, origins: set[str]) -> None:
    cors = CorsOrigins.parse("PRESIGN_CORS_ORIGINS", raw)
    assert cors is not None and cors.origins == origins and not cors.any_origin


def test_unset_or_blank_means_no_cors_and_star_means_any_origin() -> None:
    assert CorsOrigins.parse("PRESIGN_CORS_ORIGINS", None) is None
    assert CorsOrigins.parse("PRESIGN_CORS_ORIGINS", "  ") is None
    star = CorsOrigins.parse("PRESIGN_CORS_ORIGINS", " * ")
    assert star is not None and star.any_origin and star.allow_origin("https://anything.example") == "*"


@pytest.mark.parametrize("raw, words", [
    ("https://*.example.com", "wildcards are not allowed"),
    ("*, https://app.example.com", "must be the whole value"),
    ("https://app.example.com/", "no path"),
    ("https://app.example.com/app", "no path"),
    ("https://app.example.com?x=1", "no path"),
    ("https://user@app.example.com", "user name"),
    ("app.example.com", "https:// or http://"),
    ("HTTPS://app.example.com", "https:// or http://"),
    ("ftp://app.example.com", "https:// or http://"),
    ("https://App.Example.com", "lower case: app.example.com"),
    ("https://app.example.com:443", "drop :443"),
    ("http://app.example.com:80", "drop :80"),
    ("https://app.example.com:0", "port must be a number"),
    ("https://app.example.com:65536", "port must be a number"),
    ("https://app.example.com:", "port must be a number"),
    ("https://bücher.example", "punycode"),
    ("https://app..example.com", "not a host name"),
    ("https://app_1.example.com", "not a host name"),
    ("http://[zz]:80", "IPv6"),
    ("null", "sandboxed frames"),
    (",", "holds no origin"),
])
def test_an_invalid_setting_is_a_config_error_naming_the_variable(raw: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CorsOrigins.parse("LINKS_CORS_ORIGINS", raw)
    assert caught.value.variable == "LINKS_CORS_ORIGINS"
    assert caught.value.message.startswith("LINKS_CORS_ORIGINS") and words in caught.value.message


@pytest.mark.parametrize("build, variable", [(build_presign_app, "PRESIGN_CORS_ORIGINS"),
                                             (build_links_app, "LINKS_CORS_ORIGINS")], ids=["presign", "links"])
def test_a_function_with_an_invalid_setting_answers_config_error(wsgi_server: Callable[[WsgiApp], str],
                                                                 build: Callable[..., object], variable: str) -> None:
    served = Served(wsgi_server, build, **{variable: "https://*.example.com"})
    answer = served.request("OPTIONS", "/healthz", headers=PREFLIGHT)
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "ConfigError"
    assert variable in answer.json()["error"]["message"] and not cors_headers(answer.headers)


# Unset: as before.

def test_unset_no_cors_headers_and_options_is_405(wsgi_server: Callable[[WsgiApp], str]) -> None:
    served = Served(wsgi_server, build_presign_app)
    preflight = served.request("OPTIONS", "/presign", headers=PREFLIGHT)
    assert preflight.status_code == 405 and preflight.headers["Allow"] == "GET, POST"
    assert not cors_headers(preflight.headers) and "Vary" not in preflight.headers
    real = served.request("GET", "/presign", params={"key": "reports/a.pdf"}, headers={**ALICE, "Origin": APP_ORIGIN})
    assert real.status_code == 200 and not cors_headers(real.headers) and "Vary" not in real.headers


def test_links_reads_its_own_variable_not_the_presign_one(wsgi_server: Callable[[WsgiApp], str]) -> None:
    served = Served(wsgi_server, build_links_app, PRESIGN_CORS_ORIGINS=ORIGINS)
    answer = served.request("OPTIONS", "/links", headers=PREFLIGHT)
    assert answer.status_code == 405 and not cors_headers(answer.headers)


# Preflights.

@pytest.mark.parametrize("path, methods", [("/presign", "GET, POST"), ("/presign/batch", "POST"),
                                           ("/presign/", "GET, POST"), ("/healthz", "GET, HEAD")])
def test_preflight_from_a_listed_origin_is_204_before_authentication(presign: Served, path: str,
                                                                     methods: str) -> None:
    answer = presign.request("OPTIONS", path, headers=PREFLIGHT)
    assert answer.status_code == 204 and answer.content == b""
    assert cors_headers(answer.headers) == {
        "access-control-allow-origin": APP_ORIGIN, "access-control-allow-methods": methods,
        "access-control-allow-headers": "Authorization, X-Api-Key, Content-Type, Accept, Uppy-Versions",
        "access-control-max-age": "600", "access-control-expose-headers": EXPOSE_HEADERS}
    assert answer.headers["Vary"] == "Origin"
    assert presign.lines() == []  # nothing written: no authentication, no I/O


def test_every_listed_origin_is_echoed_and_credentials_never_allowed(presign: Served) -> None:
    answer = presign.request("OPTIONS", "/presign", headers={**PREFLIGHT, "Origin": PAGE_ORIGIN})
    assert answer.status_code == 204 and answer.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_a_plain_options_is_answered_the_same_way(presign: Served) -> None:
    answer = presign.request("OPTIONS", "/presign", headers={"Origin": APP_ORIGIN})
    assert answer.status_code == 204 and answer.headers["Access-Control-Allow-Headers"] == ALLOW_HEADERS
    assert "Access-Control-Allow-Headers" in answer.headers["Access-Control-Expose-Headers"]


def test_preflight_from_another_origin_is_403_without_cors_headers(presign: Served) -> None:
    answer = presign.request("OPTIONS", "/presign", headers={**PREFLIGHT, "Origin": OTHER_ORIGIN})
    assert answer.status_code == 403 and not cors_headers(answer.headers)
    error = answer.json()["error"]
    assert error["code"] == "AccessDenied" and OTHER_ORIGIN in error["message"]
    assert "PRESIGN_CORS_ORIGINS" in error["message"] and set(error) == {"code", "message", "request_id"}
    (line,) = presign.lines()
    assert (line["event"], line["status"], line["method"]) == ("refused", 403, "OPTIONS")


@pytest.mark.parametrize("origin", ["https://app.example.com.evil.example", "https://APP.example.com",
                                    "https://app.example.com:443", "http://app.example.com", "null", ""])
def test_only_the_exact_origin_passes(presign: Served, origin: str) -> None:
    answer = presign.request("OPTIONS", "/presign", headers={**PREFLIGHT, "Origin": origin})
    assert answer.status_code == 403 and not cors_headers(answer.headers)


def test_options_without_origin_is_405_as_before(presign: Served) -> None:
    answer = presign.request("OPTIONS", "/presign", headers={"Access-Control-Request-Method": "POST"})
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, POST"
    assert answer.json()["error"]["code"] == "MethodNotAllowed" and not cors_headers(answer.headers)


def test_preflight_to_no_route_is_the_404_readable_by_the_page(presign: Served) -> None:
    answer = presign.request("OPTIONS", "/nowhere", headers=PREFLIGHT)
    assert answer.status_code == 404 and answer.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


def test_star_answers_any_origin_with_a_literal_star(wsgi_server: Callable[[WsgiApp], str]) -> None:
    served = Served(wsgi_server, build_presign_app, PRESIGN_CORS_ORIGINS="*")
    preflight = served.request("OPTIONS", "/presign", headers={**PREFLIGHT, "Origin": OTHER_ORIGIN})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    real = served.request("POST", "/presign", json={"key": "reports/a.pdf"}, headers={**ALICE, "Origin": "null"})
    assert real.status_code == 200 and real.headers["Access-Control-Allow-Origin"] == "*"
    assert not any("credentials" in name for name in cors_headers(real.headers))


# Real answers.

def test_a_real_answer_is_readable_by_the_page(presign: Served) -> None:
    answer = presign.request("POST", "/presign", json={"key": "reports/a.pdf"}, headers={**ALICE, "Origin": APP_ORIGIN})
    assert answer.status_code == 200 and answer.json()["url"]
    assert cors_headers(answer.headers) == {"access-control-allow-origin": APP_ORIGIN,
                                            "access-control-expose-headers": EXPOSE_HEADERS}
    assert answer.headers["Vary"] == "Origin"


@pytest.mark.parametrize("method, path, kwargs, status, exposed", [
    ("POST", "/presign", {"json": {"key": "reports/a.pdf"}}, 401, "WWW-Authenticate"),
    ("GET", "/presign", {"params": {"key": "reports/a.pdf", "redirect": "1"}, "headers": ALICE}, 302, "Location"),
    ("DELETE", "/presign", {"headers": ALICE}, 405, "Allow"),
    ("POST", "/presign", {"data": b"{", "headers": {**ALICE, "Content-Type": "application/json"}}, 400, None),
    ("GET", "/presign", {"params": {"key": "private/a.pdf"}, "headers": ALICE}, 403, None),
], ids=["401", "302", "405", "400", "403-policy"])
def test_errors_and_redirects_carry_the_cors_headers(presign: Served, method: str, path: str, kwargs: dict,
                                                     status: int, exposed: str | None) -> None:
    headers = {**kwargs.pop("headers", {}), "Origin": APP_ORIGIN}
    answer = presign.request(method, path, headers=headers, **kwargs)
    assert answer.status_code == status
    assert answer.headers["Access-Control-Allow-Origin"] == APP_ORIGIN and answer.headers["Vary"] == "Origin"
    assert answer.headers["Access-Control-Expose-Headers"] == EXPOSE_HEADERS
    if exposed:
        assert exposed in answer.headers


def test_a_real_answer_to_another_origin_has_no_cors_headers_but_varies(presign: Served) -> None:
    answer = presign.request("GET", "/presign", params={"key": "reports/a.pdf"},
                             headers={**ALICE, "Origin": OTHER_ORIGIN})
    assert answer.status_code == 200 and not cors_headers(answer.headers) and answer.headers["Vary"] == "Origin"
    plain = presign.request("GET", "/healthz")  # no Origin: a cache must still keep the two apart
    assert plain.status_code == 200 and not cors_headers(plain.headers) and plain.headers["Vary"] == "Origin"


def test_a_request_the_adapter_refuses_is_readable_too(presign: Served) -> None:
    too_large = presign.request("POST", "/presign/batch", data=b"x" * ((1 << 20) + 1),
                                headers={**ALICE, "Content-Type": "application/json", "Origin": APP_ORIGIN})
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "PayloadTooLarge"
    assert too_large.headers["Access-Control-Allow-Origin"] == APP_ORIGIN and too_large.headers["Vary"] == "Origin"
    bad_path = presign.request("GET", "/presign%ff", headers={"Origin": OTHER_ORIGIN})
    assert bad_path.status_code == 400 and not cors_headers(bad_path.headers)


# The links function.

def test_links_preflights_follow_its_routes(links: Served) -> None:
    for path, methods in (("/links", "POST"), ("/links/batch", "POST"), ("/d/anything", "GET, HEAD")):
        answer = links.request("OPTIONS", path, headers=PREFLIGHT)
        assert (answer.status_code, answer.headers["Access-Control-Allow-Methods"]) == (204, methods), path
    denied = links.request("OPTIONS", "/links", headers={**PREFLIGHT, "Origin": OTHER_ORIGIN})
    assert denied.status_code == 403 and "LINKS_CORS_ORIGINS" in denied.json()["error"]["message"]


def test_links_answers_and_link_errors_are_readable(links: Served) -> None:
    origin = {"Origin": PAGE_ORIGIN}
    created = links.request("POST", "/links", json={"key": "reports/a.pdf", "ttl": "1d"}, headers={**ALICE, **origin})
    assert created.status_code == 200 and created.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    unauthenticated = links.request("POST", "/links", json={"key": "reports/a.pdf", "ttl": "1d"}, headers=origin)
    assert unauthenticated.status_code == 401 and unauthenticated.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    followed = links.request("GET", "/d/" + created.json()["link"].rsplit("/", 1)[1], headers=origin)
    assert followed.status_code == 302 and followed.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    bad = links.request("GET", "/d/not-a-token", headers={**origin, "Accept": "text/html"})
    assert bad.status_code == 404 and bad.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert bad.headers["Content-Type"].startswith("text/html") and bad.headers["Vary"] == "Origin"


# Function Compute events and functions-framework.

def fc_app(**overrides: str) -> object:
    return build_presign_app(environment(PRESIGN_CORS_ORIGINS=ORIGINS, **overrides), audit_stream=io.StringIO())


@pytest.mark.parametrize("event", [
    fc3_event("OPTIONS", "/presign", headers=PREFLIGHT),
    apigw_event("OPTIONS", "/presign", headers=PREFLIGHT),
], ids=["fc3", "api-gateway"])
def test_fc_event_preflight(event: dict) -> None:
    answer = serve_fc_event(fc_app(), event, None)  # type: ignore[arg-type]
    assert answer["statusCode"] == 204 and answer["body"] == ""
    headers = answer["headers"]
    assert headers["Access-Control-Allow-Origin"] == APP_ORIGIN  # type: ignore[index]
    assert headers["Access-Control-Allow-Methods"] == "GET, POST" and headers["Vary"] == "Origin"  # type: ignore[index]


def test_fc_event_errors_are_readable_and_other_origins_refused() -> None:
    app = fc_app()
    unauthenticated = serve_fc_event(app, fc3_event(query={"key": "reports/a"}, headers={"origin": APP_ORIGIN}), None)  # type: ignore[arg-type]
    assert unauthenticated["statusCode"] == 401
    assert unauthenticated["headers"]["Access-Control-Allow-Origin"] == APP_ORIGIN  # type: ignore[index]
    assert "WWW-Authenticate" in unauthenticated["headers"]  # type: ignore[operator]
    other = serve_fc_event(app, fc3_event("OPTIONS", headers={**PREFLIGHT, "Origin": OTHER_ORIGIN}), None)  # type: ignore[arg-type]
    assert other["statusCode"] == 403 and not cors_headers(other["headers"])
    assert json.loads(other["body"])["error"]["code"] == "AccessDenied"  # type: ignore[arg-type]


def test_fc_event_the_adapter_refuses_is_readable_too() -> None:
    app = fc_app()
    oversized = fc3_event("POST", headers={"Origin": APP_ORIGIN}, body=b"x" * ((1 << 20) + 1), base64_body=True)
    answer = serve_fc_event(app, oversized, None)  # type: ignore[arg-type]
    assert answer["statusCode"] == 413 and answer["headers"]["Access-Control-Allow-Origin"] == APP_ORIGIN  # type: ignore[index]
    garbage = serve_fc_event(app, b"not an event", None)  # type: ignore[arg-type]
    assert garbage["statusCode"] == 400 and not cors_headers(garbage["headers"])


@pytest.fixture(scope="module")
def framework(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The presign function's functions-framework target in its own process."""
    port = free_port()
    log: Path = tmp_path_factory.mktemp("ff-cors") / "server.log"
    with running(functions_framework_command("functions/presign/main.py", "presign", port), port,
                 environment(PRESIGN_CORS_ORIGINS=ORIGINS), log=log) as base:
        yield base


def test_functions_framework_passes_preflights_and_headers(framework: str) -> None:
    preflight = requests.options(f"{framework}/presign", headers=PREFLIGHT, timeout=10)
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    denied = requests.post(f"{framework}/presign", json={"key": "reports/a.pdf"}, headers={"Origin": APP_ORIGIN},
                           timeout=10)
    assert denied.status_code == 401 and denied.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
