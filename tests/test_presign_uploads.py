"""The S3 routes (Uppy's ``@uppy/aws-s3`` protocol): the presign app served on 127.0.0.1 in front of the local
bucket, driven with requests exactly as Uppy 4 sends them (Accept: application/json, Content-Type:
application/json with a body, the key encodeURIComponent-ed into ?key=, the upload id in the path), and the
part URLs it answers PUT to the local bucket, which keeps and checks the parts as OSS does."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from events import fc3_event
from http_servers import WsgiApp
from presign_env import ACCESS_KEY, API_KEY, JWT_SECRET, environment
from stubs_credentials import FakeClock

from shared.auth.authenticator import encode_jwt
from shared.credentials import Credentials
from shared.devtools.local_oss import LocalOss
from shared.http.fc import serve_fc_event
from shared.http.wsgi import serve_wsgi
from shared.oss.signer import presign
from shared.presign.wiring import build_presign_app

NOW = datetime(2026, 12, 2, 7, 0, 0, tzinfo=timezone.utc)
KIB = 1 << 10
BUCKET = "examplebucket"
BOB_KEY = "bob-api-key-0123456789abcdef"
ORIGIN = "https://app.example.com"
STS = Credentials("STS.UploadTests", "sts-upload-secret-0123456789", "CAISupload+token/==")
POLICY = {"principals": {
    "alice": [{"bucket": BUCKET, "prefix": "uploads/alice/", "methods": ["PUT", "POST"], "max_size": 600 * KIB,
               "allow": ["multipart"]}],
    "bob": [{"bucket": BUCKET, "prefix": "uploads/bob/", "methods": ["PUT"], "allow": ["multipart"]}],
    "carol": [{"bucket": BUCKET, "prefix": "uploads/carol/", "methods": ["PUT"]}],  # presigned PUT, no multipart
}}
TIMEOUT = 10


def encode_uri_component(text: str) -> str:
    """JavaScript's encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) escaped."""
    return quote(text, safe="-_.!~*'()")


def bearer(sub: str = "alice", **claims: object) -> dict[str, str]:
    token = encode_jwt({"sub": sub, "exp": int((NOW + timedelta(hours=1)).timestamp()), **claims}, JWT_SECRET)
    return {"Authorization": f"Bearer {token}"}


AUTH = {"api-key": {"X-Api-Key": API_KEY}, "bearer": bearer()}
BOB = {"X-Api-Key": BOB_KEY}


class Uppy:
    """The requests Uppy's S3 plugin sends to ``endpoint`` with the configured ``headers``."""

    def __init__(self, endpoint: str, headers: dict[str, str]) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.headers = headers

    def send(self, method: str, path: str, *, key: str | None = None, query: str = "",
             body: object = None, headers: dict[str, str] | None = None) -> requests.Response:
        sent = {"Accept": "application/json", **self.headers, **(headers or {})}
        data = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            data = json.dumps(body)
        params = "&".join(part for part in (f"key={encode_uri_component(key)}" if key is not None else "", query)
                          if part)
        url = f"{self.endpoint}/s3/{path}" + (f"?{params}" if params else "")
        return requests.request(method, url, data=data, headers=sent, timeout=TIMEOUT)

    def create(self, filename: str = "film.mp4", type: str = "video/mp4",
               metadata: dict[str, str] | None = None) -> dict[str, str]:
        answer = self.send("POST", "multipart", body={"filename": filename, "type": type,
                                                      "metadata": metadata or {"name": filename, "type": type}})
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def sign_part(self, upload: dict[str, str], number: int) -> dict[str, Any]:
        answer = self.send("GET", f"multipart/{encode_uri_component(upload['uploadId'])}/{number}",
                           key=upload["key"])
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def upload_parts(self, upload: dict[str, str], chunks: list[bytes]) -> list[dict[str, object]]:
        """Sign and PUT each part as Uppy does (no Content-Type); the parts with the ETags OSS answered."""
        parts = []
        for number, chunk in enumerate(chunks, 1):
            put = requests.put(self.sign_part(upload, number)["url"], data=chunk, timeout=TIMEOUT)
            assert put.status_code == 200, put.text
            parts.append({"PartNumber": number, "ETag": put.headers["ETag"]})
        return parts

    def list(self, upload: dict[str, str]) -> requests.Response:
        return self.send("GET", f"multipart/{encode_uri_component(upload['uploadId'])}", key=upload["key"])

    def complete(self, upload: dict[str, str], parts: list[dict[str, object]]) -> requests.Response:
        return self.send("POST", f"multipart/{encode_uri_component(upload['uploadId'])}/complete",
                         key=upload["key"], body={"parts": parts})

    def abort(self, upload: dict[str, str]) -> requests.Response:
        return self.send("DELETE", f"multipart/{encode_uri_component(upload['uploadId'])}", key=upload["key"])


