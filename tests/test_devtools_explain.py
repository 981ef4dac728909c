"""``python -m shared explain``: each cause is named in plain words; exit 0 valid, 1 not, 2 usage.

The checks are the local bucket's; a test with the real local bucket shows both front ends agree.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from stubs_local_oss import KEYS, REGION, STS, Bucket

from shared.credentials import Credentials
from shared.devtools.cli import main
from shared.devtools.explain import Explanation, explain
from shared.oss.signer import presign

ROOT = Path(__file__).resolve().parent.parent
PRESIGN = json.loads((ROOT / "tests" / "data" / "oss4_presign.json").read_text("utf-8"))["vectors"]
AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
CREDS = Credentials("LTAI5tEXPLAINkey", "explain-secret")
TEMP = Credentials("STS.explain", "sts-secret", "CAIS+explain/token==")
ISOLATED = {"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true", "HOME": "/nonexistent",
            "ALIBABA_CLOUD_CREDENTIALS_FILE": "/nonexistent/credentials.ini"}
ENV = {**ISOLATED, "OSS_ACCESS_KEY_ID": CREDS.access_key_id, "OSS_ACCESS_KEY_SECRET": CREDS.access_key_secret}


def _url(key: str = "docs/a.txt", credentials: Credentials = CREDS, **options: object) -> str:
    request: dict[str, object] = {"bucket": "examplebucket", "region": "cn-hangzhou", "signing_time": AT, **options}
    return presign(credentials, key=key, **request).url  # type: ignore[arg-type]


def _explain(url: str, credentials: Credentials = CREDS, now: datetime = AT, **options: object) -> Explanation:
    return explain(url, credentials=credentials, now=now, **options)  # type: ignore[arg-type]


def test_valid_url() -> None:
    result = _explain(_url(), now=AT + timedelta(minutes=5))
    assert result.valid and result.causes == ("valid_until",)
    assert (result.request.method, result.request.bucket, result.request.key) == ("GET", "examplebucket", "docs/a.txt")
    assert result.render().startswith("valid: GET of key 'docs/a.txt' in bucket 'examplebucket'\n")
    assert "valid for 10 min more" in result.render()


@pytest.mark.parametrize(("name", "url", "now", "credentials", "cause", "words"), [
    ("expired", _url(), AT + timedelta(hours=1), CREDS, "expired", "expired at 2025-03-04T05:21:07Z, 45 min ago"),
    ("not yet valid", _url(), AT - timedelta(minutes=20), CREDS, "not_yet_valid", "not yet valid"),
    ("credential date", _url().replace("%2F20250304%2F", "%2F20250305%2F"), AT, CREDS, "credential_date",
     "credential date mismatch: the credential scope's date 20250305"),
    ("region", _url().replace("oss-cn-hangzhou", "oss-cn-beijing"), AT, CREDS, "region",
     "region mismatch: The credential is for region cn-hangzhou; the host is in cn-beijing"),
    ("token expected", _url(credentials=Credentials(TEMP.access_key_id, "sts-secret")), AT, TEMP, "token_missing",
     "a security token is expected"),
    ("token unexpected", _url(credentials=TEMP), AT, Credentials(TEMP.access_key_id, "sts-secret"),
     "token_unexpected", "the URL carries a security token"),
    ("token renewed", _url(credentials=TEMP), AT, Credentials(TEMP.access_key_id, "sts-secret", "CAIS+new"),
     "token_wrong", "not your credentials' token"),
    ("other access key", _url(), AT, Credentials("LTAI5tOTHER", "x"), "access_key",
     "signed with access key id LTAI5tEXPLAINkey, but your credentials are LTAI5tOTHER"),
    ("signature", _url()[:-4] + "0000", AT, CREDS, "signature", "signature mismatch"),
    ("malformed", _url().replace("x-oss-expires=900", "x-oss-expires=0"), AT, CREDS, "malformed", "x-oss-expires"),
])
def test_each_cause_is_named(name: str, url: str, now: datetime, credentials: Credentials, cause: str,
                             words: str) -> None:
    result = _explain(url, credentials, now)
    assert not result.valid and cause in result.causes
    assert words in result.render()


def test_plus_turned_into_a_space_in_the_key() -> None:
    url = _url("a+b c+d.txt")
    for broken in (url.replace("%2B", "%20"), url.replace("%2B", " ")):
        result = _explain(broken)
        assert not result.valid and result.causes[0] == "plus_as_space"
        assert "a '+' was turned into a space on the way (in the key)" in result.render()
    assert _explain(url.replace("%20", "+").replace("%2B", "+")).causes[0] == "signature"  # '+' kept, space lost


def test_plus_turned_into_a_space_in_the_token() -> None:
    url = _url(credentials=TEMP)
    assert "%2Bexplain" in url
    result = _explain(url.replace("%2Bexplain", "+explain"), TEMP)
    assert result.causes == ("plus_as_space",) and "in parameter x-oss-security-token" in result.render()


def test_signed_headers_the_client_must_send() -> None:
    url = _url(method="PUT", headers={"Content-Type": "text/plain", "Cache-Control": "no-cache"},
               additional_headers=["cache-control"])
    result = _explain(url)
    assert "header_missing" in result.causes and "must send: cache-control" in result.render()
    good = _explain(url, headers={"Content-Type": "text/plain", "cache-control": "no-cache"})
    assert good.valid and "the client must send: cache-control: no-cache, content-type: text/plain" in good.render()
    hinted = _explain(_url(method="PUT", headers={"Content-Type": "text/plain"}))
    assert hinted.causes == ("signature", "headers_hint") and "--header" in hinted.render()


def test_method_is_found_or_named() -> None:
    url = _url(method="PUT")
    assert _explain(url).valid and _explain(url).request.method == "PUT"
    result = _explain(url, method="GET")
    assert not result.valid and result.causes[0] == "method"
    assert "the URL is signed for PUT, not GET" in result.render()


def test_mismatch_shows_the_canonical_request_without_secrets() -> None:
    signed = presign(TEMP, bucket="examplebucket", key="k", region="cn-hangzhou", signing_time=AT)
    tampered = signed.url.replace("x-oss-expires=900", "x-oss-expires=901")
    text = _explain(tampered, TEMP).render()
    assert "x-oss-expires=901" in text and "x-oss-security-token=<redacted>" in text
    assert "(the security token shows as <redacted>)" in text
    for secret in (TEMP.security_token, quote(TEMP.security_token or "", safe=""), signed.url.rsplit("=", 1)[1]):
        assert secret not in text
    plain = presign(CREDS, bucket="examplebucket", key="k", region="cn-hangzhou", signing_time=AT)
    assert _explain(plain.url[:-1] + "x").canonical_request == plain.canonical_request


def test_addressing_styles() -> None:
    assert _explain(_url(endpoint="http://127.0.0.1:9000")).valid
    assert _explain(_url(endpoint="oss-cn-hangzhou.aliyuncs.com", path_style=True)).valid
    cname = _url(endpoint="static.example.com", cname=True)
    assert not _explain(cname).valid and _explain(cname, bucket="examplebucket").valid


@pytest.mark.parametrize("case", PRESIGN, ids=[c["name"] for c in PRESIGN])
def test_every_sdk_url_is_valid_for_its_key_and_method(case: dict) -> None:
    given = case["input"]
    credentials = Credentials(given["access_key_id"], given["access_key_secret"], given["security_token"])
    at = datetime.strptime(given["signing_time"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    result = _explain(case["reference_urls"]["oss2"], credentials, at, headers=given["headers"],
                      bucket=given["bucket"] if given["cname"] else None)
    assert result.valid, result.render()
    assert (result.request.bucket, result.request.key) == (given["bucket"], given["key"])
    assert result.request.method == given["method"]


def test_source_ip_restriction_is_mentioned() -> None:
    result = _explain(_url(params={"x-oss-ac-source-ip": "10.0.0.1"}))
    assert result.valid and "only requests from 10.0.0.1 are allowed" in result.render()


def _cli(argv: list[str], env: dict[str, str] = ENV) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(argv, environ=env, stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_cli_exit_status() -> None:
    now = datetime.now(timezone.utc)
    status, out, err = _cli(["explain", _url(signing_time=now)])
    assert (status, err) == (0, "") and out.startswith("valid: GET")
    status, out, _ = _cli(["explain", _url(), "--header", "X-Unused: 1"])
    assert status == 1 and "expired at 2025-03-04T05:21:07Z" in out
    assert _cli(["explain", _url(method="PUT", signing_time=now), "--method", "put"])[0] == 0


@pytest.mark.parametrize(("argv", "env", "words"), [
    (["explain", "not a url"], ENV, "URL must be an http(s) URL"),
    (["explain", "http://[::1/x"], ENV, "URL must be an http(s) URL"),
    (["explain", "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/k"], ENV, "not a presigned URL"),
    (["explain", "https://b.oss-cn-hangzhou.aliyuncs.com/k?OSSAccessKeyId=a&Expires=1&Signature=s"], ENV, "V1"),
    (["explain", _url(), "--header", "no colon"], ENV, "--header takes 'Name: value'"),
    (["explain", _url(), "--method", "FETCH"], ENV, "method must be one of"),
    (["explain", _url()], ISOLATED, "no source gave credentials"),
    (["explain"], ENV, "the following arguments are required: URL"),
    (["explain", _url(), "--bucket", "Bad_Bucket"], ENV, "bucket 'Bad_Bucket' is not a valid name"),
    (["explain", _url(), "--bucket", ""], ENV, "bucket is required"),
    (["explain", _url(), "--region", "cn hangzhou"], ENV, "region 'cn hangzhou' must be letters"),
    (["explain", _url(), "--region", ""], ENV, "region is required"),
    (["explain", _url(), "--method", ""], ENV, "method must be one of"),
    (["explain", _url(), "--header", "X-Bad\x01: v"], ENV, "is not a valid token"),
    (["explain", _url(), "--header", "x-oss-meta-a: 1\nInjected: 2"], ENV, "CR, LF or NUL"),
])
def test_cli_usage_errors(argv: list[str], env: dict[str, str], words: str) -> None:
    status, out, err = _cli(argv, env)
    assert (status, out) == (2, "")
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err


def test_a_url_whose_object_is_unknown_names_no_python_none() -> None:
    for url in (_url() + "&x-oss-expires=5", _url().replace("/docs/a.txt", "/")):
        status, out, err = _cli(["explain", url])
        assert (status, err) == (1, "") and out.startswith("NOT VALID: ")
        assert "None" not in out and "an unknown key in an unknown bucket" in out.splitlines()[0]


def test_cli_as_a_process() -> None:
    url = _url(signing_time=datetime.now(timezone.utc))
    done = subprocess.run([sys.executable, "-m", "shared", "explain", url], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=30)
    assert (done.returncode, done.stderr) == (0, "") and done.stdout.startswith("valid:")
    done = subprocess.run([sys.executable, "-m", "shared", "explain", "ftp://x"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_explain_and_the_local_bucket_agree(bucket: Bucket) -> None:
    put = bucket.presign("a+b c.txt", method="PUT")
    assert bucket.http.put(put.url, data=b"x", timeout=5).status_code == 200
    good = bucket.presign("a+b c.txt").url
    cases = [(good, KEYS), (good.replace("%2B", "%20"), KEYS), (good[:-1] + "x", KEYS),
             (bucket.presign("a+b c.txt", credentials=STS).url, STS),
             (bucket.presign("a+b c.txt", credentials=STS).url.replace("%2Blocal", "+local"), STS),
             (bucket.presign("a+b c.txt", region="cn-beijing").url, KEYS)]
    for url, credentials in cases:
        status = bucket.http.get(url, timeout=5).status_code
        assert (status == 200) == explain(url, credentials=credentials, now=bucket.clock(), method="GET",
                                               region=REGION).valid
    bucket.clock.advance(minutes=16)
    assert bucket.http.get(good, timeout=5).status_code == 403 and not explain(good, credentials=KEYS,
                                                                              now=bucket.clock()).valid


def test_a_put_signed_with_a_content_type_names_the_headers_to_send_not_a_method() -> None:
    result = _explain(_url(method="PUT", headers={"Content-Type": "text/plain"}))
    text = result.render()
    assert not result.valid and not result.method_known
    assert text.startswith("NOT VALID: key 'docs/a.txt' in bucket 'examplebucket', for no method (GET, PUT")
    assert "not valid: GET" not in text.lower() and "a PUT URL signed with a Content-Type" in text
    assert _explain(_url(method="PUT", headers={"Content-Type": "text/plain"}),
                    headers={"Content-Type": "text/plain"}).valid


def test_a_region_the_host_does_not_name_is_taken_from_the_deployment_or_said_unknown() -> None:
    url = _url(region="cn-beijing", endpoint="http://127.0.0.1:9100", path_style=True)
    unknown = _explain(url)
    assert unknown.valid and unknown.causes[-1] == "region_unknown"
    assert "signed for region cn-beijing" in unknown.render() and "--region" in unknown.render()
    local = _explain(url, fallback_region="cn-hangzhou")
    assert not local.valid and local.causes == ("region",)
    assert "cn-beijing" in local.render() and "cn-hangzhou" in local.render()
    assert _explain(url, region="cn-beijing").causes == ("valid_until",)


def test_cli_checks_the_region_against_oss_region_or_the_flag() -> None:
    now = datetime.now(timezone.utc)
    url = _url(region="cn-beijing", endpoint="http://127.0.0.1:9100", path_style=True, signing_time=now)
    status, out, _ = _cli(["explain", url], {**ENV, "OSS_REGION": "cn-hangzhou"})
    assert status == 1 and "region mismatch" in out and "cn-hangzhou" in out
    assert _cli(["explain", url, "--region", "cn-beijing"], {**ENV, "OSS_REGION": "cn-hangzhou"})[0] == 0


@pytest.mark.parametrize("key", [".", ".."])
def test_a_dot_segment_key_cannot_be_fetched_by_any_client(key: str) -> None:
    result = _explain(_url(key=key))
    assert not result.valid and result.causes[0] == "dot_segment"
    assert "cannot fetch its object from any client" in result.render()


def test_explain_and_the_local_bucket_agree_on_the_region(bucket: Bucket) -> None:
    url = bucket.presign("r.txt", region="cn-beijing").url
    assert bucket.http.get(url, timeout=5).status_code == 403
    assert not explain(url, credentials=KEYS, now=bucket.clock(), fallback_region=REGION).valid
