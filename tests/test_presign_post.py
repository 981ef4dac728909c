"""POST /presign/post: the presign app served on 127.0.0.1, driven with requests, answering signed PostObject forms
bound by the policy (POST in methods, max_size, key_prefix inside a prefix rule, the token's prefix claim), and
the forms it answers posted with requests (multipart) to the local bucket, which verifies them as OSS does."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from events import fc3_event
from http_servers import WsgiApp
from presign_env import ACCESS_KEY, API_KEY, JWT_SECRET, environment
from stubs_credentials import FakeClock
from stubs_local_oss import error_of

from shared.auth.authenticator import encode_jwt
from shared.credentials import Credentials
from shared.credentials.provider import CredentialsProvider
from shared.credentials.sources import ExplicitSource
from shared.devtools.local_oss import LocalOss
from shared.http.fc import serve_fc_event
from shared.http.wsgi import serve_wsgi
from shared.oss.post_policy import policy_signature
from shared.oss.signer import presign
from shared.presign.wiring import build_presign_app

NOW = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)
MIB = 1 << 20
BUCKET = "examplebucket"
ALICE = {"X-Api-Key": API_KEY}
STS = Credentials("STS.PresignPostTests", "sts-post-secret-0123456789", "CAISpost+token/==")
POLICY = {"principals": {"alice": [
    {"bucket": BUCKET, "prefix": "inbox/alice/", "methods": ["POST"], "max_size": MIB, "max_expires": 3600,
     "allow": ["content_type", "meta"]},
    {"bucket": BUCKET, "prefix": "uploads/alice/", "methods": ["PUT"], "allow": ["content_type", "meta"]},
    {"bucket": BUCKET, "keys": ["forms/*.pdf"], "methods": ["POST"]},
    {"bucket": BUCKET, "prefix": "big/", "methods": ["POST"]},
]}}
TIMEOUT = 10


class Served:
    """The presign app built from an environment, served on 127.0.0.1, with a clock and its audit log."""

    def __init__(self, start: Callable[[WsgiApp], str], clock: FakeClock, *, provider: CredentialsProvider | None,
                 **overrides: str) -> None:
        self.audit = io.StringIO()
        app = build_presign_app(environment(PRESIGN_POLICY=json.dumps(POLICY), **overrides), clock=clock,
                                provider=provider, audit_stream=self.audit)
        self.base = start(partial(serve_wsgi, app))

    def post(self, body: object, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.base}/presign/post", json=body, headers=ALICE if headers is None else headers,
                             timeout=TIMEOUT, **kwargs)

    def form(self, body: object, headers: dict[str, str] | None = None) -> dict[str, Any]:
        answer = self.post(body, headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.getvalue().splitlines()]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def serve(wsgi_server: Callable[[WsgiApp], str], clock: FakeClock) -> Callable[..., Served]:
    """Start the app with environment overrides (and a credentials provider)."""
    return lambda provider=None, **overrides: Served(wsgi_server, clock, provider=provider, **overrides)


@pytest.fixture
def api(serve: Callable[..., Served]) -> Served:
    return serve()


def conditions(form: dict[str, Any]) -> list[Any]:
    """The conditions of the form's policy, decoded from its base64 field."""
    return json.loads(base64.b64decode(form["fields"]["policy"]))["conditions"]


def jwt(**claims: object) -> dict[str, str]:
    base = {"sub": "alice", "exp": int((NOW + timedelta(hours=1)).timestamp())}
    return {"Authorization": "Bearer " + encode_jwt({**base, **claims}, JWT_SECRET)}


