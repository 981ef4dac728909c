"""Benchmark (run by hand, not collected): 256 MiB through ``python -m shared upload`` (multipart, 4 parts in
flight) against ``python -m shared serve``'s local bucket, and the same bytes as one presigned PUT with requests,
in the same run, alternating, a few rounds; prints each throughput, the best of each and their ratio (the target:
multipart at least 1.0x the single PUT), the medians' ratio, and how much the bucket's memory grew.

    python3 tests/bench_upload.py [--size-mib 256] [--rounds 3] [--part-size 8MiB] [--parts 4]
    python3 tests/bench_upload.py --per-connection-mibps 40     # each connection held to 40 MiB/s
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from processes import ROOT
from serve_process import Served, free_ports, port_arguments, serve_environment

from shared.clock import utc_now
from shared.credentials import Credentials
from shared.oss.signer import presign

MIB = 1 << 20
BUCKET, REGION = "examplebucket", "cn-hangzhou"  # serve's defaults


def _file(path: Path, size: int) -> None:
    block = bytearray(os.urandom(MIB))
    with path.open("wb") as out:
        for n in range(size // MIB):
            block[:8] = n.to_bytes(8, "big")
            out.write(block)


def _memory(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in bytes (0 where there is no /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) << 10
    return 0


def _delete(oss: str, keys: Credentials, key: str) -> None:
    """Remove an object (signed with the local bucket's development keys), so every round starts alike."""
    url = presign(keys, bucket=BUCKET, key=key, region=REGION, endpoint=oss, method="DELETE",
                  signing_time=utc_now()).url
    requests.delete(url, timeout=60).raise_for_status()


def _single_put(endpoint: str, api_key: str, path: Path, key: str) -> float:
    """Seconds for one presigned PUT of the file with requests (the URL asked for first, not timed)."""
    asked = requests.get(f"{endpoint}/presign", params={"key": key, "method": "PUT"},
                         headers={"X-Api-Key": api_key}, timeout=60)
    asked.raise_for_status()
    started = time.perf_counter()
    with path.open("rb") as body:
        answer = requests.put(asked.json()["url"], data=body, timeout=600,
                              headers={"Content-Length": str(path.stat().st_size)})
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"the single PUT answered {answer.status_code}: {answer.text[:200]}")
    return elapsed


def _multipart(endpoint: str, api_key: str, path: Path, part_size: str, parts: int) -> tuple[float, str]:
    """Seconds for the whole ``python -m shared upload`` process, start-up included; the key it uploaded."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(path.parent), "PRESIGN_API_KEY": api_key}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "shared", "upload", str(path), "--endpoint", endpoint,
                           "--part-size", part_size, "--parts", str(parts), "--json"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"upload failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, str(json.loads(done.stdout)["key"])


@dataclass
class Target:
    """Where the bench uploads: the presign function's URL, its API key, how to delete an object, a memory probe."""

    endpoint: str
    api_key: str
    delete: Callable[[str], None]
    memory: Callable[[str], int]
    memory_of: str


@contextmanager
def served_target(home: Path) -> Iterator[Target]:
    """python -m shared serve, its local bucket in its own process."""
    ports = free_ports()
    with Served(port_arguments(ports) + ["--data", str(home / "oss")], serve_environment(home)) as served:
        served.ready()
        settings = json.loads((home / "oss" / "dev-settings.json").read_text("utf-8"))
        keys = Credentials(settings["access_key_id"], settings["access_key_secret"])
        oss = f"http://127.0.0.1:{ports['--oss-port']}"
        yield Target(f"http://127.0.0.1:{ports['--port']}", str(settings["api_key"]),
                     partial(_delete, oss, keys), partial(_memory, served.process.pid), "the local bucket (serve)")


@contextmanager
def throttled_target(home: Path, mib_per_second: float) -> Iterator[Target]:
    """The presign app and the local bucket in this process, behind a proxy that holds each connection to a rate
    (a long-distance link, where one TCP stream gets only so much): the case multipart is made for."""
    from bucket_proxy import bucket_proxy
    from http_servers import serving_wsgi
    from presign_env import ACCESS_KEY, API_KEY, environment

    from shared.devtools.local_oss import LocalOss
    from shared.http.wsgi import serve_wsgi
    from shared.presign.wiring import build_presign_app

    policy = {"principals": {"alice": [{"bucket": BUCKET, "prefix": "", "methods": ["PUT", "POST"],
                                        "max_size": 1 << 30, "allow": ["multipart"]}]}}
    with LocalOss(home / "oss", credentials=[ACCESS_KEY], region=REGION, buckets=[BUCKET]) as local, \
            bucket_proxy(local.endpoint) as proxy:
        proxy.bytes_per_second = mib_per_second * MIB
        app = build_presign_app(environment(PRESIGN_POLICY=json.dumps(policy), OSS_ENDPOINT=proxy.endpoint),
                                audit_stream=io.StringIO())
        with serving_wsgi(partial(serve_wsgi, app)) as base:
            yield Target(base, API_KEY, partial(_delete, local.endpoint, ACCESS_KEY), partial(_memory, os.getpid()),
                         "this process (the bucket, the proxy and the app)")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--size-mib", type=int, default=256)
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--part-size", default="8MiB")
    options.add_argument("--parts", type=int, default=4)
    options.add_argument("--per-connection-mibps", type=float, default=0.0,
                         help="hold each connection to this rate (a long-distance link) instead of serve's loopback")
    args = options.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        _file(home / "bench.bin", size)
        where = throttled_target(home, args.per_connection_mibps) if args.per_connection_mibps else served_target(home)
        with where as target:
            baseline = target.memory("VmRSS")
            single, multi = [], []
            for round_ in range(args.rounds):
                single.append(_single_put(target.endpoint, target.api_key, home / "bench.bin", "bench/single.bin"))
                target.delete("bench/single.bin")
                elapsed, key = _multipart(target.endpoint, target.api_key, home / "bench.bin", args.part_size,
                                          args.parts)
                multi.append(elapsed)
                target.delete(key)
                print(f"round {round_ + 1}: single PUT {size / MIB / single[-1]:7.1f} MiB/s   "
                      f"multipart {size / MIB / multi[-1]:7.1f} MiB/s", flush=True)
            grown, memory_of = target.memory("VmHWM") - baseline, target.memory_of
    link = f"each connection held to {args.per_connection_mibps:g} MiB/s" if args.per_connection_mibps else \
        "serve's local bucket on loopback"
    best_single, best_multi = size / MIB / min(single), size / MIB / min(multi)
    print(f"{args.size_mib} MiB, {link}, best of {args.rounds}: one presigned PUT with requests {best_single:.1f} "
          f"MiB/s; python -m shared upload ({args.parts} parts of {args.part_size} in flight, process start-up "
          f"included) {best_multi:.1f} MiB/s; ratio {best_multi / best_single:.2f}x (target >= 1.0x)")
    median_single, median_multi = size / MIB / statistics.median(single), size / MIB / statistics.median(multi)
    print(f"medians (a round the machine's disk writeback slowed counts here, not in the best): single PUT "
          f"{median_single:.1f} MiB/s, python -m shared upload {median_multi:.1f} MiB/s; ratio "
          f"{median_multi / median_single:.2f}x")
    print(f"peak memory of {memory_of} above its baseline: {grown / MIB:.1f} MiB")


if __name__ == "__main__":
    main()
