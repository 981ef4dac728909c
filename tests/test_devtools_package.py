"""``python -m shared package``: what goes into each zip, that it runs alone in a fresh interpreter,
and that the same sources give the same bytes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from events import fc3_event, load_event

from shared.devtools.cli import main
from shared.devtools.package import (
    FILE_MODE,
    ZIP_TIME,
    Package,
    build,
    build_vendored,
    function_names,
    pip_command,
    runtime_requirements,
    vendor,
)
from shared.errors import InvalidArgument, UpstreamError

ROOT = Path(__file__).resolve().parent.parent
SIGNING_KEY = "k1:" + "s" * 40
RULES = [{"prefix": "nothing-matches/", "link": "presigned",
          "webhook": {"url": "https://hooks.example.com/oss", "secret": "webhook-secret-0123456789"}}]
ENVIRONMENT = {  # enough configuration for every function to start; no network is reached
    "OSS_REGION": "cn-hangzhou", "OSS_BUCKET": "examplebucket", "OSS_ACCESS_KEY_ID": "LTAI5tPackageSmoke",
    "OSS_ACCESS_KEY_SECRET": "package-smoke-secret", "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    "HOME": "/nonexistent", "PRESIGN_POLICY": json.dumps({"principals": {"*": [{"bucket": "examplebucket",
                                                                                 "prefix": "public/"}]}}),
    "PRESIGN_API_KEYS": "alice:" + hashlib.sha256(b"alice-key").hexdigest(), "LINK_SIGNING_KEYS": SIGNING_KEY,
    "ON_CREATED_RULES": json.dumps(RULES),
}
# The sample call each function answers once unpacked: event, and what the answer must hold.
SMOKE = {
    "presign": (fc3_event("GET", "/healthz"), {"statusCode": 200}),
    "links": (fc3_event("GET", "/healthz"), {"statusCode": 200}),
    "on_object_created": (load_event("oss_object_created"), {"records": 1, "failed_event_ids": []}),
}
# Runs in the unpacked folder under ``python -I -S``: no site-packages, no PYTHONPATH, no user site.
RUNNER = r"""
import json, os, sys, sysconfig
here = os.getcwd()
sys.path.insert(0, here)  # Function Compute puts the code folder on sys.path
import index
answer = index.handler(sys.stdin.buffer.read(), {"request_id": "smoke-1"})
import requests
stdlib = sysconfig.get_paths()["stdlib"]
outside = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)
                  and not m.__file__.startswith((here, stdlib))})
print(json.dumps({"answer": answer, "requests": requests.__file__, "outside": outside}, default=str))
"""


@pytest.fixture(scope="module")
def vendored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """requests and its dependencies for python3.10 on manylinux, by the real pip, once for this module."""
    target = tmp_path_factory.mktemp("vendor") / "site"
    started = time.monotonic()
    vendor(runtime_requirements(ROOT / "requirements.txt"), target, python_version="3.10")
    assert time.monotonic() - started < 60, "vendoring took a minute: use --find-links with a wheel folder"
    return target


@pytest.fixture(scope="module")
def packages(vendored: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Package]:
    """Every function's zip, built once from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    return {package.function: package for package in build(function_names(), out, vendor_dir=vendored)}


def names(package: Package) -> list[str]:
    with zipfile.ZipFile(package.path) as archive:
        return archive.namelist()


def copy_sources(destination: Path) -> Path:
    """A copy of what the packager reads: functions/, shared/ and requirements.txt."""
    for folder in ("functions", "shared"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "requirements.txt", destination / "requirements.txt")
    return destination


# --- what goes in ----------------------------------------------------------------------------------

def test_every_function_is_packaged(packages: dict[str, Package]) -> None:
    assert sorted(packages) == function_names() and "presign" in packages
    for function, package in packages.items():
        assert package.path.name == f"{function}.zip"
        assert package.size == package.path.stat().st_size
        assert package.sha256 == hashlib.sha256(package.path.read_bytes()).hexdigest()