def test_a_key_gets_a_signed_form_bound_to_it(api: Served) -> None:
    form = api.form({"key": "inbox/alice/report.pdf", "expires": 600})
    assert set(form) == {"url", "fields", "expires_at", "max_size", "bucket", "key", "max_size_capped_by"}
    assert (form["url"], form["bucket"], form["key"]) == (f"https://{BUCKET}.oss-cn-hangzhou.aliyuncs.com/", BUCKET,
                                                          "inbox/alice/report.pdf")
    assert form["expires_at"] == "2026-11-21T06:10:00Z"
    fields = form["fields"]
    assert list(fields) == ["key", "policy", "x-oss-signature-version", "x-oss-credential", "x-oss-date",
                            "x-oss-signature"]
    assert fields["key"] == "inbox/alice/report.pdf" and fields["x-oss-date"] == "20261121T060000Z"
    assert fields["x-oss-credential"] == f"{ACCESS_KEY.access_key_id}/20261121/cn-hangzhou/oss/aliyun_v4_request"
    assert fields["x-oss-signature"] == policy_signature(ACCESS_KEY.access_key_secret, "20261121", "cn-hangzhou",
                                                         fields["policy"])
    document = json.loads(base64.b64decode(fields["policy"]))
    assert document["expiration"] == "2026-11-21T06:10:00.000Z"
    assert {"bucket": BUCKET} in document["conditions"]
    assert ["eq", "$key", "inbox/alice/report.pdf"] in document["conditions"]
    assert ["content-length-range", 0, MIB] in document["conditions"]


def test_a_key_prefix_lets_the_form_name_any_key_under_it(api: Served) -> None:
    form = api.form({"key_prefix": "inbox/alice/2026/"})
    assert form["key_prefix"] == "inbox/alice/2026/" and "key" not in form
    assert form["fields"]["key"] == "inbox/alice/2026/${filename}"
    assert ["starts-with", "$key", "inbox/alice/2026/"] in conditions(form)


def test_content_type_exact_and_by_prefix(api: Served) -> None:
    exact = api.form({"key": "inbox/alice/a.csv", "content_type": "text/csv; charset=utf-8"})
    assert exact["fields"]["Content-Type"] == "text/csv; charset=utf-8"
    assert ["eq", "$Content-Type", "text/csv; charset=utf-8"] in conditions(exact)
    by_prefix = api.form({"key_prefix": "inbox/alice/", "content_type": "image/"})
    assert "Content-Type" not in by_prefix["fields"]  # the browser sends the file's own type
    assert ["starts-with", "$Content-Type", "image/"] in conditions(by_prefix)


def test_status_and_meta_are_bound_fields(api: Served) -> None:
    form = api.form({"key": "inbox/alice/a", "success_action_status": 201, "meta": {"Owner": "alice"}})
    assert form["fields"]["success_action_status"] == "201" and form["fields"]["x-oss-meta-owner"] == "alice"
    assert {"success_action_status": "201"} in conditions(form) and {"x-oss-meta-owner": "alice"} in conditions(form)


def test_max_size_defaults_to_the_deployments_bound(serve: Callable[..., Served]) -> None:
    form = serve().form({"key": "big/disk.iso"})
    assert form["max_size"] == 100 * MIB and "max_size_capped_by" not in form
    assert ["content-length-range", 0, 100 * MIB] in conditions(form)
    form = serve(PRESIGN_MAX_UPLOAD_SIZE="2048").form({"key": "big/disk.iso"})
    assert form["max_size"] == 2048 and ["content-length-range", 0, 2048] in conditions(form)


def test_max_size_is_cut_to_the_rules_cap_and_says_so(serve: Callable[..., Served]) -> None:
    api = serve()
    under = api.form({"key": "inbox/alice/a", "max_size": 1000})
    assert under["max_size"] == 1000 and "max_size_capped_by" not in under
    over = api.form({"key": "inbox/alice/a", "max_size": 5 * MIB})
    assert (over["max_size"], over["max_size_capped_by"]) == (MIB, "policy")
    assert ["content-length-range", 0, MIB] in conditions(over)
    defaulted = api.form({"key": "inbox/alice/a"})  # the 100 MiB default is over the rule's 1 MiB too
    assert (defaulted["max_size"], defaulted["max_size_capped_by"]) == (MIB, "policy")
    # A rule without max_size is capped by PRESIGN_MAX_UPLOAD_SIZE, as PRESIGN_MAX_EXPIRES caps lifetimes.
    capped = serve(PRESIGN_MAX_UPLOAD_SIZE="4096").form({"key": "big/a", "max_size": 8192})
    assert (capped["max_size"], capped["max_size_capped_by"]) == (4096, "policy")


