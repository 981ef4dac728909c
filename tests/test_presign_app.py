"""The presign API in process: routes, authentication, policy, lifetimes, errors and the audit log."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from events import apigw_event, fc3_event
from presign_env import ACCESS_KEY, API_KEY, JWT_SECRET, assert_signed_by, environment

from shared.auth.authenticator import encode_jwt
from shared.devtools.local_oss import LocalOss
from shared.http.fc import serve_fc_event
from shared.http.messages import HttpRequest, HttpResponse
from shared.oss.signer import presign
from shared.presign.wiring import build_presign_app

NOW = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)
ALICE = {"x-api-key": API_KEY}


class Harness:
    """An app built from an environment, with a fixed clock and a captured audit log."""

    def __init__(self, **overrides: str) -> None:
        self.audit = io.StringIO()
        self.app = build_presign_app(environment(**overrides), clock=lambda: NOW, audit_stream=self.audit)

    def call(self, method: str, path: str, *, query: dict | None = None, body: object = None,
             headers: dict | None = None, content_type: str = "application/json") -> tuple[HttpResponse, dict]:
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        all_headers = {**({"content-type": content_type} if body is not None else {}), **(headers or {})}
        request = HttpRequest(method, path, query={k: [v] for k, v in (query or {}).items()}, headers=all_headers,
                              body=raw, client_ip="198.51.100.7", request_id="req-1")
        response = self.app.handle(request)
        payload = json.loads(response.body) if response.body else {}
        return response, payload

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.audit.getvalue().splitlines()]


@pytest.fixture
def api() -> Harness:
    return Harness()


def jwt(**claims: object) -> dict[str, str]:
    base = {"sub": "alice", "exp": int((NOW + timedelta(hours=1)).timestamp())}
    return {"authorization": "Bearer " + encode_jwt({**base, **claims}, JWT_SECRET)}


def test_get_returns_a_url_signed_for_the_request(api: Harness) -> None:
    response, result = api.call("GET", "/presign", query={"key": "reports/q1 report.pdf", "filename": "季度.pdf"},
                                headers=ALICE)
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert set(result) == {"url", "method", "bucket", "key", "expires_at", "expires_in", "signed_headers"}
    assert (result["method"], result["bucket"], result["key"]) == ("GET", "examplebucket", "reports/q1 report.pdf")
    assert result["expires_in"] == 900 and result["expires_at"] == "2026-11-21T06:15:00Z"
    query = assert_signed_by(result["url"], ACCESS_KEY, method="GET")
    assert "filename*=UTF-8''%E5%AD%A3%E5%BA%A6.pdf" in query["response-content-disposition"]


def test_post_json_and_jwt(api: Harness) -> None:
    response, result = api.call("POST", "/presign", body={"key": "reports/a.txt", "expires": 60, "method": "HEAD"},
                                headers=jwt())
    assert response.status == 200 and result["method"] == "HEAD" and result["expires_in"] == 60
    assert_signed_by(result["url"], ACCESS_KEY, method="HEAD")


def test_policy_caps_the_lifetime(api: Harness) -> None:
    _, result = api.call("GET", "/presign", query={"key": "reports/a.txt", "expires": "7200"}, headers=ALICE)
    assert result["expires_in"] == 3600 and result["expires_capped_by"] == "policy"


def test_deployment_maximum_is_a_policy_cap() -> None:
    _, result = Harness(PRESIGN_MAX_EXPIRES="120").call("GET", "/presign", query={"key": "shared/a", "expires": "600"},
                                                         headers=ALICE)
    assert (result["expires_in"], result["expires_capped_by"]) == (120, "policy")


def test_redirect(api: Harness) -> None:
    response, _ = api.call("GET", "/presign", query={"key": "reports/a.txt", "redirect": "1"}, headers=ALICE)
    assert response.status == 302 and response.body == b""
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    assert_signed_by(response.headers["Location"], ACCESS_KEY, method="GET")


def test_put_returns_the_headers_to_send(api: Harness) -> None:
    _, result = api.call("POST", "/presign", headers=ALICE, body={
        "key": "uploads/alice/x.csv", "method": "PUT", "content_type": "text/csv", "meta": {"owner": "alice"}})
    assert result["signed_headers"] == {"content-type": "text/csv", "x-oss-meta-owner": "alice"}
    assert_signed_by(result["url"], ACCESS_KEY, method="PUT", headers=result["signed_headers"])


def test_bind_ip_uses_the_callers_address(api: Harness) -> None:
    _, result = api.call("GET", "/presign", query={"key": "reports/a", "bind_ip": "true"}, headers=ALICE)
    assert assert_signed_by(result["url"], ACCESS_KEY, method="GET")["x-oss-ac-source-ip"] == "198.51.100.7"


def test_batch_answers_each_item_in_order(api: Harness) -> None:
    items = [{"key": "reports/a"}, {"key": "secret/b"}, "nope", {"key": "reports/c", "expires": -1},
             {"key": "reports/d", "redirect": True}, {"key": "shared/e"}]
    response, result = api.call("POST", "/presign/batch", body={"items": items}, headers=ALICE)
    assert response.status == 200 and len(result["items"]) == 6
    codes = [item.get("error", {}).get("code") for item in result["items"]]
    assert codes == [None, "AccessDenied", "InvalidArgument", "InvalidArgument", "InvalidArgument", None]
    assert result["items"][0]["key"] == "reports/a" and result["items"][1]["error"]["request_id"] == "req-1"


def test_batch_limits(api: Harness) -> None:
    response, result = api.call("POST", "/presign/batch", body={"items": [{"key": "reports/a"}] * 1001}, headers=ALICE)
    assert response.status == 413 and result["error"]["code"] == "PayloadTooLarge"
    response, _ = api.call("POST", "/presign/batch", body={"items": {}}, headers=ALICE)
    assert response.status == 400
    # A field beside items would look as if it applied to every item: it is refused, not ignored.
    response, result = api.call("POST", "/presign/batch", body={"items": [{"key": "reports/a"}], "expires": 60},
                                headers=ALICE)
    assert response.status == 400 and "unknown field 'expires'" in result["error"]["message"]


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "authentication required"),
        ({"x-api-key": "wrong"}, "invalid credentials"),
        ({"authorization": "Bearer not.a.jwt"}, "invalid credentials"),
        ({"authorization": "Basic YWxpY2U6cHc="}, "authentication required"),
    ],
)
def test_unauthenticated(api: Harness, headers: dict, fragment: str) -> None:
    response, result = api.call("GET", "/presign", query={"key": "reports/a"}, headers=headers)
    assert response.status == 401 and "WWW-Authenticate" in response.headers
    assert result["error"]["code"] == "Unauthenticated" and fragment in result["error"]["message"]


@pytest.mark.parametrize(
    "claims", [{"exp": int((NOW - timedelta(minutes=5)).timestamp())},
               {"nbf": int((NOW + timedelta(hours=1)).timestamp())}],
    ids=["expired", "not-yet-valid"])
def test_bad_jwts(api: Harness, claims: dict) -> None:
    response, _ = api.call("GET", "/presign", query={"key": "reports/a"}, headers=jwt(**claims))
    assert response.status == 401


@pytest.mark.parametrize(
    ("given", "headers"),
    [
        ({"key": "secret/a"}, ALICE),
        ({"key": "reports/../secret"}, ALICE),
        ({"key": "reportsX/a"}, ALICE),
        ({"key": "reports/a", "method": "PUT"}, ALICE),
        ({"key": "uploads/alice/x", "method": "PUT", "content_md5": "eB5eJF1ptWaXm4bijSPyxw=="}, None),
        ({"key": "reports/2024/a"}, "jwt-prefix"),
        ({"key": "public/a.pdf", "filename": "x.pdf"}, "bob"),
        ({"key": "public/sub/a.pdf"}, "bob"),
    ],
)
def test_forbidden(api: Harness, given: dict, headers: object) -> None:
    if headers == "jwt-prefix":
        headers = jwt(prefix="reports/2025/")
    elif headers == "bob":
        headers = jwt(sub="bob")
    elif headers is None:
        headers = jwt(sub="carol")
    response, result = api.call("POST", "/presign", body=given, headers=headers)  # type: ignore[arg-type]
    assert response.status == 403 and result["error"]["code"] == "AccessDenied"
    assert "alice" not in result["error"]["message"] and "reports" not in result["error"]["message"]


def test_jwt_prefix_narrows_but_allows_inside(api: Harness) -> None:
    response, _ = api.call("GET", "/presign", query={"key": "reports/2025/a"}, headers=jwt(prefix="reports/2025/"))
    assert response.status == 200
    response, _ = api.call("GET", "/presign", query={"key": "shared/x"}, headers=jwt(prefix="reports/2025/"))
    assert response.status == 403


def test_routes_methods_and_bodies(api: Harness) -> None:
    assert api.call("GET", "/healthz")[0].status == 200
    response, result = api.call("GET", "/nowhere", headers=ALICE)
    assert response.status == 404 and result["error"]["code"] == "NotFound"
    response, _ = api.call("DELETE", "/presign", headers=ALICE)
    assert response.status == 405 and response.headers["Allow"] == "GET, POST"
    response, _ = api.call("POST", "/presign", body=b"key=a", content_type="application/x-www-form-urlencoded",
                           headers=ALICE)
    assert response.status == 415
    for bad in (b"{", b"[]", b"\xff", b'{"key": NaN}'):
        response, result = api.call("POST", "/presign", body=bad, headers=ALICE)
        assert response.status == 400 and result["error"]["code"] == "InvalidArgument"


def test_repeated_query_parameters_are_refused(api: Harness) -> None:
    request = HttpRequest("GET", "/presign", query={"key": ["reports/a", "reports/b"]}, headers=ALICE, request_id="r")
    response = api.app.handle(request)
    assert response.status == 400 and b"given 2 times" in response.body


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [({"OSS_REGION": ""}, "OSS_REGION"), ({"PRESIGN_POLICY": ""}, "PRESIGN_POLICY"),
     ({"PRESIGN_DEFAULT_EXPIRES": "soon"}, "PRESIGN_DEFAULT_EXPIRES"),
     ({"PRESIGN_TRUST_GATEWAY": "perhaps"}, "PRESIGN_TRUST_GATEWAY"),
     ({"PRESIGN_API_KEYS": "", "PRESIGN_JWT_SECRET": ""}, "PRESIGN_")],
)
def test_configuration_errors_answer_every_request(overrides: dict, variable: str) -> None:
    harness = Harness(**overrides)
    response, result = harness.call("GET", "/presign", query={"key": "reports/a"}, headers=ALICE)
    assert response.status == 500 and result["error"]["code"] == "ConfigError"
    assert variable in result["error"]["message"]
    response, result = harness.call("GET", "/healthz")  # a platform health check sees it, and nothing more
    assert response.status == 503 and result == {"status": "misconfigured"}
    assert JWT_SECRET not in harness.audit.getvalue()


def test_no_credentials_is_503_with_retry_after() -> None:
    harness = Harness(OSS_ACCESS_KEY_ID="", OSS_ACCESS_KEY_SECRET="")
    response, result = harness.call("GET", "/presign", query={"key": "reports/a"}, headers=ALICE)
    assert response.status == 503 and response.headers["Retry-After"]
    assert result["error"]["code"] == "CredentialsUnavailable"


def test_audit_log_has_one_line_per_url_and_refusal_and_no_secrets(api: Harness) -> None:
    _, result = api.call("GET", "/presign", query={"key": "reports/a"}, headers=ALICE)
    api.call("GET", "/presign", query={"key": "secret/a"}, headers=ALICE)
    issued, refused = api.lines()
    assert issued["event"] == "issued" and issued["principal"] == "alice" and issued["client_ip"] == "198.51.100.7"
    assert len(issued["url_sha256"]) == 64 and issued["expires_at"] == result["expires_at"]
    assert refused["event"] == "refused" and refused["status"] == 403 and refused["reason"]
    text = api.audit.getvalue()
    signature = result["url"].rsplit("=", 1)[1]
    for secret in (signature, API_KEY, ACCESS_KEY.access_key_secret, JWT_SECRET):
        assert secret not in text


def test_check_exists_against_the_local_bucket(tmp_path) -> None:
    """check_exists sends a header-signed HEAD that a signature-checking bucket accepts."""
    with LocalOss(tmp_path, credentials=[ACCESS_KEY], region="cn-hangzhou", clock=lambda: NOW,
                  buckets=["examplebucket"]) as oss:
        upload = presign(ACCESS_KEY, bucket="examplebucket", key="reports/here", region="cn-hangzhou",
                         endpoint=oss.endpoint, method="PUT", signing_time=NOW)
        assert requests.put(upload.url, data=b"hi", timeout=10).status_code == 200
        harness = Harness(OSS_ENDPOINT=oss.endpoint)
        response, _ = harness.call("GET", "/presign", query={"key": "reports/here", "check_exists": "1"}, headers=ALICE)
        assert response.status == 200
        response, result = harness.call("GET", "/presign", query={"key": "reports/missing", "check_exists": "1"},
                                        headers=ALICE)
        assert response.status == 404 and result["error"]["code"] == "NoSuchKey"


def test_check_exists_with_oss_unreachable() -> None:
    harness = Harness(OSS_ENDPOINT="http://127.0.0.1:9")
    response, result = harness.call("GET", "/presign", query={"key": "reports/a", "check_exists": "1"}, headers=ALICE)
    assert response.status == 502 and result["error"]["code"] == "UpstreamError"


def test_fc_entry_with_sample_events(api: Harness) -> None:
    event = fc3_event(query={"key": "reports/a.pdf", "expires": "600"},
                      headers={"Authorization": jwt()["authorization"]})
    answer = serve_fc_event(api.app, json.dumps(event).encode(), None)
    assert answer["statusCode"] == 200 and answer["isBase64Encoded"] is False
    assert json.loads(answer["body"])["expires_in"] == 600
    event = apigw_event(body={"key": "reports/b.pdf"},
                        headers={"X-Api-Key": API_KEY, "Content-Type": "application/json"})
    answer = serve_fc_event(api.app, event, None)
    assert answer["statusCode"] == 200 and not any(h.lower().startswith("x-fc-") for h in answer["headers"])
    answer = serve_fc_event(api.app, b"garbage", None)
    assert answer["statusCode"] == 400 and json.loads(answer["body"])["error"]["code"] == "InvalidArgument"


def test_fc_context_credentials_come_first() -> None:
    class Context:
        request_id = "ctx-req"

        class credentials:
            access_key_id = "STS.fromcontext"
            access_key_secret = "context-secret"
            security_token = "context-token"

    harness = Harness()
    event = fc3_event(query={"key": "reports/a"}, headers={"X-Api-Key": API_KEY})
    answer = serve_fc_event(harness.app, event, Context())
    url = json.loads(answer["body"])["url"]
    assert "STS.fromcontext" in url and "x-oss-security-token=context-token" in url
    answer = serve_fc_event(harness.app, fc3_event(query={"key": "reports/a"}, headers={"X-Api-Key": API_KEY}), None)
    assert ACCESS_KEY.access_key_id in json.loads(answer["body"])["url"]