@pytest.mark.parametrize("function", function_names())
def test_zip_holds_the_function_shared_and_requests_only(packages: dict[str, Package], function: str) -> None:
    entries = names(packages[function])
    folder = ROOT / "functions" / function
    own = {path.name for path in folder.iterdir() if path.is_file() and not path.name.endswith(".pyc")}
    assert own <= set(entries) and "index.py" in entries  # the function's folder at the root
    expected = {"shared/__init__.py", "shared/config.py", "shared/oss/signer.py", "shared/credentials/chain.py"}
    assert expected <= set(entries)
    tops = {name.split("/", 1)[0] for name in entries if "/" in name}
    assert {"requests", "urllib3", "idna", "certifi", "charset_normalizer"} <= tops
    assert not tops & {"flask", "functions_framework", "werkzeug", "gunicorn", "pytest", "bin", "tests"}
    assert not [name for name in entries if "__pycache__" in name or name.endswith((".pyc", ".pyo"))]
    assert not [name for name in entries if name.split("/")[-1] in ("RECORD", "INSTALLER", "REQUESTED")]


@pytest.mark.parametrize("function", function_names())
def test_zip_leaves_the_development_tools_out(packages: dict[str, Package], function: str) -> None:
    entries = names(packages[function])
    tools = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "shared" / "devtools").rglob("*.py"))
    assert "shared/devtools/cli.py" in tools and "shared/devtools/local_oss/server.py" in tools
    assert not [name for name in entries if name.startswith("shared/devtools/")]
    assert "shared/__main__.py" not in entries and "shared/__init__.py" in entries


@pytest.mark.parametrize("function", function_names())
def test_entries_are_sorted_dated_1980_and_mode_0644(packages: dict[str, Package], function: str) -> None:
    with zipfile.ZipFile(packages[function].path) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    stamps = {(info.date_time, info.external_attr >> 16, info.create_system) for info in infos}
    assert stamps == {(ZIP_TIME, FILE_MODE, 3)}


# --- it runs alone ---------------------------------------------------------------------------------

