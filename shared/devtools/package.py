"""``python -m shared package``: one reproducible code zip per function for the Function Compute Python runtime.

Each zip holds, at its root, the function's folder (``index.py`` ...), ``shared/`` without the development
tools (``shared/devtools/``, ``shared/__main__.py``), and what the native
FC handler needs from ``requirements.txt`` (``requests`` and its dependencies), vendored by pip for the
target Python and platform. functions-framework and Flask stay out: they serve the container path.

The same sources give the same bytes: entries sorted by name, every timestamp 1980-01-01 00:00, every
mode 0644, no tests, no console scripts, no install-time pip records, and no ``__pycache__`` from the
working tree. Bytecode is added only when an interpreter of exactly the target version is at hand
(this one, or ``python3.10``/``python3.12`` on PATH): ``__pycache__/*.cpython-3XX.pyc`` beside every
module, compiled hash-based (``CHECKED_HASH``: no mtimes inside, and still checked against the source)
with a fixed hash seed, so the bytes depend on the sources and that interpreter alone. Function
Compute's code folder is read-only, so without it every cold start compiles every module it imports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from shared.errors import InvalidArgument, UpstreamError

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_REQUIREMENTS = ("requests",)  # what the FC handlers import; functions-framework is the container path's
PYTHON_VERSIONS = ("3.10", "3.12")  # the Function Compute Python runtimes this targets
PLATFORM = "manylinux2014_x86_64"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
FILE_MODE = 0o100644  # a regular file, rw-r--r--
PIP_TIMEOUT = 300.0
COMPILE_TIMEOUT = 300.0
_SKIPPED_DIRS = frozenset({"__pycache__", "tests", ".pytest_cache", ".mypy_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_PIP_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})  # differ per install
# The development tools (this packager among them) and their entry point: no function reaches them.
DEVTOOLS = ("shared/devtools/", "shared/__main__.py")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Package:
    """One built zip: the function it deploys, where it is, its size in bytes and its SHA-256."""

    function: str
    path: Path
    size: int
    sha256: str

    def describe(self) -> str:
        """One line for the terminal: path, size and digest."""
        return f"{self.path}  {self.size} bytes  sha256 {self.sha256}"


def function_names(root: Path = ROOT) -> list[str]:
    """Every deployable function: the folders under ``functions/`` that hold an ``index.py``."""
    folder = root / "functions"
    return sorted(path.parent.name for path in folder.glob("*/index.py"))


def runtime_requirements(requirements_file: Path) -> list[str]:
    """The lines of ``requirements.txt`` for RUNTIME_REQUIREMENTS, version specifiers kept."""
    found: dict[str, str] = {}
    for line in requirements_file.read_text("utf-8").splitlines():
        spec = line.split("#", 1)[0].strip()
        match = _NAME.match(spec)
        if match and _canonical(match.group()) in RUNTIME_REQUIREMENTS:
            found[_canonical(match.group())] = spec
    missing = [name for name in RUNTIME_REQUIREMENTS if name not in found]
    if missing:
        raise InvalidArgument("requirements", f"{requirements_file} does not list {', '.join(missing)}")
    return [found[name] for name in RUNTIME_REQUIREMENTS]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_command(requirements: Sequence[str], target: Path, *, python_version: str,
                find_links: Path | None = None) -> list[str]:
    """The pip install that fetches wheels built for the FC runtime, whatever machine runs it."""
    if python_version not in PYTHON_VERSIONS:
        raise InvalidArgument("python_version", f"python version must be one of {', '.join(PYTHON_VERSIONS)}, "
                                                f"got {python_version!r}")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
               "--target", str(target), "--platform", PLATFORM, "--python-version", python_version,
               "--implementation", "cp", "--only-binary=:all:"]
    if find_links is not None:  # offline: only the wheels in that folder
        command += ["--no-index", "--find-links", str(find_links)]
    return command + list(requirements)


def vendor(requirements: Sequence[str], target: Path, *, python_version: str, find_links: Path | None = None,
           runner: Runner = subprocess.run) -> None:
    """Install the requirements into ``target`` with pip; raise UpstreamError with pip's last words on failure."""
    command = pip_command(requirements, target, python_version=python_version, find_links=find_links)
    try:
        result = runner(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise UpstreamError(f"pip install did not finish within {PIP_TIMEOUT:.0f} s") from None
    if result.returncode != 0:
        last = " | ".join(line.strip() for line in (result.stderr or "").strip().splitlines()[-3:])
        raise UpstreamError(f"pip install {' '.join(requirements)} failed ({result.returncode}): {last}")


def find_interpreter(python_version: str, *, runner: Runner = subprocess.run) -> str | None:
    """An interpreter of exactly this version: the running one if it is, else ``python3.X`` on PATH, else None."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == python_version:
        return sys.executable
    found = shutil.which(f"python{python_version}")
    if found is None:
        return None
    try:  # a name on PATH may be a shim that fails, or another version behind the name
        result = runner([found, "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                        capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if result.returncode == 0 and result.stdout.strip() == python_version else None


# Run by the target interpreter: compile each (source, name in the zip); print the .pyc names as JSON.
_COMPILER = """
import importlib.util, json, os, py_compile, sys
scratch, written = sys.argv[1], []
for source, name in json.load(sys.stdin):
    pyc = importlib.util.cache_from_source(name)
    py_compile.compile(source, cfile=os.path.join(scratch, pyc), dfile=name, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    written.append(pyc)
json.dump(written, sys.stdout)
"""


def compile_bytecode(entries: dict[str, Path], python: str, scratch: Path, *,
                     runner: Runner = subprocess.run) -> dict[str, Path]:
    """The ``__pycache__`` entry of every module in ``entries``, compiled by ``python`` into ``scratch``."""
    sources = [[str(path), name] for name, path in sorted(entries.items()) if name.endswith(".py")]
    command = [python, "-S", "-s", "-c", _COMPILER, str(scratch)]
    # Set and frozenset constants are marshalled in hash order: a fixed seed keeps the bytes the same.
    environ = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    try:
        result = runner(command, input=json.dumps(sources), capture_output=True, text=True, timeout=COMPILE_TIMEOUT,
                        env={**environ, "PYTHONHASHSEED": "0"})
    except subprocess.TimeoutExpired:
        raise UpstreamError(f"compiling bytecode did not finish within {COMPILE_TIMEOUT:.0f} s") from None
    if result.returncode != 0:
        last = " | ".join(line.strip() for line in (result.stderr or "").strip().splitlines()[-3:])
        raise UpstreamError(f"{python} could not compile the sources ({result.returncode}): {last}")
    return {name: scratch / name for name in json.loads(result.stdout)}


def _files(folder: Path, prefix: str, *, vendored: bool = False) -> Iterator[tuple[str, Path]]:
    """(name in the zip, file) for every file under ``folder`` that belongs in a package."""
    for directory, subdirs, names in os.walk(folder):
        here = Path(directory)
        subdirs[:] = [name for name in subdirs if name not in _SKIPPED_DIRS and
                      not (vendored and here == folder and name == "bin")]  # console scripts: build machine's
        for name in names:
            path = here / name
            if name.endswith(_SKIPPED_SUFFIXES) or not path.is_file():
                continue
            if vendored and here.name.endswith(".dist-info") and name in _PIP_RECORDS:
                continue
            name_in_zip = prefix + path.relative_to(folder).as_posix()
            if not name_in_zip.startswith(DEVTOOLS):
                yield name_in_zip, path


def package_entries(function: str, *, root: Path = ROOT, vendor_dir: Path | None = None) -> dict[str, Path]:
    """Every file of one function's package by its name in the zip: the folder, shared/ and the vendored tree."""
    folder = root / "functions" / function
    if not (folder / "index.py").is_file():
        known = ", ".join(function_names(root)) or "none"
        raise InvalidArgument("function", f"no function {function!r} (functions/{function}/index.py); known: {known}")
    entries: dict[str, Path] = {}
    sources = [_files(folder, ""), _files(root / "shared", "shared/")]
    if vendor_dir is not None:
        sources.append(_files(vendor_dir, "", vendored=True))
    for source in sources:
        for name, path in source:
            if name in entries:
                raise InvalidArgument("function", f"{name} would come from both {entries[name]} and {path}")
            entries[name] = path
    return entries


def write_zip(entries: dict[str, Path], path: Path) -> None:
    """Write the entries as a zip whose bytes depend only on the names and contents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # Unix, so the mode below is read
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes(), compresslevel=9)
    partial.replace(path)


def package_info(function: str, path: Path) -> Package:
    """Size and SHA-256 of a built zip."""
    data = path.read_bytes()
    return Package(function, path, len(data), hashlib.sha256(data).hexdigest())


def build(functions: Sequence[str], out_dir: Path, *, root: Path = ROOT, vendor_dir: Path | None = None,
          python: str | None = None) -> list[Package]:
    """Build ``<out_dir>/<function>.zip`` for each function, with the already vendored tree (or none), and
    with bytecode compiled by ``python`` (an interpreter of the target version) when one is given."""
    packages = []
    with tempfile.TemporaryDirectory(prefix="fc-bytecode-") as scratch:
        for function in functions:
            path = out_dir / f"{function}.zip"
            entries = package_entries(function, root=root, vendor_dir=vendor_dir)
            if python is not None:
                entries.update(compile_bytecode(entries, python, Path(scratch) / function))
            write_zip(entries, path)
            packages.append(package_info(function, path))
    return packages


def build_vendored(functions: Sequence[str], out_dir: Path, *, root: Path = ROOT, python_version: str = "3.10",
                   find_links: Path | None = None, python: str | None = None,
                   runner: Runner = subprocess.run) -> list[Package]:
    """Vendor the runtime requirements once into a fresh folder, then build every zip with them."""
    requirements = runtime_requirements(root / "requirements.txt")
    with tempfile.TemporaryDirectory(prefix="fc-vendor-") as scratch:
        target = Path(scratch) / "site"
        vendor(requirements, target, python_version=python_version, find_links=find_links, runner=runner)
        return build(functions, out_dir, root=root, vendor_dir=target, python=python)


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``package`` command's flags."""
    parser.add_argument("--function", action="append", default=[], metavar="NAME",
                        help="build only this function (repeatable; default: every folder in functions/)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default dist)")
    parser.add_argument("--python-version", default="3.10", choices=PYTHON_VERSIONS,
                        help="the FC runtime's Python (default 3.10)")
    parser.add_argument("--find-links", metavar="DIR",
                        help="install wheels from this folder only (offline, pinned builds)")
    parser.add_argument("--no-vendor", action="store_true",
                        help="leave the requirements out (they come from a layer or are already on the runtime)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="leave the .pyc files out (they are added only when the target's python3.X is found)")


def _folder(flag: str, text: str, *, must_exist: bool) -> Path:
    """A folder flag's value: never empty (that would be the working directory), never a file."""
    if not text:
        raise InvalidArgument(flag, f"--{flag} must name a folder")
    path = Path(text)
    if (must_exist or path.exists()) and not path.is_dir():
        raise InvalidArgument(flag, f"--{flag} {text!r} is not a folder")
    return path


def run(args: argparse.Namespace, *, stdout: IO[str], **_: object) -> int:
    """The ``package`` command: build the zips and print each one's size and SHA-256."""
    known = function_names()
    functions = sorted(set(args.function)) or known
    unknown = [name for name in functions if name not in known]
    if unknown or not functions:
        raise InvalidArgument("function", f"no function {', '.join(map(repr, unknown)) or 'at all'} in "
                                          f"functions/*/index.py; known: {', '.join(known) or 'none'}")
    out = _folder("out", args.out, must_exist=False) if args.out is not None else ROOT / "dist"
    find_links = _folder("find-links", args.find_links, must_exist=True) if args.find_links is not None else None
    python = None if args.no_bytecode else find_interpreter(args.python_version)
    if args.no_vendor:
        packages = build(functions, out, python=python)
    else:
        packages = build_vendored(functions, out, python_version=args.python_version, find_links=find_links,
                                  python=python)
    for package in packages:
        stdout.write(package.describe() + "\n")
    return 0