class Served:
    """The presign app for the local bucket, served on 127.0.0.1, with its audit log."""

    def __init__(self, start: Callable[[WsgiApp], str], clock: FakeClock, oss: LocalOss, **overrides: str) -> None:
        self.audit = io.StringIO()
        keys = ",".join(f"{name}:{hashlib.sha256(key.encode()).hexdigest()}" for name, key in (("alice", API_KEY),
                                                                                             ("bob", BOB_KEY)))
        environ = environment(PRESIGN_POLICY=json.dumps(POLICY), OSS_ENDPOINT=oss.endpoint, PRESIGN_API_KEYS=keys,
                              PRESIGN_CORS_ORIGINS=ORIGIN, **overrides)
        app = build_presign_app(environ, clock=clock, audit_stream=self.audit)
        self.base = start(partial(serve_wsgi, app))
        self.oss = oss

    def uppy(self, headers: dict[str, str]) -> Uppy:
        return Uppy(self.base + "/", headers)  # Uppy strips the trailing '/' of endpoint

    def stored(self, key: str) -> requests.Response:
        url = presign(ACCESS_KEY, bucket=BUCKET, key=key, region="cn-hangzhou", endpoint=self.oss.endpoint,
                      signing_time=NOW, expires=600).url
        return requests.get(url, timeout=TIMEOUT)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.getvalue().splitlines()]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def oss(tmp_path: Path) -> Iterator[LocalOss]:
    with LocalOss(tmp_path / "oss", credentials=[ACCESS_KEY, STS], region="cn-hangzhou", buckets=[BUCKET],
                  clock=lambda: NOW) as running:
        yield running


@pytest.fixture
def serve(wsgi_server: Callable[[WsgiApp], str], clock: FakeClock, oss: LocalOss) -> Callable[..., Served]:
    return lambda **overrides: Served(wsgi_server, clock, oss, **overrides)


@pytest.fixture
def api(serve: Callable[..., Served]) -> Served:
    return serve()


