"""A seeded random fuzzer over the presign HTTP API (bounded in count and time): whatever arrives,
the answer is a documented status with the JSON error shape, never a 500, and a redirect only ever
points at the configured OSS endpoint."""

from __future__ import annotations

import io
import json
import random
import string
import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import pytest
from presign_env import API_KEY, JWT_SECRET, environment

from shared.http.wsgi import serve_wsgi
from shared.presign.wiring import build_presign_app

ENDPOINT_HOST = "examplebucket.oss-cn-hangzhou.aliyuncs.com"
APP = build_presign_app(environment(OSS_ENDPOINT="oss-cn-hangzhou.aliyuncs.com"), audit_stream=io.StringIO())
STATUSES = {200, 302, 400, 401, 403, 404, 405, 413, 415}
FIELDS = ["key", "bucket", "method", "expires", "filename", "disposition", "content_type", "version_id", "process",
          "traffic_limit", "bind_ip", "check_exists", "content_md5", "meta", "redirect", "items", "x"]
ATOMS = ["reports/a", "reports/../b", "..", ".", "", "/", "a" * 1100, "é😀", "\r\n", "\x00", "%ff", "+", " ",
         "GET", "PUT", "HEAD", "https://evil.example/", "//evil.example", "javascript:alert(1)", "-1", "0", "1",
         "604800", "99999999999999999999", "true", "false", "inline", "attachment", "text/plain", "examplebucket",
         "evil.example", "\ud800", "reports/\\..\\x", "reports/%2e%2e/x"]


def _value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth < 2 and roll < 0.1:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2 and roll < 0.2:
        return {rng.choice(FIELDS): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if roll < 0.3:
        return rng.choice([None, True, False, 0, -1, 1.5, 10**25, rng.randint(-10**6, 10**7)])
    if roll < 0.45:
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 20)))
    return rng.choice(ATOMS)


def _quote(value: object) -> str:
    return quote(str(value).encode("utf-8", "surrogatepass"), safe="")


def _request(rng: random.Random) -> dict:
    method = rng.choice(["GET", "GET", "POST", "POST", "HEAD", "PUT", "DELETE", "PATCH"])
    path = rng.choice(["/presign", "/presign", "/presign/batch", "/healthz", "/", "/presign/", "/PRESIGN",
                       "/x/../presign"])
    fields = {rng.choice(FIELDS): _value(rng) for _ in range(rng.randint(0, 5))}
    if rng.random() < 0.7:
        fields["key"] = rng.choice(["reports/a", "reports/q1.pdf", "shared/x"] + ATOMS)
    query = "&".join(f"{_quote(k)}={_quote(v) if rng.random() < 0.9 else str(v)}"
                     for k, v in fields.items()) if method != "POST" else ""
    if method == "POST":
        body = json.dumps({"items": [fields] * rng.randint(0, 3)} if path.endswith("batch") else fields)
        if rng.random() < 0.2:
            body = body[: rng.randint(0, len(body))]
        raw = body.encode("utf-8", "surrogatepass")
    else:
        raw = b""
    headers = {}
    auth = rng.random()
    if auth < 0.6:
        headers["HTTP_X_API_KEY"] = API_KEY
    elif auth < 0.7:
        headers["HTTP_X_API_KEY"] = _value(rng) if isinstance(_value(rng), str) else "nope"
    elif auth < 0.8:
        segments = (rng.choice(["e30", "eyJhbGciOiJub25lIn0", "x", ""]) for _ in range(3))
        headers["HTTP_AUTHORIZATION"] = "Bearer " + ".".join(segments)
    if method == "POST":
        headers["CONTENT_TYPE"] = rng.choice(["application/json"] * 4
                                             + ["text/plain", "application/json; charset=utf-8"])
    return {"REQUEST_METHOD": method, "PATH_INFO": path,
            "QUERY_STRING": query.encode("utf-8", "surrogatepass").decode("latin-1"),
            "REMOTE_ADDR": "198.51.100.9", "wsgi.input": io.BytesIO(raw),
            "CONTENT_LENGTH": str(len(raw)) if raw else "",
            **{k: str(v).encode("utf-8", "surrogatepass").decode("latin-1") for k, v in headers.items()}}


def _collect(answer: list) -> Callable[[str, list[tuple[str, str]]], None]:
    """A WSGI start_response that keeps the status and headers in ``answer``."""
    return lambda status, headers: answer.append((status, dict(headers)))


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_the_http_api(seed: int) -> None:
    rng = random.Random(seed)
    deadline = time.monotonic() + 8
    for _ in range(1500):
        if time.monotonic() > deadline:
            break
        environ = _request(rng)
        answer: list = []
        body = b"".join(serve_wsgi(APP, environ, _collect(answer)))
        status, headers = int(answer[0][0].split()[0]), answer[0][1]
        assert status in STATUSES, (environ, body[:200])
        if status == 302:
            location = urlsplit(headers["Location"])
            assert location.scheme == "https" and location.netloc == ENDPOINT_HOST
        elif status >= 400:
            error = json.loads(body)["error"]
            assert set(error) == {"code", "message", "request_id"}
        text = body.decode("utf-8", "replace")
        assert API_KEY not in text and JWT_SECRET not in text and "Traceback" not in text


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_the_link_token_parser(seed: int) -> None:
    """Random tokens, mutations of a real one and random bytes: one InvalidLink, nothing else."""
    from datetime import datetime, timezone

    from shared.errors import InvalidLink
    from shared.links.tokens import LinkSigner, new_link

    now = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)
    signer = LinkSigner.from_setting("k1:link-signing-secret-one-0123456789")
    genuine = signer.sign(new_link(bucket="examplebucket", key="reports/é.pdf", ttl=3600, url_expires=300, now=now))
    alphabet = string.ascii_letters + string.digits + "-_=+/.%~ \x00é"
    rng = random.Random(seed)
    deadline = time.monotonic() + 5
    for _ in range(5000):
        if time.monotonic() > deadline:
            break
        roll = rng.random()
        if roll < 0.4:
            chars = list(genuine)
            for _ in range(rng.randint(1, 4)):
                chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            token = "".join(chars)
        elif roll < 0.6:
            prefix = genuine[: rng.randrange(len(genuine))]  # drawn before the noise, as the seeds expect
            token = prefix + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        else:
            token = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        if token == genuine:
            continue
        with pytest.raises(InvalidLink):
            signer.unsign(token, now=now)
