"""The presign function end to end: functions-framework in a subprocess and the WSGI entry served by
a standard-library server, both driven over HTTP with requests."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from http_servers import serving_wsgi
from presign_env import ACCESS_KEY, API_KEY, assert_signed_by, environment
from processes import ROOT, free_port, functions_framework_command, running

from shared.devtools.local_oss import LocalOss
from shared.oss.signer import presign_now

HEADERS = {"X-Api-Key": API_KEY}
OBJECT_KEY = "reports/2025/q1 summary+final.pdf"
OBJECT = b"%PDF-1.7 quarterly figures\n" * 100


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOss]:
    """The local, signature-checking bucket the functions sign for, with one object in it."""
    with LocalOss(tmp_path_factory.mktemp("oss"), credentials=[ACCESS_KEY], region="cn-hangzhou",
                  buckets=["examplebucket"]) as oss:
        seed = presign_now(ACCESS_KEY, bucket="examplebucket", key=OBJECT_KEY, region="cn-hangzhou",
                           endpoint=oss.endpoint, method="PUT", headers={"Content-Type": "application/pdf"})
        requests.put(seed.url, data=OBJECT, headers=seed.signed_headers, timeout=10).raise_for_status()
        yield oss


@pytest.fixture(scope="module")
def framework(tmp_path_factory: pytest.TempPathFactory, bucket: LocalOss) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("ff") / "server.log"
    with running(functions_framework_command("functions/presign/main.py", "presign", port), port,
                 environment(OSS_ENDPOINT=bucket.endpoint), log=log) as base:
        yield base


@pytest.fixture(scope="module")
def wsgi(monkeypatch_module: pytest.MonkeyPatch, bucket: LocalOss) -> Iterator[str]:
    for name, value in environment(OSS_ENDPOINT=bucket.endpoint).items():
        monkeypatch_module.setenv(name, value)
    spec = importlib.util.spec_from_file_location("presign_index_under_test", ROOT / "functions/presign/index.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    with serving_wsgi(module.wsgi_handler) as base:
        yield base


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(params=["functions-framework", "wsgi"])
def base(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("framework" if request.param == "functions-framework" else "wsgi")


def test_json(base: str) -> None:
    response = requests.get(f"{base}/presign", params={"key": "reports/a+b c.pdf", "expires": "60"},
                            headers=HEADERS, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    result = response.json()
    assert result["key"] == "reports/a+b c.pdf" and result["expires_in"] == 60
    assert_signed_by(result["url"], ACCESS_KEY, method="GET")


def test_redirect(base: str) -> None:
    response = requests.get(f"{base}/presign", params={"key": "reports/a.pdf", "redirect": "1"}, headers=HEADERS,
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302 and response.content == b""
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    assert_signed_by(response.headers["Location"], ACCESS_KEY, method="GET")


def test_batch(base: str) -> None:
    response = requests.post(f"{base}/presign/batch", json={"items": [{"key": "reports/a"}, {"key": "nope/b"}]},
                             headers=HEADERS, timeout=10)
    assert response.status_code == 200
    first, second = response.json()["items"]
    assert "url" in first and second["error"]["code"] == "AccessDenied"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/presign", {"params": {"key": "reports/a"}, "headers": {}}, 401, "Unauthenticated"),
        ("GET", "/presign", {"params": {"key": "secret/a"}}, 403, "AccessDenied"),
        ("GET", "/presign", {"params": {"key": "reports/a", "expires": "-5"}}, 400, "InvalidArgument"),
        ("GET", "/presign", {"params": [("key", "reports/a"), ("key", "reports/b")]}, 400, "InvalidArgument"),
        ("POST", "/presign", {"data": b"{bad json", "headers": {**HEADERS, "Content-Type": "application/json"}},
         400, "InvalidArgument"),
        ("POST", "/presign", {"data": b"key=a", "headers": {**HEADERS, "Content-Type": "text/plain"}},
         415, "UnsupportedMediaType"),
        ("POST", "/presign", {"data": b"x" * (1024 * 1024 + 1),
                              "headers": {**HEADERS, "Content-Type": "application/json"}},
         413, "PayloadTooLarge"),
        ("PUT", "/presign", {}, 405, "MethodNotAllowed"),
        ("GET", "/elsewhere", {}, 404, "NotFound"),
    ],
)
def test_errors(base: str, method: str, path: str, kwargs: dict, status: int, code: str) -> None:
    kwargs.setdefault("headers", HEADERS)
    response = requests.request(method, base + path, timeout=10, **kwargs)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and set(error) == {"code", "message", "request_id"}
    assert "Traceback" not in response.text


def test_healthz(base: str) -> None:
    response = requests.get(f"{base}/healthz", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_fc_handler_importable_without_flask_or_requests(tmp_path: Path) -> None:
    """The FC path imports neither flask nor requests until it needs them."""
    import subprocess
    import sys

    code = ("import json, sys; sys.path.insert(0, 'functions/presign'); import index; "
            "r = index.handler(json.dumps({'httpMethod': 'GET', 'path': '/healthz'}).encode(), None); "
            "print(json.dumps([r['statusCode'], 'flask' in sys.modules, 'requests' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**environment(), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [200, False, False]


def test_download_from_the_bucket(base: str) -> None:
    """The URL the function hands out downloads the object from a bucket that checks signatures."""
    result = requests.get(f"{base}/presign", params={"key": OBJECT_KEY, "filename": "Q1 報告.pdf"}, headers=HEADERS,
                          timeout=10).json()
    response = requests.get(result["url"], timeout=10)
    assert response.status_code == 200 and response.content == OBJECT
    assert "filename*=UTF-8''Q1%20%E5%A0%B1%E5%91%8A.pdf" in response.headers["Content-Disposition"]
    followed = requests.get(f"{base}/presign", params={"key": OBJECT_KEY, "redirect": "1"}, headers=HEADERS, timeout=10)
    assert followed.status_code == 200 and followed.content == OBJECT


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_download_with_curl(base: str) -> None:
    result = requests.get(f"{base}/presign", params={"key": OBJECT_KEY}, headers=HEADERS, timeout=10).json()
    done = subprocess.run(["curl", "-sf", "--max-time", "10", result["url"]], capture_output=True, timeout=30)
    assert done.returncode == 0 and done.stdout == OBJECT


def test_upload_then_read_back(base: str) -> None:
    key = "uploads/alice/new file.csv"
    upload = requests.post(f"{base}/presign", json={"key": key, "method": "PUT", "content_type": "text/csv",
                                                     "meta": {"owner": "alice"}}, headers=HEADERS, timeout=10).json()
    put = requests.put(upload["url"], data=b"a,b\n1,2\n", headers=upload["signed_headers"], timeout=10)
    assert put.status_code == 200
    download = requests.get(f"{base}/presign", params={"key": key}, headers=HEADERS, timeout=10)
    assert download.status_code == 403  # alice may upload there, not read: the policy's GET rule is reports/
    read = presign_now(ACCESS_KEY, bucket="examplebucket", key=key, region="cn-hangzhou",
                       endpoint=upload["url"].split("/examplebucket/")[0])
    got = requests.get(read.url, timeout=10)
    assert got.content == b"a,b\n1,2\n" and got.headers["Content-Type"] == "text/csv"
    assert got.headers["x-oss-meta-owner"] == "alice"