def assert_refused(answer: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"]["code"] == code
    assert body["message"] == body["error"]["message"]  # all Uppy shows its user
    return body  # type: ignore[no-any-return]


# --- each route, with an API key and a bearer token -----------------------------------------------------------

@pytest.mark.parametrize("auth", AUTH, ids=list(AUTH))
def test_a_multipart_upload_through_every_route(api: Served, auth: str) -> None:
    uppy = api.uppy(AUTH[auth])
    upload = uppy.create("holiday film.mp4")
    assert set(upload) == {"uploadId", "key"}
    prefix, day, uuid, name = upload["key"].rsplit("/", 3)
    assert (prefix, day, name) == ("uploads/alice", "2026-12-02", "holiday film.mp4") and len(uuid) == 36
    signed = uppy.sign_part(upload, 1)
    assert set(signed) == {"url", "expires", "headers"} and signed["headers"] == {} and signed["expires"] == 900
    query = parse_qs(urlsplit(signed["url"]).query)
    assert query["partNumber"] == ["1"] and query["uploadId"] == [upload["uploadId"]]
    assert "x-oss-additional-headers" not in query  # no Content-Type signed: Uppy's part PUTs send none
    chunks = [b"a" * (200 * KIB), b"b" * (200 * KIB), b"tail"]
    parts = uppy.upload_parts(upload, chunks)
    listed = uppy.list(upload)
    assert listed.status_code == 200
    assert listed.json() == [{"PartNumber": n, "Size": len(c), "ETag": p["ETag"]}
                             for n, c, p in zip((1, 2, 3), chunks, parts, strict=True)]
    batch = uppy.send("GET", f"multipart/{upload['uploadId']}/batch", key=upload["key"], query="partNumbers=3,1")
    assert batch.status_code == 200 and list(batch.json()["presignedUrls"]) == ["3", "1"]
    if auth == "bearer":  # ETags arrive with their quotes, or without
        parts = [{"PartNumber": p["PartNumber"], "ETag": str(p["ETag"]).strip('"')} for p in parts]
    done = uppy.complete(upload, parts)
    assert done.status_code == 200, done.text
    assert done.json()["location"].endswith("/" + quote(upload["key"]))
    stored = api.stored(upload["key"])
    assert hashlib.sha256(stored.content).digest() == hashlib.sha256(b"".join(chunks)).digest()
    assert stored.headers["Content-Type"] == "video/mp4" and done.json()["etag"] == stored.headers["ETag"]
    assert not [name for name in stored.headers if name.lower().startswith("x-oss-meta-")]  # none listed: none kept


@pytest.mark.parametrize("auth", AUTH, ids=list(AUTH))
def test_abort_answers_204_and_the_upload_is_gone(api: Served, auth: str) -> None:
    uppy = api.uppy(AUTH[auth])
    upload = uppy.create()
    uppy.upload_parts(upload, [b"x" * (100 * KIB)])
    aborted = uppy.abort(upload)
    assert aborted.status_code == 204 and aborted.content == b""
    assert_refused(uppy.list(upload), 404, "NoSuchUpload")
    assert_refused(uppy.abort(upload), 404, "NoSuchUpload")


@pytest.mark.parametrize("auth", AUTH, ids=list(AUTH))
def test_params_answers_a_form_the_local_bucket_accepts(api: Served, auth: str) -> None:
    uppy = api.uppy(AUTH[auth])
    answer = uppy.send("GET", "params", query="filename=notes%20%C3%A9t%C3%A9.txt&type=text%2Fplain"
                                              "&metadata%5Bname%5D=notes.txt&metadata%5Btype%5D=text%2Fplain")
    assert answer.status_code == 200, answer.text
    form = answer.json()
    assert set(form) == {"method", "url", "fields", "headers", "expires"}
    assert (form["method"], form["headers"], form["expires"]) == ("POST", {}, 900)
    key = form["fields"]["key"]
    assert key.startswith("uploads/alice/2026-12-02/") and key.endswith("/notes été.txt")
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("notes.txt", b"hello", "text/plain")},
                           timeout=TIMEOUT)
    assert posted.status_code == 201, posted.text
    assert api.stored(key).content == b"hello"
    too_big = requests.post(form["url"], data=form["fields"], timeout=TIMEOUT,
                            files={"file": ("notes.txt", b"x" * (600 * KIB + 1), "text/plain")})
    assert too_big.status_code == 400  # the rule's max_size bounds the form too


# --- metadata and keys -----------------------------------------------------------------------------------------

def test_only_the_listed_metadata_names_become_x_oss_meta(serve: Callable[..., Served]) -> None:
    api = serve(PRESIGN_UPLOAD_META="Owner,project")
    uppy = api.uppy(AUTH["api-key"])
    upload = uppy.create("a.bin", "application/octet-stream",
                         {"name": "a.bin", "type": "application/octet-stream", "owner": "alice", "colour": "red"})
    done = uppy.complete(upload, uppy.upload_parts(upload, [b"z" * 10]))
    assert done.status_code == 200, done.text
    meta = {name.lower(): value for name, value in api.stored(upload["key"]).headers.items()
            if name.lower().startswith("x-oss-meta-")}
    assert meta == {"x-oss-meta-owner": "alice"}
    refused = uppy.send("POST", "multipart", body={"filename": "a", "type": "", "metadata": {"owner": "\u00e9"}})
    assert_refused(refused, 400, "InvalidArgument")["message"].startswith("metadata.owner must be ASCII")


