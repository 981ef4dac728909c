"""The object-created function end to end: its configuration, the FC entry (index.py) and the custom-runtime
entry (main.py through functions-framework in a subprocess), with the local bucket, the links app on
127.0.0.1 and a real webhook receiver; every delivered link downloads its object."""

from __future__ import annotations

import importlib.util
import io
import json
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from events import load_event
from http_servers import serving, serving_wsgi
from presign_env import ACCESS_KEY, environment
from processes import ROOT, free_port, functions_framework_command, running
from stubs_webhook import SECRET, Answer, WebhookStub

from shared.credentials import Credentials
from shared.devtools.local_oss import LocalOss
from shared.errors import ConfigError, DeliveryFailed
from shared.http.wsgi import serve_wsgi
from shared.links.wiring import build_links_app
from shared.object_created.invoke import invoke_response, serve_oss_event
from shared.object_created.settings import OnCreatedSettings, load_invoke_access
from shared.object_created.wiring import build_on_created_handler
from shared.oss.content_disposition import content_disposition
from shared.oss.signer import presign_now

LINK_KEYS = "k1:link-signing-secret-one-0123456789"
TOKEN = "invoke-token-for-tests-0123456789"
INVOICE = ("incoming/invoices/2026-11/INV 0042.pdf", b"%PDF-1.7 invoice")
EXPORT = ("exports/季度 报告.csv", b"quarter,total\nQ1,42\n")


@pytest.fixture(scope="module")
def oss(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOss]:
    with LocalOss(tmp_path_factory.mktemp("oss"), credentials=[ACCESS_KEY], region="cn-hangzhou",
                  buckets=["examplebucket"]) as local:
        for key, content in (INVOICE, EXPORT):
            url = presign_now(ACCESS_KEY, bucket="examplebucket", key=key, region="cn-hangzhou",
                              endpoint=local.endpoint, method="PUT").url
            assert requests.put(url, data=content, timeout=10).status_code == 200
        yield local


@pytest.fixture(scope="module")
def links(oss: LocalOss) -> Iterator[str]:
    """The links app (the redirect links' other half) served on 127.0.0.1."""
    app = build_links_app(environment(OSS_ENDPOINT=oss.endpoint, LINK_SIGNING_KEYS=LINK_KEYS),
                          audit_stream=io.StringIO())
    with serving_wsgi(partial(serve_wsgi, app)) as base:
        yield base


def on_created_environment(oss: LocalOss, stub: WebhookStub, links_base: str, **overrides: str) -> dict[str, str]:
    rules = [
        {"prefix": "incoming/", "suffix": ".pdf", "link": "presigned", "expires": 900, "filename": "from_key",
         "webhook": {"url": stub.url("/invoices"), "secret": SECRET, "headers": {"X-Team": "billing"}}},
        {"prefix": "exports/", "link": "redirect", "ttl": "7d", "filename": "from_key",
         "webhook": {"url": stub.url("/exports"), "secret": SECRET}},
    ]
    return environment(OSS_ENDPOINT=oss.endpoint, ON_CREATED_RULES=json.dumps(rules), LINK_SIGNING_KEYS=LINK_KEYS,
                       LINK_BASE_URL=links_base, ON_CREATED_BUDGET="10", **overrides)


def oss_event(*keys: str, event_time: str = "2026-11-20T06:45:43.000Z") -> dict:
    sample = load_event("oss_object_created")
    records = []
    for n, key in enumerate(keys):
        record = json.loads(json.dumps(sample["events"][0]))
        record["oss"]["object"]["key"] = key
        record["eventTime"] = event_time
        record["responseElements"]["requestId"] = f"58F9FF2D3DF792092E1204{n:02d}"
        records.append(record)
    return {"events": records}


def assert_downloads(stub: WebhookStub) -> None:
    """Each delivered link fetches its object, under the key's last segment."""
    delivered = {event["key"]: event for event in stub.events()}
    for key, content in (INVOICE, EXPORT):
        download = requests.get(delivered[key]["link"], timeout=10)
        assert download.status_code == 200 and download.content == content
        assert download.headers["Content-Disposition"] == content_disposition(key.rsplit("/", 1)[1])
    assert len(requests.get(delivered[EXPORT[0]]["link"], timeout=10).history) == 1  # the links app's 302