def test_expires_is_cut_by_the_policy_the_credentials_and_7_days(serve: Callable[..., Served],
                                                                 clock: FakeClock) -> None:
    form = serve().form({"key": "inbox/alice/a", "expires": 7200})
    assert (form["expires_at"], form["expires_capped_by"]) == ("2026-11-21T07:00:00Z", "policy")
    form = serve().form({"key": "big/a", "expires": 30 * 86400})
    assert (form["expires_at"], form["expires_capped_by"]) == ("2026-11-28T06:00:00Z", "max_v4_lifetime")
    form = serve().form({"key": "big/a"})
    assert form["expires_at"] == "2026-11-21T06:15:00Z" and "expires_capped_by" not in form  # the default 900 s
    expiring = Credentials(STS.access_key_id, STS.access_key_secret, STS.security_token, NOW + timedelta(minutes=20))
    form = serve(provider=ExplicitSource(expiring, clock=clock)).form({"key": "big/a", "expires": 3600})
    assert (form["expires_at"], form["expires_capped_by"]) == ("2026-11-21T06:19:00Z", "credentials")
    assert json.loads(base64.b64decode(form["fields"]["policy"]))["expiration"] == "2026-11-21T06:19:00.000Z"


def test_sts_credentials_add_the_security_token_field(serve: Callable[..., Served]) -> None:
    form = serve(OSS_ACCESS_KEY_ID=STS.access_key_id, OSS_ACCESS_KEY_SECRET=STS.access_key_secret,
                 OSS_SESSION_TOKEN=str(STS.security_token)).form({"key": "inbox/alice/a"})
    assert form["fields"]["x-oss-security-token"] == STS.security_token
    assert {"x-oss-security-token": STS.security_token} in conditions(form)
    assert form["fields"]["x-oss-credential"].startswith(STS.access_key_id + "/")


REFUSED = {
    "outside-every-rule": ({"key": "secret/a.pdf"}, 403, "AccessDenied"),
    "key_prefix-wider-than-the-rule": ({"key_prefix": "inbox/"}, 403, "AccessDenied"),
    "key_prefix-sibling": ({"key_prefix": "inbox/alicex/"}, 403, "AccessDenied"),
    "key_prefix-on-a-keys-rule": ({"key_prefix": "forms/"}, 403, "AccessDenied"),
    "keys-rule-exact-keys-only": ({"key": "forms/sub/a.pdf"}, 403, "AccessDenied"),
    "put-rule-grants-no-form": ({"key": "uploads/alice/a.csv"}, 403, "AccessDenied"),
    "option-not-allowed-by-the-rule": ({"key": "big/a", "content_type": "text/plain"}, 403, "AccessDenied"),
    "dot-segment": ({"key_prefix": "inbox/alice/../bob/"}, 403, "AccessDenied"),
    "unknown-field": ({"key": "inbox/alice/a", "method": "POST"}, 400, "InvalidArgument"),
    "min_size-is-not-a-field": ({"key": "inbox/alice/a", "min_size": 1}, 400, "InvalidArgument"),
    "both-key-and-key_prefix": ({"key": "inbox/alice/a", "key_prefix": "inbox/alice/"}, 400, "InvalidArgument"),
    "neither-key-nor-key_prefix": ({"max_size": 10}, 400, "InvalidArgument"),
    "filename-in-a-key": ({"key": "inbox/alice/${filename}"}, 400, "InvalidArgument"),
    "key_prefix-with-a-placeholder": ({"key_prefix": "inbox/alice/${x}/"}, 400, "InvalidArgument"),
    "key_prefix-with-a-leading-slash": ({"key_prefix": "/inbox/alice/"}, 400, "InvalidArgument"),
    "max_size-zero": ({"key": "inbox/alice/a", "max_size": 0}, 400, "InvalidArgument"),
    "max_size-over-5-gib": ({"key": "big/a", "max_size": (5 << 30) + 1}, 400, "InvalidArgument"),
    "max_size-text": ({"key": "big/a", "max_size": "1MB"}, 400, "InvalidArgument"),
    "expires-over-a-year": ({"key": "big/a", "expires": 31_536_001}, 400, "InvalidArgument"),
    "status-202": ({"key": "big/a", "success_action_status": 202}, 400, "InvalidArgument"),
    "status-as-text": ({"key": "big/a", "success_action_status": "201"}, 400, "InvalidArgument"),
    "status-float": ({"key": "big/a", "success_action_status": 201.0}, 400, "InvalidArgument"),
    "content-type-star": ({"key": "inbox/alice/a", "content_type": "image/*"}, 400, "InvalidArgument"),
    "content-type-bare-slash": ({"key": "inbox/alice/a", "content_type": "/"}, 400, "InvalidArgument"),
    "content-type-no-subtype": ({"key": "inbox/alice/a", "content_type": "image"}, 400, "InvalidArgument"),
    "content-type-newline": ({"key": "inbox/alice/a", "content_type": "text/plain\r\nx: y"}, 400,
                             "InvalidArgument"),
    "meta-bad-name": ({"key": "inbox/alice/a", "meta": {"a b": "c"}}, 400, "InvalidArgument"),
    "bad-bucket": ({"key": "inbox/alice/a", "bucket": "Not_A_Bucket"}, 400, "InvalidArgument"),
    "other-bucket": ({"key": "inbox/alice/a", "bucket": "otherbucket"}, 403, "AccessDenied"),
    "not-an-object": ([{"key": "inbox/alice/a"}], 400, "InvalidArgument"),
}


