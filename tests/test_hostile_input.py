"""Every request in tests/data/hostile_presign.json gets its documented 4xx with the JSON error shape:
no 500, no traceback, no echo of a secret. Requests go through the WSGI adapter as raw bytes."""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from presign_env import API_KEY, JWT_SECRET, environment

from shared.auth.jwt import _b64encode
from shared.http.wsgi import serve_wsgi
from shared.presign.wiring import build_presign_app

CORPUS = json.loads((Path(__file__).parent / "data" / "hostile_presign.json").read_text("utf-8"))["cases"]
NOW = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)
AUDIT = io.StringIO()
APP = build_presign_app(environment(PRESIGN_JWT_ISSUER="issuer", PRESIGN_JWT_AUDIENCE="presign"),
                        clock=lambda: NOW, audit_stream=AUDIT)


def _token(header: dict, claims: dict, secret: str = JWT_SECRET, *, sign_as: str | None = None) -> str:
    import hashlib
    import hmac

    head = _b64encode(json.dumps(header).encode())
    body = _b64encode(json.dumps(claims).encode())
    mac = hmac.new((sign_as or secret).encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64encode(mac)}"


def bad_jwt(name: str) -> str:
    """Mint each variant of a bad token named in the corpus."""
    exp = int((NOW + timedelta(hours=1)).timestamp())
    good = {"sub": "alice", "exp": exp, "iss": "issuer", "aud": "presign"}
    hs256 = {"alg": "HS256", "typ": "JWT"}
    valid = _token(hs256, good)
    variants = {
        "none-alg": _token({"alg": "none"}, good).rsplit(".", 1)[0] + ".",
        "hs512": _token({"alg": "HS512"}, good), "rs256": _token({"alg": "RS256"}, good), "no-alg": _token({}, good),
        "bad-signature": valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
        "other-secret": _token(hs256, good, sign_as="another-secret-that-is-long-enough-0123"),
        "expired": _token(hs256, dict(good, exp=int((NOW - timedelta(hours=1)).timestamp()))),
        "not-yet-valid": _token(hs256, dict(good, nbf=exp)),
        "future-iat": _token(hs256, dict(good, iat=exp)),
        "no-exp": _token(hs256, {k: v for k, v in good.items() if k != "exp"}),
        "exp-string": _token(hs256, dict(good, exp=str(exp))),
        "no-sub": _token(hs256, {k: v for k, v in good.items() if k != "sub"}),
        "empty-sub": _token(hs256, dict(good, sub="")), "star-sub": _token(hs256, dict(good, sub="*")),
        "wrong-issuer": _token(hs256, dict(good, iss="someone")),
        "wrong-audience": _token(hs256, dict(good, aud="other")),
        "two-segments": valid.rsplit(".", 1)[0], "four-segments": valid + ".x", "padded": valid + "==",
        "not-base64": "!!!." + valid.split(".", 1)[1],
        "header-not-json": _b64encode(b"nope") + "." + valid.split(".", 1)[1],
        "payload-list": _token(hs256, [1, 2]),  # type: ignore[arg-type]
        "oversized": _token(hs256, dict(good, pad="x" * 9000)), "empty": "",
        "null-prefix": _token(hs256, dict(good, prefix=None)), "empty-prefix": _token(hs256, dict(good, prefix="")),
    }
    return "Bearer " + variants[name]


def _environ(item: dict) -> dict:
    body = item["body"]
    if isinstance(body, dict) and "padded_to" in body:
        raw = b'{"key": "reports/a", "pad": "' + b"x" * body["padded_to"] + b'"}'
    elif isinstance(body, dict):
        raw = base64.b64decode(body["base64"])
    else:
        raw = body.encode("utf-8", "surrogatepass")
    environ = {"REQUEST_METHOD": item["method"], "PATH_INFO": item["path"], "QUERY_STRING": item["query"],
               "REMOTE_ADDR": "198.51.100.7", "wsgi.input": io.BytesIO(raw),
               "CONTENT_LENGTH": str(len(raw)) if raw else ""}
    for name, value in item["headers"].items():
        value = API_KEY if value == "<alice>" else value
        if value.startswith("<jwt:"):
            value = bad_jwt(value[5:-1])
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value.encode("utf-8").decode("latin-1")
    return environ


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 300
    assert {c["status"] for c in CORPUS} >= {400, 401, 403, 404, 405, 413, 415}


@pytest.mark.parametrize("item", CORPUS, ids=[c["name"][:80] for c in CORPUS])
def test_hostile_request(item: dict) -> None:
    seen: list[str] = []
    body = b"".join(serve_wsgi(APP, _environ(item), lambda status, headers: seen.append(status)))
    status = int(seen[0].split()[0])
    assert status == item["status"], body[:300]
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "request_id"} and error["code"] == item["code"]
    text = body.decode("utf-8")
    assert "Traceback" not in text and API_KEY not in text and JWT_SECRET not in text


def test_the_audit_log_kept_no_secret() -> None:
    text = AUDIT.getvalue()
    assert text and API_KEY not in text and JWT_SECRET not in text and "Traceback" not in text
