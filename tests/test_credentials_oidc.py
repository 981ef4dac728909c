"""AssumeRoleWithOIDC (RRSA) against a real HTTP server that checks the OIDC parameters as STS does."""

from __future__ import annotations

from pathlib import Path

import pytest
from stubs_credential_services import FakeSts
from stubs_credentials import (
    OIDC_PROVIDER_ARN,
    ROLE_ARN,
    assert_no_secret,
)

from shared.credentials import NoSource, OidcRoleSource
from shared.errors import CredentialsError


def oidc_source(url: str, token_file: Path, clock, **options) -> OidcRoleSource:
    return OidcRoleSource(
        ROLE_ARN, OIDC_PROVIDER_ARN, str(token_file), endpoint=url, clock=clock, timeout=2.0, **options
    )


def test_oidc_exchange_is_unsigned_and_carries_the_token(serve, minted, clock, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("eyJ.first.sig\n")
    fake = FakeSts(minted, oidc_token="eyJ.first.sig")
    server = serve(fake)
    credentials = oidc_source(server.url, token_file, clock, role_session_name="pod-1").get_credentials()
    assert credentials.access_key_id == "STS.minted0001"
    (request,) = server.requests
    assert request.method == "POST" and request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = request.form
    assert (
        form["Action"],
        form["RoleArn"],
        form["OIDCProviderArn"],
        form["OIDCToken"],
        form["RoleSessionName"],
    ) == ("AssumeRoleWithOIDC", ROLE_ARN, OIDC_PROVIDER_ARN, "eyJ.first.sig", "pod-1")
    assert "Signature" not in form and "AccessKeyId" not in form


def test_oidc_token_file_is_reread_at_each_refresh(serve, minted, clock, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("eyJ.first.sig")
    fake = FakeSts(minted, oidc_token="eyJ.first.sig")
    source = oidc_source(serve(fake).url, token_file, clock)
    source.get_credentials()
    token_file.write_text("eyJ.rotated.sig")  # the platform rotates the token
    fake.oidc_token = "eyJ.rotated.sig"
    clock.advance(minutes=50)
    assert source.get_credentials().access_key_id == "STS.minted0002"
    assert [call["OIDCToken"] for call in fake.calls] == ["eyJ.first.sig", "eyJ.rotated.sig"]


def test_oidc_rejected_token_is_not_echoed(serve, minted, clock, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("eyJ.stale.sig")
    with pytest.raises(CredentialsError) as caught:
        oidc_source(serve(FakeSts(minted, oidc_token="other")).url, token_file, clock).get_credentials()
    assert "AuthenticationFail.OIDCToken.Invalid" in str(caught.value)
    assert_no_secret(str(caught.value), ["eyJ.stale.sig"])


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "No such file or directory"), ("  \n", "is empty")],
    ids=["missing", "empty"],
)
def test_oidc_token_file_problems(clock, tmp_path: Path, content: str | None, reason: str) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    with pytest.raises(CredentialsError, match=reason) as caught:
        oidc_source("http://127.0.0.1:9", token_file, clock).get_credentials()
    assert str(token_file) in str(caught.value)


def test_oidc_from_environ(serve, minted, clock, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("eyJ.env.sig")
    server = serve(FakeSts(minted, oidc_token="eyJ.env.sig"))
    environ = {
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file),
        "ALIBABA_CLOUD_STS_ENDPOINT": server.url,
        "ALIBABA_CLOUD_ROLE_SESSION_NAME": "rrsa",
    }
    source = OidcRoleSource.from_environ(environ, clock=clock)
    assert source.get_credentials().access_key_id == "STS.minted0001"
    assert server.requests[0].form["RoleSessionName"] == "rrsa"


def test_oidc_not_configured_without_its_variables() -> None:
    source = OidcRoleSource.from_environ({"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN})
    assert isinstance(source, NoSource) and not source.misconfigured


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        (
            {"ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/t"},
            "ALIBABA_CLOUD_ROLE_ARN and ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        ),
        (
            {"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN},
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
        ),
    ],
    ids=["only_token_file", "no_token_file"],
)
def test_oidc_half_configured_names_what_is_missing(environ: dict[str, str], missing: str) -> None:
    source = OidcRoleSource.from_environ(environ)
    with pytest.raises(CredentialsError) as caught:
        source.get_credentials()
    assert str(caught.value) == f"oidc_role_arn: {missing} not set, though other OIDC variables are"