@pytest.mark.parametrize(("body", "status", "code"), REFUSED.values(), ids=REFUSED.keys())
def test_refused(api: Served, body: object, status: int, code: str) -> None:
    answer = api.post(body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    if status == 403:
        assert answer.json()["error"]["message"] == "not allowed by the policy"
    refusal = api.lines()[-1]
    assert refusal["event"] == "refused" and refusal["path"] == "/presign/post"


def test_errors_name_the_field(api: Served) -> None:
    assert api.post({"key": "inbox/alice/a", "colour": "red"}).json()["error"]["message"] == \
        "unknown field 'colour'; /presign/post takes key, key_prefix, bucket, content_type, max_size, expires, " \
        "success_action_status, meta"
    assert "give exactly one of key and key_prefix" in api.post({}).json()["error"]["message"]
    assert "send the part before it as key_prefix" in api.post({"key": "a/${filename}"}).json()["error"]["message"]
    assert "give the type and '/' ('image/')" in \
        api.post({"key": "inbox/alice/a", "content_type": "image/*"}).json()["error"]["message"]
    assert api.post({"key": "big/a", "max_size": 0}).json()["error"]["message"] == \
        "max_size must be 1..5368709120, got 0"


def test_the_token_prefix_claim_narrows_the_form(api: Served) -> None:
    narrowed = jwt(prefix="inbox/alice/2026/")
    assert api.form({"key_prefix": "inbox/alice/2026/"}, narrowed)["key_prefix"] == "inbox/alice/2026/"
    assert api.form({"key": "inbox/alice/2026/a.pdf"}, narrowed)["key"] == "inbox/alice/2026/a.pdf"
    for body in ({"key_prefix": "inbox/alice/"}, {"key": "inbox/alice/a.pdf"}, {"key_prefix": "inbox/alice/2026"}):
        assert api.post(body, narrowed).status_code == 403
    assert api.lines()[-1]["reason"] == "key is outside the token's prefix claim"


def test_authentication_json_and_method(api: Served) -> None:
    assert api.post({"key": "inbox/alice/a"}, headers={}).status_code == 401
    assert api.post({"key": "inbox/alice/a"}, headers={"X-Api-Key": "wrong-key-0123456789"}).status_code == 401
    wrong_type = requests.post(f"{api.base}/presign/post", data="key=inbox/alice/a", headers=ALICE, timeout=TIMEOUT)
    assert wrong_type.status_code == 415
    get = requests.get(f"{api.base}/presign/post", params={"key": "inbox/alice/a"}, headers=ALICE, timeout=TIMEOUT)
    assert (get.status_code, get.headers["Allow"]) == (405, "POST")


def test_the_audit_line_names_the_form_never_its_signature_or_token(serve: Callable[..., Served]) -> None:
    api = serve(OSS_ACCESS_KEY_ID=STS.access_key_id, OSS_ACCESS_KEY_SECRET=STS.access_key_secret,
                OSS_SESSION_TOKEN=str(STS.security_token))
    form = api.form({"key_prefix": "inbox/alice/", "max_size": 2048})
    line = api.lines()[-1]
    assert line == {"time": "2026-11-21T06:00:00Z", "event": "issued", "request_id": line["request_id"],
                    "principal": "alice", "bucket": BUCKET,
                    "key_prefix": "inbox/alice/", "method": "POST", "expires_at": "2026-11-21T06:15:00Z",
                    "max_size": 2048, "client_ip": "127.0.0.1",
                    "policy_sha256": hashlib.sha256(form["fields"]["policy"].encode()).hexdigest(),
                    "rule": "principals.alice[0]"}
    log = api.audit.getvalue()
    for secret in (form["fields"]["x-oss-signature"], form["fields"]["policy"], str(STS.security_token),
                   STS.access_key_secret):
        assert secret not in log


def test_a_bad_max_upload_size_is_a_config_error(serve: Callable[..., Served]) -> None:
    for value in ("0", "-1", "100MB", str((5 << 30) + 1)):
        answer = serve(PRESIGN_MAX_UPLOAD_SIZE=value).post({"key": "big/a"})
        assert (answer.status_code, answer.json()["error"]["code"]) == (500, "ConfigError"), value
        assert "PRESIGN_MAX_UPLOAD_SIZE must be a whole number of bytes from 1 to 5368709120" in \
            answer.json()["error"]["message"]


# --- The whole way: the answer's url and fields, posted by requests as multipart/form-data to the local bucket ---


@pytest.fixture
def bucket(tmp_path: Path, clock: FakeClock) -> Iterator[LocalOss]:
    with LocalOss(tmp_path / "oss", credentials=[ACCESS_KEY, STS], region="cn-hangzhou", clock=clock,
                  buckets=[BUCKET]) as oss:
        yield oss


@pytest.fixture
def local(serve: Callable[..., Served], bucket: LocalOss) -> Served:
    """The app signing for the local bucket."""
    return serve(OSS_ENDPOINT=bucket.endpoint)


def upload(form: dict[str, Any], data: bytes, *, filename: str = "a.bin", file_type: str = "application/octet-stream",
           extra: dict[str, str] | None = None) -> requests.Response:
    """Post the form as a browser would: its fields in order, then the file."""
    return requests.post(form["url"], data={**form["fields"], **(extra or {})},
                         files={"file": (filename, data, file_type)}, timeout=TIMEOUT)


def stored(bucket: LocalOss, key: str) -> requests.Response:
    url = presign(ACCESS_KEY, bucket=BUCKET, key=key, region="cn-hangzhou", endpoint=bucket.endpoint,
                  signing_time=NOW, expires=60).url
    return requests.get(url, timeout=TIMEOUT)


def test_end_to_end_a_key_prefix_form_uploads_the_file_under_its_name(local: Served, bucket: LocalOss) -> None:
    form = local.form({"key_prefix": "inbox/alice/", "content_type": "image/", "success_action_status": 201,
                       "meta": {"owner": "alice"}})
    assert form["url"] == f"{bucket.endpoint}/{BUCKET}/"
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
    answer = upload(form, picture, filename="cat 1.png", file_type="image/png", extra={"Content-Type": "image/png"})
    assert answer.status_code == 201, answer.text
    assert b"<Key>inbox/alice/cat 1.png</Key>" in answer.content
    assert answer.headers["ETag"] == '"' + hashlib.md5(picture).hexdigest().upper() + '"'
    got = stored(bucket, "inbox/alice/cat 1.png")
    assert got.content == picture
    assert (got.headers["Content-Type"], got.headers["x-oss-meta-owner"]) == ("image/png", "alice")


def test_end_to_end_a_key_form_with_sts_credentials(serve: Callable[..., Served], bucket: LocalOss) -> None:
    api = serve(OSS_ENDPOINT=bucket.endpoint, OSS_ACCESS_KEY_ID=STS.access_key_id,
                OSS_ACCESS_KEY_SECRET=STS.access_key_secret, OSS_SESSION_TOKEN=str(STS.security_token))
    form = api.form({"key": "inbox/alice/report.csv", "content_type": "text/csv"})
    answer = upload(form, b"a,b\n1,2\n", filename="whatever.csv", file_type="text/csv")
    assert answer.status_code == 204, answer.text
    assert answer.headers["Location"] == f"{bucket.endpoint}/{BUCKET}/inbox/alice/report.csv"
    got = stored(bucket, "inbox/alice/report.csv")
    assert (got.content, got.headers["Content-Type"]) == (b"a,b\n1,2\n", "text/csv")


def test_end_to_end_the_size_bound_holds(local: Served, bucket: LocalOss) -> None:
    form = local.form({"key": "inbox/alice/small.bin", "max_size": 1000})
    assert upload(form, b"x" * 1000).status_code == 204
    answer = upload(form, b"x" * 1001)
    assert (answer.status_code, error_of(answer)["Code"]) == (400, "EntityTooLarge")
    capped = local.form({"key": "inbox/alice/big.bin", "max_size": 5 * MIB})  # cut to the rule's 1 MiB
    assert upload(capped, b"x" * MIB).status_code == 204
    answer = upload(capped, b"x" * (MIB + 1))
    assert (answer.status_code, error_of(answer)["Code"]) == (400, "EntityTooLarge")
    assert stored(bucket, "inbox/alice/big.bin").content == b"x" * MIB  # the refused one replaced nothing


SMUGGLED = {
    "a key outside the prefix": {"key": "inbox/bob/a.bin"},
    "a meta field not asked for": {"x-oss-meta-role": "admin"},
    "a content type outside the prefix": {"Content-Type": "text/html"},
    "another status": {"success_action_status": "200"},
    "a field no condition names": {"Cache-Control": "no-cache"},
}


@pytest.mark.parametrize("extra", SMUGGLED.values(), ids=SMUGGLED.keys())
def test_end_to_end_nothing_unauthorized_passes_in_the_form(local: Served, bucket: LocalOss,
                                                            extra: dict[str, str]) -> None:
    form = local.form({"key_prefix": "inbox/alice/", "content_type": "image/", "success_action_status": 201})
    answer = upload(form, b"\x89PNG", filename="a.png", file_type="image/png",
                    extra={"Content-Type": "image/png", **extra})
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "AccessDenied"), answer.text
    assert stored(bucket, "inbox/alice/a.png").status_code == 404
    assert stored(bucket, "inbox/bob/a.bin").status_code == 404


