"""PostObject on the local bucket: forms from shared.oss.post_policy sent by requests (multipart) and curl -F to a
real server on 127.0.0.1, the answers (200/201/204, ETag, Location), each refusal with OSS's code and message
and nothing stored, the object-created event, and a large upload streamed with flat memory."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from stubs_local_oss import BUCKET, KEYS, REGION, STS, Bucket, error_of

from shared.clock import utc_now
from shared.credentials import Credentials
from shared.devtools.local_oss import LocalOss
from shared.devtools.local_oss.events import ObjectStored
from shared.oss.post_policy import PostForm, presign_post

TIMEOUT = 10
ROOT = Path(__file__).resolve().parent.parent


def _form(local: Bucket, credentials: Credentials = KEYS, **options: Any) -> PostForm:
    """A form for the local bucket signed at its clock's time; options go to presign_post."""
    settings: dict[str, Any] = {"bucket": BUCKET, "region": REGION, "signing_time": local.clock(),
                                "endpoint": local.oss.endpoint, "max_size": 1024}
    if "key_prefix" not in options:
        settings["key"] = "uploads/a.txt"
    return presign_post(credentials, **{**settings, **options})


def _post(bucket: Bucket, form: PostForm, data: bytes = b"hello, form", *, filename: str = "a.txt",
          file_type: str = "text/plain", extra: dict[str, str] | None = None, drop: tuple[str, ...] = (),
          headers: dict[str, str] | None = None) -> requests.Response:
    fields = {name: value for name, value in {**form.fields, **(extra or {})}.items() if name not in drop}
    return bucket.http.post(form.url, data=fields, files={"file": (filename, data, file_type)}, headers=headers,
                            timeout=TIMEOUT)


def _get(bucket: Bucket, key: str) -> requests.Response:
    return bucket.http.get(bucket.presign(key).url, timeout=TIMEOUT)


def _nothing_kept(bucket: Bucket, key: str) -> bool:
    tmp = bucket.root / BUCKET / "%tmp"
    return _get(bucket, key).status_code == 404 and not (tmp.exists() and any(tmp.iterdir()))


def test_an_exact_key_is_stored_and_answered_204_with_etag_and_location(bucket: Bucket) -> None:
    form = _form(bucket, content_type="text/plain", meta={"owner": "alice"})
    answer = _post(bucket, form)
    assert answer.status_code == 204, answer.text
    assert answer.headers["ETag"] == '"' + hashlib.md5(b"hello, form").hexdigest().upper() + '"'
    assert answer.headers["Location"] == f"{bucket.oss.endpoint}/{BUCKET}/uploads/a.txt"
    got = _get(bucket, "uploads/a.txt")
    assert got.content == b"hello, form"
    assert got.headers["Content-Type"] == "text/plain" and got.headers["x-oss-meta-owner"] == "alice"


def test_201_answers_a_post_response_and_200_an_empty_body(bucket: Bucket) -> None:
    answer = _post(bucket, _form(bucket, success_action_status=201))
    assert answer.status_code == 201
    document = {child.tag: child.text for child in ElementTree.fromstring(answer.content)}
    assert document == {"Bucket": BUCKET, "Location": answer.headers["Location"], "Key": "uploads/a.txt",
                        "ETag": answer.headers["ETag"]}
    answer = _post(bucket, _form(bucket, success_action_status=200))
    assert (answer.status_code, answer.content) == (200, b"")


def test_a_prefix_takes_the_file_name_and_a_content_type_under_its_prefix(bucket: Bucket) -> None:
    form = _form(bucket, STS, key_prefix="users/42/", content_type="image/")
    answer = _post(bucket, form, b"\x89PNG...", filename="cat 1.png", extra={"Content-Type": "image/png"})
    assert answer.status_code == 204, answer.text
    assert answer.headers["Location"].endswith("/users/42/cat%201.png")
    got = _get(bucket, "users/42/cat 1.png")
    assert (got.content, got.headers["Content-Type"]) == (b"\x89PNG...", "image/png")


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_curl_form_upload(bucket: Bucket, tmp_path: Path) -> None:
    upload = tmp_path / "report.pdf"
    upload.write_bytes(b"%PDF-1.7 " * 100)
    form = _form(bucket, key_prefix="docs/", success_action_status=201)
    fields = [arg for name, value in form.fields.items() for arg in ("--form-string", f"{name}={value}")]
    done = subprocess.run(["curl", "-sS", "--max-time", str(TIMEOUT), "-w", "\n%{http_code}", *fields,
                           "-F", f"file=@{upload};type=application/pdf", form.url],
                          capture_output=True, timeout=TIMEOUT * 2, check=True)
    assert done.stdout.rsplit(b"\n", 1)[1] == b"201", done.stdout
    assert b"<Key>docs/report.pdf</Key>" in done.stdout
    got = _get(bucket, "docs/report.pdf")
    assert (got.content, got.headers["Content-Type"]) == (upload.read_bytes(), "application/pdf")


