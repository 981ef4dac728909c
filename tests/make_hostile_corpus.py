"""Write tests/data/hostile_presign.json: bad requests to the presign API and the answer each must get.

Run ``python3 tests/make_hostile_corpus.py`` after changing the cases; the JSON is the test data
(tests/test_hostile_input.py), kept in the repository so that a reviewer sees every case.

Each case: ``name``, ``method``, ``path``, ``query`` (raw query string, may hold bad escapes),
``headers`` (``<alice>`` stands for a valid API key, ``<jwt:...>`` for a token the test mints),
``body`` (text, ``{"base64": ...}`` for raw bytes, or ``{"padded_to": N}`` for a JSON body of N
bytes), and the expected ``status`` and ``code``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote

OUT = Path(__file__).parent / "data" / "hostile_presign.json"
JSON = {"Content-Type": "application/json", "X-Api-Key": "<alice>"}
AUTH = {"X-Api-Key": "<alice>"}
VALID = {"key": "reports/q1.pdf", "filename": "q1.pdf", "expires": 600}
STRING_FIELDS = ("key", "bucket", "method", "filename", "disposition", "content_type", "version_id", "process")
ALL_FIELDS = (*STRING_FIELDS, "expires", "traffic_limit", "bind_ip", "check_exists", "redirect")
BAD = ("\r\n", "\n", "\r", "\x00", "\x1b", "\x7f")


def case(name: str, *, method: str = "POST", path: str = "/presign", query: str = "", headers: dict | None = None,
         body: object = "", status: int = 400, code: str = "InvalidArgument") -> dict:
    if isinstance(body, bytes):
        body = {"base64": base64.b64encode(body).decode("ascii")}
    return {"name": name, "method": method, "path": path, "query": query,
            "headers": JSON if headers is None else headers, "body": body, "status": status, "code": code}


def malformed_json() -> list[dict]:
    text = json.dumps(VALID)
    cases = [case(f"truncated json at {n}", body=text[:n]) for n in range(0, len(text) - 1, 2)]
    for label, body in (("trailing garbage", text + "x"), ("single quotes", text.replace('"', "'")),
                        ("NaN", '{"key": "reports/a", "expires": NaN}'),
                        ("Infinity", '{"key": "a", "expires": Infinity}'),
                        ("array", "[1, 2]"), ("string", '"key"'), ("number", "42"), ("null", "null"),
                        ("deep nesting", "[" * 5000 + "]" * 5000), ("comment", '{"key": "a"} // c')):
        cases.append(case(f"json {label}", body=body))
    return cases


def wrong_types() -> list[dict]:
    cases = []
    samples = {"null": None, "true": True, "int": 7, "float": 1.5, "list": ["a"], "object": {"a": 1}}
    flags = ("bind_ip", "check_exists", "redirect")
    for field in ALL_FIELDS:
        for label, value in samples.items():
            if field in flags and label == "true":
                continue  # a real boolean is right for a flag
            if field in ("expires", "traffic_limit") and label == "int":
                continue
            if field in STRING_FIELDS and label in ("null",) and field != "key":
                pass
            body = dict(VALID, **{field: value})
            if field in ("traffic_limit",):
                body = dict(body)
            cases.append(case(f"{field} as {label}", body=json.dumps(body)))
    return cases


def numbers() -> list[dict]:
    values = ["-1", "0", "-0", "1.5", "1e3", "0x10", "31536001", "99999999999999999999999", "1 000", "+5", " 600",
              "６００"]
    cases = [case(f"expires={v!r} in query", method="GET", query="key=reports/a&expires=" + quote(v), headers=AUTH)
             for v in values]
    for value in (-1, 0, 1.0000001, 10**30, -(10**30), 2**63):
        cases.append(case(f"expires={value!r} in json", body=json.dumps(dict(VALID, expires=value))))
    for value in (0, 819199, 838860801, -1, 10**20):
        cases.append(case(f"traffic_limit={value}", body=json.dumps(dict(VALID, traffic_limit=value))))
    return cases


def keys() -> list[dict]:
    cases = [case("empty key", body=json.dumps({"key": ""})), case("missing key", body=json.dumps({"expires": 5})),
             case("1024-byte key", body=json.dumps({"key": "reports/" + "k" * 1016})),
             case("1024 bytes of multibyte key", body=json.dumps({"key": "reports/" + "é" * 508})),
             case("key '.'", body=json.dumps({"key": "."})), case("key '..'", body=json.dumps({"key": ".."})),
             case("key starting with /", body=json.dumps({"key": "/reports/a"})),
             case("key starting with backslash", body=json.dumps({"key": "\\reports\\a"}))]
    for key in ("reports/../secret", "reports/./a", "reports//a", "reports/..", "reportsX/a", "../reports/a",
                "secret/reports/a", "reports", "REPORTS/a"):
        cases.append(case(f"key {key!r} outside the grant", body=json.dumps({"key": key}), status=403,
                          code="AccessDenied"))
    return cases


def encodings() -> list[dict]:
    cases = [case("invalid utf-8 in query", method="GET", query="key=reports/%ff%fe", headers=AUTH),
             case("invalid utf-8 in query name", method="GET", query="%ff=1&key=reports/a", headers=AUTH),
             case("overlong utf-8 in query", method="GET", query="key=reports/%c0%af", headers=AUTH),
             case("invalid utf-8 body", body=b'{"key": "reports/\xff"}'),
             case("utf-16 body", body='{"key": "reports/a"}'.encode("utf-16")),
             case("latin-1 body", body='{"key": "reports/é"}'.encode("latin-1"))]
    for field in STRING_FIELDS:
        body = json.dumps(dict(VALID, **{field: "reports/a\ud800" if field == "key" else "x\udc00"}))
        cases.append(case(f"lone surrogate in {field}", body=body))
    return cases


def control_characters() -> list[dict]:
    cases = []
    for field in STRING_FIELDS:
        for bad in BAD:
            value = f"reports/a{bad}b" if field == "key" else f"a{bad}b"
            cases.append(case(f"{field} with {bad!r} (json)", body=json.dumps(dict(VALID, **{field: value}))))
        cases.append(case(f"{field} with CRLF (query)", method="GET", headers=AUTH,
                          query=f"key=reports/a&{field}=" + quote("a\r\nSet-Cookie: x=1") if field != "key"
                          else "key=" + quote("reports/a\r\nX-Injected: 1")))
    for header in ("a\r\nContent-Type: text/html", 'a"\r\nX: y', "a\nb", "a\x00b.pdf"):
        cases.append(case(f"filename header injection {header!r}", body=json.dumps(dict(VALID, filename=header))))
    return cases


def shapes() -> list[dict]:
    cases = [case("oversized body", body={"padded_to": 1024 * 1024 + 1}, status=413, code="PayloadTooLarge"),
             case("oversized batch", path="/presign/batch", body=json.dumps({"items": [{"key": "reports/a"}] * 1001}),
                  status=413, code="PayloadTooLarge"),
             case("batch items not a list", path="/presign/batch", body=json.dumps({"items": "x"})),
             case("batch without items", path="/presign/batch", body=json.dumps({})),
             case("batch as a list", path="/presign/batch", body=json.dumps([{"key": "reports/a"}]))]
    for name in ("key", "expires", "filename", "bucket", "method", "redirect"):
        cases.append(case(f"duplicate query parameter {name}", method="GET", headers=AUTH,
                          query=f"key=reports/a&{name}=a&{name}=b" if name != "key" else "key=reports/a&key=reports/b"))
    for name in ("Key", "KEY", "expiry", "ttl", "url", "signature", "x-oss-signature", "credentials", "__proto__", ""):
        cases.append(case(f"unknown field {name!r}", body=json.dumps(dict(VALID, **{name: "x"}))))
    for verb in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"):
        cases.append(case(f"method {verb}", method=verb, body="", status=405, code="MethodNotAllowed", headers=AUTH))
    cases.append(case("GET on batch", method="GET", path="/presign/batch", headers=AUTH, status=405,
                      code="MethodNotAllowed"))
    for path in ("/", "/presign/x", "/admin", "/presign/../healthz", "/%2e%2e/etc/passwd", "/links"):
        cases.append(case(f"unknown route {path}", method="GET", path=path, headers=AUTH, status=404, code="NotFound"))
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/xml", "", "application/jsonx", "json"):
        headers = {"X-Api-Key": "<alice>", **({"Content-Type": content_type} if content_type else {})}
        cases.append(case(f"content type {content_type!r}", headers=headers, body=json.dumps(VALID),
                          status=415, code="UnsupportedMediaType"))
    for method in ("DELETE", "POST", "OPTIONS", "get "):
        cases.append(case(f"method field {method}", body=json.dumps(dict(key="reports/a", method=method))))
    cases.append(case("method field PUT outside the grant", body=json.dumps(dict(key="reports/a", method="PUT")),
                      status=403, code="AccessDenied"))
    cases += [case("redirect for PUT", body=json.dumps({"key": "reports/a", "method": "PUT", "redirect": True})),
              case("disposition without filename", body=json.dumps({"key": "reports/a", "disposition": "inline"})),
              case("bad disposition", body=json.dumps(dict(VALID, disposition="evil"))),
              case("bad bucket", body=json.dumps({"key": "reports/a", "bucket": "Evil.Bucket"})),
              case("bucket with host injection", body=json.dumps({"key": "reports/a", "bucket": "evil.com/x"})),
              case("other bucket", body=json.dumps({"key": "reports/a", "bucket": "otherbucket"}), status=403,
                   code="AccessDenied"),
              case("meta on GET", body=json.dumps(dict(VALID, meta={"a": "b"}))),
              case("content_md5 on GET", body=json.dumps(dict(VALID, content_md5="x")))]
    return cases


def credentials() -> list[dict]:
    jwt_cases = ["none-alg", "hs512", "rs256", "no-alg", "bad-signature", "other-secret", "expired", "not-yet-valid",
                 "future-iat", "no-exp", "exp-string", "no-sub", "empty-sub", "wrong-issuer", "wrong-audience",
                 "two-segments", "four-segments", "padded", "not-base64", "header-not-json", "payload-list",
                 "oversized", "empty", "null-prefix", "empty-prefix", "star-sub"]
    cases = [case(f"jwt {name}", method="GET", query="key=reports/a", headers={"Authorization": f"<jwt:{name}>"},
                  status=401, code="Unauthenticated") for name in jwt_cases]
    for label, value in (("unknown", "not-a-key"), ("empty", ""), ("with space", "alice key"),
                         ("very long", "k" * 5000), ("almost", "alice-api-key-012345678"), ("non-ascii", "ключ")):
        cases.append(case(f"api key {label}", method="GET", query="key=reports/a", headers={"X-Api-Key": value},
                          status=401, code="Unauthenticated"))
    for label, value in (("none", None), ("basic", "Basic YWxpY2U6c2VjcmV0"), ("bearer empty", "Bearer "),
                         ("bearer spaces", "Bearer    "), ("digest", "Digest x")):
        headers = {} if value is None else {"Authorization": value}
        cases.append(case(f"authorization {label}", method="GET", query="key=reports/a", headers=headers,
                          status=401, code="Unauthenticated"))
    return cases


def main() -> None:
    cases = malformed_json() + wrong_types() + numbers() + keys() + encodings() + control_characters() + shapes() \
        + credentials()
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    OUT.write_text(json.dumps({"about": __doc__.splitlines()[0], "count": len(cases), "cases": cases},
                              ensure_ascii=True, indent=0) + "\n", "utf-8")
    print(f"{len(cases)} cases written to {OUT}")


if __name__ == "__main__":
    main()
