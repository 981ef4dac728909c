"""template.yml: parses, uses ROS's resource types as documented, deploys every function with an
importable handler, passes every variable the code reads, and grants exactly the listed permissions."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import re

import pytest
from ros_template import (
    PLATFORM_PROVIDED,
    ROOT,
    SECRET,
    TEMPLATE,
    camel,
    evaluate_conditions,
    family,
    function_folders,
    load_template,
    logical_id,
    receivers,
    references,
    resolve,
    variables_read,
)
from yaml_subset import YamlError, load

TEMPLATE_DATA = load_template()
RESOURCES: dict = TEMPLATE_DATA["Resources"]
PARAMETERS: dict = TEMPLATE_DATA["Parameters"]
# Properties and attributes as the ROS resource reference documents them (help.aliyun.com/ros).
SCHEMA = {
    "ALIYUN::FC3::Function": {
        "required": {"FunctionName", "Handler", "Runtime"},
        "known": {"FunctionName", "Handler", "Runtime", "Code", "Cpu", "CustomContainerConfig", "CustomDns",
                  "CustomRuntimeConfig", "Description", "DiskSize", "EnvironmentVariables", "GpuConfig",
                  "InstanceConcurrency", "InstanceLifecycleConfig", "InternetAccess", "Layers", "LogConfig",
                  "MemorySize", "NasConfig", "OssMountConfig", "Role", "Timeout", "TracingConfig", "VpcConfig",
                  "DisableOndemand", "SessionAffinityConfig", "InstanceIsolationMode", "SessionAffinity", "Tags"},
        "attributes": {"ARN", "FunctionId", "FunctionName"},
    },
    "ALIYUN::FC3::Trigger": {
        "required": {"FunctionName", "TriggerName", "TriggerType", "TriggerConfig"},
        "known": {"FunctionName", "TriggerName", "TriggerType", "TriggerConfig", "Description", "InvocationRole",
                  "Qualifier", "SourceArn"},
        "attributes": {"FunctionName", "TriggerId", "TriggerName", "UrlInternet", "UrlIntranet"},
    },
    "ALIYUN::RAM::Role": {
        "required": {"RoleName", "AssumeRolePolicyDocument"},
        "known": {"RoleName", "Description", "AssumeRolePolicyDocument", "MaxSessionDuration", "Policies",
                  "IgnoreExisting", "DeletionForce", "PolicyAttachments"},
        "attributes": {"Arn", "RoleId", "RoleName"},
    },
}
CODE_PROPERTIES = {"OssBucketName", "OssObjectName", "ZipFile", "Checksum", "SourceCode"}
TEMPLATE_FOLDERS = ["presign", "links", "on_object_created"]
BUCKET_OBJECTS = "acs:oss:*:*:examplebucket/reports/*"
REVOCATION = "acs:oss:*:*:controlbucket/links/revoked.json"


def functions() -> dict[str, dict]:
    """Function resources by the folder they deploy."""
    return {folder: RESOURCES[logical_id(folder)] for folder in TEMPLATE_FOLDERS}


def parameter_values(**overrides: object) -> dict[str, object]:
    """Every parameter's default, a placeholder for the required ones, and the overrides."""
    values = {name: spec.get("Default", f"<{name}>") for name, spec in PARAMETERS.items()}
    values.update(OssBucket="examplebucket", SigningPrefix="reports/", **overrides)
    return values


def resolved(node: object, **overrides: object) -> object:
    params = parameter_values(**overrides)
    return resolve(node, params, evaluate_conditions(TEMPLATE_DATA, params))


