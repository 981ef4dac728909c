"""The object-created function end to end: its configuration, the FC entry (index.py) and the custom-runtime
entry (main.py through functions-framework in a subprocess), with the local bucket, the links app on
127.0.0.1 and a real webhook receiver; every delivered link downloads its object."""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import requests
from events import load_event
from http_servers import serving_wsgi
from presign_env import ACCESS_KEY, environment
from processes import ROOT, free_port, functions_framework_command, running
from stubs_webhook import SECRET, Answer, WebhookStub

from shared.devtools.local_oss import LocalOss
from shared.errors import ConfigError, DeliveryFailed
from shared.http.wsgi import serve_wsgi
from shared.links.wiring import build_links_app
from shared.object_created.invoke import invoke_response, serve_oss_event
from shared.object_created.settings import OnCreatedSettings
from shared.object_created.wiring import build_on_created_handler
from shared.oss.content_disposition import content_disposition
from shared.oss.signer import presign_now

LINK_KEYS = "k1:link-signing-secret-one-0123456789"
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
    env = on_created_environment(oss, webhook, links, ON_CREATED_ATTEMPTS="2")
    command = functions_framework_command("functions/on_object_created/main.py", "on_object_created", port)
    with running(command, port, env, log=tmp_path / "ff.log") as base:
        body = json.dumps(oss_event(INVOICE[0], EXPORT[0])).encode()
        headers = {"Content-Type": "application/octet-stream", "x-fc-request-id": "fc-invoke-1"}
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
        assert error["error"]["code"] == "UpstreamError" and error["error"]["request_id"] == "fc-invoke-2"
        assert error["summary"]["failed"] == 1 and error["summary"]["delivered"] == 1
        retried = requests.post(f"{base}/invoke", data=again, headers=headers, timeout=20)  # FC's retry
        assert retried.status_code == 200 and (retried.json()["delivered"], retried.json()["duplicate"]) == (1, 1)
        paths = [request.path for request in webhook.requests]
        assert (paths.count("/invoices"), paths.count("/exports")) == (3, 2)  # the retry re-sent the invoice only
        assert requests.get(f"{base}/invoke", timeout=10).status_code == 404
        assert requests.post(f"{base}/initialize", timeout=10).status_code == 200
    log = (tmp_path / "ff.log").read_text("utf-8", "replace")
    assert SECRET not in log and "x-oss-signature=" not in log and '"event": "delivered"' in log


def test_invoke_contract_without_a_server() -> None:
    handler = build_on_created_handler({"OSS_REGION": "cn-hangzhou"}, audit_stream=io.StringIO())
    answer = invoke_response(handler, method="POST", path="/invoke", headers={"x-fc-request-id": "r1"}, body=b"{}")
    assert answer.status == 500 and answer.headers["x-fc-status"] == "404"
    error = json.loads(answer.body)["error"]
    assert error["code"] == "ConfigError" and "ON_CREATED_RULES is required" in error["message"]


def test_a_bad_event_is_a_400_and_a_failed_invocation(oss: LocalOss, links: str,
                                                      webhook: WebhookStub) -> None:
    handler = build_on_created_handler(on_created_environment(oss, webhook, links), audit_stream=io.StringIO())
    answer = invoke_response(handler, method="POST", path="/invoke", headers={}, body=b"not json")
    assert answer.status == 400 and answer.headers["x-fc-status"] == "404"
    with pytest.raises(ConfigError):
        serve_oss_event(build_on_created_handler({}, audit_stream=io.StringIO()), b"{}", None)


def base_environment(**overrides: str) -> dict[str, str]:
    rules = [{"link": "presigned", "webhook": {"url": "https://hooks.example.com/x", "secret": SECRET}}]
    return {"OSS_REGION": "cn-hangzhou", "ON_CREATED_RULES": json.dumps(rules), **overrides}


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
    assert SECRET not in repr(settings) and "link-signing" not in repr(settings)
    log = io.StringIO()
    broken = build_on_created_handler({**environ, "LINK_SIGNING_KEYS": "k1:short", "LINK_BASE_URL": "https://l"},
                                      audit_stream=log)
    with pytest.raises(ConfigError, match="shorter than 32 bytes"):
        broken.handle(b"{}")
    assert "short" not in log.getvalue().replace("shorter", "") and '"event": "config_error"' in log.getvalue()
