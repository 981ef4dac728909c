"""CORS on the local bucket, as OSS does it: PutBucketCors / GetBucketCors / DeleteBucketCors signed with the
Authorization header and kept across a restart, the OPTIONS preflight (curl and requests), the first matching
rule's headers on actual answers (errors included), and no CORS headers without a match."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from stubs_local_oss import BUCKET, KEYS, REGION, Bucket, error_of

from shared.devtools.local_oss import LocalOss
from shared.devtools.local_oss.cors import CorsConfiguration, CorsRule
from shared.devtools.local_oss.cors_api import put_configuration
from shared.oss.post_policy import presign_post
from shared.oss.signer import presign, sign_request

TIMEOUT = 10
APP = "https://app.example.com"
RULES = b"""<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>https://app.example.com</AllowedOrigin>
    <AllowedOrigin>https://*.preview.example.com</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>content-type</AllowedHeader>
    <AllowedHeader>x-oss-*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <ExposeHeader>x-oss-request-id</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>Content-Length</ExposeHeader>
  </CORSRule>
</CORSConfiguration>
"""


def _cors(local: Bucket | LocalOss, method: str, body: bytes | None = None, *,
          presigned: bool = False) -> requests.Response:
    """PUT, GET or DELETE ?cors, signed with the Authorization header (or, to be refused, a presigned URL)."""
    oss = local.oss if isinstance(local, Bucket) else local
    clock = local.clock if isinstance(local, Bucket) else oss.clock
    if presigned:  # the signer signs a bucket's own URL (no key) as it signs the bucket's operations
        url = presign(KEYS, bucket=BUCKET, key=None, region=REGION, endpoint=oss.endpoint,  # type: ignore[arg-type]
                      method=method, signing_time=clock(), params={"cors": None}).url
        return requests.request(method, url, data=body, timeout=TIMEOUT)
    signed = sign_request(KEYS, bucket=BUCKET, key=None, region=REGION, endpoint=oss.endpoint, method=method,
                          signing_time=clock(), params={"cors": None})
    return requests.request(method, signed.url, data=body, headers=signed.headers, timeout=TIMEOUT)


def _options(bucket: Bucket, origin: str | None, method: str | None, headers: str | None = None,
             key: str = "photos/cat.jpg") -> requests.Response:
    sent = {name: value for name, value in (("Origin", origin), ("Access-Control-Request-Method", method),
                                            ("Access-Control-Request-Headers", headers)) if value is not None}
    return bucket.http.options(f"{bucket.oss.endpoint}/{BUCKET}/{key}", headers=sent, timeout=TIMEOUT)


def _access_control(response: requests.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.lower().startswith("access-control-")}


def test_put_get_delete_and_the_rules_survive_a_restart(bucket: Bucket) -> None:
    assert _cors(bucket, "GET").status_code == 404
    assert error_of(_cors(bucket, "GET"))["Code"] == "NoSuchCORSConfiguration"
    assert _cors(bucket, "PUT", RULES).status_code == 200
    first = _cors(bucket, "GET")
    assert first.status_code == 200 and first.headers["Content-Type"] == "application/xml"
    for text in (b"<AllowedOrigin>https://*.preview.example.com</AllowedOrigin>", b"<AllowedHeader>x-oss-*",
                 b"<MaxAgeSeconds>600</MaxAgeSeconds>", b"<ResponseVary>false</ResponseVary>"):
        assert text in first.content
    bucket.oss.stop()
    with LocalOss(bucket.root, credentials=[KEYS], region=REGION, clock=bucket.clock) as again:
        assert _cors(again, "GET").content == first.content
        assert _cors(again, "DELETE").status_code == 204
        assert _cors(again, "GET").status_code == 404


def test_a_presigned_url_cannot_change_the_rules(bucket: Bucket) -> None:
    answer = _cors(bucket, "PUT", RULES, presigned=True)
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "AccessDenied")
    assert "Authorization header" in error_of(answer)["Message"]
    unsigned = requests.put(f"{bucket.oss.endpoint}/{BUCKET}/?cors", data=RULES, timeout=TIMEOUT)
    assert (unsigned.status_code, error_of(unsigned)["Code"]) == (403, "AccessDenied")
    assert _cors(bucket, "GET").status_code == 404


def _rule(origin: str = "*", method: str = "GET", extra: str = "") -> str:
    return f"<CORSRule><AllowedOrigin>{origin}</AllowedOrigin><AllowedMethod>{method}</AllowedMethod>{extra}</CORSRule>"


@pytest.mark.parametrize(("body", "code"), [
    ("<CORSConfiguration>" + _rule() * 11 + "</CORSConfiguration>", "InvalidArgument"),
    ("<CORSConfiguration></CORSConfiguration>", "InvalidArgument"),
    ("<CORSConfiguration>" + _rule("https://*.*.example.com") + "</CORSConfiguration>", "InvalidArgument"),
    ("<CORSConfiguration>" + _rule(method="PATCH") + "</CORSConfiguration>", "InvalidArgument"),
    ("<CORSConfiguration>" + _rule(extra="<ExposeHeader>*</ExposeHeader>") + "</CORSConfiguration>",
     "InvalidArgument"),
    ("<CORSConfiguration>" + _rule(extra="<MaxAgeSeconds>soon</MaxAgeSeconds>") + "</CORSConfiguration>",
     "InvalidArgument"),
    ("<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
     "MalformedXML"),
    ("<CORSConfiguration>" + _rule(extra="<Bogus>1</Bogus>") + "</CORSConfiguration>", "MalformedXML"),
    ("<CORS>", "MalformedXML"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CORSConfiguration>&a;</CORSConfiguration>',
     "MalformedXML"),
], ids=["eleven-rules", "no-rule", "two-wildcards", "bad-method", "expose-wildcard", "max-age", "no-origin",
        "unknown-element", "not-xml", "entity"])
def test_configurations_oss_refuses(bucket: Bucket, body: str, code: str) -> None:
    answer = _cors(bucket, "PUT", body.encode())
    assert (answer.status_code, error_of(answer)["Code"]) == (400, code), answer.text
    assert _cors(bucket, "GET").status_code == 404


def test_ten_rules_are_accepted(bucket: Bucket) -> None:
    assert _cors(bucket, "PUT", ("<CORSConfiguration>" + _rule() * 10 + "</CORSConfiguration>").encode()
                 ).status_code == 200


def test_preflight_match_takes_the_first_matching_rule(bucket: Bucket) -> None:
    assert _cors(bucket, "PUT", RULES).status_code == 200
    answer = _options(bucket, APP, "PUT", "Content-Type, X-OSS-Meta-Owner")
    assert answer.status_code == 200 and answer.content == b""
    assert _access_control(answer) == {
        "Access-Control-Allow-Origin": APP, "Access-Control-Allow-Methods": "GET, POST, PUT",
        "Access-Control-Allow-Headers": "content-type, x-oss-meta-owner",
        "Access-Control-Expose-Headers": "ETag, x-oss-request-id", "Access-Control-Max-Age": "600"}
    assert answer.headers["Vary"] == "Origin"
    # Both rules allow GET from APP: the first answers, and the wildcard origin of the second answers "*".
    assert _access_control(_options(bucket, APP, "GET"))["Access-Control-Expose-Headers"] == "ETag, x-oss-request-id"
    other = _options(bucket, "https://elsewhere.test", "GET", "Range")
    assert _access_control(other)["Access-Control-Allow-Origin"] == "*"
    assert _access_control(other)["Access-Control-Expose-Headers"] == "Content-Length"
    preview = _options(bucket, "https://pr-7.preview.example.com", "POST", key="")
    assert _access_control(preview)["Access-Control-Allow-Origin"] == "https://pr-7.preview.example.com"


@pytest.mark.parametrize(("origin", "method", "headers"), [
    ("https://elsewhere.test", "PUT", None),
    (APP, "DELETE", None),
    (APP, "PUT", "Authorization"),
    ("https://app.example.com.evil.test", "PUT", None),
], ids=["origin", "method", "header", "origin-suffix"])
def test_preflight_without_a_match_is_403_with_no_cors_headers(bucket: Bucket, origin: str, method: str,
                                                               headers: str | None) -> None:
    assert _cors(bucket, "PUT", RULES).status_code == 200
    answer = _options(bucket, origin, method, headers)
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "AccessForbidden")
    assert error_of(answer)["Message"].startswith("CORSResponse: This CORS request is not allowed.")
    assert _access_control(answer) == {}


def test_preflight_without_rules_or_the_headers_it_needs(bucket: Bucket) -> None:
    answer = _options(bucket, APP, "GET")
    assert (answer.status_code, error_of(answer)["Message"]) == (403, "CORSResponse: CORS is not enabled for "
                                                                      "this bucket.")
    assert _cors(bucket, "PUT", RULES).status_code == 200
    for origin, method in ((None, "GET"), (APP, None)):
        answer = _options(bucket, origin, method)
        assert (answer.status_code, error_of(answer)["Code"]) == (400, "BadRequest")
        assert error_of(answer)["Message"].startswith("Insufficient information.")


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_curl_preflight(bucket: Bucket) -> None:
    assert _cors(bucket, "PUT", RULES).status_code == 200
    done = subprocess.run(["curl", "-sS", "-i", "--max-time", str(TIMEOUT), "-X", "OPTIONS", "-H", f"Origin: {APP}",
                           "-H", "Access-Control-Request-Method: POST", f"{bucket.oss.endpoint}/{BUCKET}/"],
                          capture_output=True, timeout=TIMEOUT * 2, check=True)
    head = done.stdout.decode().lower()
    assert head.startswith("http/1.1 200") and f"access-control-allow-origin: {APP}\r\n" in head
    assert "vary: origin\r\n" in head


def test_actual_answers_carry_the_matching_rule_errors_too(bucket: Bucket) -> None:
    assert _cors(bucket, "PUT", RULES).status_code == 200
    put = bucket.presign("photos/cat.jpg", method="PUT")
    assert bucket.http.put(put.url, data=b"meow", headers={"Origin": APP}, timeout=TIMEOUT).status_code == 200
    got = bucket.http.get(bucket.presign("photos/cat.jpg").url, headers={"Origin": APP}, timeout=TIMEOUT)
    assert got.content == b"meow"
    assert _access_control(got) == {"Access-Control-Allow-Origin": APP,
                                    "Access-Control-Allow-Methods": "GET, POST, PUT",
                                    "Access-Control-Expose-Headers": "ETag, x-oss-request-id"}
    assert got.headers["Vary"] == "Origin"
    missing = bucket.http.get(bucket.presign("nothing.jpg").url, headers={"Origin": APP}, timeout=TIMEOUT)
    assert missing.status_code == 404 and _access_control(missing)["Access-Control-Allow-Origin"] == APP
    form = presign_post(KEYS, bucket=BUCKET, region=REGION, signing_time=bucket.clock(), endpoint=bucket.oss.endpoint,
                        key="up.bin", max_size=4)
    too_large = bucket.http.post(form.url, data=form.fields, files={"file": ("up.bin", b"12345")},
                                 headers={"Origin": APP}, timeout=TIMEOUT)
    assert error_of(too_large)["Code"] == "EntityTooLarge"
    assert _access_control(too_large)["Access-Control-Allow-Origin"] == APP


def test_actual_answers_without_a_match_have_no_cors_headers(bucket: Bucket) -> None:
    assert _cors(bucket, "PUT", RULES).status_code == 200
    put = bucket.presign("doc.txt", method="PUT")
    answer = bucket.http.put(put.url, data=b"x", headers={"Origin": "https://elsewhere.test"}, timeout=TIMEOUT)
    assert answer.status_code == 200 and _access_control(answer) == {}
    assert answer.headers["Vary"] == "Origin"
    plain = bucket.http.get(bucket.presign("doc.txt").url, timeout=TIMEOUT)
    assert _access_control(plain) == {} and "Vary" not in plain.headers


def test_cors_rules_are_per_bucket(bucket: Bucket, tmp_path: Path) -> None:
    assert _cors(bucket, "PUT", RULES).status_code == 200
    bucket.oss.store.create_bucket("otherbucket")
    answer = bucket.http.options(f"{bucket.oss.endpoint}/otherbucket/a", timeout=TIMEOUT,
                                 headers={"Origin": APP, "Access-Control-Request-Method": "GET"})
    assert (answer.status_code, error_of(answer)["Message"]) == (403, "CORSResponse: CORS is not enabled for this "
                                                                      "bucket.")


def test_tools_can_set_the_rules_without_http(bucket: Bucket) -> None:
    rule = CorsRule(("http://127.0.0.1:9200",), ("GET", "HEAD", "PUT", "POST"), ("*",),
                    ("ETag", "Location", "x-oss-request-id", "Content-Length", "Content-Disposition"))
    put_configuration(bucket.oss.store, BUCKET, CorsConfiguration((rule,)))
    assert b"<AllowedOrigin>http://127.0.0.1:9200</AllowedOrigin>" in _cors(bucket, "GET").content
    answer = _options(bucket, "http://127.0.0.1:9200", "POST", "content-type", key="")
    assert answer.status_code == 200
    assert _access_control(answer)["Access-Control-Expose-Headers"] == ("ETag, Location, x-oss-request-id, "
                                                                        "Content-Length, Content-Disposition")
    put_configuration(bucket.oss.store, BUCKET, None)
    assert _cors(bucket, "GET").status_code == 404


def test_response_vary_is_kept_and_returned(bucket: Bucket) -> None:
    body = ("<CORSConfiguration>" + _rule() + "<ResponseVary>true</ResponseVary></CORSConfiguration>").encode()
    assert _cors(bucket, "PUT", body).status_code == 200
    assert b"<ResponseVary>true</ResponseVary>" in _cors(bucket, "GET").content
    answer = _cors(bucket, "GET", presigned=True)
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "AccessDenied")
