"""Benchmark the presign function: cold start of the FC entry, and requests/s when served.

Run: ``python3 tests/bench_presign.py [--seconds 10]``. Not collected by pytest. Figures are ratios
within one run, because this machine is shared and noisy.

- cold start: median wall time of a fresh interpreter that imports functions/presign/index.py and
  answers one GET /presign (FC 3.0 event), beside ``python -c pass``; runs interleaved.
  Also which heavy modules that path imported (target: neither flask nor requests).
- served: requests/s through functions-framework on 127.0.0.1 for GET /presign, beside a trivial
  hello-world function served the same way and driven by the same load generator.

Targets (issue 4): cold start < 2.5 x the bare interpreter; served >= 0.7 x hello-world.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from presign_env import API_KEY, environment  # noqa: E402
from processes import ROOT, free_port, functions_framework_command, running  # noqa: E402

# Bytecode cached in a scratch folder, as on a warm deployment (see bench_signer.py).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pycache-")
COLD = f"API_KEY = {API_KEY!r}\n" + """
import json, sys
sys.path.insert(0, 'functions/presign')
import index
event = {'version': 'v1', 'rawPath': '/presign', 'body': '', 'isBase64Encoded': False,
         'headers': {'X-Api-Key': API_KEY}, 'queryParameters': {'key': 'reports/q1.pdf'},
         'requestContext': {'requestId': 'r', 'http': {'method': 'GET', 'path': '/presign', 'sourceIp': '127.0.0.1'}}}
answer = index.handler(json.dumps(event).encode(), None)
assert answer['statusCode'] == 200, answer
print(json.dumps(sorted(m for m in ('flask', 'requests', 'werkzeug', 'dataclasses', 'urllib3') if m in sys.modules)))
"""
HELLO = "import functions_framework\n\n@functions_framework.http\ndef hello(request):\n    return 'hello'\n"


def _wall(code: str, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def cold_start(runs: int = 30) -> None:
    env = {**ENV, **environment()}
    _wall(COLD, env)
    bare, cold, imported = [], [], ""
    for _ in range(runs):
        bare.append(_wall("pass", env)[0])
        seconds, imported = _wall(COLD, env)
        cold.append(seconds)
    b, c = statistics.median(bare) * 1000, statistics.median(cold) * 1000
    print(f"cold start: python -c pass {b:.1f} ms, FC entry + one request {c:.1f} ms = {c / b:.2f} x (target < 2.5)")
    print(f"            heavy modules imported on that path: {json.loads(imported) or 'none'}")


def _load(url: str, headers: dict[str, str], seconds: float, workers: int = 8) -> float:
    """Requests/s from `workers` threads with keep-alive sessions; every answer must be 200."""
    count, failures, stop = [0] * workers, [], time.monotonic() + seconds

    def work(slot: int) -> None:
        with requests.Session() as session:
            while time.monotonic() < stop:
                response = session.get(url, headers=headers, timeout=10)
                if response.status_code != 200:
                    failures.append(response.status_code)
                count[slot] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} failed requests, e.g. {failures[:3]}")
    return sum(count) / (time.monotonic() - start)


def served(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        hello_source = Path(scratch) / "hello.py"
        hello_source.write_text(HELLO)
        hello_port, presign_port = free_port(), free_port()
        hello_cmd = functions_framework_command(str(hello_source), "hello", hello_port)
        presign_cmd = functions_framework_command("functions/presign/main.py", "presign", presign_port)
        with running(hello_cmd, hello_port, environment()) as hello, \
                running(presign_cmd, presign_port, environment()) as presign:
            _load(f"{hello}/", {}, 1)
            _load(f"{presign}/presign?key=reports/q1.pdf", {"X-Api-Key": API_KEY}, 1)
            hello_rate = _load(f"{hello}/", {}, seconds)
            presign_rate = _load(f"{presign}/presign?key=reports/q1.pdf", {"X-Api-Key": API_KEY}, seconds)
    print(f"served: hello-world {hello_rate:,.0f} req/s, presign {presign_rate:,.0f} req/s = "
          f"{presign_rate / hello_rate:.2f} x (target >= 0.70)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per server")
    args = parser.parse_args()
    cold_start()
    served(args.seconds)


if __name__ == "__main__":
    main()