def test_a_template_makes_the_key_and_cleans_the_filename(serve: Callable[..., Served]) -> None:
    api = serve(PRESIGN_UPLOAD_KEY="uploads/{principal}/{filename}")
    uppy = api.uppy(AUTH["api-key"])
    assert uppy.create("../../etc/passwd")["key"] == "uploads/alice/.._.._etc_passwd"
    assert uppy.create("..")["key"] == "uploads/alice/file"
    assert uppy.create("Cafe\u0301\u202e\n.txt")["key"] == "uploads/alice/Caf\u00e9.txt"  # NFC, no controls
    long = uppy.create("\u00e9" * 300 + ".jpeg")["key"].rsplit("/", 1)[1]
    assert long.endswith(".jpeg") and len(long.encode()) <= 200


def test_a_bad_template_is_a_config_error(serve: Callable[..., Served]) -> None:
    api = serve(PRESIGN_UPLOAD_KEY="uploads/{user}/{filename}")
    answer = api.uppy(AUTH["api-key"]).send("POST", "multipart", body={"filename": "a"})
    assert answer.status_code == 500 and "PRESIGN_UPLOAD_KEY has the unknown placeholder {user}" in answer.text


# --- ownership and the policy ----------------------------------------------------------------------------------

def test_another_principals_upload_is_refused(api: Served) -> None:
    alice, bob = api.uppy(AUTH["api-key"]), api.uppy(BOB)
    upload = alice.create()
    parts = alice.upload_parts(upload, [b"p" * 10])
    for answer in (bob.send("GET", f"multipart/{upload['uploadId']}/1", key=upload["key"]), bob.list(upload),
                   bob.send("GET", f"multipart/{upload['uploadId']}/batch", key=upload["key"],
                            query="partNumbers=1"),
                   bob.complete(upload, parts), bob.abort(upload)):
        assert_refused(answer, 403, "AccessDenied")
    # Bob's own key with Alice's upload id: OSS's NoSuchUpload, in our shape.
    mine = bob.create()
    assert_refused(bob.list({"uploadId": upload["uploadId"], "key": mine["key"]}), 404, "NoSuchUpload")
    assert_refused(bob.complete({"uploadId": upload["uploadId"], "key": mine["key"]}, parts), 404, "NoSuchUpload")
    assert alice.complete(upload, parts).status_code == 200  # untouched


def test_the_policy_must_grant_multipart_and_the_token_prefix_narrows(api: Served) -> None:
    carol = api.uppy({"X-Api-Key": API_KEY})
    carol.headers = bearer("carol")
    assert_refused(carol.send("POST", "multipart", body={"filename": "a"}), 403, "AccessDenied")
    narrowed = api.uppy(bearer(prefix="uploads/alice/2026-12-02/"))
    assert narrowed.create()["key"].startswith("uploads/alice/2026-12-02/")
    elsewhere = api.uppy(bearer(prefix="uploads/alice/archive/"))
    assert_refused(elsewhere.send("POST", "multipart", body={"filename": "a"}), 403, "AccessDenied")
    refused = [line for line in api.lines() if line["event"] == "refused"]
    assert refused[-1]["reason"] == "key is outside the token's prefix claim"


def test_bob_without_max_size_is_held_to_the_deployments_bound(serve: Callable[..., Served]) -> None:
    api = serve(PRESIGN_MAX_UPLOAD_SIZE=str(150 * KIB))
    bob = api.uppy(BOB)
    upload = bob.create()
    assert_refused(bob.complete(upload, bob.upload_parts(upload, [b"q" * (100 * KIB), b"q" * (51 * KIB)])), 413,
                   "PayloadTooLarge")


# --- what OSS refuses, passed on -------------------------------------------------------------------------------

def test_a_wrong_etag_is_invalid_part(api: Served) -> None:
    uppy = api.uppy(AUTH["api-key"])
    upload = uppy.create()
    uppy.upload_parts(upload, [b"e" * 10])
    wrong = uppy.complete(upload, [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}])
    assert_refused(wrong, 400, "InvalidPart")


def test_a_total_over_max_size_is_413_and_the_upload_is_gone(api: Served) -> None:
    uppy = api.uppy(AUTH["api-key"])
    upload = uppy.create()
    parts = uppy.upload_parts(upload, [b"m" * (300 * KIB), b"m" * (300 * KIB), b"m"])  # 600 KiB + 1 byte
    body = assert_refused(uppy.complete(upload, parts), 413, "PayloadTooLarge")
    assert "614401 bytes, over the 614400 bytes the policy allows" in body["message"]
    assert_refused(uppy.list(upload), 404, "NoSuchUpload")
    assert api.stored(upload["key"]).status_code == 404
    assert [line["action"] for line in api.lines() if line["event"] == "multipart"][-1] == "aborted"


