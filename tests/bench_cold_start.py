"""Benchmark the presign function's cold start as Function Compute runs it, against a bare interpreter.

Run: ``python3 tests/bench_cold_start.py [--python-version 3.12] [--python PATH] [--runs 21] [--no-vendor]
[--importtime N]``. Not collected by pytest (the name does not start with ``test_``).

- the zip: ``python -m shared package --function presign`` for the target Python (requests vendored by
  pip, as deployed), unpacked into a folder made read-only (directories 0555, files 0444): as on
  Function Compute, no bytecode can be cached beside the sources;
- cold start: ``python -I -c`` that puts the folder first on ``sys.path``, imports ``index`` and answers
  one FC 3.0 HTTP trigger event (GET /presign?key=... with X-Api-Key) with a 200; the environment
  configures the function with made-up credentials, an API key and an inline policy;
- beside it ``python -I -c pass``, runs paired; the figure is the median of the pairs' ratios;
- the module counts of both (``len(sys.modules)`` at the end);
- when the packager put bytecode in the zip: the same cold start from a zip built with
  ``--no-bytecode``, paired with the first, to show what the bytecode is worth;
- when no interpreter of the target version is on the machine (so the zip holds no bytecode): the
  same cold start once more after the timing interpreter wrote the bytecode itself (compileall,
  checked-hash .pyc as the packager writes them), standing in for the target version's own.

The interpreter is the target version's, found as the packager finds it (``--python`` overrides).

Target (issue 14): the cold start takes at most 2x a bare ``python -I -c pass``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench_timing import Paired, paired
from events import fc3_event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.devtools.package import PYTHON_VERSIONS, find_interpreter  # noqa: E402

API_KEY = "bench-made-up-api-key-0123456789"
POLICY = {"principals": {"alice": [{"bucket": "examplebucket", "prefix": "reports/", "methods": ["GET"]}]}}
ENV = {
    "OSS_REGION": "cn-hangzhou", "OSS_BUCKET": "examplebucket", "OSS_ACCESS_KEY_ID": "LTAI5tBenchMadeUpKeyId",
    "OSS_ACCESS_KEY_SECRET": "bench-made-up-secret-0123456789", "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    "PRESIGN_API_KEYS": "alice:" + hashlib.sha256(API_KEY.encode()).hexdigest(), "PRESIGN_POLICY": json.dumps(POLICY),
    "HOME": "/nonexistent",
}
EVENT = json.dumps(fc3_event("GET", "/presign", query={"key": "reports/2025/q1 summary.pdf", "expires": "600"},
                             headers={"X-Api-Key": API_KEY})).encode()


def cold_start_code(folder: Path, *, count: bool = False) -> str:
    """What FC does on a cold start: the code folder first on sys.path, import index, answer one event.

    ``sys.dont_write_bytecode``: root writes into a 0555 folder all the same, and FC's code folder is a
    read-only mount, so no run may leave bytecode behind for the next one.
    """
    code = (f"import sys; sys.dont_write_bytecode = True; sys.path.insert(0, {str(folder)!r}); import index; "
            f"r = index.handler({EVENT!r}, None); assert r['statusCode'] == 200, r")
    return code + "; print(len(sys.modules))" if count else code


def build_zip(out: Path, python_version: str, *, vendor: bool, bytecode: bool) -> Path:
    """The presign zip as ``python -m shared package`` builds it."""
    command = [sys.executable, "-m", "shared", "package", "--function", "presign", "--out", str(out),
               "--python-version", python_version]
    command += [] if vendor else ["--no-vendor"]
    command += [] if bytecode else ["--no-bytecode"]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=600)
    return out / "presign.zip"


def unpack_read_only(archive: Path, folder: Path, *, compile_with: str | None = None) -> Path:
    """Unzip (and, with ``compile_with``, let that interpreter write bytecode as the packager would for its
    own version), then make every directory 0555 and every file 0444."""
    with zipfile.ZipFile(archive) as unzipped:
        unzipped.extractall(folder)
    if compile_with:
        subprocess.run([compile_with, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash", str(folder)],
                       check=True, timeout=300)
    for directory, _, files in os.walk(folder, topdown=False):
        for name in files:
            os.chmod(os.path.join(directory, name), stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.chmod(directory, 0o555)
    return folder


def make_writable(folder: Path) -> None:
    """Undo unpack_read_only, so the scratch folder can be removed."""
    for directory, _, files in os.walk(folder):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)


def module_count(python: str, code: str) -> int:
    done = subprocess.run([python, "-I", "-c", code], env=ENV, capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def slowest_imports(python: str, code: str, top: int) -> list[str]:
    """The ``top`` imports with the largest cumulative time under ``-X importtime``."""
    done = subprocess.run([python, "-I", "-X", "importtime", "-c", code], env=ENV, capture_output=True, text=True,
                          check=True)
    rows = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:") and "|" in line]
    timed = [(int(cumulative), name.rstrip()) for _, cumulative, name in rows if cumulative.strip().isdigit()]
    return [f"{micros / 1000:7.1f} ms  {name}" for micros, name in sorted(timed, reverse=True)[:top]]


def interpreter(python_version: str, given: str | None) -> str:
    found = given or find_interpreter(python_version)
    if found:
        return found
    print(f"no python{python_version} found: timing {sys.executable} (the zip then holds no bytecode)")
    return sys.executable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-version", default="3.10", choices=PYTHON_VERSIONS)
    parser.add_argument("--python", help="the interpreter to time (default: the target version's)")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--no-vendor", action="store_true", help="leave requests out of the zip")
    parser.add_argument("--importtime", type=int, default=0, metavar="N", help="print the N slowest imports")
    args = parser.parse_args()
    python = interpreter(args.python_version, args.python)
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as scratch:
        folders = []
        try:
            for bytecode in (True, False):
                archive = build_zip(Path(scratch) / f"dist-{bytecode}", args.python_version, vendor=not args.no_vendor,
                                    bytecode=bytecode)
                with zipfile.ZipFile(archive) as unzipped:
                    pycs = sum(name.endswith(".pyc") for name in unzipped.namelist())
                folders.append((pycs, unpack_read_only(archive, Path(scratch) / f"code-{bytecode}")))
            report(python, folders, args.runs, args.importtime)
            if not folders[0][0]:  # no interpreter of the target version here: show what its bytecode is worth
                proxy = unpack_read_only(archive, Path(scratch) / "code-proxy", compile_with=python)
                folders.append((0, proxy))
                report_proxy(python, proxy, args.runs)
        finally:
            for _, folder in folders:
                make_writable(folder)


def report(python: str, folders: list[tuple[int, Path]], runs: int, importtime: int) -> None:
    (pycs, folder), (_, plain) = folders
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    print(f"interpreter: {python} (Python {version}); the zip holds {pycs} .pyc files")
    cold = [python, "-I", "-c", cold_start_code(folder)]
    result: Paired = paired(cold, [python, "-I", "-c", "pass"], env=ENV, runs=runs)
    print("cold start: " + result.describe("presign cold start", "python -I -c pass") + " (target <= 2.00x)")
    print(f"cold start adds {(result.a - result.b) * 1000:.1f} ms")
    bare = module_count(python, "import sys; print(len(sys.modules))")
    print(f"modules: {module_count(python, cold_start_code(folder, count=True))} after the cold start, "
          f"{bare} in a bare interpreter")
    if pycs:
        without = paired(cold, [python, "-I", "-c", cold_start_code(plain)], env=ENV, runs=runs)
        saved = (without.b - without.a) * 1000
        print("bytecode: " + without.describe("with .pyc", "without") + f"; saves {saved:.1f} ms")
    for line in slowest_imports(python, cold_start_code(folder), importtime) if importtime else []:
        print("  " + line)


def report_proxy(python: str, folder: Path, runs: int) -> None:
    """The cold start with bytecode this interpreter wrote (standing in for the target version's own)."""
    cold = [python, "-I", "-c", cold_start_code(folder)]
    result: Paired = paired(cold, [python, "-I", "-c", "pass"], env=ENV, runs=runs)
    print("cold start with bytecode written by this interpreter, standing in for the target's (what "
          "`package` adds when it finds one): " + result.describe("presign cold start", "python -I -c pass")
          + " (target <= 2.00x)")
    print(f"cold start with that bytecode adds {(result.a - result.b) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
