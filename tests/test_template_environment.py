"""template.yml's environments: each function gets exactly the variables it reads (the credentials chain's
left to the function role), each from its parameter, secrets as NoEcho, and within Function Compute's
4 KB even with every parameter at its documented maximum length."""

from __future__ import annotations

import pytest
from function_environments import (
    PLATFORM_PROVIDED,
    credential_chain_variables,
    variables_each_function_reads,
    variables_read,
)
from ros_template import SECRET, TEMPLATE_FOLDERS, Stack, camel, load_template, logical_id

TEMPLATE_DATA = load_template()
PARAMETERS: dict = TEMPLATE_DATA["Parameters"]
# Function Compute: "The total size of all environment variables cannot exceed 4 KB" (keys and values).
FC_ENVIRONMENT_LIMIT = 4096
# Read by the code but deliberately not passed, and why.
NOT_PASSED = {
    "ON_CREATED_BUCKETS": "the stack's one OSS trigger watches OssBucket, which is what it defaults to",
    "ON_CREATED_INVOKE_TOKEN": "guards main.py's POST /invoke (custom runtimes); the stack deploys index.handler",
    "ON_CREATED_FC_RUNTIME": "guards main.py's POST /invoke (custom runtimes); the stack deploys index.handler",
}
READS = variables_each_function_reads()
LEFT_TO_THE_ROLE = credential_chain_variables() | PLATFORM_PROVIDED


def declared(folder: str) -> set[str]:
    """The variables template.yml gives a function."""
    return set(TEMPLATE_DATA["Resources"][logical_id(folder)]["Properties"]["EnvironmentVariables"])


def at_maximum(spec: dict) -> str | None:
    """A parameter's longest documented value: its longest allowed value, MaxLength characters, MaxValue."""
    if "AllowedValues" in spec:
        return max((str(value) for value in spec["AllowedValues"]), key=len)
    if "MaxLength" in spec:
        return "x" * spec["MaxLength"]
    return str(spec["MaxValue"]) if "MaxValue" in spec else None


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_each_function_gets_exactly_the_variables_it_reads(folder: str) -> None:
    wanted = READS[folder] - LEFT_TO_THE_ROLE - set(NOT_PASSED)
    assert {"OSS_REGION", "OSS_BUCKET"} <= wanted  # the recording works
    assert sorted(declared(folder) - wanted) == [], f"{folder} gets variables it never reads"
    assert sorted(wanted - declared(folder)) == [], f"{folder} reads variables template.yml does not pass"


def test_every_variable_the_code_names_is_read_by_a_function_or_left_out_for_a_reason() -> None:
    named = variables_read()
    assert {"OSS_REGION", "PRESIGN_POLICY", "ALIBABA_CLOUD_ROLE_ARN", "OSS_ACCESS_KEY_ID"} <= named  # discovery works
    # A name no build reads (read only per request, or on a path the SAMPLE environment misses) must be
    # added to function_environments.SAMPLE or to NOT_PASSED, with its reason.
    unaccounted = named - set().union(*READS.values()) - LEFT_TO_THE_ROLE - set(NOT_PASSED)
    assert sorted(unaccounted) == []


def test_the_credentials_chain_is_left_to_the_function_role() -> None:
    # On Function Compute the invocation's context credentials (the function role's) come before every
    # other source, so a static key, an OIDC token file or a metadata setting would never be used.
    assert {"OSS_ACCESS_KEY_ID", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_CREDENTIALS_FILE"} <= LEFT_TO_THE_ROLE
    for folder in TEMPLATE_FOLDERS:
        assert sorted(declared(folder) & LEFT_TO_THE_ROLE) == [], folder


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_every_variable_comes_from_its_parameter(folder: str) -> None:
    for variable, value in TEMPLATE_DATA["Resources"][logical_id(folder)]["Properties"]["EnvironmentVariables"].items():
        ref = {"Ref": camel(variable)}
        # Either the parameter, or the parameter when set and a documented fallback otherwise.
        assert value == ref or (isinstance(value, dict) and value.get("Fn::If", [None, None])[1] == ref), variable


def test_secrets_are_noecho_parameters() -> None:
    secrets = {variable for folder in TEMPLATE_FOLDERS for variable in declared(folder) if SECRET.search(variable)}
    assert {"PRESIGN_JWT_SECRET", "PRESIGN_API_KEYS", "LINK_SIGNING_KEYS", "ON_CREATED_RULES"} <= secrets
    assert [name for name in sorted(secrets) if PARAMETERS[camel(name)].get("NoEcho") is not True] == []


def test_every_parameter_a_function_gets_has_a_documented_maximum() -> None:
    passed = {camel(variable) for folder in TEMPLATE_FOLDERS for variable in declared(folder)}
    assert [name for name in sorted(passed) if at_maximum(PARAMETERS[name]) is None] == []


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_environment_fits_function_computes_4_kb_at_every_maximum(folder: str) -> None:
    longest = {name: value for name, spec in PARAMETERS.items() if (value := at_maximum(spec)) is not None}
    # LinkBaseUrl at its 128 characters also covers its fallback, the links trigger URL
    # (https://<function name, at most 37>-<id>.<region>.fcapp.run).
    environment = Stack(TEMPLATE_DATA, **longest).environment(folder)
    assert not [value for value in environment.values() if str(value).startswith("<")]  # every value sized
    used = sum(len(key.encode()) + len(str(value).encode()) for key, value in environment.items())
    assert used <= FC_ENVIRONMENT_LIMIT, f"{folder}: {used} bytes at the parameters' maximum lengths"
