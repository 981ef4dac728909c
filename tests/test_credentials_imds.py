"""The ECS metadata service source against a real HTTP server that checks IMDSv2 tokens as ECS does."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
import requests
from stubs_credential_services import FakeMetadataService
from stubs_credentials import ROLE, Reply, assert_no_secret

from shared.credentials import Credentials, MetadataSource, NoSource, SourceNotConfigured
from shared.errors import ConfigError, CredentialsError


def source_for(url: str, clock, **options) -> MetadataSource:
    return MetadataSource(endpoint=url, clock=clock, timeout=options.pop("timeout", 2.0), **options)


def test_imdsv2_token_then_role_discovery_then_credentials(serve, minted, clock) -> None:
    fake = FakeMetadataService(minted, v1=False)
    server = serve(fake)
    credentials = source_for(server.url, clock).get_credentials()
    assert credentials == Credentials(
        "STS.minted0001", "SECRETminted0001xyz", "TOKENminted0001CAIS+/=", clock() + timedelta(hours=1)
    )
    put, discover, fetch = server.requests
    assert (put.method, put.path) == ("PUT", "/latest/api/token")
    assert put.headers["x-aliyun-ecs-metadata-token-ttl-seconds"] == "21600"
    assert discover.path == "/latest/meta-data/ram/security-credentials/"
    assert fetch.path == f"/latest/meta-data/ram/security-credentials/{ROLE}"
    assert discover.headers["x-aliyun-ecs-metadata-token"] == fetch.headers["x-aliyun-ecs-metadata-token"]


def test_configured_role_name_skips_discovery(serve, minted, clock) -> None:
    server = serve(FakeMetadataService(minted, v1=False))
    source = MetadataSource.from_environ(
        {"ALIBABA_CLOUD_IMDS_ENDPOINT": server.url, "ALIBABA_CLOUD_ECS_METADATA": ROLE}, clock=clock
    )
    assert source.get_credentials().access_key_id == "STS.minted0001"
    assert [r.path for r in server.requests] == [
        "/latest/api/token",
        f"/latest/meta-data/ram/security-credentials/{ROLE}",
    ]


def test_each_refresh_fetches_new_credentials(serve, minted, clock) -> None:
    source = source_for(serve(FakeMetadataService(minted)).url, clock)
    first = source.get_credentials()
    clock.advance(minutes=50)
    second = source.get_credentials()
    assert first.access_key_id != second.access_key_id
    assert second.expiration == clock() + timedelta(hours=1)


def test_imdsv1_fallback_when_the_token_endpoint_refuses(serve, minted, clock) -> None:
    server = serve(FakeMetadataService(minted, v2=False))
    assert source_for(server.url, clock).get_credentials().access_key_id == "STS.minted0001"
    assert all("x-aliyun-ecs-metadata-token" not in r.headers for r in server.requests[1:])


def test_imdsv1_disabled_refuses_the_fallback(serve, minted, clock) -> None:
    server = serve(FakeMetadataService(minted, v2=False))
    source = MetadataSource.from_environ(
        {"ALIBABA_CLOUD_IMDS_ENDPOINT": server.url, "ALIBABA_CLOUD_IMDSV1_DISABLED": "true"}, clock=clock
    )
    with pytest.raises(CredentialsError) as caught:
        source.get_credentials()
    assert str(caught.value) == (
        "ecs_ram_role: the IMDSv2 token request answered HTTP 404, "
        "and ALIBABA_CLOUD_IMDSV1_DISABLED forbids IMDSv1"
    )
    assert len(server.requests) == 1


def test_server_requiring_tokens_rejects_v1(serve, minted, clock) -> None:
    server = serve(FakeMetadataService(minted, v2=False, v1=False))
    with pytest.raises(CredentialsError, match="role name lookup: HTTP 403"):
        source_for(server.url, clock).get_credentials()


def test_unknown_role_is_a_404(serve, minted, clock) -> None:
    source = source_for(serve(FakeMetadataService(minted)).url, clock, role_name="NoSuchRole")
    with pytest.raises(CredentialsError) as caught:
        source.get_credentials()
    assert str(caught.value) == "ecs_ram_role: the instance has no RAM role named 'NoSuchRole' (HTTP 404)"


def test_no_role_attached(serve, minted, clock) -> None:
    source = source_for(serve(FakeMetadataService(minted, role=None)).url, clock)
    with pytest.raises(CredentialsError, match="no RAM role is attached to this instance"):
        source.get_credentials()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, "{not json"), "the metadata service answered malformed JSON (9 bytes)"),
        (Reply(200, "[1, 2]"), "the metadata service answered JSON that is not an object"),
        (Reply(500, "oops"), f"credentials of role '{ROLE}': HTTP 500"),
    ],
    ids=["malformed_json", "not_an_object", "http_500"],
)
def test_bad_answers(serve, minted, clock, reply: Reply, message: str) -> None:
    fake = FakeMetadataService(minted)
    fake.credentials_reply = lambda: reply
    with pytest.raises(CredentialsError) as caught:
        source_for(serve(fake).url, clock).get_credentials()
    assert str(caught.value) == f"ecs_ram_role: {message}"


def test_code_not_success(serve, minted, clock) -> None:
    fake = FakeMetadataService(minted)
    fake.credentials_reply = lambda: Reply(200, minted.document(Code="Failed"))
    with pytest.raises(CredentialsError) as caught:
        source_for(serve(fake).url, clock).get_credentials()
    assert str(caught.value) == "ecs_ram_role: the answer's Code is 'Failed', not 'Success'"
    assert_no_secret(str(caught.value), minted.secrets)


def test_missing_fields_are_named_never_shown(serve, minted, clock) -> None:
    fake = FakeMetadataService(minted)
    fake.credentials_reply = lambda: Reply(200, minted.document(SecurityToken="", Expiration=None))
    with pytest.raises(CredentialsError) as caught:
        source_for(serve(fake).url, clock).get_credentials()
    assert str(caught.value) == "ecs_ram_role: the answer lacks SecurityToken, Expiration"
    assert_no_secret(str(caught.value), minted.secrets)


def test_expired_credentials_returned(serve, minted, clock) -> None:
    fake = FakeMetadataService(minted)
    fake.credentials_reply = lambda: Reply(200, minted.document(timedelta(seconds=-1)))
    with pytest.raises(CredentialsError) as caught:
        source_for(serve(fake).url, clock).get_credentials()
    assert str(caught.value) == "ecs_ram_role: returned credentials that expired at 2025-03-04T04:59:59+00:00"
    assert_no_secret(str(caught.value), minted.secrets)


def test_bad_expiration_format(serve, minted, clock) -> None:
    fake = FakeMetadataService(minted)
    fake.credentials_reply = lambda: Reply(200, minted.document(Expiration="tomorrow"))
    with pytest.raises(CredentialsError, match="Expiration is not a timestamp: 'tomorrow'"):
        source_for(serve(fake).url, clock).get_credentials()


def test_slow_server_times_out_quickly(serve, minted, clock) -> None:
    fake = FakeMetadataService(minted)
    fake.credentials_reply = lambda: Reply(200, minted.document(), delay=2.0)
    source = source_for(serve(fake).url, clock, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(CredentialsError) as caught:
        source.get_credentials()
    assert time.monotonic() - started < 1.5
    assert not isinstance(caught.value, SourceNotConfigured)
    assert "did not answer within 0.2 s" in str(caught.value)


def test_no_metadata_service_means_not_configured(clock) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = source_for(f"http://127.0.0.1:{port}", clock, timeout=0.5)
    with pytest.raises(
        SourceNotConfigured, match=r"cannot connect to http://127\.0\.0\.1:\d+/latest/api/token"
    ):
        source.get_credentials()


def test_disabled_by_environment() -> None:
    source = MetadataSource.from_environ({"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"})
    assert isinstance(source, NoSource)
    with pytest.raises(SourceNotConfigured, match="disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED"):
        source.get_credentials()


def test_from_environ_defaults_to_the_link_local_address() -> None:
    source = MetadataSource.from_environ({})
    assert isinstance(source, MetadataSource)
    assert (source.endpoint, source.role_name, source.imdsv1_disabled, source.timeout) == (
        "http://100.100.100.200",
        None,
        False,
        1.0,
    )


@pytest.mark.parametrize("value", ["ftp://host", "http://host/path", "http://user@host", "http://host:x"])
def test_bad_endpoint_override_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        MetadataSource.from_environ({"ALIBABA_CLOUD_IMDS_ENDPOINT": value})
    assert caught.value.variable == "ALIBABA_CLOUD_IMDS_ENDPOINT"


def test_a_session_can_be_passed_in(serve, minted, clock) -> None:
    server = serve(FakeMetadataService(minted))
    with requests.Session() as session:
        source = MetadataSource(endpoint=server.url, session=session, clock=clock)
        assert source.get_credentials().access_key_id == "STS.minted0001"


def test_environment_proxies_are_bypassed(serve, minted, clock, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(FakeMetadataService(minted))
    for name in ("HTTP_PROXY", "http_proxy"):  # a proxy that refuses everything
        monkeypatch.setenv(name, "http://127.0.0.1:1")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert source_for(server.url, clock).get_credentials().access_key_id == "STS.minted0001"
