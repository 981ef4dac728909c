"""shared/object_created/invoke_access.py and its settings: who may POST /invoke, decided from the headers alone.
(The function served over HTTP is tested in test_on_object_created_function.py.)"""

from __future__ import annotations

import pytest

from shared.errors import AccessDenied, ConfigError, Unauthenticated
from shared.object_created.invoke_access import InvokeAccess, parse_tokens
from shared.object_created.settings import load_invoke_access

TOKEN = "invoke-token-for-tests-0123456789"
FC = {"x-fc-control-path": "/invoke", "x-fc-request-id": "fc-1", "x-fc-access-key-id": "STS.id",
      "x-fc-access-key-secret": "sts-secret", "x-fc-security-token": "sts-token"}
ON_FC = {"ON_CREATED_FC_RUNTIME": "true", "FC_FUNCTION_NAME": "on_object_created"}


def test_default_deny() -> None:
    access = load_invoke_access({})
    for headers in ({}, FC, {"authorization": f"Bearer {TOKEN}"}):
        with pytest.raises(AccessDenied, match="HTTP invocation is off"):
            access.admit(headers, "r")


def test_the_token_and_only_the_token() -> None:
    access = load_invoke_access({"ON_CREATED_INVOKE_TOKEN": f" {TOKEN} , {TOKEN}-2 "})
    assert access.admit({"authorization": f"Bearer {TOKEN}"}, "r").via == "token"
    assert access.admit({"authorization": f"BEARER {TOKEN}-2"}, "r").context is None  # no x-fc-* credentials read
    assert access.admit({"authorization": f"Bearer {TOKEN}", **FC}, "r").context is None
    for wrong in ("", "Bearer ", f"Bearer {TOKEN} extra", f"Token {TOKEN}", "Bearer \udcff", TOKEN):
        with pytest.raises(Unauthenticated):
            access.admit({"authorization": wrong}, "r")
    with pytest.raises(Unauthenticated, match="needs Authorization: Bearer"):
        access.admit(FC, "r")  # FC's headers, but not in FC mode
    assert TOKEN not in repr(access)


def test_fc_mode_reads_the_invocations_credentials() -> None:
    admission = load_invoke_access(ON_FC).admit(FC, "fc-1")
    assert admission.via == "fc" and admission.context == {
        "request_id": "fc-1", "credentials": {"access_key_id": "STS.id", "access_key_secret": "sts-secret",
                                              "security_token": "sts-token"}}
    assert "sts-secret" not in repr(admission)
    bare = load_invoke_access(ON_FC).admit({"x-fc-control-path": "/invoke", "x-fc-request-id": "fc-2"}, "fc-2")
    assert bare.context == {"request_id": "fc-2", "credentials": None}  # the role-less function: its own chain


@pytest.mark.parametrize("changed", [{"x-fc-control-path": "/http-invoke"}, {"x-fc-control-path": "/INVOKE"},
                                     {"x-fc-control-path": ""}, {"x-fc-request-id": ""}])
def test_fc_mode_admits_event_invocations_only(changed: dict[str, str]) -> None:
    with pytest.raises(AccessDenied, match="only Function Compute's event invocations"):
        load_invoke_access(ON_FC).admit({**FC, **changed}, "r")


def test_fc_mode_and_a_token_together() -> None:
    access = load_invoke_access({**ON_FC, "ON_CREATED_INVOKE_TOKEN": TOKEN})
    assert access.admit(FC, "r").via == "fc" and access.admit({"authorization": f"Bearer {TOKEN}"}, "r").via == "token"
    with pytest.raises(Unauthenticated):
        access.admit({**FC, "authorization": "Bearer wrong-token-0123456789"}, "r")  # a wrong token is never ignored


@pytest.mark.parametrize(("environ", "variable", "message"), [
    ({"ON_CREATED_FC_RUNTIME": "true"}, "ON_CREATED_FC_RUNTIME", "FC_FUNCTION_NAME is unset"),
    ({"ON_CREATED_FC_RUNTIME": "maybe"}, "ON_CREATED_FC_RUNTIME", "must be true or false"),
    ({"ON_CREATED_INVOKE_TOKEN": "short"}, "ON_CREATED_INVOKE_TOKEN", "at least 16"),
    ({"ON_CREATED_INVOKE_TOKEN": f"{TOKEN},"}, "ON_CREATED_INVOKE_TOKEN", "at least 16"),
    ({"ON_CREATED_INVOKE_TOKEN": "sixteen chars with spaces"}, "ON_CREATED_INVOKE_TOKEN", "without spaces"),
    ({"ON_CREATED_INVOKE_TOKEN": "токен-токен-токен-токен"}, "ON_CREATED_INVOKE_TOKEN", "printable ASCII"),
])
def test_a_broken_setting_refuses_everything(environ: dict[str, str], variable: str, message: str) -> None:
    access = load_invoke_access(environ)
    for headers in ({}, FC, {"authorization": f"Bearer {TOKEN}"}):
        with pytest.raises(ConfigError) as caught:
            access.admit(headers, "r")
        assert caught.value.variable == variable and message in caught.value.message
        assert "short" not in caught.value.message and "токен" not in caught.value.message


def test_parse_tokens() -> None:
    assert parse_tokens(None) == () and parse_tokens(f"{TOKEN}") == (TOKEN.encode(),)
    assert repr(InvokeAccess(parse_tokens(TOKEN))) == "InvokeAccess(tokens=1, fc_runtime=False)"
