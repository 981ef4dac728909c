"""Faults while requests flow: the metadata service failing, slow, answering garbage or expired
credentials; OSS unreachable; the clock jumping. Requests get 503 with Retry-After (or 502), never a
500 or a hang, and recover without a restart. Every URL stays within its credentials' life."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from presign_env import API_KEY, environment
from stubs_credential_services import FakeMetadataService
from stubs_credentials import FakeClock, Minted, Reply, iso

from shared.http.messages import HttpRequest
from shared.presign.wiring import build_presign_app

ALICE = {"x-api-key": API_KEY}
BOUND = 5.0  # seconds any one request may take, whatever the metadata service does


class Rig:
    """The presign app on metadata-service credentials, a fake clock and a record of every expiration."""

    def __init__(self, serve_fixture, **overrides: str) -> None:
        self.clock = FakeClock(datetime.fromisoformat("2026-11-21T06:00:00+00:00"))
        self.minted = Minted(self.clock)
        self.expirations: dict[str, datetime] = {}
        self.imds = FakeMetadataService(self.minted)
        self.imds.credentials_reply = self.healthy
        self.server = serve_fixture(self.imds)
        env = environment(OSS_ACCESS_KEY_ID="", OSS_ACCESS_KEY_SECRET="", ALIBABA_CLOUD_ECS_METADATA_DISABLED="",
                          ALIBABA_CLOUD_IMDS_ENDPOINT=self.server.url, **overrides)
        self.app = build_presign_app(env, clock=self.clock, audit_stream=io.StringIO())

    def healthy(self, lifetime: timedelta = timedelta(hours=1)) -> Reply:
        document = self.minted.document(lifetime)
        expiration = datetime.fromisoformat(document["Expiration"].replace("Z", "+00:00"))
        self.expirations[document["AccessKeyId"]] = expiration
        return Reply(200, document)

    def ask(self, expires: int = 900) -> tuple[int, dict, dict]:
        started = time.monotonic()
        request = HttpRequest("GET", "/presign", query={"key": ["reports/a"], "expires": [str(expires)]},
                              headers=ALICE, request_id="r")
        response = self.app.handle(request)
        assert time.monotonic() - started < BOUND
        assert response.status != 500, response.body
        return response.status, json.loads(response.body), response.headers

    def assert_within_credentials(self, result: dict) -> None:
        query = dict(parse_qsl(urlsplit(result["url"]).query))
        key_id = query["x-oss-credential"].split("/")[0]
        expires_at = datetime.fromisoformat(result["expires_at"].replace("Z", "+00:00"))
        assert expires_at <= self.expirations[key_id] - timedelta(seconds=60)


@pytest.fixture
def rig(serve) -> Rig:
    return Rig(serve)


@pytest.mark.parametrize(
    "fault",
    [lambda rig: Reply(500, "internal error"), lambda rig: Reply(503, "busy"),
     lambda rig: Reply(200, "this is not json"), lambda rig: Reply(200, {"Code": "Failure", "Message": "no"}),
     lambda rig: Reply(200, rig.minted.document(timedelta(minutes=-5))),
     lambda rig: Reply(200, rig.minted.document(timedelta(hours=1)), delay=2.5)],
    ids=["http-500", "http-503", "garbage", "code-not-success", "already-expired", "slower-than-timeout"])
def test_metadata_faults_give_503_and_recover(rig: Rig, fault) -> None:
    status, result, _ = rig.ask()
    assert status == 200
    rig.assert_within_credentials(result)
    rig.imds.credentials_reply = lambda: fault(rig)
    rig.clock.advance(hours=1)  # the cached credentials expire: a refresh is needed and fails
    status, result, headers = rig.ask()
    assert status == 503 and result["error"]["code"] == "CredentialsUnavailable" and headers["Retry-After"]
    for secret in rig.minted.secrets:
        assert secret not in json.dumps(result)
    rig.imds.credentials_reply = rig.healthy  # the service comes back
    rig.clock.advance(seconds=10)
    status, result, _ = rig.ask()
    assert status == 200
    rig.assert_within_credentials(result)


def test_metadata_down(serve) -> None:
    rig = Rig(serve)
    assert rig.ask()[0] == 200
    rig.server.stop()
    rig.clock.advance(hours=2)
    status, result, headers = rig.ask()
    assert status == 503 and headers["Retry-After"]


def test_failed_refresh_keeps_valid_credentials(rig: Rig) -> None:
    assert rig.ask()[0] == 200
    rig.imds.credentials_reply = lambda: Reply(500)
    rig.clock.advance(minutes=50)  # inside the refresh window, still valid
    status, result, _ = rig.ask(expires=300)
    assert status == 200
    rig.assert_within_credentials(result)


def test_clock_jumps_never_let_a_url_outlive_its_credentials(rig: Rig) -> None:
    for step in (0, -3, 5, -1, 2, 7, -12, 30, 1):
        rig.clock.advance(hours=step)
        for expires in (60, 3600, 86400, 604800):
            status, result, _ = rig.ask(expires=expires)
            assert status in (200, 503)
            if status == 200:
                rig.assert_within_credentials(result)


def test_long_request_is_capped_by_credentials(serve) -> None:
    policy = {"principals": {"alice": [{"bucket": "examplebucket", "prefix": "", "methods": ["GET"]}]}}
    rig = Rig(serve, PRESIGN_POLICY=json.dumps(policy))
    rig.imds.credentials_reply = lambda: rig.healthy(timedelta(minutes=30))
    for expires in (86400, 30 * 86400):
        status, result, _ = rig.ask(expires=expires)
        assert status == 200 and result["expires_capped_by"] == "credentials"
        rig.assert_within_credentials(result)


def test_oss_slow_for_check_exists_is_502_within_the_timeout(serve) -> None:
    slow = serve(lambda request: Reply(200, delay=4.0))
    app = build_presign_app(environment(OSS_ENDPOINT=slow.url), audit_stream=io.StringIO())
    started = time.monotonic()
    response = app.handle(HttpRequest("GET", "/presign", query={"key": ["reports/a"], "check_exists": ["1"]},
                                      headers=ALICE, request_id="r"))
    assert response.status == 502 and time.monotonic() - started < 3.9


def test_iso_helper_is_what_the_service_sends() -> None:
    assert iso(datetime.fromisoformat("2026-11-21T06:00:00+00:00")) == "2026-11-21T06:00:00Z"


@pytest.mark.parametrize("fail_open", [False, True], ids=["fail-closed", "fail-open"])
def test_slow_revocation_object_is_answered_within_the_timeout(serve, fail_open: bool) -> None:
    """OSS slower than the read timeout for the revocation object: 502 (fail closed) or the redirect."""
    from shared.links.wiring import build_links_app

    slow = serve(lambda request: Reply(200, {"revoked_ids": []}, delay=4.0))
    env = environment(OSS_ENDPOINT=slow.url, LINK_SIGNING_KEYS="k1:" + "s" * 40, LINK_BASE_URL="https://dl.example.com",
                      LINK_REVOCATION_OBJECT="revocation.json", LINK_REVOCATION_FAIL_OPEN="true" if fail_open else "")
    app = build_links_app(env, audit_stream=io.StringIO())
    made = app.handle(HttpRequest("POST", "/links", headers={**ALICE, "content-type": "application/json"},
                                  body=json.dumps({"key": "reports/a", "ttl": "1d"}).encode(), request_id="r"))
    assert made.status == 200, made.body
    path = urlsplit(json.loads(made.body)["link"]).path
    started = time.monotonic()
    click = app.handle(HttpRequest("GET", path, headers={}, request_id="c"))
    assert time.monotonic() - started < 3.9
    if fail_open:
        assert click.status == 302  # and only ever to the configured endpoint:
        assert urlsplit(click.headers["Location"]).netloc == urlsplit(slow.url).netloc
    else:
        assert click.status == 502 and json.loads(click.body)["error"]["code"] == "UpstreamError"