REFUSALS: list[tuple[str, dict[str, Any], dict[str, Any], int, str, str]] = [
    ("bad-signature", {}, {"extra": {"x-oss-signature": "0" * 64}}, 403, "SignatureDoesNotMatch",
     "The request signature we calculated does not match"),
    ("extra-field", {}, {"extra": {"x-oss-meta-evil": "1"}}, 403, "AccessDenied",
     "Invalid according to Policy: Extra input fields: x-oss-meta-evil"),
    ("wrong-key-prefix", {"key_prefix": "users/42/"}, {"extra": {"key": "users/43/x.txt"}}, 403, "AccessDenied",
     'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "users/42/"]'),
    ("wrong-content-type", {"content_type": "image/"}, {"extra": {"Content-Type": "text/html"}}, 403,
     "AccessDenied", 'Policy Condition failed: ["starts-with", "$content-type", "image/"]'),
    ("missing-content-type", {"content_type": "image/"}, {}, 403, "AccessDenied",
     'Policy Condition failed: ["starts-with", "$content-type", "image/"]'),
    ("changed-status", {"success_action_status": 201}, {"extra": {"success_action_status": "200"}}, 403,
     "AccessDenied", 'Policy Condition failed: ["eq", "$success_action_status", "201"]'),
    ("too-large", {"max_size": 10}, {"data": b"x" * 11}, 400, "EntityTooLarge",
     "Your proposed upload exceeds the maximum allowed size."),
    ("too-small", {"min_size": 5}, {"data": b"x" * 4}, 400, "EntityTooSmall",
     "Your proposed upload is smaller than the minimum allowed size."),
    ("no-key", {}, {"drop": ("key",)}, 400, "InvalidArgument", "must contain a field named 'key'"),
    ("no-signature", {}, {"drop": ("x-oss-signature",)}, 403, "AccessDenied", "Anonymous access is forbidden"),
    ("tampered-policy", {}, {"extra": {"policy": "e30="}}, 403, "SignatureDoesNotMatch", "does not match"),
    ("unread-field", {}, {"extra": {"Cache-Control": "no-cache"}}, 403, "AccessDenied",
     "Extra input fields: cache-control"),
    ("v1-fields", {}, {"extra": {"OSSAccessKeyId": "LTAI"}}, 400, "InvalidArgument", "Only OSS Signature V4"),
]


@pytest.mark.parametrize(("policy", "send", "status", "code", "message"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refusals_store_nothing(bucket: Bucket, policy: dict[str, Any], send: dict[str, Any], status: int,
                                code: str, message: str) -> None:
    form = _form(bucket, **policy)
    answer = _post(bucket, form, **send)
    assert (answer.status_code, error_of(answer)["Code"]) == (status, code), answer.text
    assert message in error_of(answer)["Message"]
    assert _nothing_kept(bucket, form.fields["key"].replace("${filename}", "a.txt"))


def test_an_expired_policy_and_an_old_date_are_refused(bucket: Bucket) -> None:
    form = _form(bucket, expires=60)
    bucket.clock.advance(seconds=61)
    answer = _post(bucket, form)
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "AccessDenied")
    assert error_of(answer)["Message"] == "Invalid according to Policy: Policy expired."
    early = _form(bucket, signing_time=bucket.clock() + timedelta(minutes=16))
    answer = _post(bucket, early)
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "RequestTimeTooSkewed")
    assert _nothing_kept(bucket, "uploads/a.txt")


def test_credentials_the_bucket_does_not_know_or_a_missing_token(bucket: Bucket) -> None:
    stranger = Credentials("LTAIstranger", "stranger-secret-000")
    answer = _post(bucket, _form(bucket, stranger))
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "InvalidAccessKeyId")
    answer = _post(bucket, _form(bucket, STS), drop=("x-oss-security-token",))
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "SignatureDoesNotMatch")


def test_a_form_for_another_bucket_fails_its_bucket_condition(bucket: Bucket) -> None:
    bucket.oss.store.create_bucket("otherbucket")
    form = _form(bucket, bucket="otherbucket")
    answer = bucket.http.post(f"{bucket.oss.endpoint}/{BUCKET}/", data=form.fields,
                              files={"file": ("a.txt", b"x", "text/plain")}, timeout=TIMEOUT)
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "AccessDenied")
    assert error_of(answer)["Message"].endswith('["eq", "$bucket", "otherbucket"]')


