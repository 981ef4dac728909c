"""The credentials file: profile selection, the four types, and errors that never show a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from stubs_credential_services import FakeMetadataService, FakeSts
from stubs_credentials import (
    OIDC_PROVIDER_ARN,
    ROLE,
    ROLE_ARN,
    assert_no_secret,
)

from shared.credentials import Credentials, CredentialsFileSource, NoSource, SourceNotConfigured
from shared.errors import CredentialsError

SECRET = "SECRETprofile0001"

INI = f"""
[default]
type = access_key                 # a comment
access_key_id = LTAIdefault
access_key_secret = {SECRET}

[dev]
enable = true
type = access_key
access_key_id = LTAIdev
access_key_secret = SECRETdev%with%percent

[off]
enable = false
type = access_key
access_key_id = LTAIoff
access_key_secret = {SECRET}
"""


def write(tmp_path: Path, text: str, name: str = "credentials.ini") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def from_file(path: Path, profile: str | None = None, **environ: str) -> CredentialsFileSource:
    environ = {"ALIBABA_CLOUD_CREDENTIALS_FILE": str(path), **environ}
    if profile:
        environ["ALIBABA_CLOUD_PROFILE"] = profile
    source = CredentialsFileSource.from_environ(environ)
    assert isinstance(source, CredentialsFileSource)
    return source


def test_access_key_default_profile(tmp_path: Path) -> None:
    assert from_file(write(tmp_path, INI)).get_credentials() == Credentials("LTAIdefault", SECRET)


def test_profile_chosen_by_environment(tmp_path: Path) -> None:
    credentials = from_file(write(tmp_path, INI), "dev").get_credentials()
    assert credentials == Credentials("LTAIdev", "SECRETdev%with%percent")


def test_default_path_under_home(tmp_path: Path) -> None:
    (tmp_path / ".alibabacloud").mkdir()
    write(tmp_path / ".alibabacloud", INI)
    source = CredentialsFileSource.from_environ({"HOME": str(tmp_path)})
    assert source.get_credentials().access_key_id == "LTAIdefault"
    assert source.path == str(tmp_path / ".alibabacloud" / "credentials.ini")


def test_missing_default_file_is_not_configured(tmp_path: Path) -> None:
    with pytest.raises(SourceNotConfigured, match="credentials.ini does not exist"):
        CredentialsFileSource.from_environ({"HOME": str(tmp_path)}).get_credentials()


def test_missing_named_file_is_a_failure(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as caught:
        from_file(tmp_path / "nope.ini").get_credentials()
    assert not isinstance(caught.value, SourceNotConfigured)


def test_no_home_and_no_file_is_not_configured() -> None:
    source = CredentialsFileSource.from_environ({})
    assert isinstance(source, NoSource)
    assert source.reason == "neither ALIBABA_CLOUD_CREDENTIALS_FILE nor HOME is set"


def test_disabled_profile_is_skipped(tmp_path: Path) -> None:
    with pytest.raises(SourceNotConfigured, match=r"profile \[off\] of .* has enable = false"):
        from_file(write(tmp_path, INI), "off").get_credentials()


@pytest.mark.parametrize(
    ("text", "profile", "message"),
    [
        (INI, "prod", "has no profile [prod]"),
        (
            "[default]\ntype = sts\n",
            None,
            "has type 'sts'; supported: access_key, ecs_ram_role, ram_role_arn, " "oidc_role_arn",
        ),
        ("[default]\naccess_key_id = a\n", None, "lacks type"),
        (f"[default]\ntype = access_key\naccess_key_secret = {SECRET}\n", None, "lacks access_key_id"),
        (
            f"[default]\ntype = ram_role_arn\naccess_key_id = a\naccess_key_secret = {SECRET}\n",
            None,
            "lacks role_arn",
        ),
        (
            f"[default]\ntype = ram_role_arn\naccess_key_id = a\naccess_key_secret = {SECRET}\nrole_arn = r\n"
            "duration_seconds = 60\n",
            None,
            "has duration_seconds '60'; it must be 900..43200",
        ),
        (
            "[default]\ntype = oidc_role_arn\nrole_arn = r\noidc_provider_arn = p\n",
            None,
            "lacks oidc_token_file_path",
        ),
    ],
    ids=[
        "no_profile",
        "unsupported_type",
        "no_type",
        "no_key_id",
        "no_role_arn",
        "bad_duration",
        "no_token_file",
    ],
)
def test_profile_errors_name_the_problem(
    tmp_path: Path, text: str, profile: str | None, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CredentialsError) as caught:
        from_file(path, profile).get_credentials()
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert_no_secret(str(caught.value), [SECRET])


def test_malformed_file_gives_the_line_not_its_content(tmp_path: Path) -> None:
    path = write(tmp_path, f"[default]\ntype = access_key\n{SECRET}\n")
    with pytest.raises(CredentialsError) as caught:
        from_file(path).get_credentials()
    assert str(caught.value) == f"credentials_file: cannot read {path} at line 3 (ParsingError)"


def test_ecs_ram_role(tmp_path: Path, serve, minted, clock) -> None:
    server = serve(FakeMetadataService(minted, v1=False))
    path = write(tmp_path, f"[default]\ntype = ecs_ram_role\nrole_name = {ROLE}\n")
    source = CredentialsFileSource(
        str(path), environ={"ALIBABA_CLOUD_IMDS_ENDPOINT": server.url}, clock=clock
    )
    assert source.get_credentials().access_key_id == "STS.minted0001"
    assert server.requests[-1].path.endswith(f"/{ROLE}")


def test_ecs_ram_role_failure_names_the_profile(tmp_path: Path, serve, minted, clock) -> None:
    server = serve(FakeMetadataService(minted))
    path = write(tmp_path, "[default]\ntype = ecs_ram_role\nrole_name = Other\n")
    source = CredentialsFileSource(
        str(path), environ={"ALIBABA_CLOUD_IMDS_ENDPOINT": server.url}, clock=clock
    )
    with pytest.raises(CredentialsError) as caught:
        source.get_credentials()
    assert str(caught.value) == (
        f"credentials_file: profile [default] (ecs_ram_role) of {path}: ecs_ram_role: "
        "the instance has no RAM role named 'Other' (HTTP 404)"
    )


def test_ram_role_arn(tmp_path: Path, serve, minted, clock) -> None:
    server = serve(FakeSts(minted, keys={"LTAIfile": SECRET}))
    path = write(
        tmp_path,
        f"[default]\ntype = ram_role_arn\naccess_key_id = LTAIfile\naccess_key_secret = {SECRET}"
        f"\nrole_arn = {ROLE_ARN}\nrole_session_name = laptop\nexternal_id = e1\n"
        'duration_seconds = 1200\npolicy = {"Version": "1"}\n',
    )
    source = CredentialsFileSource(str(path), environ={"ALIBABA_CLOUD_STS_ENDPOINT": server.url}, clock=clock)
    assert source.get_credentials().access_key_id == "STS.minted0001"
    query = server.requests[0].query
    assert (
        query["AccessKeyId"],
        query["RoleSessionName"],
        query["ExternalId"],
        query["DurationSeconds"],
        query["Policy"],
    ) == ("LTAIfile", "laptop", "e1", "1200", '{"Version": "1"}')


def test_oidc_role_arn(tmp_path: Path, serve, minted, clock) -> None:
    token_file = write(tmp_path, "eyJ.file.sig", "token")
    server = serve(FakeSts(minted, oidc_token="eyJ.file.sig"))
    path = write(
        tmp_path,
        f"[default]\ntype = oidc_role_arn\nrole_arn = {ROLE_ARN}\n"
        f"oidc_provider_arn = {OIDC_PROVIDER_ARN}\noidc_token_file_path = {token_file}\n",
    )
    source = CredentialsFileSource(str(path), environ={"ALIBABA_CLOUD_STS_ENDPOINT": server.url}, clock=clock)
    assert source.get_credentials().access_key_id == "STS.minted0001"
    assert server.requests[0].form["OIDCProviderArn"] == OIDC_PROVIDER_ARN


def test_repr_shows_no_secret(tmp_path: Path) -> None:
    source = from_file(write(tmp_path, INI))
    source.get_credentials()
    assert_no_secret(repr(source), [SECRET])