def test_end_to_end_the_form_expires(local: Served, bucket: LocalOss, clock: FakeClock) -> None:
    form = local.form({"key": "inbox/alice/late.bin", "expires": 60})
    clock.advance(seconds=61)
    answer = upload(form, b"late")
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "AccessDenied"), answer.text
    assert "expired" in error_of(answer)["Message"].lower()


def test_end_to_end_on_function_compute_with_the_function_roles_credentials(bucket: LocalOss,
                                                                           clock: FakeClock) -> None:
    """As deployed: an FC 3.0 HTTP trigger event, signed with the invocation context's STS credentials."""

    class Context:
        request_id = "fc-req-1"

        class credentials:
            access_key_id = STS.access_key_id
            access_key_secret = STS.access_key_secret
            security_token = STS.security_token

    app = build_presign_app(environment(PRESIGN_POLICY=json.dumps(POLICY), OSS_ENDPOINT=bucket.endpoint),
                            clock=clock, audit_stream=io.StringIO())
    event = fc3_event("POST", "/presign/post", headers={**ALICE, "Content-Type": "application/json"},
                      body=json.dumps({"key_prefix": "inbox/alice/fc/", "max_size": 64}))
    answer = serve_fc_event(app, event, Context())
    assert answer["statusCode"] == 200, answer["body"]
    form = json.loads(str(answer["body"]))
    assert form["fields"]["x-oss-security-token"] == STS.security_token
    assert upload(form, b"from the function role", filename="role.txt").status_code == 204
    assert stored(bucket, "inbox/alice/fc/role.txt").content == b"from the function role"
    too_large = upload(form, b"x" * 65, filename="big.txt")
    assert (too_large.status_code, error_of(too_large)["Code"]) == (400, "EntityTooLarge")


