"""The verifier: the SDKs' own URLs and Authorization headers verify, and each failed check has its cause.

The SDK vectors are fed as the SDKs wrote them (reference URLs, hand-built Authorization headers),
not through shared.oss.signer, so a canonicalisation bug cannot hide behind the same bug on both sides.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from shared.credentials import Credentials
from shared.devtools.local_oss.addressing import ObjectRequest, bucket_and_key, decode_query
from shared.devtools.local_oss.errors import STATUS
from shared.devtools.local_oss.verify import (
    CAUSES,
    REDACTED,
    AuthFailure,
    expectation,
    parse_authorization,
    problems,
    verify,
)
from shared.oss.signer import presign, sign_request

DATA = Path(__file__).parent / "data"
PRESIGN = json.loads((DATA / "oss4_presign.json").read_text("utf-8"))["vectors"]
OFFICIAL = json.loads((DATA / "oss4_official.json").read_text("utf-8"))
AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
KEYS = Credentials("LTAI5tVERIFYkey", "verify-secret")
STS = Credentials("STS.verify", "sts-secret", "CAIS+token/==")
KEYRING = {KEYS.access_key_id: KEYS, STS.access_key_id: STS}


def _request(url: str, method: str = "GET", headers: dict[str, str] | None = None, bucket: str = "examplebucket",
             virtual: bool = False, client_ip: str | None = None) -> ObjectRequest:
    """Read a URL as the local bucket reads a request target."""
    parts = urlsplit(url)
    found, key = bucket_and_key(parts.path.encode(), bucket if virtual else None)
    return ObjectRequest(method, found, key, decode_query(parts.query.encode()),
                         {k.lower(): v for k, v in (headers or {}).items()}, client_ip)


def _causes(request: ObjectRequest, now: datetime = AT, region: str = "cn-hangzhou") -> list[str]:
    return [failure.cause for failure in problems(request, keyring=KEYRING, region=region, now=now)[1]]


def _signed(key: str = "dir/file.txt", credentials: Credentials = KEYS, **options: object) -> str:
    return presign(credentials, bucket="examplebucket", key=key, region="cn-hangzhou", signing_time=AT,
                   endpoint="http://127.0.0.1:9000", **options).url  # type: ignore[arg-type]


@pytest.mark.parametrize("sdk", ["oss2", "alibabacloud_oss_v2"])
@pytest.mark.parametrize("case", PRESIGN, ids=[c["name"] for c in PRESIGN])
def test_sdk_urls_verify(case: dict, sdk: str) -> None:
    given = case["input"]
    url = case["reference_urls"][sdk]
    credentials = Credentials(given["access_key_id"], given["access_key_secret"], given["security_token"])
    request = _request(url, given["method"], given["headers"], given["bucket"], virtual=not (
        given["path_style"] or given["endpoint"].startswith(("127.", "http://127."))))
    at = datetime.strptime(given["signing_time"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    auth = verify(request, keyring={credentials.access_key_id: credentials},
                  region=given["cloudbox_id"] or given["region"], product=given["product"], now=at)
    assert auth.signed_at == at
    if sdk == "oss2":  # alibabacloud-oss-v2 drops additional headers (see the data file's note)
        assert expectation(request, auth).canonical_request == case["expected"]["canonical_request"]


def _official(case: dict, style: str) -> ObjectRequest:
    common = OFFICIAL["common"]
    at = datetime.fromtimestamp(case["signing_time_unix"], timezone.utc)
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{common['access_key_id']}/{stamp[:8]}/{case['region']}/{case['product']}/aliyun_v4_request"
    headers = {k.lower(): v for k, v in {**common["headers"], **case["extra_headers"]}.items()}
    additional = sorted({n.lower() for n in case["additional_headers"]
                         if n.lower() in headers and not n.lower().startswith("x-oss-")})
    query = [(k, v) for k, v in common["params"].items()]
    if style == "query":
        query += [("x-oss-signature-version", "OSS4-HMAC-SHA256"), ("x-oss-credential", scope),
                  ("x-oss-date", stamp), ("x-oss-expires", str(case["expires"])),
                  ("x-oss-signature", case["signature"])]
        query += [("x-oss-security-token", case["security_token"])] if case["security_token"] else []
        query += [("x-oss-additional-headers", ";".join(additional))] if additional else []
    else:
        extra = f",AdditionalHeaders={';'.join(additional)}" if additional else ""
        headers.update({"x-oss-date": stamp, "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
                        "authorization": f"OSS4-HMAC-SHA256 Credential={scope}{extra},Signature={case['signature']}"})
        headers.update({"x-oss-security-token": case["security_token"]} if case["security_token"] else {})
    key = common["key"]
    return ObjectRequest(common["method"], common["bucket"], key, tuple(query), headers)


@pytest.mark.parametrize("style", ["query", "header"])
def test_official_vectors_verify(style: str) -> None:
    common = OFFICIAL["common"]
    for case in OFFICIAL[style]:
        credentials = Credentials(common["access_key_id"], common["access_key_secret"], case["security_token"])
        verify(_official(case, style), keyring={"ak": credentials}, region=case["region"], product=case["product"],
               now=datetime.fromtimestamp(case["signing_time_unix"], timezone.utc))


def test_signer_output_verifies_for_every_method_and_both_styles() -> None:
    for method in ("GET", "HEAD", "PUT", "DELETE", "POST"):
        url = _signed("a/./b/../c+d é.txt", method=method, headers={"Content-Type": "text/plain"},
                      params={"response-content-type": "text/html"})
        assert _causes(_request(url, method, {"Content-Type": "text/plain"})) == []
        signed = sign_request(STS, bucket="examplebucket", key="k y", region="cn-hangzhou", signing_time=AT,
                              endpoint="http://127.0.0.1:9000", method=method, headers={"Range": "bytes=0-1"},
                              additional_headers=["range"])
        assert _causes(_request(signed.url, method, signed.headers)) == []


@pytest.mark.parametrize(("cause", "now", "edit"), [
    ("expired", AT + timedelta(seconds=901), None),
    ("not_yet_valid", AT - timedelta(minutes=15, seconds=1), None),
    ("credential_date", AT, ("%2F20250304%2F", "%2F20250303%2F")),
    ("region", AT, ("cn-hangzhou", "cn-beijing")),
    ("product", AT, ("%2Foss%2F", "%2Foss-cloudbox%2F")),
    ("access_key", AT, ("LTAI5tVERIFYkey", "LTAI5tUNKNOWN")),
    ("signature", AT, ("x-oss-expires=900", "x-oss-expires=901")),
    ("signature", AT, ("x-oss-signature=", "x-oss-signature=%C3%A9")),
    ("malformed", AT, ("x-oss-expires=900", "x-oss-expires=604801")),
    ("malformed", AT, ("x-oss-date=20250304T050607Z", "x-oss-date=2025-03-04")),
    ("anonymous", AT, ("x-oss-", "y-oss-")),
])
def test_each_check_names_its_cause(cause: str, now: datetime, edit: tuple[str, str] | None) -> None:
    url = _signed()
    if edit:
        url = url.replace(*edit)
    assert _causes(_request(url), now=now)[0] == cause


def test_expiry_boundary_and_tolerated_skew() -> None:
    url = _request(_signed())
    assert _causes(url, now=AT + timedelta(seconds=900)) == []
    assert _causes(url, now=AT - timedelta(minutes=15)) == []


def test_tokens_missing_unexpected_and_wrong() -> None:
    assert _causes(_request(_signed(credentials=Credentials(STS.access_key_id, "sts-secret"))))[0] == "token_missing"
    assert _causes(_request(_signed(credentials=Credentials(KEYS.access_key_id, "verify-secret", "T"))))[0] \
        == "token_unexpected"
    assert _causes(_request(_signed(credentials=Credentials(STS.access_key_id, "sts-secret", "other"))))[0] \
        == "token_wrong"


def test_signed_headers_are_enforced() -> None:
    url = _signed(method="PUT", headers={"Content-Type": "text/plain", "Cache-Control": "no-cache"},
                  additional_headers=["cache-control"])
    sent = {"Content-Type": "text/plain", "Cache-Control": "no-cache"}
    assert _causes(_request(url, "PUT", sent)) == []
    assert _causes(_request(url, "PUT", {"Content-Type": "text/plain"})) == ["header_missing", "signature"]
    assert _causes(_request(url, "PUT", {**sent, "Content-Type": "text/html"})) == ["signature"]
    assert _causes(_request(url, "PUT", {"Cache-Control": "no-cache"})) == ["signature"]
    assert _causes(_request(url, "GET", sent)) == ["signature"]


def test_header_auth_skew_both_ways_and_required_fields() -> None:
    signed = sign_request(KEYS, bucket="examplebucket", key="k", region="cn-hangzhou", signing_time=AT, method="HEAD",
                          endpoint="http://127.0.0.1:9000")
    request = _request(signed.url, "HEAD", signed.headers)
    assert _causes(request, now=AT + timedelta(minutes=16)) == ["skewed"]
    assert _causes(request, now=AT - timedelta(minutes=16)) == ["skewed"]
    del signed.headers["x-oss-content-sha256"]
    assert _causes(_request(signed.url, "HEAD", signed.headers)) == ["malformed"]


def test_source_ip_is_checked_once_the_signature_holds() -> None:
    url = _signed(params={"x-oss-ac-source-ip": "10.1.0.0", "x-oss-ac-subnet-mask": "16"})
    assert _causes(_request(url, client_ip="10.1.2.3")) == []
    assert _causes(_request(url, client_ip="127.0.0.1")) == ["source_ip"]
    assert _causes(_request(url.replace("x-oss-ac-subnet-mask=16", "x-oss-ac-subnet-mask=8"),
                            client_ip="10.9.9.9")) == ["signature"]


def test_mismatch_shows_what_the_server_expected_with_the_token_redacted() -> None:
    url = _signed(credentials=STS).replace("x-oss-expires=900", "x-oss-expires=901")
    failure = problems(_request(url), keyring=KEYRING, region="cn-hangzhou", now=AT)[1][0]
    assert (failure.status, failure.code) == (403, "SignatureDoesNotMatch")
    shown = failure.details["CanonicalRequest"]
    assert f"x-oss-security-token={REDACTED}" in shown and quote(STS.security_token, safe="") not in shown
    assert "x-oss-expires=901" in shown
    assert failure.details["StringToSign"].startswith("OSS4-HMAC-SHA256\n20250304T050607Z\n")


def test_every_cause_maps_to_one_known_code() -> None:
    assert set(CAUSES.values()) <= set(STATUS)
    with pytest.raises(AuthFailure) as caught:
        verify(_request(_signed()), keyring=KEYRING, region="cn-hangzhou", now=AT + timedelta(days=1))
    assert (caught.value.status, caught.value.code, caught.value.message) == (403, "AccessDenied",
                                                                               "Request has expired.")


def test_both_styles_at_once_and_v1_are_refused() -> None:
    signed = sign_request(KEYS, bucket="examplebucket", key="k", region="cn-hangzhou", signing_time=AT)
    with pytest.raises(AuthFailure, match="not both"):
        parse_authorization(_request(_signed("k"), headers=signed.headers))
    with pytest.raises(AuthFailure, match="V1"):
        parse_authorization(_request("/examplebucket/k?OSSAccessKeyId=a&Expires=1&Signature=x"))


def test_reprs_hide_signature_and_token() -> None:
    request = _request(_signed(credentials=STS))
    auth = verify(request, keyring=KEYRING, region="cn-hangzhou", now=AT)
    for text in (repr(request), repr(auth)):
        assert "CAIS" not in text and auth.signature not in text
