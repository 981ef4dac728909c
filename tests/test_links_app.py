"""The links API in process: creating links, following them, every way a link is refused, the audit log;
and end to end over HTTP against the local bucket, with one clock the tests move."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from http_servers import WsgiApp
from presign_env import ACCESS_KEY, API_KEY, JWT_SECRET, POLICY, assert_signed_by, environment
from stubs_credentials import FakeClock

from shared.auth.authenticator import encode_jwt
from shared.credentials import Credentials, ExplicitSource
from shared.devtools.local_oss import LocalOss
from shared.http.messages import HttpRequest, HttpResponse
from shared.http.wsgi import serve_wsgi
from shared.links.tokens import LinkSigner, new_link
from shared.links.wiring import build_links_app
from shared.oss.content_disposition import content_disposition
from shared.oss.signer import presign

NOW = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)
K1 = "k1:link-signing-secret-one-0123456789"
K2 = "k2:link-signing-secret-two-0123456789"
ALICE = {"x-api-key": API_KEY}
HOST = {"host": "dl.example.com"}


class Harness:
    """A links app built from an environment, with a clock the test moves and a captured audit log."""

    def __init__(self, clock: FakeClock | None = None, *, provider: object = None, **overrides: str) -> None:
        self.audit = io.StringIO()
        self.clock = clock or FakeClock(NOW)
        self.app = build_links_app(environment(**{"LINK_SIGNING_KEYS": K1, **overrides}), clock=self.clock,
                                   provider=provider, audit_stream=self.audit)

    def call(self, method: str, path: str, *, body: object = None,
             headers: dict | None = None) -> tuple[HttpResponse, dict]:
        raw = json.dumps(body).encode() if body is not None else b""
        all_headers = {**({"content-type": "application/json"} if body is not None else {}), **(headers or {})}
        response = self.app.handle(HttpRequest(method, path, headers=all_headers, body=raw, client_ip="198.51.100.7",
                                               request_id="req-1"))
        is_json = response.headers.get("Content-Type", "").startswith("application/json") and response.body
        return response, json.loads(response.body) if is_json else {}

    def create(self, **given: object) -> dict:
        response, result = self.call("POST", "/links", body={"key": "reports/a.pdf", "ttl": "1d", **given},
                                     headers={**ALICE, **HOST})
        assert response.status == 200, result
        return result

    def follow(self, link: str, method: str = "GET", headers: dict | None = None) -> HttpResponse:
        return self.call(method, urlsplit(link).path, headers=headers)[0]

    def lines(self, event: str | None = None) -> list[dict]:
        lines = [json.loads(line) for line in self.audit.getvalue().splitlines()]
        return [line for line in lines if event is None or line["event"] == event]


@pytest.fixture
def api() -> Harness:
    return Harness()


def token_of(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[1]


def test_create_answers_link_id_and_expiry(api: Harness) -> None:
    result = api.create(ttl="30d")
    assert set(result) == {"link", "link_id", "expires_at"}
    assert result["link"].startswith("https://dl.example.com/d/") and result["expires_at"] == "2026-12-21T06:00:00Z"
    created, = api.lines("link_created")
    assert (created["principal"], created["link_id"], created["kid"]) == ("alice", result["link_id"], "k1")
    assert token_of(result["link"]) not in api.audit.getvalue()


def policy_with(**alice_reports: object) -> str:
    """The tests' policy, with fields added to (or, as None, removed from) alice's rule for reports/."""
    first = {**POLICY["principals"]["alice"][0], **alice_reports}
    alice = [{name: value for name, value in first.items() if value is not None}, *POLICY["principals"]["alice"][1:]]
    return json.dumps({"principals": {**POLICY["principals"], "alice": alice}})


@pytest.mark.parametrize(("ttl", "seconds"), [(3600, 3600), ("45s", 45), ("90m", 5400), ("12h", 43200),
                                              ("30D", 2_592_000), ("365d", 31_536_000), ("600", 600)])
def test_ttl_forms(ttl: object, seconds: int) -> None:
    api = Harness(PRESIGN_POLICY=policy_with(max_link_ttl=31_536_000))  # the default rule caps links at 30 days
    expires_at = datetime.fromisoformat(api.create(ttl=ttl)["expires_at"].replace("Z", "+00:00"))
    assert expires_at == NOW + timedelta(seconds=seconds)


def test_a_ttl_over_the_rules_max_link_ttl_is_capped_and_the_answer_says_so(api: Harness) -> None:
    """As /presign cuts an expires over max_expires and says expires_capped_by: "policy"."""
    result = api.create(ttl="365d")  # alice's rule has no max_link_ttl: the default, 30 days
    assert result["expires_at"] == "2026-12-21T06:00:00Z" and result["ttl_capped_by"] == "policy"
    assert api.lines("link_created")[0]["ttl_capped_by"] == "policy"
    assert "ttl_capped_by" not in api.create(ttl="30d")  # at the cap: not cut
    hourly = Harness(PRESIGN_POLICY=policy_with(max_link_ttl=3600))
    result = hourly.create(ttl="1d")
    assert (result["expires_at"], result["ttl_capped_by"]) == ("2026-11-21T07:00:00Z", "policy")
    response = hourly.follow(result["link"])
    assert response.status == 302
    hourly.clock.advance(seconds=3600)
    assert hourly.follow(result["link"]).status == 404
    _, answer = hourly.call("POST", "/links/batch", body={"items": [{"key": "reports/a", "ttl": "2h"}]},
                            headers={**ALICE, **HOST})
    assert answer["items"][0]["ttl_capped_by"] == "policy"


def test_the_token_names_the_principal_that_made_the_link(api: Harness) -> None:
    made = LinkSigner.from_setting(K1).unsign(token_of(api.create()["link"]), now=NOW)
    assert (made.principal, made.via) == ("alice", "api_key")
    bob = {"authorization": "Bearer " + encode_jwt({"sub": "bob", "exp": int(NOW.timestamp()) + 60}, JWT_SECRET)}
    _, result = api.call("POST", "/links", body={"key": "public/a.pdf", "ttl": 60}, headers={**bob, **HOST})
    made = LinkSigner.from_setting(K1).unsign(token_of(result["link"]), now=NOW)
    assert (made.principal, made.via) == ("bob", "jwt")


def test_the_link_base_comes_from_the_setting_or_the_request() -> None:
    assert Harness(LINK_BASE_URL="https://x.example.com/files/").create()["link"].startswith("https://x.example.com/files/d/")
    harness = Harness()
    _, result = harness.call("POST", "/links", body={"key": "reports/a", "ttl": 60},
                             headers={**ALICE, "host": "127.0.0.1:8080", "x-forwarded-proto": "http, https"})
    assert result["link"].startswith("http://127.0.0.1:8080/d/")
    for host in ({}, {"host": "evil.example.com/path"}, {"host": "a b"}):
        response, result = harness.call("POST", "/links", body={"key": "reports/a", "ttl": 60},
                                        headers={**ALICE, **host})
        assert response.status == 400 and "LINK_BASE_URL" in result["error"]["message"]


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ({"ttl": None}, "ttl is required"), ({"ttl": 0}, "1 second to 365 days"), ({"ttl": "366d"}, "got '366d'"),
        ({"ttl": "1w"}, "1 second to 365 days"), ({"ttl": True}, "1 second"), ({"ttl": "1.5h"}, "1 second"),
        ({"ttl": "٣d"}, "1 second"), ({"url_expires": 0}, "url_expires must be 1..604800"),
        ({"key": None}, "key is required"), ({"key": ".."}, "dot segment"),
        ({"expires": 60}, "unknown field 'expires'"),
        ({"disposition": "inline"}, "disposition needs a filename"), ({"bucket": "Bad"}, "not a valid name"),
        ({"filename": "a\r\nb"}, "control characters"), ({"key": "reports/" + "报" * 300}, "over the limit of 1000"),
    ],
)
def test_bad_fields_are_400_naming_the_problem(api: Harness, given: dict, fragment: str) -> None:
    body = {name: value for name, value in {"key": "reports/a", "ttl": "1d", **given}.items() if value is not None}
    response, result = api.call("POST", "/links", body=body, headers={**ALICE, **HOST})
    assert response.status == 400 and result["error"]["code"] == "InvalidArgument"
    assert fragment in result["error"]["message"]


def test_authorized_exactly_like_presign(api: Harness) -> None:
    bob = {"authorization": "Bearer " + encode_jwt({"sub": "bob", "exp": int(NOW.timestamp()) + 60}, JWT_SECRET)}
    cases = [({}, {"key": "reports/a"}, 401), (ALICE, {"key": "secret/a"}, 403), (ALICE, {"key": "reports/../x"}, 403),
             (bob, {"key": "public/a.pdf", "filename": "a.pdf"}, 403), (bob, {"key": "public/a.pdf"}, 200)]
    for headers, given, status in cases:
        response, _ = api.call("POST", "/links", body={"ttl": 60, **given}, headers={**headers, **HOST})
        assert response.status == status, given
    assert "WWW-Authenticate" in api.call("POST", "/links", body={}, headers=HOST)[0].headers


def test_batch(api: Harness) -> None:
    items = [{"key": "reports/a", "ttl": 60}, {"key": "secret/b", "ttl": 60}, "nope", {"key": "reports/c"}]
    response, result = api.call("POST", "/links/batch", body={"items": items}, headers={**ALICE, **HOST})
    assert response.status == 200
    codes = [item.get("error", {}).get("code") for item in result["items"]]
    assert codes == [None, "AccessDenied", "InvalidArgument", "InvalidArgument"] and "link" in result["items"][0]
    response, _ = api.call("POST", "/links/batch", body={"items": [{}] * 1001}, headers={**ALICE, **HOST})
    assert response.status == 413


def test_follow_redirects_to_a_fresh_url(api: Harness) -> None:
    result = api.create(filename="季度 报告.pdf", disposition="inline")
    response = api.follow(result["link"])
    assert response.status == 302 and response.body == b""
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    query = assert_signed_by(response.headers["Location"], ACCESS_KEY, method="GET")
    assert query["x-oss-expires"] == "300" and "x-oss-ac-source-ip" not in query
    assert query["response-content-disposition"] == content_disposition("季度 报告.pdf", "inline")
    followed, = api.lines("link_followed")
    assert followed["link_id"] == result["link_id"] and len(followed["url_sha256"]) == 64
    assert token_of(result["link"]) not in api.audit.getvalue() and query["x-oss-signature"] not in api.audit.getvalue()


def test_head_gets_a_head_url(api: Harness) -> None:
    response = api.follow(api.create()["link"], "HEAD")
    assert response.status == 302 and response.body == b""
    assert_signed_by(response.headers["Location"], ACCESS_KEY, method="HEAD")


def test_the_minted_url_lives_no_longer_than_the_link_policy_or_deployment(api: Harness) -> None:
    link = api.create(ttl=3600, url_expires=7200)["link"]  # alice's rule: max_expires 3600
    assert expires_of(api.follow(link)) == 3600
    api.clock.advance(seconds=3500)
    assert expires_of(api.follow(link)) == 100
    api.clock.advance(seconds=99.5)
    assert api.follow(link).status == 404  # half a second left: expired
    harness = Harness(PRESIGN_MAX_EXPIRES="120")
    assert expires_of(harness.follow(harness.create(url_expires=600)["link"])) == 120


def test_the_minted_url_dies_before_the_credentials() -> None:
    expiring = Credentials("STS.links", "sts-links-secret", "sts-links-token", expiration=NOW + timedelta(minutes=3))
    clock = FakeClock(NOW)
    harness = Harness(clock, provider=ExplicitSource(expiring, clock=clock))
    assert expires_of(harness.follow(harness.create(url_expires=600)["link"])) == 120  # less the 60 s margin
    assert harness.lines("link_followed")[0]["capped_by"] == "credentials"


def test_bind_ip(api: Harness) -> None:
    location = Harness(LINK_BIND_IP="true").follow(api.create()["link"]).headers["Location"]
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["x-oss-ac-source-ip"] == "198.51.100.7"


def expires_of(response: HttpResponse) -> int:
    assert response.status == 302
    return int(dict(parse_qsl(urlsplit(response.headers["Location"]).query))["x-oss-expires"])


def test_every_tampered_character_gets_the_same_404(api: Harness) -> None:
    link = api.create(filename="a.pdf")["link"]
    token = token_of(link)
    bodies = set()
    for position, char in enumerate(token):
        other = "A" if char != "A" else "B"
        response, result = api.call("GET", "/d/" + token[:position] + other + token[position + 1:])
        assert response.status == 404
        bodies.add(json.dumps(result))
    assert bodies == {json.dumps({"error": {"code": "NotFound", "message": "no such link", "request_id": "req-1"}})}
    reasons = {line["reason"] for line in api.lines("link_refused")}
    assert {"bad signature", "malformed: unknown version"} <= reasons
    assert all(reason.startswith(("bad signature", "malformed: ", "unknown key id")) for reason in reasons)
    assert token not in api.audit.getvalue() and api.follow(link).status == 302


def test_expired_revoked_and_cut_off_links_are_the_same_404(api: Harness) -> None:
    result = api.create(ttl=60)
    revoked = Harness(LINK_REVOKED_IDS=result["link_id"])
    cut_off = Harness(LINK_NOT_BEFORE="2026-11-21T06:00:01Z")
    api.clock.advance(seconds=60)
    answers = [api.follow(result["link"]), revoked.follow(result["link"]), cut_off.follow(result["link"])]
    assert {(r.status, r.body) for r in answers} == {(404, answers[0].body)}
    for harness, reason in ((api, "expired"), (revoked, "revoked: link id listed in LINK_REVOKED_IDS"),
                            (cut_off, "revoked: issued before LINK_NOT_BEFORE")):
        refused, = harness.lines("link_refused")
        assert (refused["reason"], refused["link_id"]) == (reason, result["link_id"])


# Links outlive neither their principal nor their rule.

def test_a_click_after_the_principal_is_removed_is_the_same_404(api: Harness) -> None:
    link = api.create()["link"]
    other = "carol:" + "ab" * 32
    still_there = Harness(PRESIGN_API_KEYS=other + ",alice:" + environment()["PRESIGN_API_KEYS"].split(":")[1])
    assert still_there.follow(link).status == 302
    removed = Harness(PRESIGN_API_KEYS=other)  # JWT still configured: a JWT "alice" does not revive an API key's link
    response, result = removed.call("GET", urlsplit(link).path)
    forged, forged_result = removed.call("GET", urlsplit(link).path[:-2] + "AA")
    assert response.status == forged.status == 404 and result == forged_result
    assert result == {"error": {"code": "NotFound", "message": "no such link", "request_id": "req-1"}}
    refused = removed.lines("link_refused")[0]
    assert refused["reason"] == "principal 'alice' (api_key) is no longer configured"
    assert (refused["link_id"], refused["principal"]) == (api.lines("link_created")[0]["link_id"], "alice")
    html = removed.follow(link, headers={"accept": "text/html"})
    assert html.status == 404 and b"Link not found" in html.body


def test_a_click_after_jwt_is_no_longer_configured_is_404(api: Harness) -> None:
    bob = {"authorization": "Bearer " + encode_jwt({"sub": "bob", "exp": int(NOW.timestamp()) + 60}, JWT_SECRET)}
    _, result = api.call("POST", "/links", body={"key": "public/a.pdf", "ttl": 60}, headers={**bob, **HOST})
    assert api.follow(result["link"]).status == 302
    api.clock.advance(seconds=30)  # the JWT has expired by the time of the next click: the link need not
    assert api.follow(result["link"]).status == 302
    removed = Harness(api.clock, PRESIGN_JWT_SECRET="")
    assert removed.follow(result["link"]).status == 404
    assert removed.lines("link_refused")[0]["reason"] == "principal 'bob' (jwt) is no longer configured"


@pytest.mark.parametrize(("policy", "detail"), [
    (policy_with(prefix="reports/2026/"), "key matches no prefix or keys pattern"),
    (policy_with(allow=None), "option 'filename' not allowed by principals.alice[0]"),
    (json.dumps({"principals": {"bob": POLICY["principals"]["bob"]}}), "no rules for principal 'alice'"),
], ids=["rule-narrowed", "option-withdrawn", "principal-out-of-the-policy"])
def test_a_click_the_policy_no_longer_allows_is_404(api: Harness, policy: str, detail: str) -> None:
    link = api.create(filename="a.pdf")["link"]
    narrowed = Harness(PRESIGN_POLICY=policy)
    response = narrowed.follow(link)
    assert response.status == 404
    reason = narrowed.lines("link_refused")[0]["reason"]
    assert reason.startswith("the policy no longer allows principal 'alice' (api_key) this link: ") and detail in reason


def test_a_click_gets_the_rules_caps_as_they_are_now(api: Harness) -> None:
    link = api.create(ttl="1d", url_expires=3600)["link"]
    tighter = Harness(api.clock, PRESIGN_POLICY=policy_with(max_expires=60, max_link_ttl=3600))
    assert expires_of(tighter.follow(link)) == 60
    api.clock.advance(seconds=3590)
    assert expires_of(tighter.follow(link)) == 10 and expires_of(api.follow(link)) == 3600
    api.clock.advance(seconds=10)
    assert tighter.follow(link).status == 404 and api.follow(link).status == 302
    assert tighter.lines("link_refused")[0]["reason"] == "expired: principals.alice[0].max_link_ttl is now 3600 s"


def test_version_1_tokens_carry_no_principal_and_are_served_until_they_expire_or_are_cut_off() -> None:
    """A link made before version 2 names nobody: removing its maker does not reach it; LINK_NOT_BEFORE does."""
    old = LinkSigner.from_setting(K1).sign(new_link(bucket="examplebucket", key="reports/a.pdf", ttl=86_400,
                                                    url_expires=300, now=NOW))
    nobody = Harness(PRESIGN_API_KEYS="carol:" + "ab" * 32, PRESIGN_POLICY=json.dumps({"principals": {
        "carol": [{"bucket": "examplebucket", "prefix": "other/"}]}}))
    assert expires_of(nobody.follow("/d/" + old)) == 300
    assert "principal" not in nobody.lines("link_followed")[0]
    assert Harness(LINK_NOT_BEFORE="2026-11-21T06:00:01Z").follow("/d/" + old).status == 404


def test_html_for_browsers_json_otherwise_nothing_for_head(api: Harness) -> None:
    response = api.follow("https://dl.example.com/d/nonsense", headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status == 404 and response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"Link not found" in response.body and response.headers["Cache-Control"] == "no-store"
    response = api.follow("https://dl.example.com/d/nonsense", "HEAD", headers={"accept": "text/html"})
    assert response.status == 404 and response.body == b""
    response, _ = api.call("POST", "/d/nonsense")
    assert response.status == 405 and response.headers["Allow"] == "GET, HEAD"


def test_rotated_key_old_links_work_new_ones_use_the_new_kid(api: Harness) -> None:
    old = api.create()["link"]
    rotated = Harness(LINK_SIGNING_KEYS=f"{K1},{K2}")
    assert rotated.follow(old).status == 302
    new = rotated.create()["link"]
    assert kid_of(old) == "k1" and kid_of(new) == "k2" and rotated.lines("link_created")[0]["kid"] == "k2"
    assert rotated.follow(new).status == 302 and api.follow(new).status == 404
    assert Harness(LINK_SIGNING_KEYS=K2).follow(old).status == 404


def kid_of(link: str) -> str:
    token = token_of(link)
    blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return blob[2:2 + blob[1]].decode()


@pytest.mark.parametrize(("overrides", "variable"), [({"LINK_SIGNING_KEYS": ""}, "LINK_SIGNING_KEYS"),
                                                     ({"LINK_SIGNING_KEYS": "k1:short"}, "LINK_SIGNING_KEYS"),
                                                     ({"LINK_NOT_BEFORE": "soon"}, "LINK_NOT_BEFORE")])
def test_configuration_errors_answer_every_request(overrides: dict, variable: str) -> None:
    harness = Harness(**overrides)
    for method, path in (("POST", "/links"), ("GET", "/d/anything")):
        response, result = harness.call(method, path, headers=ALICE)
        assert response.status == 500 and variable in result["error"]["message"]
    response, result = harness.call("GET", "/healthz")  # a platform health check sees it, and nothing more
    assert response.status == 503 and result == {"status": "misconfigured"}


def test_healthz_and_unknown_routes(api: Harness) -> None:
    assert api.call("GET", "/healthz")[1] == {"status": "ok"}
    assert api.call("GET", "/presign", headers=ALICE)[0].status == 404
    assert api.call("GET", "/links", headers=ALICE)[0].status == 405


# End to end: the app served over HTTP on 127.0.0.1, the local bucket, requests following redirects.

@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, LocalOss, FakeClock]]:
    clock = FakeClock(NOW)
    with LocalOss(tmp_path, credentials=[ACCESS_KEY], region="cn-hangzhou", clock=clock,
                  buckets=["examplebucket"]) as oss:
        yield oss.endpoint, oss, clock


def put(endpoint: str, key: str, body: bytes, when: datetime) -> None:
    url = presign(ACCESS_KEY, bucket="examplebucket", key=key, region="cn-hangzhou", endpoint=endpoint,
                  method="PUT", signing_time=when).url
    assert requests.put(url, data=body, timeout=10).status_code == 200


def create(base: str, **given: object) -> str:
    response = requests.post(f"{base}/links", json={"ttl": "1d", **given}, timeout=10,
                             headers={"X-Api-Key": API_KEY, "X-Forwarded-Proto": "http"})
    assert response.status_code == 200, response.text
    return response.json()["link"]


def test_end_to_end_with_the_local_bucket(served: tuple[str, LocalOss, FakeClock],
                                          wsgi_server: Callable[[WsgiApp], str]) -> None:
    endpoint, _, clock = served
    put(endpoint, "reports/季度 报告.pdf", b"%PDF-1.7 quarterly", NOW)
    harness = Harness(clock, OSS_ENDPOINT=endpoint, LINK_BIND_IP="true")
    base = wsgi_server(partial(serve_wsgi, harness.app))
    link = create(base, key="reports/季度 报告.pdf", filename="季度 “final”.pdf")
    clock.advance(days=0.5)
    response = requests.get(link, timeout=10)
    assert response.status_code == 200 and response.content == b"%PDF-1.7 quarterly"
    assert response.history[0].status_code == 302
    disposition = response.headers["Content-Disposition"]
    assert disposition == content_disposition("季度 “final”.pdf") and disposition.isascii()
    assert "filename*=UTF-8''%E5%AD%A3%E5%BA%A6%20%E2%80%9Cfinal%E2%80%9D.pdf" in disposition
    head = requests.head(link, allow_redirects=True, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == "18"
    missing = requests.get(create(base, key="reports/missing.pdf"), timeout=10)
    assert missing.status_code == 404 and b"NoSuchKey" in missing.content
    assert missing.history[0].status_code == 302
    assert requests.get(link[:-2] + "AA", timeout=10).status_code == 404


def test_revocation_object_end_to_end(served: tuple[str, LocalOss, FakeClock],
                                      wsgi_server: Callable[[WsgiApp], str]) -> None:
    endpoint, _, clock = served
    harness = Harness(clock, OSS_ENDPOINT=endpoint, LINK_REVOCATION_OBJECT="links/revoked.json")
    put(endpoint, "reports/a.pdf", b"hello", NOW)
    base = wsgi_server(partial(serve_wsgi, harness.app))
    link = create(base, key="reports/a.pdf")
    link_id = harness.lines("link_created")[0]["link_id"]
    closed = requests.get(link, headers={"Accept": "text/html"}, timeout=10)  # no object yet: fail closed
    assert closed.status_code == 502 and b"try again in a minute" in closed.content
    refused = harness.lines("link_refused")[0]["reason"]
    assert "revocation object oss://examplebucket/links/revoked.json cannot be read" in refused
    put(endpoint, "links/revoked.json", b'{"revoked_ids": []}', clock())
    clock.advance(seconds=5)
    assert requests.get(link, timeout=10).content == b"hello"
    put(endpoint, "links/revoked.json", json.dumps({"revoked_ids": [link_id]}).encode(), clock())
    clock.advance(seconds=59)
    assert requests.get(link, timeout=10).status_code == 200  # the cached copy, under a minute old
    clock.advance(seconds=1)
    revoked = requests.get(link, allow_redirects=False, timeout=10)
    assert revoked.status_code == 404 and revoked.json()["error"]["message"] == "no such link"
    assert harness.lines("link_refused")[-1]["reason"] == "revoked: link id listed in the revocation object"
