"""``python -m shared package``: what goes into each zip, that it runs alone in a fresh interpreter,
and that the same sources give the same bytes."""

from __future__ import annotations

import hashlib
import importlib.util
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

from shared.devtools import package as packager
from shared.devtools.cli import main
from shared.devtools.package import (
    FILE_MODE,
    ZIP_TIME,
    Package,
    build,
    build_vendored,
    compile_bytecode,
    find_interpreter,
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
    # built without an interpreter of the target version: no bytecode at all, none from the working tree
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


# --- bytecode: only from an interpreter of the target version, and reproducible ---------------------

TAG = sys.implementation.cache_tag  # cpython-3XX of the interpreter running the tests
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def compiled(vendored: Path, tmp_path_factory: pytest.TempPathFactory) -> Package:
    """The presign zip with bytecode compiled by this interpreter, as for a runtime of its version."""
    return build(["presign"], tmp_path_factory.mktemp("compiled"), vendor_dir=vendored, python=sys.executable)[0]


def test_bytecode_sits_beside_every_module_checked_against_its_source(compiled: Package) -> None:
    with zipfile.ZipFile(compiled.path) as archive:
        entries = set(archive.namelist())
        modules = sorted(name for name in entries if name.endswith(".py"))
        expected = {importlib.util.cache_from_source(name) for name in modules}
        assert {name for name in entries if name.endswith(".pyc")} == expected
        assert all(f".{TAG}.pyc" in name for name in expected)
        assert f"shared/oss/__pycache__/signer.{TAG}.pyc" in entries
        for name in ("shared/oss/signer.py", "index.py", "requests/__init__.py"):
            pyc = archive.read(importlib.util.cache_from_source(name))
            assert pyc[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(pyc[4:8], "little") == 0b11  # PEP 552: hash-based, checked against the source
            assert pyc[8:16] == importlib.util.source_hash(archive.read(name))  # no mtime anywhere


def test_bytecode_is_reproducible(vendored: Path, compiled: Package, tmp_path: Path) -> None:
    first = copy_sources(tmp_path / "first")
    second = copy_sources(tmp_path / "second")
    for path in second.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    built = [build(["presign"], tmp_path / f"out-{root.name}", root=root, vendor_dir=vendored, python=sys.executable)
             for root in (first, second)]
    assert built[0][0].path.read_bytes() == built[1][0].path.read_bytes()
    assert built[0][0].sha256 == compiled.sha256


def test_unpacked_zip_imports_its_bytecode(compiled: Package, tmp_path: Path) -> None:
    folder = tmp_path / "code"
    with zipfile.ZipFile(compiled.path) as archive:
        archive.extractall(folder)
    event, expected = SMOKE["presign"]
    result = subprocess.run([sys.executable, "-I", "-S", "-B", "-v", "-c", RUNNER], cwd=folder, env=ENVIRONMENT,
                            input=json.dumps(event).encode(), capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    report = json.loads(result.stdout.decode().strip().splitlines()[-1])
    assert {key: report["answer"][key] for key in expected} == expected
    log = result.stderr.decode()
    assert f"code object from '{folder / 'shared' / 'oss' / '__pycache__' / f'signer.{TAG}.pyc'}'" in log


def test_a_failed_compile_says_why(tmp_path: Path) -> None:
    def failing(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "Traceback\n  File \"x.py\"\nSyntaxError: invalid syntax")
    with pytest.raises(UpstreamError, match="could not compile the sources .1.: .*SyntaxError: invalid syntax"):
        compile_bytecode({"x.py": tmp_path / "x.py"}, "python3.10", tmp_path, runner=failing)


def _fake_python(folder: Path, version: str, reports: str, status: int = 0) -> None:
    folder.mkdir(exist_ok=True)
    script = folder / f"python{version}"
    script.write_text(f"#!/bin/sh\necho {reports}\nexit {status}\n")
    script.chmod(0o755)


def test_the_interpreter_must_be_exactly_the_target_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_interpreter(VERSION) == sys.executable  # the running one, when it matches
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find_interpreter("3.97") is None  # nothing on PATH
    _fake_python(tmp_path / "bin", "3.97", "3.97")
    assert find_interpreter("3.97") == str(tmp_path / "bin" / "python3.97")
    _fake_python(tmp_path / "bin", "3.98", "3.9")  # another version behind the name
    assert find_interpreter("3.98") is None
    _fake_python(tmp_path / "bin", "3.99", "3.99", status=127)  # a shim that fails
    assert find_interpreter("3.99") is None


@pytest.mark.parametrize("flags", [[], ["--no-bytecode"]], ids=["found", "no-bytecode"])
def test_command_adds_bytecode_only_from_a_matching_interpreter(flags: list[str], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def matching_for_3_12(version: str) -> str | None:
        asked.append(version)
        return sys.executable if version == "3.12" else None
    monkeypatch.setattr(packager, "find_interpreter", matching_for_3_12)
    for version in ("3.10", "3.12"):
        out = tmp_path / version
        assert main(["package", "--function", "presign", "--out", str(out), "--no-vendor",
                     "--python-version", version, *flags], stdout=io.StringIO(), stderr=io.StringIO()) == 0
        pycs = [name for name in zipfile.ZipFile(out / "presign.zip").namelist() if name.endswith(".pyc")]
        assert bool(pycs) == (version == "3.12" and not flags)
    assert asked == ([] if flags else ["3.10", "3.12"])


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


def test_command_refuses_an_out_or_find_links_that_is_not_a_folder(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for argv, message in ((["--out", str(a_file)], f"--out {str(a_file)!r} is not a folder"),
                          (["--out", ""], "--out must name a folder"),
                          (["--find-links", str(tmp_path / "missing")], "is not a folder"),
                          (["--find-links", str(a_file)], "is not a folder")):
        out, err = io.StringIO(), io.StringIO()
        assert main(["package", "--function", "presign", "--out", str(tmp_path / "dist"), *argv],
                    stdout=out, stderr=err) == 2, argv
        assert err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1, err.getvalue()
        assert message in err.getvalue() and out.getvalue() == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"]