def test_a_page_on_a_listed_origin_may_ask_for_a_form(serve: Callable[..., Served]) -> None:
    api = serve(PRESIGN_CORS_ORIGINS="https://app.example.com")
    preflight = requests.options(f"{api.base}/presign/post", timeout=TIMEOUT, headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
    answer = api.post({"key": "inbox/alice/a"}, headers={**ALICE, "Origin": "https://app.example.com"})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


FUZZ_FIELDS = ["key", "key_prefix", "bucket", "content_type", "max_size", "expires", "success_action_status", "meta"]
FUZZ_UNKNOWN = ["method", "min_size", "x-oss-meta-a", "policy", "x-oss-signature"]
FUZZ_ATOMS = ["inbox/alice/", "inbox/alice/a.pdf", "inbox/", "inbox/alicex/", "inbox/alice/../x", "forms/a.pdf",
              "forms/", "big/", "big/a", "uploads/alice/a", "", "/", "${filename}", "inbox/alice/${filename}", "$",
              "image/", "image/*", "text/html", "a" * 1100, "\r\n", "\x00", "é😀", 0, 1, -1, 200, 201, 204, 1.5,
              MIB, 5 << 30, (5 << 30) + 1, 10**25, True, None, [], {"owner": "x"}, {"a b": "c"}, "examplebucket"]


def _fuzz_body(rng: random.Random) -> object:
    body = {rng.choice(FUZZ_FIELDS if rng.random() < 0.95 else FUZZ_UNKNOWN): rng.choice(FUZZ_ATOMS)
            for _ in range(rng.randint(0, 4))}
    if rng.random() < 0.6:
        body.pop("key_prefix" if rng.random() < 0.5 else "key", None)
        body[rng.choice(["key", "key_prefix"])] = rng.choice(FUZZ_ATOMS[:14])
    return body if rng.random() < 0.95 else rng.choice([[], "text", 7])


def _allowed_scope(condition: list[Any]) -> int | None:
    """The most bytes a POST rule of POLICY lets a form with this key condition upload; None if none allows it."""
    operator, _, value = condition
    if value.startswith("inbox/alice/") and ".." not in value.split("/"):
        return MIB
    if value.startswith("big/"):
        return 100 * MIB
    return MIB * 100 if operator == "eq" and value.startswith("forms/") and value.endswith(".pdf") else None


def _keep_status(started: list[str], status: str, headers: list[tuple[str, str]]) -> None:
    started.append(status)


@pytest.mark.parametrize("seed", range(3))
def test_fuzz_every_form_stays_inside_the_policy(seed: int, clock: FakeClock) -> None:
    """Random bodies: a documented status with the JSON error shape, and every form answered is one the policy
    allows: its key condition under a POST rule, its size within that rule's cap, its life within max_expires."""
    app = build_presign_app(environment(PRESIGN_POLICY=json.dumps(POLICY)), clock=clock, audit_stream=io.StringIO())
    rng = random.Random(seed)
    issued = 0
    deadline = time.monotonic() + 8
    for _ in range(800):
        if time.monotonic() > deadline:
            break
        raw = json.dumps(_fuzz_body(rng)).encode()
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/presign/post", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw), "HTTP_X_API_KEY": API_KEY,
                   "REMOTE_ADDR": "198.51.100.9"}
        started: list[str] = []
        body = json.loads(b"".join(serve_wsgi(app, environ, partial(_keep_status, started))))
        status = int(started[0].split()[0])
        assert status in (200, 400, 403), (raw, body)
        if status != 200:
            assert set(body["error"]) == {"code", "message", "request_id"}
            continue
        issued += 1
        document = json.loads(base64.b64decode(body["fields"]["policy"]))
        (key_condition,) = [c for c in document["conditions"] if isinstance(c, list) and c[1] == "$key"]
        cap = _allowed_scope(key_condition)
        assert cap is not None, raw
        (size,) = [c for c in document["conditions"] if isinstance(c, list) and c[0] == "content-length-range"]
        assert size[1] == 0 and 1 <= size[2] <= cap and size[2] == body["max_size"]
        limit = 3600 if key_condition[2].startswith("inbox/alice/") else 604800
        assert datetime.fromisoformat(document["expiration"].replace("Z", "+00:00")) <= NOW + timedelta(seconds=limit)
        named = {next(iter(c)) if isinstance(c, dict) else str(c[1]).lstrip("$") for c in document["conditions"]}
        assert set(body["fields"]) - {"policy", "x-oss-signature"} <= named  # every field sent is bound
    assert issued > 20  # the fuzzer reaches the signing path (about 40 forms a seed)
