"""ALIBABA_CLOUD_CREDENTIALS_URI against a real HTTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stubs_credentials import Reply, assert_no_secret

from shared.credentials import CredentialsUriSource, NoSource, SourceNotConfigured
from shared.errors import ConfigError, CredentialsError


def test_fetches_the_document(serve, minted, clock) -> None:
    server = serve(lambda request: Reply(200, minted.document(timedelta(minutes=30))))
    source = CredentialsUriSource.from_environ(
        {"ALIBABA_CLOUD_CREDENTIALS_URI": f"{server.url}/creds?role=a"}, clock=clock
    )
    credentials = source.get_credentials()
    assert credentials.access_key_id == "STS.minted0001"
    assert credentials.expiration == clock() + timedelta(minutes=30)
    assert (server.requests[0].method, server.requests[0].path, server.requests[0].query) == (
        "GET",
        "/creds",
        {"role": "a"},
    )


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(503, "busy"), "/creds answered HTTP 503"),
        (Reply(200, "nope"), "/creds answered malformed JSON (4 bytes)"),
        (Reply(200, {"Code": "Error", "Message": "x"}), "the answer's Code is 'Error', not 'Success'"),
    ],
    ids=["http_503", "malformed_json", "code_not_success"],
)
def test_failures_name_the_uri_without_its_query(serve, clock, reply: Reply, message: str) -> None:
    server = serve(lambda request: reply)
    source = CredentialsUriSource(f"{server.url}/creds?sig=SECRETquery", clock=clock)
    with pytest.raises(CredentialsError) as caught:
        source.get_credentials()
    assert str(caught.value).startswith("credentials_uri: ") and str(caught.value).endswith(message)
    assert_no_secret(str(caught.value) + repr(source), ["SECRETquery"])


def test_expired_credentials_returned(serve, minted, clock) -> None:
    server = serve(lambda request: Reply(200, minted.document(timedelta(hours=-1))))
    with pytest.raises(CredentialsError, match="returned credentials that expired at 2025-03-04T04:00:00"):
        CredentialsUriSource(server.url, clock=clock).get_credentials()


def test_timeout(serve, minted, clock) -> None:
    server = serve(lambda request: Reply(200, minted.document(), delay=2.0))
    with pytest.raises(CredentialsError, match=r"did not answer within 0\.2 s"):
        CredentialsUriSource(server.url, clock=clock, timeout=0.2).get_credentials()


def test_not_configured_without_the_variable() -> None:
    source = CredentialsUriSource.from_environ({})
    assert isinstance(source, NoSource)
    with pytest.raises(SourceNotConfigured, match="ALIBABA_CLOUD_CREDENTIALS_URI is not set"):
        source.get_credentials()


def test_bad_uri_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        CredentialsUriSource.from_environ({"ALIBABA_CLOUD_CREDENTIALS_URI": "file:///etc/creds"})
    assert caught.value.variable == "ALIBABA_CLOUD_CREDENTIALS_URI"