def statements(role: str, **overrides: object) -> set[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(Effect, Actions, Resources) of every statement of a role's inline policies."""
    found = set()
    for policy in resolved(RESOURCES[role]["Properties"]["Policies"], **overrides):  # type: ignore[union-attr]
        assert policy["PolicyDocument"]["Version"] == "1"
        for statement in policy["PolicyDocument"]["Statement"]:
            assert set(statement) == {"Effect", "Action", "Resource"}
            found.add((statement["Effect"], tuple(statement["Action"]), tuple(statement["Resource"])))
    return found


# --- the YAML --------------------------------------------------------------------------------------

def test_template_is_a_ros_template() -> None:
    assert TEMPLATE_DATA["ROSTemplateFormatVersion"] == "2015-09-01"
    assert set(TEMPLATE_DATA) <= {"ROSTemplateFormatVersion", "Description", "Parameters", "Conditions",
                                  "Resources", "Outputs", "Metadata"}


def test_subset_loader_agrees_with_pyyaml() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not a dependency; the cross-check runs where it is")
    assert load(TEMPLATE.read_text("utf-8")) == yaml.safe_load(TEMPLATE.read_text("utf-8"))


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\nb: x  # note\n", {"a": 1, "b": "x"}),
    ("Fn::Sub: ${A}-b\nRef: ALIYUN::Region\n", {"Fn::Sub": "${A}-b", "Ref": "ALIYUN::Region"}),
    ("k:\n  - - 1\n    - 2\n  - a: b\n    c: 'it''s'\n", {"k": [[1, 2], {"a": "b", "c": "it's"}]}),
    ("k: [GET, 'a b', \"c\"]\ne: []\nm: {}\nn:\n", {"k": ["GET", "a b", "c"], "e": [], "m": {}, "n": None}),
    ("- 'oss://': ''\n  x: true\n- 0.35\n", [{"oss://": "", "x": True}, 0.35]),
], ids=["scalars-comment", "intrinsic-keys", "nested-sequences", "flow-and-empty", "quoted-key"])
def test_subset_loader(text: str, expected: object) -> None:
    assert load(text) == expected


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "a: &x 1\n", "a: |\n  b\n", "a:\n  b: 1\n c: 2\n",
                                  "a: {b: 1}\n", "k:\n- x\n"],
                         ids=["duplicate-key", "anchor", "block-scalar", "bad-indent", "flow-mapping",
                              "unindented-sequence"])
def test_subset_loader_refuses_what_it_does_not_support(text: str) -> None:
    with pytest.raises(YamlError):
        load(text)


# --- resources as ROS documents them ---------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_resource_has_its_required_and_only_known_properties(name: str) -> None:
    resource = RESOURCES[name]
    schema = SCHEMA[resource["Type"]]
    properties = set(resource["Properties"])
    assert schema["required"] <= properties, f"{name} lacks {schema['required'] - properties}"
    assert properties <= schema["known"], f"{name} has unknown {properties - schema['known']}"


def test_every_reference_resolves_and_every_parameter_is_used() -> None:
    conditions = set(TEMPLATE_DATA.get("Conditions", {}))
    used = set()
    for kind, target in references({"R": RESOURCES, "C": TEMPLATE_DATA.get("Conditions"),
                                    "O": TEMPLATE_DATA["Outputs"]}):
        if kind == "Fn::If":
            assert target in conditions, target
            continue
        name, attribute = (target if kind == "Fn::GetAtt" else str(target).split(".", 1) + [""])[:2]
        used.add(name)
        if name.startswith("ALIYUN::"):
            assert name in ("ALIYUN::Region", "ALIYUN::TenantId", "ALIYUN::AccountId", "ALIYUN::StackName")
        elif attribute:
            assert attribute in SCHEMA[RESOURCES[name]["Type"]]["attributes"], f"{name}.{attribute}"
        else:
            assert name in PARAMETERS, f"{kind} {name}: no such parameter"
    assert set(PARAMETERS) - used == set()


def test_parameter_names_and_environment_keys_are_valid() -> None:
    for name, spec in PARAMETERS.items():
        assert re.fullmatch(r"[A-Za-z0-9]+", name), name  # ROS: letters and digits only
        assert spec["Type"] in ("String", "Number", "Boolean"), name
    for function in functions().values():
        for key in function["Properties"]["EnvironmentVariables"]:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key) and not key.startswith("FC_"), key


# --- functions -------------------------------------------------------------------------------------

