"""Uppy itself (``@uppy/core`` and ``@uppy/aws-s3`` 4.x, bundled into one script) in Chromium, on a page of its
own origin, with ``endpoint`` set to the presign function's base URL and an API key or a bearer token in
``headers``: a large file in parts (cross-origin, every route preflighted) and a small one through the form, both
stored in the local bucket byte for byte. No glue code: only Uppy's options.

Uppy is not a dependency of the project: the test runs where a bundle is at ``$UPPY_BUNDLE`` (default
``/tmp/uppy/uppy.bundle.js``), made with ``npm install @uppy/core@4.5.3 @uppy/aws-s3@4.3.1 esbuild@0.28.2`` and
``esbuild entry.js --bundle --format=iife`` of ``import Uppy from '@uppy/core'; import AwsS3 from
'@uppy/aws-s3'; window.Uppy = Uppy; window.AwsS3 = AwsS3``. ``.ci/run`` makes one so (outside the repository)
and points ``$UPPY_BUNDLE`` at it; where there is none (no npm, no registry) the test is skipped."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
from browser import Page
from http_servers import WsgiApp
from presign_env import ACCESS_KEY, API_KEY, JWT_SECRET, environment

from shared.auth.authenticator import encode_jwt
from shared.devtools.local_oss import LocalOss
from shared.devtools.local_oss.cors import CorsConfiguration, CorsRule
from shared.devtools.local_oss.cors_api import put_configuration
from shared.http.wsgi import serve_wsgi
from shared.oss.signer import presign
from shared.presign.wiring import build_presign_app

BUNDLE = Path(os.environ.get("UPPY_BUNDLE", "/tmp/uppy/uppy.bundle.js"))
NOW = datetime(2026, 12, 2, 7, 0, 0, tzinfo=timezone.utc)
BUCKET = "examplebucket"
MIB = 1 << 20
POLICY = {"principals": {"alice": [{"bucket": BUCKET, "prefix": "uploads/alice/", "methods": ["PUT", "POST"],
                                    "allow": ["multipart"], "max_size": 64 * MIB}]}}
PAGE = b"""<!doctype html><meta charset="utf-8"><title>uppy</title><script src="/uppy.js"></script>
<script>
window.run = async (endpoint, headers, sizes) => {
  const uppy = new Uppy({autoProceed: false})
  uppy.use(AwsS3, {endpoint, headers, limit: 4, shouldUseMultipart: (file) => file.size > 1024 * 1024})
  sizes.forEach((size, index) => {
    const bytes = new Uint8Array(size)
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + index * 7) & 255
    uppy.addFile({name: `file ${index}.bin`, type: 'application/octet-stream', data: new Blob([bytes])})
  })
  const result = await uppy.upload()
  return {successful: result.successful.map((f) => ({name: f.name, url: f.uploadURL || f.response.uploadURL})),
          failed: result.failed.map((f) => ({name: f.name, error: String(f.error)}))}
}
</script>"""


def pattern(size: int, index: int) -> bytes:
    """The bytes the page makes for file ``index``."""
    return bytes((i * 31 + index * 7) & 255 for i in range(size))


def page_app(environ: dict[str, Any], start_response: Callable[..., object]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    body, kind = (BUNDLE.read_bytes(), "text/javascript") if path == "/uppy.js" else (PAGE, "text/html")
    start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def oss(tmp_path: Path) -> Iterator[LocalOss]:
    if not BUNDLE.is_file():
        pytest.skip(f"no Uppy bundle at {BUNDLE} (see this module's docstring)")
    with LocalOss(tmp_path / "oss", credentials=[ACCESS_KEY], region="cn-hangzhou", buckets=[BUCKET],
                  clock=lambda: NOW) as running:
        yield running


def bearer() -> str:
    return "Bearer " + encode_jwt({"sub": "alice", "exp": int((NOW + timedelta(hours=1)).timestamp())}, JWT_SECRET)


@pytest.mark.parametrize("auth", ["api-key", "bearer"])
def test_uppy_uploads_through_the_function_with_no_glue_code(page: Page, oss: LocalOss, auth: str,
                                                            wsgi_server: Callable[[WsgiApp], str]) -> None:
    origin = wsgi_server(page_app)
    put_configuration(oss.store, BUCKET, CorsConfiguration((CorsRule((origin,), ("GET", "PUT", "POST"), ("*",),
                                                                     ("ETag", "Location")),)))
    app = build_presign_app(environment(PRESIGN_POLICY=json.dumps(POLICY), OSS_ENDPOINT=oss.endpoint,
                                        PRESIGN_CORS_ORIGINS=origin), clock=lambda: NOW, audit_stream=io.StringIO())
    endpoint = wsgi_server(lambda environ, start: serve_wsgi(app, environ, start))
    headers = {"X-Api-Key": API_KEY} if auth == "api-key" else {"Authorization": bearer()}
    page.goto(origin + "/")
    sizes = [11 * MIB, 200 * 1024]  # in parts of 5 MiB (Uppy's least), and through the form
    result = page.evaluate(f"run({json.dumps(endpoint + '/')}, {json.dumps(headers)}, {json.dumps(sizes)})",
                           timeout=60)
    assert result["failed"] == [] and len(result["successful"]) == 2, result
    for uploaded in result["successful"]:
        index = int(uploaded["name"].split()[1].split(".")[0])
        key = unquote(urlsplit(uploaded["url"]).path.split("/", 2)[2])
        assert key.startswith("uploads/alice/2026-12-02/") and key.endswith(f"/file {index}.bin")
        url = presign(ACCESS_KEY, bucket=BUCKET, key=key, region="cn-hangzhou", endpoint=oss.endpoint,
                      signing_time=NOW, expires=600).url
        stored = requests.get(url, timeout=10)
        assert hashlib.sha256(stored.content).digest() == hashlib.sha256(pattern(sizes[index], index)).digest()
        assert stored.headers["ETag"].endswith('-3"') == (index == 0)  # the large one was completed from parts
