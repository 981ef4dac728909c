"""The one error boundary, through the real presign and links apps on a real WSGI server: our own
request ids (the caller's logged apart), nosniff on every JSON error, duplicate JSON names refused,
and 503s that tell the caller a fixed message while the log keeps the credential search."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import partial
from urllib.parse import urlsplit

import pytest
import requests
from events import apigw_event, fc3_event
from http_servers import WsgiApp
from presign_env import API_KEY, environment

from shared.http.fc import serve_fc_event
from shared.http.messages import INVALID_REQUEST_ID
from shared.http.wsgi import serve_wsgi
from shared.links.wiring import build_links_app
from shared.presign.wiring import build_presign_app

ALICE = {"X-Api-Key": API_KEY}
JSON = {**ALICE, "Content-Type": "application/json"}
LINKS = {"LINK_SIGNING_KEYS": "k1:link-signing-secret-one-0123456789", "LINK_BASE_URL": "https://dl.example.com"}
# Where a failing credential search looks: none of it may reach the caller.
NO_CREDENTIALS = {"OSS_ACCESS_KEY_ID": "", "OSS_ACCESS_KEY_SECRET": "",
                  "ALIBABA_CLOUD_CREDENTIALS_URI": "http://127.0.0.1:9/internal/role-credentials",
                  "ALIBABA_CLOUD_CREDENTIALS_FILE": "/srv/secret-store/credentials.ini"}
SEARCH_PARTS = ("127.0.0.1:9", "/internal/role-credentials", "/srv/secret-store", "OSS_ACCESS_KEY_ID",
                "ALIBABA_CLOUD", "credentials_uri", "[skipped]")


class Served:
    """One app on a real server, with its audit log captured."""

    def __init__(self, wsgi_server: Callable[[WsgiApp], str], build: Callable[..., object], **overrides: str) -> None:
        self.audit = io.StringIO()
        self.app = build(environment(**overrides), audit_stream=self.audit)
        self.base = wsgi_server(partial(serve_wsgi, self.app))

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.audit.getvalue().splitlines()]


@pytest.fixture
def presign(wsgi_server: Callable[[WsgiApp], str]) -> Served:
    return Served(wsgi_server, build_presign_app)


@pytest.fixture
def links(wsgi_server: Callable[[WsgiApp], str]) -> Served:
    return Served(wsgi_server, build_links_app, **LINKS)


# Request ids

def test_the_answer_carries_our_request_id_and_the_log_the_callers_apart(presign: Served) -> None:
    given = {"X-Request-Id": "caller-chosen-id", "X-Fc-Request-Id": "claimed-platform-id"}
    issued = requests.get(f"{presign.base}/presign", params={"key": "reports/a"}, headers={**ALICE, **given},
                          timeout=10)
    refused = requests.get(f"{presign.base}/presign", params={"key": "reports/a"}, headers=given, timeout=10)
    assert issued.status_code == 200 and refused.status_code == 401
    ours = [issued.headers["X-Request-Id"], refused.headers["X-Request-Id"]]
    assert len(set(ours)) == 2 and not set(ours) & set(given.values())
    assert refused.json()["error"]["request_id"] == ours[1]
    lines = presign.lines()
    assert [(line["event"], line["request_id"], line["client_request_id"]) for line in lines] == [
        ("issued", ours[0], "caller-chosen-id"), ("refused", ours[1], "caller-chosen-id")]


@pytest.mark.parametrize("given, logged", [
    ("x" * 128, "x" * 128),
    ("x" * 129, INVALID_REQUEST_ID),
    ("caf\u00e9", INVALID_REQUEST_ID),
    ("tab\there", INVALID_REQUEST_ID),
    ("\x7f", INVALID_REQUEST_ID),
], ids=["128-chars", "129-chars", "latin-1", "tab", "del"])
def test_the_callers_request_id_is_logged_only_when_printable_ascii_of_128_at_most(
        presign: Served, given: str, logged: str) -> None:
    response = requests.get(f"{presign.base}/healthz-nowhere", headers={"X-Request-Id": given.encode("latin-1")},
                            timeout=10)
    assert response.status_code == 404 and response.headers["X-Request-Id"] != given
    (line,) = presign.lines()
    assert line["client_request_id"] == logged and line["request_id"] == response.headers["X-Request-Id"]


def test_links_answers_carry_our_request_id(links: Served) -> None:
    made = requests.post(f"{links.base}/links", json={"key": "reports/a.pdf", "ttl": "1d"},
                         headers={**ALICE, "X-Request-Id": "mine"}, timeout=10)
    click = requests.get(f"{links.base}{urlsplit(made.json()['link']).path}", allow_redirects=False, timeout=10)
    bad = requests.get(f"{links.base}/d/not-a-token", headers={"X-Request-Id": "mine"}, timeout=10)
    assert (made.status_code, click.status_code, bad.status_code) == (200, 302, 404)
    ids = [made.headers["X-Request-Id"], click.headers["X-Request-Id"], bad.headers["X-Request-Id"]]
    assert len(set(ids)) == 3 and "mine" not in ids and bad.json()["error"]["request_id"] == ids[2]
    assert [(line["request_id"], line.get("client_request_id")) for line in links.lines()] == [
        (ids[0], "mine"), (ids[1], None), (ids[2], "mine")]


def test_on_function_compute_the_platforms_request_id_is_ours() -> None:
    audit = io.StringIO()
    app = build_presign_app(environment(), audit_stream=audit)
    event = fc3_event(query={"key": "reports/a"}, headers={"X-Api-Key": API_KEY, "X-Request-Id": "caller-id"})
    answer = serve_fc_event(app, event, {"request_id": "fc-context-request-id"})
    assert answer["statusCode"] == 200 and answer["headers"]["X-Request-Id"] == "fc-context-request-id"
    spoofed = apigw_event(body={"key": "reports/a"}, headers={"X-Ca-Request-Id": "claimed", "X-Request-Id": "c2"})
    refused = serve_fc_event(app, spoofed, None)  # no context: no platform id to trust, so one of ours
    generated = refused["headers"]["X-Request-Id"]
    assert refused["statusCode"] == 401 and generated not in ("claimed", "c2", "")
    assert json.loads(refused["body"])["error"]["request_id"] == generated
    lines = [json.loads(line) for line in audit.getvalue().splitlines()]
    assert [(line["request_id"], line["client_request_id"]) for line in lines] == [
        ("fc-context-request-id", "caller-id"), (generated, "c2")]
    broken = serve_fc_event(app, b"not an event", {"request_id": "fc-2"})
    assert broken["statusCode"] == 400 and broken["headers"]["X-Request-Id"] == "fc-2"
    assert json.loads(broken["body"])["error"]["request_id"] == "fc-2"


# X-Content-Type-Options: nosniff on every JSON error

PRESIGN_ERRORS = [
    ("GET", "/presign?key=reports/a", {}, b"", 401),
    ("GET", "/presign?key=elsewhere/a", ALICE, b"", 403),
    ("GET", "/nowhere", {}, b"", 404),
    ("DELETE", "/presign", ALICE, b"", 405),
    ("GET", "/presign?key=reports/a&key=reports/b", ALICE, b"", 400),
    ("POST", "/presign", {**ALICE, "Content-Type": "text/plain"}, b"key=a", 415),
    ("POST", "/presign", JSON, b"x" * ((1 << 20) + 1), 413),
    ("GET", "/presign?key=%ff", ALICE, b"", 400),  # refused by the adapter, before the app
]


@pytest.mark.parametrize("method, target, headers, body, status", PRESIGN_ERRORS,
                         ids=["401", "403", "404", "405", "400", "415", "413-adapter", "400-adapter"])
def test_every_json_error_says_nosniff(presign: Served, method: str, target: str, headers: dict, body: bytes,
                                       status: int) -> None:
    response = requests.request(method, presign.base + target, headers=headers, data=body, timeout=10)
    assert response.status_code == status and response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json()["error"]["request_id"] == response.headers["X-Request-Id"]


def test_links_errors_and_broken_apps_say_nosniff(links: Served, wsgi_server: Callable[[WsgiApp], str]) -> None:
    for accept in ("application/json", "text/html"):
        response = requests.get(f"{links.base}/d/forged", headers={"Accept": accept}, timeout=10)
        assert response.status_code == 404 and response.headers["X-Content-Type-Options"] == "nosniff"
    broken = Served(wsgi_server, build_presign_app, PRESIGN_POLICY="")  # no policy: 500 ConfigError
    response = requests.get(f"{broken.base}/presign?key=a", headers=ALICE, timeout=10)
    assert response.status_code == 500 and response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json()["error"]["request_id"] == response.headers["X-Request-Id"]
    answer = serve_fc_event(broken.app, b"garbage", None)
    assert answer["statusCode"] == 400 and answer["headers"]["X-Content-Type-Options"] == "nosniff"


# JSON bodies with a name given twice

DUPLICATES = [
    ("/presign", b'{"key": "reports/a", "key": "shared/b"}', "key"),
    ("/presign/batch", b'{"items": [{"key": "reports/a", "method": "GET", "method": "HEAD"}]}', "method"),
    ("/presign/batch", b'{"items": [{"key": "shared/x"}], "items": [{"key": "reports/a"}]}', "items"),
]


@pytest.mark.parametrize("path, body, name", DUPLICATES, ids=["presign", "batch-item", "batch-items"])
def test_presign_refuses_a_json_name_given_twice(presign: Served, path: str, body: bytes, name: str) -> None:
    response = requests.post(presign.base + path, data=body, headers=JSON, timeout=10)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidArgument" and f"'{name}' appears twice" in error["message"]
    assert [line["event"] for line in presign.lines()] == ["refused"]


@pytest.mark.parametrize("path, body", [
    ("/links", b'{"key": "reports/a.pdf", "ttl": "1d", "ttl": "365d"}'),
    ("/links/batch", b'{"items": [{"key": "reports/a.pdf", "ttl": "1d", "key": "reports/b.pdf"}]}'),
], ids=["links", "links-batch"])
def test_links_refuses_a_json_name_given_twice(links: Served, path: str, body: bytes) -> None:
    response = requests.post(links.base + path, data=body, headers=JSON, timeout=10)
    assert response.status_code == 400 and "appears twice" in response.json()["error"]["message"]
    assert "link_created" not in [line["event"] for line in links.lines()]


# 503: a fixed message for the caller, the credential search for the log

def test_a_503_tells_the_caller_nothing_of_the_credential_search(wsgi_server: Callable[[WsgiApp], str]) -> None:
    served = Served(wsgi_server, build_presign_app, **NO_CREDENTIALS)
    one = requests.get(f"{served.base}/presign", params={"key": "reports/a"}, headers=ALICE, timeout=10)
    batch = requests.post(f"{served.base}/presign/batch", json={"items": [{"key": "reports/a"}]}, headers=ALICE,
                          timeout=10)
    assert one.status_code == 503 and one.headers["Retry-After"] and batch.status_code == 200
    errors = [one.json()["error"], batch.json()["items"][0]["error"]]
    for error, request_id in zip(errors, (one.headers["X-Request-Id"], batch.headers["X-Request-Id"]), strict=True):
        assert error == {"code": "CredentialsUnavailable", "message": errors[0]["message"], "request_id": request_id}
    for part in SEARCH_PARTS:
        assert part not in one.text and part not in batch.text
    reasons = [line["reason"] for line in served.lines()]
    assert len(reasons) == 2
    for reason in reasons:  # the log keeps every source tried and why it failed
        assert "/internal/role-credentials" in reason and "/srv/secret-store/credentials.ini" in reason


def test_a_link_click_without_credentials_shows_a_fixed_message(wsgi_server: Callable[[WsgiApp], str]) -> None:
    served = Served(wsgi_server, build_links_app, **LINKS, **NO_CREDENTIALS)
    made = requests.post(f"{served.base}/links", json={"key": "reports/a.pdf", "ttl": "1d"}, headers=ALICE,
                         timeout=10)
    path = urlsplit(made.json()["link"]).path
    page = requests.get(served.base + path, headers={"Accept": "text/html"}, allow_redirects=False, timeout=10)
    answer = requests.get(served.base + path, allow_redirects=False, timeout=10)
    assert (page.status_code, answer.status_code) == (503, 503)
    assert answer.json()["error"]["request_id"] == answer.headers["X-Request-Id"]
    for part in SEARCH_PARTS:
        assert part not in page.text and part not in answer.text
    refusals = [line for line in served.lines() if line["event"] == "link_refused"]
    assert len(refusals) == 2 and all("/internal/role-credentials" in line["reason"] for line in refusals)
