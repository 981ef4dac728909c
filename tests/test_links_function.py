"""The links function end to end, with the local bucket and real clocks: functions-framework in a
subprocess and the WSGI entry served by a standard-library server, driven with requests; the FC entry
with sample events."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from events import fc3_event
from http_servers import serving_wsgi
from presign_env import ACCESS_KEY, API_KEY, environment
from processes import ROOT, free_port, functions_framework_command, running

from shared.devtools.local_oss import LocalOss
from shared.oss.content_disposition import content_disposition
from shared.oss.signer import presign_now

HEADERS = {"X-Api-Key": API_KEY}
SIGNING_KEYS = "k1:link-signing-secret-one-0123456789"
CONTENT = "reports/季度 报告.pdf".encode(), b"%PDF-1.7 links"


@pytest.fixture(scope="module")
def oss(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOss]:
    with LocalOss(tmp_path_factory.mktemp("oss"), credentials=[ACCESS_KEY], region="cn-hangzhou",
                  buckets=["examplebucket"]) as local:
        url = presign_now(ACCESS_KEY, bucket="examplebucket", key=CONTENT[0].decode(), region="cn-hangzhou",
                          endpoint=local.endpoint, method="PUT").url
        assert requests.put(url, data=CONTENT[1], timeout=10).status_code == 200
        yield local


def links_environment(oss: LocalOss, **overrides: str) -> dict[str, str]:
    return environment(OSS_ENDPOINT=oss.endpoint, LINK_SIGNING_KEYS=SIGNING_KEYS, **overrides)


@pytest.fixture(scope="module")
def framework(oss: LocalOss, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("ff") / "server.log"
    env = links_environment(oss, LINK_BASE_URL=f"http://127.0.0.1:{port}")
    with running(functions_framework_command("functions/links/main.py", "links", port), port, env, log=log) as base:
        yield base


@pytest.fixture(scope="module")
def index(oss: LocalOss) -> Iterator[object]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in links_environment(oss).items():
            patch.setenv(name, value)
        spec = importlib.util.spec_from_file_location("links_index_under_test", ROOT / "functions/links/index.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        yield module  # the credential chain reads os.environ when it signs, not at import


@pytest.fixture(scope="module")
def wsgi(index: object) -> Iterator[str]:
    with serving_wsgi(index.wsgi_handler) as base:  # type: ignore[attr-defined]
        yield base


@pytest.fixture(params=["functions-framework", "wsgi"])
def base(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("framework" if request.param == "functions-framework" else "wsgi")


def test_create_and_follow(base: str) -> None:
    response = requests.post(f"{base}/links", json={"key": CONTENT[0].decode(), "ttl": "30d", "filename": "季度.pdf"},
                             headers={**HEADERS, "X-Forwarded-Proto": "http"}, timeout=10)
    assert response.status_code == 200, response.text
    link = response.json()["link"]
    assert link.startswith(f"{base}/d/")
    download = requests.get(link, timeout=10)
    assert download.status_code == 200 and download.content == CONTENT[1]
    assert download.history[0].headers["Referrer-Policy"] == "no-referrer"
    assert download.headers["Content-Disposition"] == content_disposition("季度.pdf")
    head = requests.head(link, allow_redirects=True, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(CONTENT[1]))


def test_bad_links_and_requests(base: str) -> None:
    page = requests.get(f"{base}/d/AQJrMQ", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert requests.get(f"{base}/d/AQJrMQ", timeout=10).json()["error"]["message"] == "no such link"
    assert requests.head(f"{base}/d/AQJrMQ", timeout=10).status_code == 404
    assert requests.post(f"{base}/links", json={"key": "reports/a"}, headers=HEADERS, timeout=10).status_code == 400
    assert requests.post(f"{base}/links", json={"key": "reports/a", "ttl": 60}, timeout=10).status_code == 401
    assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}


def test_fc_entry(index: object) -> None:
    headers = {"X-Api-Key": API_KEY, "Content-Type": "application/json", "Host": "links-abc.cn-hangzhou.fcapp.run",
               "X-Forwarded-Proto": "https"}
    event = fc3_event("POST", "/links", headers=headers, body=json.dumps({"key": "reports/a.pdf", "ttl": "12h"}))
    answer = index.handler(json.dumps(event).encode(), None)  # type: ignore[attr-defined]
    assert answer["statusCode"] == 200
    link = json.loads(answer["body"])["link"]
    assert link.startswith("https://links-abc.cn-hangzhou.fcapp.run/d/")
    answer = index.handler(fc3_event("GET", link.split(".run", 1)[1]), None)  # type: ignore[attr-defined]
    assert answer["statusCode"] == 302 and answer["headers"]["Cache-Control"] == "no-store"
    assert "x-oss-signature=" in answer["headers"]["Location"]
    answer = index.handler(fc3_event("GET", "/d/nonsense", headers={"Accept": "text/html"}), None)  # type: ignore[attr-defined]
    assert answer["statusCode"] == 404 and "Link not found" in answer["body"]


def test_fc_handler_importable_without_flask_or_requests(tmp_path: Path) -> None:
    """Like presign, the FC path imports neither flask nor requests until it needs them."""
    code = ("import json, sys; sys.path.insert(0, 'functions/links'); import index; "
            "r = index.handler(json.dumps({'httpMethod': 'GET', 'path': '/d/AQJrMQ'}).encode(), None); "
            "print(json.dumps([r['statusCode'], 'flask' in sys.modules, 'requests' in sys.modules]))")
    env = {**environment(LINK_SIGNING_KEYS=SIGNING_KEYS), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [404, False, False]