def test_a_small_part_other_than_the_last_is_entity_too_small(api: Served) -> None:
    uppy = api.uppy(AUTH["api-key"])
    upload = uppy.create()
    parts = uppy.upload_parts(upload, [b"s" * (100 * KIB - 1), b"s" * 10])
    assert_refused(uppy.complete(upload, parts), 400, "EntityTooSmall")


# --- bad requests, authentication, preflights ------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "query", "body", "status", "code"), [
    ("POST", "multipart", "", {"type": "a/b"}, 400, "InvalidArgument"),
    ("POST", "multipart", "", {"filename": ""}, 400, "InvalidArgument"),
    ("GET", "multipart/ID/1", "", None, 400, "InvalidArgument"),  # no key
    ("GET", "multipart/ID/0", "key=uploads%2Falice%2Fa", None, 400, "InvalidArgument"),
    ("GET", "multipart/ID/10001", "key=uploads%2Falice%2Fa", None, 400, "InvalidArgument"),
    ("GET", "multipart/ID/batch", "key=uploads%2Falice%2Fa&partNumbers=1,x", None, 400, "InvalidArgument"),
    ("POST", "multipart/ID/complete", "key=uploads%2Falice%2Fa", {"parts": []}, 400, "InvalidArgument"),
    ("POST", "multipart/ID/complete", "key=uploads%2Falice%2Fa", {"parts": [{"PartNumber": 1, "ETag": "<x>"}]},
     400, "InvalidArgument"),
    ("GET", "multipart/ID", "key=uploads%2Fbob%2Fa", None, 403, "AccessDenied"),
    ("PUT", "multipart/ID", "key=uploads%2Falice%2Fa", None, 405, "MethodNotAllowed"),
    ("GET", "nothing", "", None, 404, "NotFound"),
], ids=["no-filename", "empty-filename", "no-key", "part-0", "part-10001", "batch-not-a-number", "no-parts",
        "bad-etag", "key-not-allowed", "wrong-method", "no-route"])
def test_bad_requests_are_named(api: Served, method: str, path: str, query: str, body: object, status: int,
                                code: str) -> None:
    assert_refused(api.uppy(AUTH["api-key"]).send(method, path, query=query, body=body), status, code)


def test_without_credentials_401_with_a_message(api: Served) -> None:
    answer = api.uppy({}).send("POST", "multipart", body={"filename": "a"})
    assert_refused(answer, 401, "Unauthenticated")
    assert answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("path", "methods"), [
    ("/s3/params", "GET"), ("/s3/multipart", "POST"), ("/s3/multipart/ABC123", "GET, DELETE"),
    ("/s3/multipart/ABC123/7", "GET"), ("/s3/multipart/ABC123/batch", "GET"),
    ("/s3/multipart/ABC123/complete", "POST")])
