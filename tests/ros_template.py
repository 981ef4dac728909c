"""template.yml for the tests: load it, and compute what ROS would for given parameter values: the
intrinsic functions, the conditions, the resources a stack gets, and the rules that refuse a stack."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from yaml_subset import load

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yml"
PSEUDO = {"ALIYUN::Region": "cn-hangzhou", "ALIYUN::TenantId": "1234567890123456",
          "ALIYUN::AccountId": "1234567890123456", "ALIYUN::StackName": "presign-stack",
          "ALIYUN::StackId": "stack-id", "ALIYUN::NoValue": None}
SECRET = re.compile(r"SECRET|(?:^|_)KEYS?(?:_|$)|TOKEN$|RULES$")
_SUB = re.compile(r"\$\{([^}]+)\}")


def load_template() -> dict:
    """template.yml as dicts and lists."""
    return load(TEMPLATE.read_text("utf-8"))  # type: ignore[return-value]


def camel(variable: str) -> str:
    """The template parameter for an environment variable: OSS_BUCKET -> OssBucket."""
    return "".join(part.capitalize() for part in variable.split("_"))


def function_folders() -> list[str]:
    """The deployable functions: functions/<name>/index.py."""
    return sorted(path.parent.name for path in (ROOT / "functions").glob("*/index.py"))


def logical_id(folder: str) -> str:
    """The template's resource for a function folder: on_object_created -> OnObjectCreatedFunction."""
    return camel(folder.upper()) + "Function"


def resolve(node: object, params: Mapping[str, object], conditions: Mapping[str, bool]) -> object:
    """The value ROS would compute, resources' attributes left as ``<Resource.Attribute>``."""
    if isinstance(node, list):
        return [resolve(item, params, conditions) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (name, argument), = node.items()
        if name == "Ref":
            return params[argument] if argument in params else PSEUDO.get(argument, f"<{argument}>")
        if name == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if name == "Fn::If":
            return resolve(argument[1] if conditions[argument[0]] else argument[2], params, conditions)
        if name == "Fn::ListMerge":
            return [item for part in resolve(argument, params, conditions) for item in part]  # type: ignore[union-attr]
        if name == "Fn::Sub":
            return _substitute(argument, params, conditions)
        if name == "Fn::Replace":
            text = str(resolve(argument[1], params, conditions))
            for old, new in argument[0].items():
                text = text.replace(old, new)
            return text
        if name == "Fn::Select":
            return resolve(argument[1], params, conditions)[int(argument[0])]  # type: ignore[index]
        if name == "Fn::Split":
            return str(resolve(argument[1], params, conditions)).split(argument[0])
        if name == "Fn::Join":
            return argument[0].join(str(item) for item in resolve(argument[1], params, conditions))  # type: ignore[union-attr]
    resolved = {key: resolve(value, params, conditions) for key, value in node.items()}
    return {key: value for key, value in resolved.items() if value is not None}  # ALIYUN::NoValue removes a key


def _substitute(argument: object, params: Mapping[str, object], conditions: Mapping[str, bool]) -> str:
    text, local = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])  # type: ignore[index]
    values = {**params, **{key: resolve(value, params, conditions) for key, value in local.items()}}

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        return str(PSEUDO[name]) if name in PSEUDO else f"<{name}>"
    return _SUB.sub(one, text)


def holds(node: object, params: Mapping[str, object], conditions: Mapping[str, bool]) -> object:
    """A condition function's value (Fn::Equals, Fn::Not, Fn::And, Fn::Or; a string names a condition)."""
    if isinstance(node, str) and node in conditions:
        return conditions[node]
    if isinstance(node, dict) and len(node) == 1:
        (name, argument), = node.items()
        if name == "Fn::Equals":
            return holds(argument[0], params, conditions) == holds(argument[1], params, conditions)
        if name == "Fn::Not":
            return not holds(argument[0] if isinstance(argument, list) else argument, params, conditions)
        if name == "Fn::And":
            return all(holds(item, params, conditions) for item in argument)
        if name == "Fn::Or":
            return any(holds(item, params, conditions) for item in argument)
    return resolve(node, params, {})