@pytest.mark.parametrize("function", function_names())
def test_unpacked_zip_answers_in_a_fresh_isolated_interpreter(packages: dict[str, Package], function: str,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "code"
    folder.mkdir()
    with zipfile.ZipFile(packages[function].path) as archive:
        archive.extractall(folder)
    event, expected = SMOKE.get(function, ({}, None))
    if expected is None:
        pytest.skip(f"no sample call for {function} yet: add one to SMOKE")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", RUNNER], cwd=folder, env=ENVIRONMENT,
                            input=json.dumps(event).encode(), capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    report = json.loads(result.stdout.decode().strip().splitlines()[-1])
    answer = json.loads(report["answer"]) if isinstance(report["answer"], str) else report["answer"]  # FC takes both
    assert {key: answer[key] for key in expected} == expected
    assert report["requests"].startswith(str(folder))  # the vendored copy, not this machine's
    assert report["outside"] == []  # every module came from the folder or the standard library


# --- the same sources, the same bytes --------------------------------------------------------------

def test_two_builds_of_the_same_tree_are_identical(vendored: Path, packages: dict[str, Package],
                                                   tmp_path: Path) -> None:
    first = copy_sources(tmp_path / "first")
    second = copy_sources(tmp_path / "second")
    for path in second.rglob("*"):  # other times, and the caches and tests a working tree collects
        os.utime(path, (1_900_000_000, 1_900_000_000))
    (second / "shared" / "__pycache__").mkdir()
    (second / "shared" / "__pycache__" / "config.cpython-311.pyc").write_bytes(b"cache")
    (second / "shared" / "tests").mkdir()
    (second / "shared" / "tests" / "test_x.py").write_text("assert True\n")
    built = [build(function_names(root), tmp_path / f"out-{root.name}", root=root, vendor_dir=vendored)
             for root in (first, second)]
    for one, other in zip(*built, strict=True):
        assert one.path.read_bytes() == other.path.read_bytes()
        assert one.sha256 == other.sha256 == packages[one.function].sha256  # and the same as this checkout's


def test_a_changed_source_changes_the_bytes(vendored: Path, packages: dict[str, Package], tmp_path: Path) -> None:
    root = copy_sources(tmp_path / "tree")
    with open(root / "shared" / "config.py", "a", encoding="utf-8") as file:
        file.write("\n")
    package, = build(["presign"], tmp_path / "out", root=root, vendor_dir=vendored)
    assert package.sha256 != packages["presign"].sha256


# --- pip, requirements and the command line --------------------------------------------------------

def test_pip_installs_wheels_for_the_function_compute_runtime(tmp_path: Path) -> None:
    command = pip_command(["requests>=2.31,<3"], tmp_path, python_version="3.12", find_links=tmp_path / "wheels")
    assert command[:3] == [sys.executable, "-m", "pip"] and command[-1] == "requests>=2.31,<3"
    for flag, value in (("--target", str(tmp_path)), ("--platform", "manylinux2014_x86_64"),
                        ("--python-version", "3.12"), ("--implementation", "cp"),
                        ("--find-links", str(tmp_path / "wheels"))):
        assert command[command.index(flag) + 1] == value
    assert {"--only-binary=:all:", "--no-index", "--no-compile"} <= set(command)
    assert "--no-index" not in pip_command(["requests"], tmp_path, python_version="3.10")
    with pytest.raises(InvalidArgument, match="3.10, 3.12"):
        pip_command(["requests"], tmp_path, python_version="3.11")


def test_only_what_the_fc_handler_imports_is_vendored(tmp_path: Path) -> None:
    listed = [line.split(">")[0].split("=")[0] for line in runtime_requirements(ROOT / "requirements.txt")]
    assert listed == ["requests"]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# run time\nfunctions-framework>=3.5,<4\nFlask\nRequests[socks] >= 2.31  # http\npytest\n")
    assert runtime_requirements(requirements) == ["Requests[socks] >= 2.31"]
    requirements.write_text("flask\n")
    with pytest.raises(InvalidArgument, match="does not list requests"):
        runtime_requirements(requirements)


def test_a_failed_pip_install_says_why(tmp_path: Path) -> None:
    def failing_pip(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "Looking in indexes\nERROR: No matching distribution "
                                                           "found for requests>=2.31")
    with pytest.raises(UpstreamError, match="No matching distribution found for requests"):
        vendor(["requests>=2.31"], tmp_path, python_version="3.10", runner=failing_pip)


def test_vendoring_runs_pip_once_for_all_functions(vendored: Path, tmp_path: Path) -> None:
    calls = []

    def copying_pip(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        shutil.copytree(vendored, command[command.index("--target") + 1])
        return subprocess.CompletedProcess(command, 0, "", "")
    built = build_vendored(function_names(), tmp_path, runner=copying_pip)
    assert len(calls) == 1 and [package.function for package in built] == function_names()
    assert "requests/__init__.py" in names(built[0])


def test_command_prints_each_zips_size_and_sha256(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    status = main(["package", "--function", "presign", "--out", str(tmp_path), "--no-vendor"], stdout=out, stderr=err)
    assert (status, err.getvalue()) == (0, "")
    path = tmp_path / "presign.zip"
    data = path.read_bytes()
    assert out.getvalue() == f"{path}  {len(data)} bytes  sha256 {hashlib.sha256(data).hexdigest()}\n"
    assert "requests/__init__.py" not in zipfile.ZipFile(path).namelist()


@pytest.mark.parametrize(("argv", "message"), [
    (["--function", "nope"], "no function 'nope'"),
    (["--python-version", "3.11"], "invalid choice: '3.11'"),
])
def test_command_refuses_what_it_cannot_build(argv: list[str], message: str, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["package", "--out", str(tmp_path), *argv], stdout=out, stderr=err) == 2
    assert message in err.getvalue() and err.getvalue().count("\n") == 1
    assert list(tmp_path.iterdir()) == []