def test_fc_entry_both_link_kinds(oss: LocalOss, links: str, webhook: WebhookStub,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in on_created_environment(oss, webhook, links).items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("on_created_index", ROOT / "functions/on_object_created/index.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    summary = json.loads(module.handler(json.dumps(oss_event(INVOICE[0], EXPORT[0], "other/x.bin")).encode(), None))
    assert (summary["delivered"], summary["skipped"], summary["failed"]) == (2, 1, 0)
    assert sorted(request.path for request in webhook.requests) == ["/exports", "/invoices"]
    assert [r.headers["x-team"] for r in webhook.requests if r.path == "/invoices"] == ["billing"]
    assert_downloads(webhook)
    webhook.script("/invoices", Answer(400))
    with pytest.raises(DeliveryFailed, match="webhook delivery failed for 1 of 1 records"):
        module.handler(oss_event(INVOICE[0], event_time="2026-11-20T08:00:00Z"), None)


def test_custom_runtime_invoke(oss: LocalOss, links: str, webhook: WebhookStub, tmp_path: Path) -> None:
    port = free_port()
    env = on_created_environment(oss, webhook, links, ON_CREATED_ATTEMPTS="2", ON_CREATED_INVOKE_TOKEN=TOKEN)
    command = functions_framework_command("functions/on_object_created/main.py", "on_object_created", port)
    with running(command, port, env, log=tmp_path / "ff.log") as base:
        body = json.dumps(oss_event(INVOICE[0], EXPORT[0])).encode()
        headers = {"Content-Type": "application/octet-stream", "x-fc-request-id": "fc-invoke-1",
                   "Authorization": f"Bearer {TOKEN}"}
        answer = requests.post(f"{base}/invoke", data=body, headers=headers, timeout=20)
        assert answer.status_code == 200 and answer.headers["x-fc-status"] == "200"
        assert answer.json()["delivered"] == 2
        assert_downloads(webhook)
        webhook.script("/invoices", Answer(400))
        again = json.dumps(oss_event(INVOICE[0], EXPORT[0], event_time="2026-11-20T07:00:00.000Z")).encode()
        failed = requests.post(f"{base}/invoke", data=again, headers={**headers, "x-fc-request-id": "fc-invoke-2"},
                               timeout=20)
        assert failed.status_code == 502 and failed.headers["x-fc-status"] == "404"
        error = failed.json()
        # Not FC's front end: the id is ours, not the caller's x-fc-request-id.
        assert error["error"]["code"] == "UpstreamError" and len(error["error"]["request_id"]) == 32
        assert error["summary"]["failed"] == 1 and error["summary"]["delivered"] == 1
        retried = requests.post(f"{base}/invoke", data=again, headers=headers, timeout=20)  # FC's retry
        assert retried.status_code == 200 and (retried.json()["delivered"], retried.json()["duplicate"]) == (1, 1)
        paths = [request.path for request in webhook.requests]
        assert (paths.count("/invoices"), paths.count("/exports")) == (3, 2)  # the retry re-sent the invoice only
        assert requests.get(f"{base}/invoke", timeout=10).status_code == 404
        assert requests.post(f"{base}/initialize", timeout=10).status_code == 200
    log = (tmp_path / "ff.log").read_text("utf-8", "replace")
    assert SECRET not in log and "x-oss-signature=" not in log and '"event": "delivered"' in log
    assert TOKEN not in log


BY_TOKEN = load_invoke_access({"ON_CREATED_INVOKE_TOKEN": TOKEN})


def test_invoke_contract_without_a_server() -> None:
    handler = build_on_created_handler({"OSS_REGION": "cn-hangzhou"}, audit_stream=io.StringIO())
    answer = invoke_response(handler, BY_TOKEN, method="POST", path="/invoke",
                             headers={"x-fc-request-id": "r1", "authorization": f"Bearer {TOKEN}"},
                             read_body=lambda: b"{}")
    assert answer.status == 500 and answer.headers["x-fc-status"] == "404"
    error = json.loads(answer.body)["error"]
    assert error["code"] == "ConfigError" and "ON_CREATED_RULES is required" in error["message"]


def test_a_bad_configuration_is_told_only_to_an_admitted_caller() -> None:
    handler = build_on_created_handler({"OSS_REGION": "cn-hangzhou"}, audit_stream=io.StringIO())
    answer = invoke_response(handler, BY_TOKEN, method="POST", path="/invoke", headers={},
                             read_body=lambda: b"{}")
    assert answer.status == 401 and "ON_CREATED_RULES" not in answer.body.decode()


def test_a_bad_event_is_a_400_and_a_failed_invocation(oss: LocalOss, links: str,
                                                      webhook: WebhookStub) -> None:
    handler = build_on_created_handler(on_created_environment(oss, webhook, links), audit_stream=io.StringIO())
    answer = invoke_response(handler, BY_TOKEN, method="POST", path="/invoke",
                             headers={"authorization": f"Bearer {TOKEN}"}, read_body=lambda: b"not json")
    assert answer.status == 400 and answer.headers["x-fc-status"] == "404"
    with pytest.raises(ConfigError):
        serve_oss_event(build_on_created_handler({}, audit_stream=io.StringIO()), b"{}", None)


def base_environment(**overrides: str) -> dict[str, str]:
    rules = [{"link": "presigned", "webhook": {"url": "https://hooks.example.com/x", "secret": SECRET}}]
    return {"OSS_REGION": "cn-hangzhou", "OSS_BUCKET": "examplebucket", "ON_CREATED_RULES": json.dumps(rules),
            **overrides}


@pytest.mark.parametrize(
    ("overrides", "variable", "message"),
    [
        ({"OSS_REGION": ""}, "OSS_REGION", "OSS_REGION is required"),
        ({"ON_CREATED_RULES": ""}, "ON_CREATED_RULES", "ON_CREATED_RULES is required"),
        ({"ON_CREATED_RULES": "@"}, "ON_CREATED_RULES", "'@' must be followed by a file path"),
        ({"ON_CREATED_RULES": "@/nonexistent/rules.json"}, "ON_CREATED_RULES", "cannot read /nonexistent/rules.json"),
        ({"ON_CREATED_RULES": "[]"}, "ON_CREATED_RULES", "non-empty JSON list"),
        ({"ON_CREATED_BUDGET": "0"}, "ON_CREATED_BUDGET", "from 1 to 900"),
        ({"ON_CREATED_ATTEMPTS": "11"}, "ON_CREATED_ATTEMPTS", "from 1 to 10"),
        ({"ON_CREATED_ATTEMPT_TIMEOUT": "1.5"}, "ON_CREATED_ATTEMPT_TIMEOUT", "whole number of seconds"),
        ({"ON_CREATED_CONCURRENCY": "x"}, "ON_CREATED_CONCURRENCY", "from 1 to 16"),
        ({"LINK_BASE_URL": "links.example.com"}, "LINK_BASE_URL", "http or https URL"),
        ({"OSS_BUCKET": ""}, "ON_CREATED_BUCKETS", "ON_CREATED_BUCKETS (comma-separated) or OSS_BUCKET is required"),
        ({"ON_CREATED_BUCKETS": "examplebucket,Not_A_Bucket"}, "ON_CREATED_BUCKETS", "got 'Not_A_Bucket'"),
        ({"ON_CREATED_BUCKETS": "examplebucket,"}, "ON_CREATED_BUCKETS", "bucket names separated by commas"),
    ],
)
def test_configuration_mistakes(overrides: dict, variable: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        OnCreatedSettings(base_environment(**overrides))
    assert caught.value.variable == variable and message in caught.value.message


def test_rules_from_a_file_and_redirect_needs_the_links_function(tmp_path: Path) -> None:
    rules = [{"link": "redirect", "webhook": {"url": "https://hooks.example.com/x", "secret": SECRET}}]
    (tmp_path / "rules.json").write_text(json.dumps(rules), "utf-8")
    environ = base_environment(ON_CREATED_RULES=f"@{tmp_path / 'rules.json'}")
    with pytest.raises(ConfigError, match="redirect links need the links function: LINK_SIGNING_KEYS and "
                                          "LINK_BASE_URL") as caught:
        OnCreatedSettings(environ)
    assert caught.value.variable == "LINK_SIGNING_KEYS"
    settings = OnCreatedSettings({**environ, "LINK_SIGNING_KEYS": LINK_KEYS, "LINK_BASE_URL": "https://l.example/"})
    assert settings.rules.uses("redirect") and settings.link_base_url == "https://l.example"
    assert (settings.budget, settings.attempts, settings.attempt_timeout, settings.concurrency) == (30, 4, 5, 4)
    assert settings.buckets == {"examplebucket"}
    listed = OnCreatedSettings({**environ, "LINK_SIGNING_KEYS": LINK_KEYS, "LINK_BASE_URL": "https://l.example/",
                                "ON_CREATED_BUCKETS": " photos-2026 , examplebucket-eu "})
    assert listed.buckets == {"photos-2026", "examplebucket-eu"}  # the list replaces OSS_BUCKET
    assert SECRET not in repr(settings) and "link-signing" not in repr(settings)
    log = io.StringIO()
    broken = build_on_created_handler({**environ, "LINK_SIGNING_KEYS": "k1:short", "LINK_BASE_URL": "https://l"},
                                      audit_stream=log)
    with pytest.raises(ConfigError, match="shorter than 32 bytes"):
        broken.handle(b"{}")
    assert "short" not in log.getvalue().replace("shorter", "") and '"event": "config_error"' in log.getvalue()


# --- who may POST /invoke, and what is read before: the function served as it runs (functions-framework) ---

FC_KEYS = Credentials("STS.FcInvocationKeyId", "fc-invocation-secret-0123456789", "fc-invocation-security-token")
FC_HEADERS = {"x-fc-control-path": "/invoke", "x-fc-request-id": "fc-request-7f3e", "x-fc-function-name":
              "on_object_created", "x-fc-access-key-id": FC_KEYS.access_key_id,
              "x-fc-access-key-secret": FC_KEYS.access_key_secret, "x-fc-security-token": FC_KEYS.security_token or ""}
OCTETS = {"Content-Type": "application/octet-stream"}


@contextmanager
def invoke_server(oss: LocalOss, webhook: WebhookStub, links: str, log: Path, **env: str) -> Iterator[str]:
    """main.py under functions-framework on a free port, with the test configuration and ``env``."""
    port = free_port()
    command = functions_framework_command("functions/on_object_created/main.py", "on_object_created", port)
    with running(command, port, on_created_environment(oss, webhook, links, ON_CREATED_ATTEMPTS="1", **env),
                 log=log) as base:
        yield base


@pytest.fixture(scope="module")
def token_hook() -> Iterator[WebhookStub]:
    """The receiver of the token-mode server's deliveries (kept for the module, as the server is)."""
    stub = WebhookStub()
    with serving(stub.server):
        yield stub


@pytest.fixture(scope="module")
def token_server(oss: LocalOss, links: str, token_hook: WebhookStub,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The function with ``ON_CREATED_INVOKE_TOKEN`` (two entries: rotation): its base URL and its log file."""
    log = tmp_path_factory.mktemp("token-server") / "ff.log"
    with invoke_server(oss, token_hook, links, log, ON_CREATED_INVOKE_TOKEN=f"{TOKEN},{TOKEN}-next") as base:
        yield base, log


def invoke(base: str, event: dict, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{base}/invoke", data=json.dumps(event).encode(), headers={**OCTETS, **headers},
                         timeout=20)


def refused(answer: requests.Response, status: int, code: str) -> str:
    """Check a refusal's shape (status, FC's failure mark, the JSON error); its message."""
    assert answer.status_code == status and answer.headers["x-fc-status"] == "404", answer.text
    error = answer.json()["error"]
    assert error["code"] == code and len(error["request_id"]) == 32
    return str(error["message"])


def test_invoke_errors_say_nosniff(token_server: tuple[str, Path]) -> None:
    base, _ = token_server
    for answer in (invoke(base, oss_event(INVOICE[0]), {}), requests.get(f"{base}/invoke", timeout=10)):
        assert answer.status_code in (401, 404) and answer.headers["X-Content-Type-Options"] == "nosniff"


def test_another_method_or_path_is_a_404_with_a_request_id(token_server: tuple[str, Path]) -> None:
    base, _ = token_server
    for method, path in (("GET", "/invoke"), ("PUT", "/initialize"), ("POST", "/other"), ("GET", "/")):
        answer = requests.request(method, f"{base}{path}", timeout=10)
        assert answer.status_code == 404, (method, path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "NotFound" and error["message"] == "POST the event to /invoke"
        assert len(error["request_id"]) == 32 and answer.headers["X-Request-Id"] == error["request_id"]


def link_of(link: str) -> dict[str, str]:
    """A delivered link's query."""
    return dict(parse_qsl(urlsplit(link).query))


def test_invoke_needs_the_token(token_server: tuple[str, Path], token_hook: WebhookStub) -> None:
    base, log = token_server
    event = oss_event(INVOICE[0], event_time="2026-11-20T10:00:00.000Z")
    before = len(token_hook.requests)
    assert "Bearer" in refused(invoke(base, event, {}), 401, "Unauthenticated")
    assert invoke(base, event, {}).headers["WWW-Authenticate"].startswith("Bearer")
    for wrong in (f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer", TOKEN, "Bearer é"):
        refused(invoke(base, event, {"Authorization": wrong}), 401, "Unauthenticated")
    refused(invoke(base, event, FC_HEADERS), 401, "Unauthenticated")  # not in FC mode: x-fc-* grant nothing
    assert len(token_hook.requests) == before
    answer = invoke(base, event, {"Authorization": f"Bearer {TOKEN}", **FC_HEADERS})
    assert answer.status_code == 200 and answer.json()["delivered"] == 1
    query = link_of(token_hook.accepted[-1][0]["link"])  # signed with the function's own keys: x-fc-* unread
    assert query["x-oss-credential"].startswith(ACCESS_KEY.access_key_id + "/")
    assert "x-oss-security-token" not in query
    later = oss_event(INVOICE[0], event_time="2026-11-20T10:30:00.000Z")
    assert invoke(base, later, {"Authorization": f"bearer  {TOKEN}-next"}).status_code == 200  # rotation
    text = log.read_text("utf-8", "replace")
    assert TOKEN not in text and FC_KEYS.access_key_secret not in text and '"event": "invoke_refused"' in text


def test_fc_mode_admits_function_compute_event_invocations(oss: LocalOss, links: str, webhook: WebhookStub,
                                                           tmp_path: Path) -> None:
    # FC_FUNCTION_NAME: what Function Compute sets in every instance (and lets no one else set).
    with invoke_server(oss, webhook, links, tmp_path / "ff.log", ON_CREATED_FC_RUNTIME="true",
                       FC_FUNCTION_NAME="on_object_created") as base:
        event = oss_event(INVOICE[0])
        assert "x-fc-control-path" in refused(invoke(base, event, {}), 403, "AccessDenied")
        for changed in ({"x-fc-control-path": "/http-invoke"}, {"x-fc-control-path": ""}, {"x-fc-request-id": ""}):
            refused(invoke(base, event, {**FC_HEADERS, **changed}), 403, "AccessDenied")
        refused(invoke(base, event, {"Authorization": f"Bearer {TOKEN}"}), 403, "AccessDenied")  # no token is set
        assert webhook.requests == []
        answer = invoke(base, event, FC_HEADERS)
        assert answer.status_code == 200 and answer.headers["x-fc-status"] == "200"
        query = link_of(webhook.events()[0]["link"])  # signed with the invocation's credentials, as FC passes them
        assert query["x-oss-credential"].startswith(FC_KEYS.access_key_id + "/")
        assert query["x-oss-security-token"] == FC_KEYS.security_token
    log = (tmp_path / "ff.log").read_text("utf-8", "replace")
    assert '"request_id": "fc-request-7f3e"' in log and FC_KEYS.access_key_secret not in log


def test_http_invocation_is_off_unless_configured(oss: LocalOss, links: str, webhook: WebhookStub,
                                                  tmp_path: Path) -> None:
    with invoke_server(oss, webhook, links, tmp_path / "ff.log") as base:
        for headers in ({}, FC_HEADERS, {"Authorization": f"Bearer {TOKEN}"}):
            message = refused(invoke(base, oss_event(INVOICE[0]), headers), 403, "AccessDenied")
            assert "ON_CREATED_INVOKE_TOKEN" in message and "ON_CREATED_FC_RUNTIME" in message
        assert requests.post(f"{base}/initialize", timeout=10).status_code == 200  # reads nothing, does nothing
    assert webhook.requests == []


def test_fc_mode_off_function_compute_refuses_every_invocation() -> None:
    handler = build_on_created_handler({"OSS_REGION": "cn-hangzhou"}, audit_stream=io.StringIO())
    for environ in ({"ON_CREATED_FC_RUNTIME": "true"}, {"ON_CREATED_FC_RUNTIME": "true", "ON_CREATED_INVOKE_TOKEN":
                                                        TOKEN}):
        answer = invoke_response(handler, load_invoke_access(environ), method="POST", path="/invoke",
                                 headers={**FC_HEADERS, "authorization": f"Bearer {TOKEN}"}, read_body=lambda: b"{}")
        error = json.loads(answer.body)["error"]
        assert answer.status == 500 and error["code"] == "ConfigError" and "FC_FUNCTION_NAME is unset" in \
            error["message"]


def raw_exchange(base: str, head: str, body_parts: Iterable[bytes] = ()) -> tuple[int, bytes]:
    """Send a request head (and maybe some of a body, never all of it); the answer's status and JSON body."""
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=10) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n")
        for part in body_parts:
            connection.sendall(part)
        answer = connection.makefile("rb")
        status = int(answer.readline().split()[1])
        length = 0
        while (line := answer.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            length = int(value) if name.lower() == "content-length" else length
        return status, answer.read(length)


def test_a_body_over_1_mib_is_refused_before_it_is_read(token_server: tuple[str, Path]) -> None:
    """The answers come while the body is still owed: nothing waited for (or read) the rest of it."""
    base, _ = token_server
    head = "POST /invoke HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/octet-stream\n"
    token = f"Authorization: Bearer {TOKEN}\n"
    status, body = raw_exchange(base, head + token + f"Content-Length: {64 << 20}\n")
    assert status == 413 and json.loads(body)["error"]["code"] == "PayloadTooLarge"
    assert raw_exchange(base, head + f"Content-Length: {64 << 20}\n")[0] == 401  # no token: not even looked at
    piece = b"x" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * 17  # 1 MiB and 64 KiB, and no last chunk
    status, body = raw_exchange(base, head + token + "Transfer-Encoding: chunked\n", chunks)
    assert status == 413 and "over 1048576 bytes" in json.loads(body)["error"]["message"]
    status, body = raw_exchange(base, head + token + f"Content-Length: {(1 << 20) + 1}\n", [b"{" * 1024])
    assert status == 413
    exact = json.dumps(oss_event(INVOICE[0], event_time="2026-11-20T11:00:00.000Z")).encode()
    exact += b" " * ((1 << 20) - len(exact))  # exactly 1 MiB: allowed
    answer = requests.post(f"{base}/invoke", data=exact, headers={**OCTETS, "Authorization": f"Bearer {TOKEN}"},
                           timeout=20)
    assert answer.status_code == 200 and answer.json()["delivered"] == 1


def test_a_record_for_another_bucket_is_a_failed_record(token_server: tuple[str, Path],
                                                        token_hook: WebhookStub) -> None:
    base, log = token_server
    event = oss_event(INVOICE[0], EXPORT[0], event_time="2026-11-20T12:00:00.000Z")
    event["events"][1]["oss"]["bucket"]["name"] = "someone-elses-bucket"
    before = len(token_hook.requests)
    answer = invoke(base, event, {"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 502 and answer.headers["x-fc-status"] == "404"
    summary = answer.json()["summary"]
    assert (summary["delivered"], summary["failed"]) == (1, 1)
    other = summary["results"][1]
    assert other["outcome"] == "failed" and "not one this function serves" in other["reason"]
    assert summary["failed_event_ids"] == [other["event_id"]]
    (delivered,) = token_hook.requests[before:]  # the other record was neither signed nor sent
    assert json.loads(delivered.body)["bucket"] == "examplebucket"
    text = log.read_text("utf-8", "replace")
    assert '"event": "record_refused"' in text and '"bucket": "someone-elses-bucket"' in text


def test_a_request_head_over_the_limits_is_refused_before_the_invoke_is_looked_at(
        token_server: tuple[str, Path]) -> None:
    base, _ = token_server
    long_query = requests.post(f"{base}/invoke?{'q' * (16 << 10)}x", data=b"{}", headers=OCTETS, timeout=20)
    assert long_query.status_code == 414 and long_query.json()["error"]["code"] == "UriTooLong"
    headers = {**OCTETS, **{f"X-Pad-{index}": "p" * 4000 for index in range(9)}}
    big_head = requests.post(f"{base}/invoke", data=b"{}", headers=headers, timeout=20)
    assert big_head.status_code == 431 and big_head.json()["error"]["code"] == "HeadersTooLarge"
