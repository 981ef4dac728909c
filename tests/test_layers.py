"""The layering of shared/: every import points down the order below, and no module takes part in a cycle.

Every import counts, at module level, inside functions and under ``TYPE_CHECKING``: a lazy import is
still a dependency. The order is the one ``shared/__init__.py`` lists; a test keeps the two equal.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Lowest first: a module may import from its own layer and from the layers before it, never after.
LAYERS = ("errors", "clock", "env", "fields", "audit", "credentials", "oss", "auth", "http", "config", "presign",
          "links", "object_created", "devtools")
TOP = "__main__"  # python -m shared: above everything


def module_name(path: Path) -> str:
    """``shared/oss/signer.py`` -> ``shared.oss.signer``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    """Every module of shared/ and functions/ by its dotted name."""
    paths = sorted([*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")])
    return {module_name(path): path for path in paths}


MODULES = sources()


def imports_of(path: Path) -> set[str]:
    """The project modules a file imports, wherever the import stands (``from shared import env`` is shared.env)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in MODULES}


GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def layer(module: str) -> int:
    """The rank of a module of shared/ in LAYERS (the package ``shared`` itself ranks lowest)."""
    parts = module.split(".")
    if parts == ["shared"]:
        return -1
    if parts[1] == TOP:
        return len(LAYERS)
    return LAYERS.index(parts[1])


def test_every_module_of_shared_has_a_layer() -> None:
    homeless = [name for name in MODULES if name.startswith("shared.") and name.split(".")[1] not in (*LAYERS, TOP)]
    assert not homeless, f"add these to LAYERS and to shared/__init__.py: {homeless}"


@pytest.mark.parametrize("module", sorted(name for name in MODULES if name.startswith("shared")))
def test_imports_point_down(module: str) -> None:
    upward = sorted(target for target in GRAPH[module] if target.startswith("shared") and layer(target) > layer(module))
    assert not upward, f"{module} imports from higher layers: {upward}"


@pytest.mark.parametrize("module", sorted(name for name in MODULES if name.startswith("functions")))
def test_functions_never_reach_the_development_tools(module: str) -> None:
    reached, todo = set(), [module]
    while todo:
        for target in GRAPH[todo.pop()] - reached:
            reached.add(target)
            todo.append(target)
    tools = sorted(name for name in reached if name.startswith(("shared.devtools", "shared.__main__")))
    assert not tools, f"{module} reaches {tools}, which no function zip holds"


def test_no_cycles() -> None:
    """Tarjan's strongly connected components over the import graph: every component is one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(GRAPH[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in GRAPH[node]:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_the_package_docstring_lists_the_same_order() -> None:
    doc = ast.get_docstring(ast.parse((ROOT / "shared" / "__init__.py").read_text("utf-8"))) or ""
    listed = re.findall(r"^ {4}(\w+)(?:\.py|/)\s", doc, flags=re.M)
    assert tuple(listed) == LAYERS


def test_the_checker_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from shared.oss.signer import presign\n"
                      "def f():\n    from shared import env\n    import shared.clock\n", "utf-8")
    assert imports_of(sample) == {"shared.oss.signer", "shared.env", "shared.clock", "shared"}