@pytest.mark.parametrize(("body", "content_type", "code"), [
    (b"not a form", "text/plain", "MalformedPOSTRequest"),
    (b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--b--\r\n", "multipart/form-data; boundary=b",
     "InvalidArgument"),
    (b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk", "multipart/form-data; boundary=b",
     "MalformedPOSTRequest"),
    (b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n" + b"k" * (65 << 10) + b"\r\n--b--\r\n",
     "multipart/form-data; boundary=b", "InvalidArgument"),
    (b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\na\r\n--b\r\n"
     b"Content-Disposition: form-data; name=\"KEY\"\r\n\r\nb\r\n--b\r\nContent-Disposition: form-data; "
     b"name=\"file\"\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b", "InvalidArgument"),
], ids=["not-multipart", "no-file", "cut-short", "field-too-long", "field-twice"])
def test_bodies_that_are_not_a_usable_form(bucket: Bucket, body: bytes, content_type: str, code: str) -> None:
    answer = bucket.http.post(f"{bucket.oss.endpoint}/{BUCKET}/", data=body, headers={"Content-Type": content_type},
                              timeout=TIMEOUT)
    assert (answer.status_code // 100, error_of(answer)["Code"]) == (4, code), answer.text


def test_a_form_upload_raises_the_object_created_event(tmp_path: Path, bucket: Bucket) -> None:
    heard: list[ObjectStored] = []
    with LocalOss(tmp_path / "hooked", credentials=[KEYS], region=REGION, buckets=[BUCKET], clock=bucket.clock,
                  on_stored=heard.append) as oss:
        form = presign_post(KEYS, bucket=BUCKET, region=REGION, signing_time=bucket.clock(), endpoint=oss.endpoint,
                            key="in/a.csv", max_size=100, content_type="text/csv")
        answer = requests.post(form.url, data=form.fields, files={"file": ("a.csv", b"a,b\n", "text/csv")},
                               timeout=TIMEOUT)
        assert answer.status_code == 204
        refused = requests.post(form.url, data=form.fields, files={"file": ("a.csv", b"x" * 101, "text/csv")},
                                timeout=TIMEOUT)
        assert refused.status_code == 400
    (event,) = heard
    record = event.oss_event()
    assert record["eventName"] == "ObjectCreated:PostObject"
    assert record["oss"]["object"]["key"] == "in/a.csv" and record["oss"]["object"]["size"] == 4  # type: ignore
    assert record["responseElements"] == {"requestId": answer.headers["x-oss-request-id"]}


_SERVER = textwrap.dedent("""
    import sys
    from shared.credentials import Credentials
    from shared.devtools.local_oss import LocalOss
    oss = LocalOss(sys.argv[1], credentials=[Credentials(sys.argv[2], sys.argv[3])], region=sys.argv[4],
                   buckets=[sys.argv[5]]).start()
    print(oss.port, flush=True)
    sys.stdin.read()
""")


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """The local bucket in its own process (so that its memory is its own); yields (pid, port)."""
    process = subprocess.Popen([sys.executable, "-c", _SERVER, str(tmp_path / "oss"), KEYS.access_key_id,
                                KEYS.access_key_secret, REGION, BUCKET], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield process.pid, port
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.terminate()
        process.wait(timeout=10)


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


@pytest.mark.skipif(not shutil.which("curl") or not Path("/proc/self/status").exists(), reason="needs curl, /proc")
def test_a_large_upload_streams_with_flat_memory(server_process: tuple[int, int], tmp_path: Path) -> None:
    pid, port = server_process
    size = 96 << 20
    upload = tmp_path / "big.bin"
    with open(upload, "wb") as out:
        out.truncate(size)  # sparse: curl reads zeros
    def send(key: str, path: Path) -> bytes:
        form = presign_post(KEYS, bucket=BUCKET, region=REGION, signing_time=utc_now(),  # the server's clock is real
                            endpoint=f"http://127.0.0.1:{port}", key=key, max_size=size, success_action_status=201)
        fields = [arg for name, value in form.fields.items() for arg in ("--form-string", f"{name}={value}")]
        return subprocess.run(["curl", "-sS", "--max-time", "60", *fields, "-F", f"file=@{path}", form.url],
                              capture_output=True, timeout=90, check=True).stdout

    small = tmp_path / "small.bin"
    small.write_bytes(b"warm up")
    assert b"<Key>warm.bin</Key>" in send("warm.bin", small)
    before = _peak_rss_kib(pid)
    answer = send("big.bin", upload)
    grown = _peak_rss_kib(pid) - before
    print(f"peak RSS of the local bucket: {before} KiB before, +{grown} KiB after a {size >> 20} MiB form upload")
    assert b"<Key>big.bin</Key>" in answer
    zeros = hashlib.md5(b"\0" * size).hexdigest().upper()
    assert f'<ETag>"{zeros}"</ETag>'.encode() in answer
    assert grown < 16 << 10, f"the server's peak memory grew by {grown} KiB during a {size >> 20} MiB upload"


def test_too_many_fields_before_the_file(bucket: Bucket) -> None:
    many = "".join(f'--b\r\nContent-Disposition: form-data; name="x-oss-meta-f{n}"\r\n\r\nv\r\n' for n in range(65))
    answer = bucket.http.post(f"{bucket.oss.endpoint}/{BUCKET}/", data=(many + "--b--\r\n").encode(),
                              headers={"Content-Type": "multipart/form-data; boundary=b"}, timeout=TIMEOUT)
    assert (answer.status_code, error_of(answer)["Code"]) == (400, "InvalidArgument")
    assert "at most 64 fields" in error_of(answer)["Message"]


def test_virtual_host_addressing_and_its_location(bucket: Bucket) -> None:
    form = _form(bucket, key="vh/a.txt")
    host = f"{BUCKET}.oss-local.test:{bucket.oss.port}"
    answer = bucket.http.post(f"{bucket.oss.endpoint}/", data=form.fields, headers={"Host": host},
                              files={"file": ("a.txt", b"virtual")}, timeout=TIMEOUT)
    assert answer.status_code == 204, answer.text
    assert answer.headers["Location"] == f"http://{host}/vh/a.txt"
    assert _get(bucket, "vh/a.txt").content == b"virtual"


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_a_chunked_form_upload(bucket: Bucket, tmp_path: Path) -> None:
    upload = tmp_path / "data.bin"
    upload.write_bytes(os.urandom(300_000))
    form = _form(bucket, key="chunked.bin", max_size=300_000)
    fields = [arg for name, value in form.fields.items() for arg in ("--form-string", f"{name}={value}")]
    done = subprocess.run(["curl", "-sS", "--max-time", str(TIMEOUT), "-w", "%{http_code}", "-H",
                           "Transfer-Encoding: chunked", *fields, "-F", f"file=@{upload}", form.url],
                          capture_output=True, timeout=TIMEOUT * 2, check=True)
    assert done.stdout == b"204", done.stdout
    assert _get(bucket, "chunked.bin").content == upload.read_bytes()


NODE_FORM = """
const [url, fieldsJson] = process.argv.slice(1);
const form = new FormData();
for (const [name, value] of Object.entries(JSON.parse(fieldsJson))) form.append(name, value);
form.append("file", new Blob(["from a page\\n".repeat(1000)], {type: "text/plain"}), "page note.txt");
fetch(url, {method: "POST", body: form}).then(async (answer) => {
  console.log(JSON.stringify({status: answer.status, etag: answer.headers.get("etag"), body: await answer.text()}));
});
"""


@pytest.mark.skipif(not shutil.which("node"), reason="needs node")
def test_node_fetch_with_form_data_as_a_page_sends_it(bucket: Bucket) -> None:
    form = _form(bucket, key_prefix="pages/", content_type="text/", success_action_status=201, max_size=1 << 20)
    fields = {**form.fields, "Content-Type": "text/plain"}
    done = subprocess.run(["node", "-e", NODE_FORM, form.url, json.dumps(fields)], capture_output=True,
                          timeout=TIMEOUT * 2, check=True)
    answer = json.loads(done.stdout)
    assert answer["status"] == 201, answer
    assert "<Key>pages/page note.txt</Key>" in answer["body"]
    got = _get(bucket, "pages/page note.txt")
    assert got.content == b"from a page\n" * 1000 and got.headers["ETag"] == answer["etag"]


def test_values_that_would_split_a_header_are_refused(bucket: Bucket) -> None:
    form = _form(bucket, content_type="text/")
    answer = _post(bucket, form, extra={"Content-Type": "text/plain\r\nSet-Cookie: a=b"})
    assert (answer.status_code, error_of(answer)["Code"]) == (400, "InvalidArgument")
    assert _nothing_kept(bucket, "uploads/a.txt")


def test_a_date_far_in_the_past_or_future_is_a_refusal_not_a_failure(bucket: Bucket) -> None:
    far = {"RequestTimeTooSkewed": bucket.clock().replace(year=9999, month=12, day=30),
           "AccessDenied": bucket.clock().replace(year=1, month=1, day=2)}
    for code, when in far.items():
        answer = _post(bucket, _form(bucket, signing_time=when))
        assert (answer.status_code, error_of(answer)["Code"]) == (403, code), answer.text
