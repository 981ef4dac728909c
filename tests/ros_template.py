"""template.yml for the tests: load it, resolve its ROS intrinsic functions for given parameter values,
and find the environment variables the code reads (so that a variable added later fails the tests
until the template passes it)."""

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
# Names read from an environ mapping that are not deployment configuration: the home folder the
# credentials file defaults to, and the CGI/WSGI request variables (PEP 3333) the WSGI adapter reads.
NOT_CONFIGURATION = frozenset({"HOME", "USERPROFILE", "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
                               "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
                               "REMOTE_ADDR", "REMOTE_HOST"})
# Function Compute sets these itself from the function role (a template value would shadow them).
PLATFORM_PROVIDED = frozenset({"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                               "ALIBABA_CLOUD_SECURITY_TOKEN"})
# Which functions receive a variable: by its full name, else by its prefix; any other goes to every function.
FAMILIES = {"LINK_SIGNING_KEYS": ("links", "on_object_created"), "LINK_BASE_URL": ("links", "on_object_created"),
            "PRESIGN_": ("presign", "links"), "LINK_": ("links",), "ON_CREATED_": ("on_object_created",)}
SECRET = re.compile(r"SECRET|(?:^|_)KEYS?(?:_|$)|TOKEN$|RULES$")
_ENVIRON_READ = re.compile(r"""environ\)?\s*(?:\.get\(\s*|\[\s*|,\s*)["']([A-Z][A-Z0-9_]*)["']""")
_PREFIXED = re.compile(r"""["']((?:OSS|PRESIGN|LINK|ON_CREATED|ALIBABA_CLOUD)_[A-Z0-9_]+)["']""")
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


def variables_read() -> set[str]:
    """Every configuration variable shared/ and functions/ read, by their calls on an environ mapping
    and by the variable-name constants they keep (``VARIABLE = "LINK_SIGNING_KEYS"``). The development
    tools are left out: no zip holds them, and what they set for local functions is not deployed."""
    names: set[str] = set()
    deployed = [path for path in (ROOT / "shared").rglob("*.py") if "devtools" not in path.relative_to(ROOT).parts]
    for path in [*deployed, *(ROOT / "functions").rglob("*.py")]:
        text = path.read_text("utf-8")
        names.update(_ENVIRON_READ.findall(text), _PREFIXED.findall(text))
    return {name for name in names if name not in NOT_CONFIGURATION and not name.startswith("HTTP_")}


def family(variable: str) -> tuple[str, ...]:
    """The functions a variable is for; empty when it is for every function."""
    if variable in FAMILIES:
        return FAMILIES[variable]
    return next((names for prefix, names in FAMILIES.items() if prefix.endswith("_") and variable.startswith(prefix)),
                ())


def receivers(variable: str, folders: list[str]) -> list[str]:
    """The functions that get a variable."""
    names = family(variable)
    return [folder for folder in folders if not names or folder in names]


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
        if name == "Fn::Join":
            return argument[0].join(str(item) for item in resolve(argument[1], params, conditions))  # type: ignore[union-attr]
    return {key: resolve(value, params, conditions) for key, value in node.items()}


def _substitute(argument: object, params: Mapping[str, object], conditions: Mapping[str, bool]) -> str:
    text, local = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])  # type: ignore[index]
    values = {**params, **{key: resolve(value, params, conditions) for key, value in local.items()}}

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        return str(PSEUDO[name]) if name in PSEUDO else f"<{name}>"
    return _SUB.sub(one, text)


def evaluate_conditions(template: Mapping[str, object], params: Mapping[str, object]) -> dict[str, bool]:
    """Every condition of the template for these parameter values."""
    declared: dict = template.get("Conditions") or {}  # type: ignore[assignment]
    results: dict[str, bool] = {}

    def value(node: object) -> object:
        if isinstance(node, str) and node in declared:
            return truth(node)
        if isinstance(node, dict) and len(node) == 1:
            (name, argument), = node.items()
            if name == "Fn::Equals":
                return value(argument[0]) == value(argument[1])
            if name == "Fn::Not":
                return not value(argument[0] if isinstance(argument, list) else argument)
            if name == "Fn::And":
                return all(value(item) for item in argument)
            if name == "Fn::Or":
                return any(value(item) for item in argument)
        return resolve(node, params, {})

    def truth(name: str) -> bool:
        if name not in results:
            results[name] = bool(value(declared[name]))
        return results[name]
    for name in declared:
        truth(name)
    return results


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