def test_preflights_are_answered_before_authentication(api: Served, path: str, methods: str) -> None:
    answer = requests.options(api.base + path + "?key=uploads%2Falice%2Fa", timeout=TIMEOUT, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": methods.split(",")[0],
        "Access-Control-Request-Headers": "x-api-key, content-type, accept"})
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Methods"] == methods
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert {"X-Api-Key", "Content-Type", "Accept", "Authorization"} <= {
        name.strip() for name in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert api.lines() == []  # nothing done, nothing logged


def test_a_page_reads_the_answers_and_the_errors(api: Served) -> None:
    uppy = api.uppy({**AUTH["api-key"], "Origin": ORIGIN})
    upload = uppy.create()
    answer = uppy.list(upload)
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN and answer.json() == []
    refused = uppy.send("GET", f"multipart/{upload['uploadId']}/0", key=upload["key"])
    assert refused.status_code == 400 and refused.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_the_log_names_each_step_never_a_url_or_signature(api: Served) -> None:
    uppy = api.uppy(AUTH["api-key"])
    upload = uppy.create()
    parts = uppy.upload_parts(upload, [b"l" * 10])
    assert uppy.complete(upload, parts).status_code == 200
    steps = [line for line in api.lines() if line["event"] == "multipart"]
    assert [line["action"] for line in steps] == ["initiated", "part", "completed"]
    assert {line["upload_id"] for line in steps} == {upload["uploadId"]}
    assert len(steps[1]["url_sha256"]) == 64 and steps[2]["size"] == 10
    text = api.audit.getvalue()
    assert "x-oss-signature" not in text and "Signature=" not in text and "http" not in text


def test_through_a_function_compute_event_with_the_roles_credentials(oss: LocalOss, clock: FakeClock) -> None:
    """As deployed: FC 3.0 HTTP trigger events (DELETE included), OSS requests signed with the invocation's STS
    credentials, which the local bucket checks (security token and all)."""
    sts = STS
    class Context:
        request_id = "fc-upload-1"

        class credentials:
            access_key_id = sts.access_key_id
            access_key_secret = sts.access_key_secret
            security_token = sts.security_token

    app = build_presign_app(environment(PRESIGN_POLICY=json.dumps(POLICY), OSS_ENDPOINT=oss.endpoint), clock=clock,
                            audit_stream=io.StringIO())
    headers = {"X-Api-Key": API_KEY, "Accept": "application/json"}
    started = serve_fc_event(app, fc3_event("POST", "/s3/multipart", headers={**headers,
                                                                              "Content-Type": "application/json"},
                                            body=json.dumps({"filename": "fc.bin", "type": "", "metadata": {}})),
                             Context())
    assert started["statusCode"] == 200, started["body"]
    upload = json.loads(str(started["body"]))
    path = f"/s3/multipart/{upload['uploadId']}"
    listed = serve_fc_event(app, fc3_event("GET", path, query={"key": upload["key"]}, headers=headers), Context())
    assert (listed["statusCode"], listed["body"]) == (200, "[]")
    aborted = serve_fc_event(app, fc3_event("DELETE", path, query={"key": upload["key"]}, headers=headers),
                             Context())
    assert aborted["statusCode"] == 204


FUZZ_VALUES: list[object] = ["", "a", "uploads/alice/a", "..", "/x", "\u0000", "\ud800", "\u202e", "x" * 2000, 0, -1,
                             10001, 1.5, True, None, [], {}, {"PartNumber": 1}, [{"PartNumber": 1, "ETag": "\"AB\""}],
                             {"name": "\u00e9"}, "1,2,x", "${filename}"]


def test_no_input_makes_a_500(oss: LocalOss, clock: FakeClock) -> None:
    """Random bodies, queries and paths (a fixed seed): each answered 2xx, 4xx or 204, never 500, in our shape."""
    import random

    from shared.http.messages import HttpRequest

    app = build_presign_app(environment(PRESIGN_POLICY=json.dumps(POLICY), OSS_ENDPOINT=oss.endpoint,
                                        PRESIGN_UPLOAD_META="name"), clock=clock, audit_stream=io.StringIO())
    chosen = random.Random(18)
    paths = ["/s3/params", "/s3/multipart", "/s3/multipart/ID", "/s3/multipart/ID/batch",
             "/s3/multipart/ID/complete", "/s3/multipart/ID/7", "/s3/multipart/%00/1", "/s3/multipart/ID/x"]
    names = ["filename", "type", "metadata", "key", "partNumbers", "parts", "metadata[name]"]
    for _ in range(300):
        fields = {name: chosen.choice(FUZZ_VALUES) for name in chosen.sample(names, chosen.randint(0, 4))}
        query = {name: [value if isinstance(value, str) else json.dumps(value)] for name, value in fields.items()}
        method = chosen.choice(["GET", "POST", "DELETE"])
        body = json.dumps(fields).encode() if method == "POST" else b""
        answer = app.handle(HttpRequest(method, chosen.choice(paths), query=query, body=body, headers={
            "X-Api-Key": API_KEY, "Content-Type": "application/json"}))
        assert answer.status < 500, answer.body
        if answer.status >= 400:
            assert json.loads(answer.body)["message"]
