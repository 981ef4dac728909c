"""AssumeRole against a real HTTP server that verifies the RPC signature as STS does; endpoint rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from stubs_credential_services import FakeSts
from stubs_credentials import (
    ROLE_ARN,
    Reply,
    ScriptedProvider,
    assert_no_secret,
)

from shared.credentials import AssumeRoleSource, Credentials, ExplicitSource
from shared.credentials.sts import sts_endpoint, wants_assume_role
from shared.errors import ConfigError, CredentialsError

BASE_SECRET, BASE_TOKEN = "SECRETbase0001", "TOKENbase0001+/="
BASE_KEYS = Credentials("LTAIbase", BASE_SECRET)
BASE_STS = Credentials("STS.base", BASE_SECRET, BASE_TOKEN)


def assume_role(url: str, clock, base: Credentials = BASE_KEYS, **options) -> AssumeRoleSource:
    return AssumeRoleSource(ExplicitSource(base), ROLE_ARN, endpoint=url, clock=clock, timeout=2.0, **options)


# AssumeRole -----------------------------------------------------------------------------------------


def test_assume_role_signed_with_plain_keys(serve, minted, clock) -> None:
    fake = FakeSts(minted, keys={"LTAIbase": BASE_SECRET})
    server = serve(fake)
    credentials = assume_role(server.url, clock).get_credentials()
    assert credentials.access_key_id == "STS.minted0001"
    assert credentials.expiration == clock() + timedelta(seconds=3600)
    (request,) = server.requests
    assert request.method == "GET" and request.path == "/"
    params = request.query
    assert params["RoleArn"] == ROLE_ARN
    assert params["DurationSeconds"] == "3600"
    assert params["Timestamp"] == "2025-03-04T05:00:00Z"
    assert params["RoleSessionName"] == f"oss-presign-{int(clock().timestamp())}"
    assert "SecurityToken" not in params and "Policy" not in params and "ExternalId" not in params


def test_assume_role_with_sts_base_sends_and_signs_the_token(serve, minted, clock) -> None:
    fake = FakeSts(minted, keys={"STS.base": BASE_SECRET}, tokens={"STS.base": BASE_TOKEN})
    server = serve(fake)
    assert (
        assume_role(server.url, clock, BASE_STS).get_credentials().security_token == "TOKENminted0001CAIS+/="
    )
    assert server.requests[0].query["SecurityToken"] == BASE_TOKEN


def test_assume_role_options(serve, minted, clock) -> None:
    policy = (
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}'
    )
    fake = FakeSts(minted, keys={"LTAIbase": BASE_SECRET})
    server = serve(fake)
    source = assume_role(
        server.url,
        clock,
        policy=policy,
        external_id="ext-42",
        duration_seconds=900,
        role_session_name="presign-fn",
        nonce=lambda: "fixed nonce*",
    )
    credentials = source.get_credentials()
    assert credentials.expiration == clock() + timedelta(seconds=900)
    params = server.requests[0].query
    assert (
        params["Policy"],
        params["ExternalId"],
        params["DurationSeconds"],
        params["RoleSessionName"],
        params["SignatureNonce"],
    ) == (policy, "ext-42", "900", "presign-fn", "fixed nonce*")


def test_assume_role_uses_a_fresh_nonce_each_call(serve, minted, clock) -> None:
    fake = FakeSts(minted, keys={"LTAIbase": BASE_SECRET})
    source = assume_role(serve(fake).url, clock)
    source.get_credentials()
    clock.advance(minutes=45)
    source.get_credentials()
    assert len(fake.nonces) == 2


def test_wrong_secret_is_refused_and_the_echoed_token_is_hidden(serve, minted, clock) -> None:
    fake = FakeSts(minted, keys={"STS.base": "SECRETthe-real-one"}, tokens={"STS.base": BASE_TOKEN})
    with pytest.raises(CredentialsError) as caught:
        assume_role(serve(fake).url, clock, BASE_STS).get_credentials()
    message = str(caught.value)
    assert message.startswith("ram_role_arn: STS AssumeRole failed: HTTP 400 SignatureDoesNotMatch: ")
    assert "(RequestId req-err)" in message
    assert_no_secret(message + repr(caught.value), [BASE_SECRET, BASE_TOKEN, "SECRETthe-real-one"])


def test_unknown_access_key(serve, minted, clock) -> None:
    with pytest.raises(CredentialsError, match="HTTP 404 InvalidAccessKeyId.NotFound"):
        assume_role(serve(FakeSts(minted)).url, clock).get_credentials()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, "<html>"), "STS AssumeRole answered malformed JSON (6 bytes)"),
        (Reply(200, {"RequestId": "r"}), "STS AssumeRole answered without Credentials"),
        (
            Reply(200, {"Credentials": {"AccessKeyId": "STS.x"}}),
            "the answer lacks AccessKeySecret, SecurityToken, Expiration",
        ),
        (Reply(502, "bad gateway"), "STS AssumeRole failed: HTTP 502"),
    ],
    ids=["malformed_json", "no_credentials", "missing_fields", "http_502_not_json"],
)
def test_bad_sts_answers(serve, clock, reply: Reply, message: str) -> None:
    server = serve(lambda request: reply)
    with pytest.raises(CredentialsError) as caught:
        assume_role(server.url, clock).get_credentials()
    assert str(caught.value) == f"ram_role_arn: {message}"


def test_expired_credentials_from_sts(serve, minted, clock) -> None:
    document = minted.document(timedelta(seconds=-30))
    fields = ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")
    server = serve(lambda request: Reply(200, {"Credentials": {k: document[k] for k in fields}}))
    with pytest.raises(CredentialsError, match="returned credentials that expired at"):
        assume_role(server.url, clock).get_credentials()


def test_sts_timeout(serve, clock) -> None:
    server = serve(lambda request: Reply(200, "{}", delay=2.0))
    source = AssumeRoleSource(
        ExplicitSource(BASE_KEYS), ROLE_ARN, endpoint=server.url, clock=clock, timeout=0.2
    )
    with pytest.raises(CredentialsError, match=r"did not answer within 0\.2 s"):
        source.get_credentials()


def test_base_failure_is_named(clock) -> None:
    base = ScriptedProvider(CredentialsError("environment", "OSS_ACCESS_KEY_SECRET is not set"))
    source = AssumeRoleSource(base, ROLE_ARN, endpoint="http://127.0.0.1:9", clock=clock)
    with pytest.raises(CredentialsError) as caught:
        source.get_credentials()
    assert str(caught.value) == (
        "ram_role_arn: no credentials to call AssumeRole with "
        "(environment: OSS_ACCESS_KEY_SECRET is not set)"
    )


def test_assume_role_from_environ(serve, minted, clock) -> None:
    fake = FakeSts(minted, keys={"LTAIbase": BASE_SECRET})
    server = serve(fake)
    environ = {
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
        "ALIBABA_CLOUD_STS_ENDPOINT": server.url,
        "ALIBABA_CLOUD_ROLE_SESSION_NAME": "fn-session",
        "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION": "1800",
        "ALIBABA_CLOUD_ROLE_POLICY": '{"Version":"1"}',
        "ALIBABA_CLOUD_ROLE_EXTERNAL_ID": "abc",
    }
    AssumeRoleSource.from_environ(environ, ExplicitSource(BASE_KEYS), clock=clock).get_credentials()
    params = server.requests[0].query
    assert (params["RoleSessionName"], params["DurationSeconds"], params["Policy"], params["ExternalId"]) == (
        "fn-session",
        "1800",
        '{"Version":"1"}',
        "abc",
    )


@pytest.mark.parametrize("value", ["60", "43201", "1h", "-900"])
def test_bad_session_duration_is_a_config_error(value: str) -> None:
    environ = {"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN, "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION": value}
    with pytest.raises(ConfigError) as caught:
        AssumeRoleSource.from_environ(environ, ExplicitSource(BASE_KEYS))
    assert caught.value.variable == "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION"
    assert "900..43200" in str(caught.value)


# endpoint rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "endpoint"),
    [
        ({}, "https://sts.aliyuncs.com"),
        ({"ALIBABA_CLOUD_STS_REGION": "cn-hangzhou"}, "https://sts.cn-hangzhou.aliyuncs.com"),
        (
            {"ALIBABA_CLOUD_STS_REGION": "cn-hangzhou", "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED": "true"},
            "https://sts-vpc.cn-hangzhou.aliyuncs.com",
        ),
        ({"ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED": "true"}, "https://sts.aliyuncs.com"),
        (
            {"ALIBABA_CLOUD_STS_ENDPOINT": "http://127.0.0.1:8080", "ALIBABA_CLOUD_STS_REGION": "cn-beijing"},
            "http://127.0.0.1:8080",
        ),
        ({"ALIBABA_CLOUD_STS_ENDPOINT": "sts.example.internal/"}, "https://sts.example.internal"),
    ],
    ids=["global", "region", "vpc", "vpc_without_region", "override", "override_without_scheme"],
)
def test_sts_endpoint(environ: dict[str, str], endpoint: str) -> None:
    assert sts_endpoint(environ) == endpoint


@pytest.mark.parametrize("value", ["https://sts.aliyuncs.com/?x=1", "https://[::1", "http://[not-an-ip]", "[::1"])
def test_bad_sts_endpoint_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="ALIBABA_CLOUD_STS_ENDPOINT must look like scheme://host"):
        sts_endpoint({"ALIBABA_CLOUD_STS_ENDPOINT": value})


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN}, True),
        ({"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/t"}, False),
        ({"ALIBABA_CLOUD_ROLE_ARN": " "}, False),
        ({}, False),
    ],
    ids=["role_arn", "with_oidc", "blank", "nothing"],
)
def test_wants_assume_role(environ: dict[str, str], wanted: bool) -> None:
    assert wants_assume_role(environ) is wanted


def test_sources_repr_shows_no_secret(tmp_path: Path) -> None:
    source = AssumeRoleSource(ExplicitSource(BASE_STS), ROLE_ARN)
    assert_no_secret(repr(source), [BASE_SECRET, BASE_TOKEN])
    assert repr(source) == f"AssumeRoleSource(role_arn={ROLE_ARN!r}, endpoint='https://sts.aliyuncs.com')"
