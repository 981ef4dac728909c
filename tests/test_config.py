"""Configuration found wrong at start-up: an invalid OSS_BUCKET is the deployment's error (500 ConfigError),
never the caller's (400); /healthz tells a platform health check, over a real server, without naming values."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial

import pytest
import requests
from http_servers import WsgiApp
from presign_env import API_KEY, JWT_SECRET, environment

from shared.config import PresignSettings
from shared.errors import ConfigError
from shared.http.wsgi import serve_wsgi
from shared.links.wiring import build_links_app
from shared.presign.wiring import build_presign_app

ALICE = {"X-Api-Key": API_KEY}
LINKS = {"LINK_SIGNING_KEYS": "k1:link-signing-secret-one-0123456789", "LINK_BASE_URL": "https://dl.example.com"}
BUILDS = {"presign": (build_presign_app, {}), "links": (build_links_app, LINKS)}


@pytest.mark.parametrize("bucket", ["Bad_Bucket", "ab", "-leading", "x" * 64, "exa mple"])
def test_an_invalid_oss_bucket_is_a_config_error(bucket: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PresignSettings(environment(OSS_BUCKET=bucket))
    assert caught.value.variable == "OSS_BUCKET" and "OSS_BUCKET" in caught.value.message


@pytest.mark.parametrize("function", sorted(BUILDS))
def test_healthz_answers_200_when_the_configuration_is_valid(wsgi_server: Callable[[WsgiApp], str],
                                                             function: str) -> None:
    build, extra = BUILDS[function]
    base = wsgi_server(partial(serve_wsgi, build(environment(**extra), audit_stream=io.StringIO())))
    response = requests.get(f"{base}/healthz", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("function", sorted(BUILDS))
@pytest.mark.parametrize("overrides", [{"OSS_BUCKET": "Secret_Bucket_Name"}, {"OSS_REGION": ""},
                                       {"PRESIGN_JWT_SECRET": "short-" + JWT_SECRET[:8]},
                                       {"OSS_ENDPOINT": "ftp://oss.example"}, {"OSS_ENDPOINT": "https://oss.example/p"},
                                       {"OSS_REGION": "cn hangzhou"}],
                         ids=["bad-bucket", "no-region", "short-jwt-secret", "endpoint-scheme", "endpoint-path",
                              "bad-region"])
def test_healthz_answers_503_misconfigured_naming_nothing(wsgi_server: Callable[[WsgiApp], str], function: str,
                                                          overrides: dict[str, str]) -> None:
    build, extra = BUILDS[function]
    audit = io.StringIO()
    base = wsgi_server(partial(serve_wsgi, build(environment(**extra, **overrides), audit_stream=audit)))
    for method in ("GET", "HEAD"):
        health = requests.request(method, f"{base}/healthz", timeout=10)
        assert health.status_code == 503 and health.headers["Cache-Control"] == "no-store"
    health = requests.get(f"{base}/healthz", timeout=10)
    assert health.json() == {"status": "misconfigured"}
    for value in [*overrides, *overrides.values(), "OSS_", JWT_SECRET[:8]]:
        assert not value or value not in health.text
    work = requests.get(f"{base}/presign?key=reports/a", headers=ALICE, timeout=10)
    assert work.status_code == 500 and work.json()["error"]["code"] == "ConfigError"
    assert list(overrides)[0] in audit.getvalue()  # the log names the variable


def test_an_invalid_oss_bucket_is_not_the_callers_fault(wsgi_server: Callable[[WsgiApp], str]) -> None:
    app = build_presign_app(environment(OSS_BUCKET="Bad_Bucket"), audit_stream=io.StringIO())
    base = wsgi_server(partial(serve_wsgi, app))
    response = requests.get(f"{base}/presign", params={"key": "reports/a"}, headers=ALICE, timeout=10)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "ConfigError" and "OSS_BUCKET" in error["message"] and "Bad_Bucket" not in error["message"]
