"""The README's s.yaml (Serverless Devs, fc3 component) deploys what template.yml deploys: the same
functions, handlers, runtime, sizes, environment variable names, roles, triggers and retries."""

from __future__ import annotations

import re

import pytest
from ros_template import PSEUDO, ROOT, TEMPLATE_FOLDERS, Stack, load_template, logical_id
from yaml_subset import load

TEMPLATE_DATA = load_template()
RESOURCES: dict = TEMPLATE_DATA["Resources"]
# template.yml's parameters and pseudo parameters, as the s.yaml writes them.
S_FORMS = {"FunctionNamePrefix": "${vars.prefix}", "OssBucket": "${vars.bucket}",
           "OssTriggerPrefix": "${vars.triggerPrefix}", "OssTriggerSuffix": "${vars.triggerSuffix}",
           "OnCreatedFailureQueue": "${vars.failureQueue}"}
S_VARIABLES = {"OSS_REGION": "${vars.region}", "OSS_BUCKET": "${vars.bucket}"}


def readme_s_yaml() -> dict:
    """The one ```yaml block of the README that starts with ``edition: 3.0.0``."""
    blocks = re.findall(r"```yaml\n(edition: 3\.0\.0\n.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)
    assert len(blocks) == 1, "the README has exactly one s.yaml"
    return load(blocks[0])  # type: ignore[return-value]


S_YAML = readme_s_yaml()


def as_written_in_s_yaml(node: object) -> object:
    """A template value resolved with the parameters and pseudo parameters in their s.yaml forms."""
    return _pseudo_in_s_forms(Stack(TEMPLATE_DATA, **S_FORMS).resolved(node))


def _pseudo_in_s_forms(value: object) -> object:
    if isinstance(value, list):
        return [_pseudo_in_s_forms(item) for item in value]
    if isinstance(value, dict):
        return {key: _pseudo_in_s_forms(item) for key, item in value.items()}
    if isinstance(value, str):
        value = value.replace(str(PSEUDO["ALIYUN::Region"]), "${vars.region}")
        return value.replace(str(PSEUDO["ALIYUN::TenantId"]), "${config('AccountID')}")
    return value


def props(folder: str) -> dict:
    return S_YAML["resources"][folder]["props"]  # type: ignore[no-any-return]


def test_s_yaml_deploys_the_three_functions_with_the_fc3_component() -> None:
    assert S_YAML["edition"] == "3.0.0"
    assert list(S_YAML["resources"]) == list(TEMPLATE_FOLDERS)
    assert {resource["component"] for resource in S_YAML["resources"].values()} == {"fc3"}
    assert S_YAML["vars"]["prefix"] == TEMPLATE_DATA["Parameters"]["FunctionNamePrefix"]["Default"]
    for var, parameter in (("triggerPrefix", "OssTriggerPrefix"), ("triggerSuffix", "OssTriggerSuffix")):
        assert S_YAML["vars"][var] == TEMPLATE_DATA["Parameters"][parameter]["Default"]


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_s_yaml_function_is_the_templates(folder: str) -> None:
    function = RESOURCES[logical_id(folder)]["Properties"]
    mine = props(folder)
    assert mine["region"] == "${vars.region}"
    assert mine["functionName"] == as_written_in_s_yaml(function["FunctionName"])
    pairs = [("runtime", "Runtime"), ("handler", "Handler"), ("cpu", "Cpu"), ("memorySize", "MemorySize"),
             ("timeout", "Timeout"), ("description", "Description")]
    assert {key: mine[key] for key, _ in pairs} == {key: function[name] for key, name in pairs}
    assert mine["code"] == f"./dist/{folder}.zip"  # what python3 -m shared package builds
    assert function["Code"]["OssObjectName"] == {"Fn::Sub": f"${{CodePrefix}}{folder}.zip"}
    role = function["Role"]["Fn::GetAtt"][0]
    assert mine["role"] == "acs:ram::${config('AccountID')}:role/" + str(
        as_written_in_s_yaml(RESOURCES[role]["Properties"]["RoleName"]))


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_s_yaml_environment_has_the_templates_variable_names(folder: str) -> None:
    template_names = list(RESOURCES[logical_id(folder)]["Properties"]["EnvironmentVariables"])
    environment = props(folder)["environmentVariables"]
    assert list(environment) == template_names
    assert environment == {name: S_VARIABLES.get(name, f"${{env('{name}')}}") for name in template_names}


@pytest.mark.parametrize("folder", ["presign", "links"])
def test_s_yaml_http_trigger_is_the_templates(folder: str) -> None:
    trigger = RESOURCES[logical_id(folder).replace("Function", "HttpTrigger")]["Properties"]
    assert props(folder)["triggers"] == [{"triggerName": trigger["TriggerName"], "triggerType": trigger["TriggerType"],
                                          "qualifier": trigger["Qualifier"], "triggerConfig": trigger["TriggerConfig"]}]


def test_s_yaml_oss_trigger_is_the_templates() -> None:
    trigger = RESOURCES["OnObjectCreatedOssTrigger"]["Properties"]
    role = RESOURCES["OssTriggerRole"]["Properties"]["RoleName"]
    assert props("on_object_created")["triggers"] == [{
        "triggerName": trigger["TriggerName"], "triggerType": trigger["TriggerType"],
        "qualifier": trigger["Qualifier"],
        "invocationRole": "acs:ram::${config('AccountID')}:role/" + str(as_written_in_s_yaml(role)),
        "sourceArn": as_written_in_s_yaml(trigger["SourceArn"]),
        "triggerConfig": as_written_in_s_yaml(trigger["TriggerConfig"])}]


def test_s_yaml_retries_failed_events_as_the_template_does() -> None:
    config = RESOURCES["OnObjectCreatedAsyncInvokeConfig"]["Properties"]
    queue = config["DestinationConfig"]["Fn::If"][1]["OnFailure"]["Destination"]
    assert props("on_object_created")["asyncInvokeConfig"] == {
        "maxAsyncRetryAttempts": TEMPLATE_DATA["Parameters"]["OnCreatedMaxRetryAttempts"]["Default"],
        "destinationConfig": {"onFailure": {"destination": as_written_in_s_yaml(queue)}}}