def test_every_function_folder_is_deployed() -> None:
    assert set(function_folders()) <= set(TEMPLATE_FOLDERS)
    deployed = {name for name, resource in RESOURCES.items() if resource["Type"] == "ALIYUN::FC3::Function"}
    assert deployed == {logical_id(folder) for folder in TEMPLATE_FOLDERS}


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_function_runs_python310_from_its_package(folder: str) -> None:
    properties = functions()[folder]["Properties"]
    assert (properties["Runtime"], properties["Handler"]) == ("python3.10", "index.handler")
    assert properties["MemorySize"] in range(128, 3073) and properties["MemorySize"] % 64 == 0
    assert 1 <= properties["MemorySize"] / 1024 / properties["Cpu"] <= 4  # FC: 1..4 GB per vCPU
    assert 1 <= properties["Timeout"] <= 600
    assert properties["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    assert set(properties["Code"]) <= CODE_PROPERTIES
    code = resolved(properties["Code"], CodeBucket="code-bucket", CodePrefix="releases/1/")
    assert code == {"OssBucketName": "code-bucket", "OssObjectName": f"releases/1/{folder}.zip"}  # package's name
    assert resolved(properties["FunctionName"]) == "oss-presign-" + folder.replace("_", "-")


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_handler_is_an_importable_event_context_callable(folder: str) -> None:
    module, _, attribute = functions()[folder]["Properties"]["Handler"].partition(".")
    path = ROOT / "functions" / folder / f"{module}.py"
    if not path.is_file():
        pytest.skip(f"functions/{folder} is not built yet")
    spec = importlib.util.spec_from_file_location(f"fc_handler_{folder}", path)
    loaded = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(loaded)  # type: ignore[union-attr]
    handler = getattr(loaded, attribute)
    parameters = list(inspect.signature(handler).parameters.values())
    assert [parameter.name for parameter in parameters] == ["event", "context"]
    assert all(parameter.kind is parameter.POSITIONAL_OR_KEYWORD for parameter in parameters)


# --- configuration ---------------------------------------------------------------------------------

def test_every_variable_the_code_reads_is_a_parameter_passed_to_its_functions() -> None:
    read = variables_read() - PLATFORM_PROVIDED
    assert {"OSS_REGION", "PRESIGN_POLICY", "ALIBABA_CLOUD_ROLE_ARN", "OSS_ACCESS_KEY_ID"} <= read  # discovery works
    missing = []
    for variable in sorted(read):
        if camel(variable) not in PARAMETERS:
            missing.append(f"parameter {camel(variable)} for {variable}")
        for folder in receivers(variable, TEMPLATE_FOLDERS):
            value = functions()[folder]["Properties"]["EnvironmentVariables"].get(variable)
            ref = {"Ref": camel(variable)}
            # Either the parameter, or the parameter when set and a documented fallback otherwise.
            if value != ref and not (isinstance(value, dict) and value.get("Fn::If", [None, None])[1] == ref):
                missing.append(f"{folder}: {variable}")
    assert missing == []


def test_functions_get_only_their_own_variables_and_nothing_unread() -> None:
    read = variables_read()
    existing = set(function_folders())
    for folder, function in functions().items():
        for variable in function["Properties"]["EnvironmentVariables"]:
            assert variable not in PLATFORM_PROVIDED, f"{folder}: {variable} would shadow the role's credentials"
            assert folder in receivers(variable, TEMPLATE_FOLDERS), f"{folder} must not get {variable}"
            names = family(variable)
            if variable not in read and (not names or set(names) <= existing):
                pytest.fail(f"{folder}: {variable} is passed but no code reads it")


def test_secrets_are_noecho_parameters() -> None:
    secrets = {variable for function in functions().values()
               for variable in function["Properties"]["EnvironmentVariables"] if SECRET.search(variable)}
    assert {"PRESIGN_JWT_SECRET", "PRESIGN_API_KEYS", "LINK_SIGNING_KEYS", "ON_CREATED_RULES"} <= secrets
    assert [name for name in sorted(secrets) if PARAMETERS[camel(name)].get("NoEcho") is not True] == []


@pytest.mark.parametrize("folder", TEMPLATE_FOLDERS)
def test_environment_leaves_room_in_function_computes_4_kb(folder: str) -> None:
    environment = resolved(functions()[folder]["Properties"]["EnvironmentVariables"], OssRegion="",
                           PresignPolicy="", LinkSigningKeys="", OnCreatedRules="")
    used = sum(len(key) + len(str(value)) for key, value in environment.items())  # type: ignore[union-attr]
    assert used <= 1536, f"{used} bytes before any policy, key or rule"


# --- permissions -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("uploads", "revocation"), list(itertools.product(["false", "true"], ["", "oss://controlbucket/links/revoked.json"])))
def test_function_role_grants_exactly_the_listed_actions(uploads: str, revocation: str) -> None:
    expected = {("Allow", ("oss:GetObject",), (BUCKET_OBJECTS,))}
    if uploads == "true":
        expected.add(("Allow", ("oss:PutObject",), (BUCKET_OBJECTS,)))
    if revocation:
        expected.add(("Allow", ("oss:GetObject",), (REVOCATION,)))
    assert statements("FunctionRole", EnableUploads=uploads, LinkRevocationObject=revocation) == expected


@pytest.mark.parametrize(("role", "service"), [("FunctionRole", "fc.aliyuncs.com"),
                                               ("OssTriggerRole", "oss.aliyuncs.com")])
def test_role_is_trusted_by_its_service_only(role: str, service: str) -> None:
    properties = RESOURCES[role]["Properties"]
    assert properties["AssumeRolePolicyDocument"] == {"Version": "1", "Statement": [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": [service]}}]}
    assert "PolicyAttachments" not in properties  # no system policy on top of the inline one


def test_oss_trigger_role_may_only_invoke_on_object_created() -> None:
    function = "acs:fc:cn-hangzhou:1234567890123456:functions/<OnObjectCreatedFunction.FunctionName>"
    assert statements("OssTriggerRole") == {("Allow", ("fc:InvokeFunction",), (function, function + "/*"))}


def test_no_other_resource_grants_anything() -> None:
    assert {resource["Type"] for resource in RESOURCES.values()} == set(SCHEMA)


# --- triggers and outputs --------------------------------------------------------------------------

@pytest.mark.parametrize("folder", ["presign", "links"])
def test_http_trigger_is_anonymous_the_function_authorizes(folder: str) -> None:
    properties = RESOURCES[logical_id(folder).replace("Function", "HttpTrigger")]["Properties"]
    assert properties["FunctionName"] == {"Fn::GetAtt": [logical_id(folder), "FunctionName"]}
    assert properties["TriggerType"] == "http"
    assert properties["TriggerConfig"] == {"authType": "anonymous", "methods": ["GET", "HEAD", "POST"]}


def test_oss_trigger_sends_created_objects_through_its_role_and_filter() -> None:
    properties = RESOURCES["OnObjectCreatedOssTrigger"]["Properties"]
    assert properties["TriggerType"] == "oss"
    assert properties["FunctionName"] == {"Fn::GetAtt": ["OnObjectCreatedFunction", "FunctionName"]}
    assert properties["InvocationRole"] == {"Fn::GetAtt": ["OssTriggerRole", "Arn"]}
    assert resolved(properties["SourceArn"]) == "acs:oss:cn-hangzhou:1234567890123456:examplebucket"
    config = resolved(properties["TriggerConfig"], OssTriggerPrefix="incoming/", OssTriggerSuffix=".pdf")
    assert config == {"events": ["oss:ObjectCreated:*"], "filter": {"key": {"prefix": "incoming/", "suffix": ".pdf"}}}


def test_outputs_are_the_trigger_urls() -> None:
    outputs = {name: output["Value"] for name, output in TEMPLATE_DATA["Outputs"].items()}
    assert outputs == {"PresignUrl": {"Fn::GetAtt": ["PresignHttpTrigger", "UrlInternet"]},
                       "LinksUrl": {"Fn::GetAtt": ["LinksHttpTrigger", "UrlInternet"]}}


def test_region_and_link_base_url_fall_back_to_the_stack() -> None:
    presign = resolved(functions()["presign"]["Properties"]["EnvironmentVariables"], OssRegion="")
    assert presign["OSS_REGION"] == "cn-hangzhou"  # type: ignore[index]
    created = functions()["on_object_created"]["Properties"]["EnvironmentVariables"]
    assert resolved(created, LinkBaseUrl="")["LINK_BASE_URL"] == "<LinksHttpTrigger.UrlInternet>"  # type: ignore[index]
    assert resolved(created, LinkBaseUrl="https://l.example.com")["LINK_BASE_URL"] == "https://l.example.com"  # type: ignore[index]
