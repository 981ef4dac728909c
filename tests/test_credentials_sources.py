"""The local sources: explicit keys, the Function Compute context (all its shapes), the environment."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from stubs_credentials import T0, FakeClock, assert_no_secret

from shared.credentials import (
    Credentials,
    EnvironmentSource,
    ExplicitSource,
    FunctionContextSource,
    SourceNotConfigured,
)
from shared.errors import CredentialsError

SECRET, TOKEN = "SECRETcontext0001", "TOKENcontext0001"


# explicit ------------------------------------------------------------------------------------------


def test_explicit_returns_what_it_was_given() -> None:
    given = Credentials("LTAIexplicit", SECRET)
    assert ExplicitSource(given).get_credentials() is given


def test_explicit_none_is_not_configured() -> None:
    with pytest.raises(SourceNotConfigured, match="explicit: no credentials given in code"):
        ExplicitSource(None).get_credentials()


def test_explicit_expired_credentials_fail() -> None:
    clock = FakeClock()
    source = ExplicitSource(Credentials("STS.x", SECRET, TOKEN, T0 - timedelta(seconds=1)), clock=clock)
    with pytest.raises(CredentialsError) as caught:
        source.get_credentials()
    assert not isinstance(caught.value, SourceNotConfigured)
    assert "expired at 2025-03-04T04:59:59+00:00" in str(caught.value)
    assert_no_secret(str(caught.value) + repr(source), [SECRET, TOKEN])


def test_explicit_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        ExplicitSource(("id", "secret"))  # type: ignore[arg-type]


# Function Compute context ---------------------------------------------------------------------------

SNAKE = SimpleNamespace(access_key_id="STS.fc", access_key_secret=SECRET, security_token=TOKEN)
CAMEL = SimpleNamespace(accessKeyId="STS.fc", accessKeySecret=SECRET, securityToken=TOKEN)
EXPECTED = Credentials("STS.fc", SECRET, TOKEN)


@pytest.mark.parametrize(
    "context",
    [
        SimpleNamespace(credentials=SNAKE),
        SimpleNamespace(credentials=CAMEL),
        SimpleNamespace(
            credentials={"access_key_id": "STS.fc", "access_key_secret": SECRET, "security_token": TOKEN}
        ),
        {"credentials": {"accessKeyId": "STS.fc", "accessKeySecret": SECRET, "securityToken": TOKEN}},
        SimpleNamespace(
            credentials=SimpleNamespace(
                access_key_id="STS.fc", accessKeySecret=SECRET, security_token="", securityToken=TOKEN
            )
        ),
    ],
    ids=["snake_case", "camelCase", "mapping_credentials", "mapping_context", "mixed_and_empty_alias"],
)
def test_context_shapes(context: object) -> None:
    assert FunctionContextSource(context).get_credentials() == EXPECTED


def test_context_without_token_gives_plain_keys() -> None:
    context = SimpleNamespace(credentials=SimpleNamespace(access_key_id="LTAIfc", access_key_secret=SECRET))
    assert FunctionContextSource(context).get_credentials() == Credentials("LTAIfc", SECRET)


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        (None, "no Function Compute context given"),
        (SimpleNamespace(), "the context carries no credentials"),
        (SimpleNamespace(credentials=None), "the context carries no credentials"),
        (SimpleNamespace(credentials={}), "the context carries no credentials"),
        (
            SimpleNamespace(
                credentials=SimpleNamespace(access_key_id="", access_key_secret="", security_token="")
            ),
            "the context's credentials are empty",
        ),
        (
            SimpleNamespace(credentials=SimpleNamespace(access_key_id=None, access_key_secret=None)),
            "the context's credentials are empty",
        ),
    ],
    ids=["no_context", "no_attribute", "none", "empty_mapping", "empty_strings_python312", "nones"],
)
def test_context_missing_or_empty_is_not_configured(context: object, reason: str) -> None:
    with pytest.raises(SourceNotConfigured) as caught:
        FunctionContextSource(context).get_credentials()
    assert caught.value.reason == reason
    assert str(caught.value) == f"fc_context: {reason}"


def test_context_half_set_fails_naming_the_missing_attribute() -> None:
    context = SimpleNamespace(credentials=SimpleNamespace(access_key_id="STS.fc", security_token=TOKEN))
    with pytest.raises(CredentialsError) as caught:
        FunctionContextSource(context).get_credentials()
    assert not isinstance(caught.value, SourceNotConfigured)
    assert str(caught.value) == "fc_context: context.credentials lacks access_key_secret"
    assert_no_secret(str(caught.value), [TOKEN])


def test_context_source_repr_shows_no_secret() -> None:
    assert_no_secret(repr(FunctionContextSource(SimpleNamespace(credentials=SNAKE))), [SECRET, TOKEN])


# environment ----------------------------------------------------------------------------------------


def test_environment_alibaba_cloud_names() -> None:
    environ = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.env",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
    }
    assert EnvironmentSource(environ).get_credentials() == Credentials("STS.env", SECRET, TOKEN)


def test_environment_oss_names() -> None:
    environ = {"OSS_ACCESS_KEY_ID": "LTAIoss", "OSS_ACCESS_KEY_SECRET": SECRET}
    assert EnvironmentSource(environ).get_credentials() == Credentials("LTAIoss", SECRET)


def test_environment_oss_names_come_first() -> None:
    environ = {
        "OSS_ACCESS_KEY_ID": "LTAIoss",
        "OSS_ACCESS_KEY_SECRET": "SECRETone",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.env",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "SECRETtwo",
        "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
    }
    assert EnvironmentSource(environ).get_credentials().access_key_id == "LTAIoss"


def test_environment_blank_values_count_as_unset() -> None:
    environ = {
        "OSS_ACCESS_KEY_ID": " ",
        "OSS_ACCESS_KEY_SECRET": "",
        "OSS_SESSION_TOKEN": "",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIenv",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
    }
    assert EnvironmentSource(environ).get_credentials() == Credentials("LTAIenv", SECRET)


def test_environment_nothing_set_is_not_configured() -> None:
    with pytest.raises(SourceNotConfigured, match="neither OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET or"):
        EnvironmentSource({"PATH": "/usr/bin"}).get_credentials()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"OSS_ACCESS_KEY_ID": "LTAIoss"},
            "OSS_ACCESS_KEY_SECRET is not set, but OSS_ACCESS_KEY_ID is: set both keys",
        ),
        (
            {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET},
            "ALIBABA_CLOUD_ACCESS_KEY_ID is not set, but ALIBABA_CLOUD_ACCESS_KEY_SECRET is: set both keys",
        ),
        (
            {"OSS_SESSION_TOKEN": TOKEN},
            "OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET are not set, "
            "but OSS_SESSION_TOKEN is: set both keys",
        ),
        (
            {
                "OSS_ACCESS_KEY_ID": "LTAIoss",
                "OSS_ACCESS_KEY_SECRET": SECRET,
                "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIother",
            },
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set, but ALIBABA_CLOUD_ACCESS_KEY_ID is: set both keys",
        ),
    ],
    ids=["oss_secret_missing", "alibaba_id_missing", "token_alone", "other_group_half_set"],
)
def test_environment_half_set_names_the_missing_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        EnvironmentSource(environ).get_credentials()
    assert not isinstance(caught.value, SourceNotConfigured)
    assert str(caught.value) == f"environment: {message}"
    assert_no_secret(str(caught.value), [SECRET, TOKEN])
