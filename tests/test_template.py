"""template.yml: parses, uses ROS's resource types as documented, deploys every function with an
importable handler, refuses a stack that could not work, gives each function a role with exactly the
listed permissions, and leaves out a trigger that could never fire, saying why."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import re

import pytest
from ros_template import (
    ROOT,
    TEMPLATE,
    TEMPLATE_FOLDERS,
    Stack,
    function_folders,
    load_template,
    logical_id,
    references,
)
from yaml_subset import YamlError, load

TEMPLATE_DATA = load_template()
RESOURCES: dict = TEMPLATE_DATA["Resources"]
PARAMETERS: dict = TEMPLATE_DATA["Parameters"]
# Properties and attributes as the ROS resource specifications give them (the @alicloud/ros-cdk-fc3 and
# -ram packages, generated from them; help.aliyun.com/ros).
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
    "ALIYUN::FC3::AsyncInvokeConfig": {  # MaxAsyncRetryAttempts 0..8 (3 unset), MaxAsyncEventAgeInSeconds 1..604800
        "required": {"FunctionName"},
        "known": {"FunctionName", "AsyncTask", "DestinationConfig", "MaxAsyncEventAgeInSeconds",
                  "MaxAsyncRetryAttempts"},
        "attributes": set(),
    },
    "ALIYUN::RAM::Role": {
        "required": {"RoleName", "AssumeRolePolicyDocument"},
        "known": {"RoleName", "Description", "AssumeRolePolicyDocument", "MaxSessionDuration", "Policies",
                  "IgnoreExisting", "DeletionForce", "PolicyAttachments"},
        "attributes": {"Arn", "RoleId", "RoleName"},
    },
}
CODE_PROPERTIES = {"OssBucketName", "OssObjectName", "ZipFile", "Checksum", "SourceCode"}
ROLES = {"presign": "PresignRole", "links": "LinksRole", "on_object_created": "OnObjectCreatedRole"}
OBJECTS = "acs:oss:*:*:examplebucket/reports/*"
REVOCATION = "acs:oss:*:*:controlbucket/links/revoked.json"
FAILURE_QUEUE = "acs:mns:cn-hangzhou:1234567890123456:/queues/presign-failed/messages"
READ = ("oss:GetObject", "oss:GetObjectVersion")  # a GET or HEAD of ?versionId= needs oss:GetObjectVersion
# The S3 routes' multipart uploads: initiate, parts and complete need PutObject; abort and list their own actions.
MULTIPART = ("oss:PutObject", "oss:AbortMultipartUpload", "oss:ListParts")
UPLOADS = "acs:oss:*:*:examplebucket/uploads/*"  # the default PresignUploadKey's text before its first placeholder


def functions(stack: Stack | None = None) -> dict[str, dict]:
    """Function resources by the folder they deploy."""
    resources = RESOURCES if stack is None else stack.resources
    return {folder: resources[logical_id(folder)] for folder in TEMPLATE_FOLDERS}


# --- the YAML --------------------------------------------------------------------------------------

def test_template_is_a_ros_template() -> None:
    assert TEMPLATE_DATA["ROSTemplateFormatVersion"] == "2015-09-01"
    assert set(TEMPLATE_DATA) <= {"ROSTemplateFormatVersion", "Description", "Parameters", "Rules", "Conditions",
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
    assert set(resource) <= {"Type", "Properties", "Condition", "DependsOn"}, name


def test_every_reference_resolves_and_every_parameter_is_used() -> None:
    conditions = set(TEMPLATE_DATA.get("Conditions", {}))
    assert {resource["Condition"] for resource in RESOURCES.values() if "Condition" in resource} <= conditions
    used = set()
    for kind, target in references({"R": RESOURCES, "C": TEMPLATE_DATA.get("Conditions"),
                                    "O": TEMPLATE_DATA["Outputs"], "U": TEMPLATE_DATA.get("Rules")}):
        if kind == "Fn::If":
            assert target in conditions, target
            continue
        name, attribute = (target if kind == "Fn::GetAtt" else str(target).split(".", 1) + [""])[:2]
        used.add(name)
        if name.startswith("ALIYUN::"):
            assert name in ("ALIYUN::Region", "ALIYUN::TenantId", "ALIYUN::AccountId", "ALIYUN::StackName",
                            "ALIYUN::NoValue")
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
def test_function_runs_python310_from_its_package_with_its_own_role(folder: str) -> None:
    stack = Stack(TEMPLATE_DATA, CodePrefix="releases/1/")
    properties = functions()[folder]["Properties"]
    assert (properties["Runtime"], properties["Handler"]) == ("python3.10", "index.handler")
    assert properties["MemorySize"] in range(128, 3073) and properties["MemorySize"] % 64 == 0
    assert 1 <= properties["MemorySize"] / 1024 / properties["Cpu"] <= 4  # FC: 1..4 GB per vCPU
    assert 1 <= properties["Timeout"] <= 600
    assert properties["Role"] == {"Fn::GetAtt": [ROLES[folder], "Arn"]}
    assert set(properties["Code"]) <= CODE_PROPERTIES
    code = stack.resolved(properties["Code"])
    assert code == {"OssBucketName": "code-bucket", "OssObjectName": f"releases/1/{folder}.zip"}  # package's name
    assert stack.resolved(properties["FunctionName"]) == "oss-presign-" + folder.replace("_", "-")


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


# --- a stack that could not work is refused --------------------------------------------------------

def test_the_example_stack_passes_every_rule() -> None:
    assert Stack(TEMPLATE_DATA).failed_rules() == []


@pytest.mark.parametrize(("api_keys", "jwt_secret", "gateway", "refused"), [
    ("app:<hash>", "", "", False),
    ("", "<32-byte secret>", "", False),
    ("app:<hash>", "<32-byte secret>", "", False),
    ("", "", "", True),
    ("", "", "true", True),  # the trigger URL is public: a gateway header alone is no authentication
], ids=["api-keys", "jwt", "both", "neither", "gateway-only"])
def test_a_stack_nobody_can_authenticate_to_is_refused(api_keys: str, jwt_secret: str, gateway: str,
                                                        refused: bool) -> None:
    stack = Stack(TEMPLATE_DATA, PresignApiKeys=api_keys, PresignJwtSecret=jwt_secret, PresignTrustGateway=gateway,
                  PresignGatewayPrincipalHeader="X-User" if gateway else "")
    failed = stack.failed_rules()
    assert bool(failed) is refused
    assert all("PresignApiKeys or PresignJwtSecret" in description for description in failed)


@pytest.mark.parametrize("parameter", ["LinkSigningKeys", "PresignPolicy", "OnCreatedRules"])
def test_a_stack_without_what_a_function_requires_is_refused(parameter: str) -> None:
    failed = Stack(TEMPLATE_DATA, **{parameter: ""}).failed_rules()
    assert len(failed) == 1 and failed[0].startswith(f"Set {parameter}"), failed


# --- permissions -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("uploads", "revocation", "queue"), list(itertools.product(
    ["false", "true"], ["", "oss://controlbucket/links/revoked.json"], ["", "presign-failed"])))
def test_each_role_grants_exactly_the_listed_actions(uploads: str, revocation: str, queue: str) -> None:
    stack = Stack(TEMPLATE_DATA, EnableUploads=uploads, LinkRevocationObject=revocation, OnCreatedFailureQueue=queue)
    read = {("Allow", READ, (OBJECTS,))}
    put = {("Allow", ("oss:PutObject",), (OBJECTS,)), ("Allow", MULTIPART, (UPLOADS,))} if uploads == "true" else set()
    revocation_read = {("Allow", ("oss:GetObject",), (REVOCATION,))} if revocation else set()
    send = {("Allow", ("mns:SendMessage",), (FAILURE_QUEUE,))} if queue else set()
    assert stack.statements("PresignRole") == read | put
    assert stack.statements("LinksRole") == read | revocation_read
    assert stack.statements("OnObjectCreatedRole") == read | send


@pytest.mark.parametrize(("template", "resource"), [
    ("media/in/{date}/{uuid}", "acs:oss:*:*:examplebucket/media/in/*"),
    ("u-{principal}/{filename}", "acs:oss:*:*:examplebucket/u-*"),
    ("{principal}/{uuid}/{filename}", "acs:oss:*:*:examplebucket/*"),
], ids=["folder", "text-before-the-placeholder", "placeholder-first-the-whole-bucket"])
def test_multipart_actions_are_granted_under_the_upload_templates_prefix_only(template: str, resource: str) -> None:
    granted = Stack(TEMPLATE_DATA, EnableUploads="true", PresignUploadKey=template).statements("PresignRole")
    assert ("Allow", MULTIPART, (resource,)) in granted
    assert not any("oss:ListParts" in actions for _, actions, _ in
                   Stack(TEMPLATE_DATA, PresignUploadKey=template).statements("PresignRole"))


@pytest.mark.parametrize(("role", "service"), [("PresignRole", "fc.aliyuncs.com"), ("LinksRole", "fc.aliyuncs.com"),
                                               ("OnObjectCreatedRole", "fc.aliyuncs.com"),
                                               ("OssTriggerRole", "oss.aliyuncs.com")])
def test_role_is_trusted_by_its_service_only(role: str, service: str) -> None:
    properties = RESOURCES[role]["Properties"]
    assert properties["AssumeRolePolicyDocument"] == {"Version": "1", "Statement": [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": [service]}}]}
    assert "PolicyAttachments" not in properties  # no system policy on top of the inline one


def test_role_names_are_the_function_names_and_distinct() -> None:
    stack = Stack(TEMPLATE_DATA)
    roles = (*ROLES.values(), "OssTriggerRole")
    names = {role: stack.resolved(RESOURCES[role]["Properties"]["RoleName"]) for role in roles}
    assert names == {"PresignRole": "oss-presign-presign", "LinksRole": "oss-presign-links",
                     "OnObjectCreatedRole": "oss-presign-on-object-created",
                     "OssTriggerRole": "oss-presign-oss-trigger"}


def test_oss_trigger_role_may_only_invoke_on_object_created() -> None:
    function = "acs:fc:cn-hangzhou:1234567890123456:functions/<OnObjectCreatedFunction.FunctionName>"
    assert Stack(TEMPLATE_DATA).statements("OssTriggerRole") == {
        ("Allow", ("fc:InvokeFunction",), (function, function + "/*"))}


def test_no_other_resource_grants_anything() -> None:
    assert {resource["Type"] for resource in RESOURCES.values()} == set(SCHEMA)


# --- triggers, failed events and outputs -----------------------------------------------------------

@pytest.mark.parametrize("folder", ["presign", "links"])
def test_http_trigger_is_anonymous_the_function_authorizes_and_answers_preflights(folder: str) -> None:
    properties = RESOURCES[logical_id(folder).replace("Function", "HttpTrigger")]["Properties"]
    assert properties["FunctionName"] == {"Fn::GetAtt": [logical_id(folder), "FunctionName"]}
    assert properties["TriggerType"] == "http"
    methods = ["GET", "HEAD", "POST", "DELETE", "OPTIONS"] if folder == "presign" else ["GET", "HEAD", "POST",
                                                                                        "OPTIONS"]
    assert properties["TriggerConfig"] == {"authType": "anonymous", "methods": methods}  # DELETE: abort an upload


@pytest.mark.parametrize("region", ["", "cn-hangzhou"], ids=["default", "stack-region-named"])
def test_oss_trigger_sends_created_objects_through_its_role_and_filter(region: str) -> None:
    stack = Stack(TEMPLATE_DATA, OssRegion=region, OssTriggerPrefix="incoming/", OssTriggerSuffix=".pdf")
    properties = stack.resources["OnObjectCreatedOssTrigger"]["Properties"]
    assert properties["TriggerType"] == "oss"
    assert properties["FunctionName"] == {"Fn::GetAtt": ["OnObjectCreatedFunction", "FunctionName"]}
    assert properties["InvocationRole"] == {"Fn::GetAtt": ["OssTriggerRole", "Arn"]}
    assert "OssTriggerRole" in stack.resources
    assert stack.resolved(properties["SourceArn"]) == "acs:oss:cn-hangzhou:1234567890123456:examplebucket"
    assert stack.resolved(properties["TriggerConfig"]) == {"events": ["oss:ObjectCreated:*"],
                                                           "filter": {"key": {"prefix": "incoming/", "suffix": ".pdf"}}}
    assert stack.resolved(TEMPLATE_DATA["Outputs"]["OssTrigger"]["Value"]) == (
        "oss:ObjectCreated:* in acs:oss:cn-hangzhou:1234567890123456:examplebucket")


def test_a_bucket_in_another_region_gets_no_trigger_and_the_output_says_why() -> None:
    stack = Stack(TEMPLATE_DATA, OssRegion="cn-shanghai")
    assert "OnObjectCreatedOssTrigger" not in stack.resources and "OssTriggerRole" not in stack.resources
    assert {logical_id(folder) for folder in TEMPLATE_FOLDERS} <= set(stack.resources)  # presign and links still sign
    assert stack.environment("presign")["OSS_REGION"] == "cn-shanghai"
    why = stack.resolved(TEMPLATE_DATA["Outputs"]["OssTrigger"]["Value"])
    assert str(why).startswith("none: OssRegion cn-shanghai is not the stack's region cn-hangzhou")
    for output in TEMPLATE_DATA["Outputs"].values():  # no output reads a resource that is left out
        assert all(target[0] in stack.resources for kind, target in references(output) if kind == "Fn::GetAtt")


@pytest.mark.parametrize(("queue", "destination"), [
    ("", None), ("presign-failed", {"OnFailure": {"Destination": FAILURE_QUEUE}})], ids=["no-queue", "queue"])
def test_failed_events_are_retried_then_kept_in_the_failure_queue(queue: str, destination: object) -> None:
    stack = Stack(TEMPLATE_DATA, OnCreatedFailureQueue=queue)
    config = stack.resolved(RESOURCES["OnObjectCreatedAsyncInvokeConfig"]["Properties"])
    expected: dict[str, object] = {"FunctionName": "<OnObjectCreatedFunction.FunctionName>", "MaxAsyncRetryAttempts": 3}
    if destination:
        expected["DestinationConfig"] = destination
    assert config == expected
    retries = PARAMETERS["OnCreatedMaxRetryAttempts"]
    assert (retries["Type"], retries["MinValue"], retries["MaxValue"]) == ("Number", 0, 8)  # FC's range


def test_outputs_are_the_trigger_urls_and_the_oss_trigger() -> None:
    outputs = {name: output["Value"] for name, output in TEMPLATE_DATA["Outputs"].items()}
    assert set(outputs) == {"PresignUrl", "LinksUrl", "OssTrigger"}
    assert outputs["PresignUrl"] == {"Fn::GetAtt": ["PresignHttpTrigger", "UrlInternet"]}
    assert outputs["LinksUrl"] == {"Fn::GetAtt": ["LinksHttpTrigger", "UrlInternet"]}


def test_region_and_link_base_url_fall_back_to_the_stack() -> None:
    assert Stack(TEMPLATE_DATA, OssRegion="").environment("presign")["OSS_REGION"] == "cn-hangzhou"
    created = Stack(TEMPLATE_DATA, LinkBaseUrl="").environment("on_object_created")
    assert created["LINK_BASE_URL"] == "<LinksHttpTrigger.UrlInternet>"
    created = Stack(TEMPLATE_DATA, LinkBaseUrl="https://l.example.com").environment("on_object_created")
    assert created["LINK_BASE_URL"] == "https://l.example.com"