def evaluate_conditions(template: Mapping[str, object], params: Mapping[str, object]) -> dict[str, bool]:
    """Every condition of the template for these parameter values (one may name those declared before it)."""
    results: dict[str, bool] = {}
    for name, node in (template.get("Conditions") or {}).items():  # type: ignore[union-attr]
        results[name] = bool(holds(node, params, results))
    return results


def failed_rules(template: Mapping[str, object], params: Mapping[str, object]) -> list[str]:
    """The AssertDescription of every assertion of the Rules section that refuses these parameters."""
    failed = []
    for rule in (template.get("Rules") or {}).values():  # type: ignore[union-attr]
        if "RuleCondition" in rule and not holds(rule["RuleCondition"], params, {}):
            continue
        failed += [item["AssertDescription"] for item in rule["Assertions"] if not holds(item["Assert"], params, {})]
    return failed


def deployed(template: Mapping[str, object], params: Mapping[str, object]) -> dict[str, dict]:
    """The resources a stack with these parameters has: those without a Condition or whose Condition holds."""
    conditions = evaluate_conditions(template, params)
    resources: dict[str, dict] = template["Resources"]  # type: ignore[assignment]
    return {name: resource for name, resource in resources.items()
            if "Condition" not in resource or conditions[resource["Condition"]]}


def references(node: object) -> Iterator[tuple[str, object]]:
    """Every ("Ref", name), ("Fn::GetAtt", [resource, attribute]), ("Fn::Sub", name) and ("Fn::If", condition)."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("Ref", "Fn::GetAtt"):
                yield key, value
            elif key == "Fn::If":
                yield key, value[0]
            elif key == "Fn::Sub":
                text, local = (value, {}) if isinstance(value, str) else (value[0], value[1])
                yield from (("Fn::Sub", name) for name in _SUB.findall(text) if name not in local)
            yield from references(value)


TEMPLATE_FOLDERS = ("presign", "links", "on_object_created")
# Values for the parameters that have no default, as a stack the Rules accept would have them.
REQUIRED_EXAMPLES = {"CodeBucket": "code-bucket", "OssBucket": "examplebucket", "SigningPrefix": "reports/",
                     "PresignPolicy": "<PresignPolicy>", "PresignApiKeys": "<PresignApiKeys>",
                     "LinkSigningKeys": "<LinkSigningKeys>", "OnCreatedRules": "<OnCreatedRules>"}


class Stack:
    """template.yml with one set of parameter values (defaults, REQUIRED_EXAMPLES, overrides), as ROS sees it."""

    def __init__(self, template: Mapping[str, object], **overrides: object) -> None:
        parameters: dict = template["Parameters"]  # type: ignore[assignment]
        self.template = template
        self.params = {name: spec.get("Default", f"<{name}>") for name, spec in parameters.items()}
        self.params.update(REQUIRED_EXAMPLES, **overrides)
        self.conditions = evaluate_conditions(template, self.params)
        self.resources = deployed(template, self.params)

    def resolved(self, node: object) -> object:
        """A template value for this stack."""
        return resolve(node, self.params, self.conditions)

    def failed_rules(self) -> list[str]:
        """Why ROS would refuse to create this stack (nothing when it would not)."""
        return failed_rules(self.template, self.params)

    def environment(self, folder: str) -> dict[str, str]:
        """The environment variables of a function, resolved."""
        function = self.resources[logical_id(folder)]
        return self.resolved(function["Properties"]["EnvironmentVariables"])  # type: ignore[return-value]

    def statements(self, role: str) -> set[tuple[str, tuple[str, ...], tuple[str, ...]]]:
        """(Effect, Actions, Resources) of every statement of a role's inline policies."""
        found = set()
        for policy in self.resolved(self.resources[role]["Properties"]["Policies"]):  # type: ignore[union-attr]
            assert policy["PolicyDocument"]["Version"] == "1"
            for statement in policy["PolicyDocument"]["Statement"]:
                assert set(statement) == {"Effect", "Action", "Resource"}
                found.add((statement["Effect"], tuple(statement["Action"]), tuple(statement["Resource"])))
        return found
