"""Load benchmark: the presign and links functions under functions-framework (gunicorn) on 127.0.0.1,
and the FC entry called in a loop. Loopback only; bounded in time; stops by itself.

Run: ``python3 tests/bench_load.py [--seconds 60] [--connections 64]``. Not collected by pytest.

- served: a mix of JSON, redirect and batch presign requests and link clicks from N keep-alive
  connections for the given time; reports requests/s, p50/p99 latency, errors (must be 0), and the
  servers' resident memory at the end against the memory after warm-up (target: within 10%).
- FC loop: the presign FC handler called in a loop in this process: calls/s and memory growth.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import threading
import time
from pathlib import Path

import requests

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from presign_env import API_KEY, environment  # noqa: E402
from processes import free_port, functions_framework_command, running  # noqa: E402

HEADERS = {"X-Api-Key": API_KEY}
LINK_KEYS = "k1:" + "l" * 40


def _group_rss_kib(pgid: int) -> int:
    """Resident memory of every process in a process group (gunicorn master and workers), in KiB."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total


def _server_pgids(ports: list[int]) -> list[int]:
    """Process groups of the servers listening on the ports (they run in their own sessions)."""
    groups = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                if any(f"--port {port}" in cmdline for port in ports):
                    groups.add(os.getpgid(int(entry)))
            except (OSError, ProcessLookupError):
                continue
    return sorted(groups)


def _mix(presign: str, links: str, link: str) -> list[tuple[str, str, dict | None]]:
    return [("GET", f"{presign}/presign?key=reports/q1.pdf&expires=600", None),
            ("GET", f"{presign}/presign?key=reports/q1.pdf&redirect=1", None),
            ("POST", f"{presign}/presign", {"key": "reports/q2.pdf", "filename": "Q2 报告.pdf"}),
            ("POST", f"{presign}/presign/batch", {"items": [{"key": f"reports/{n}.pdf"} for n in range(10)]}),
            ("GET", link, None)]


def _send(session: requests.Session, method: str, url: str, body: dict | None) -> tuple[requests.Response, int]:
    """Send once; when the server closed the idle keep-alive connection just as we reused it, send
    again on a fresh one, as HTTP clients do (the request never reached the app). Return the races."""
    for race in (0, 1):
        try:
            return session.request(method, url, json=body, headers=HEADERS, allow_redirects=False, timeout=30), race
        except requests.ConnectionError as exc:
            if race or "Connection aborted" not in str(exc):
                raise
    raise AssertionError("unreachable")


def _drive(mix: list, seconds: float, connections: int) -> tuple[list[float], list[str], int]:
    latencies: list[float] = []
    errors: list[str] = []
    races = [0]
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def work(seed: int) -> None:
        rng, mine, bad, raced = random.Random(seed), [], [], 0
        with requests.Session() as session:
            while time.monotonic() < stop:
                method, url, body = rng.choice(mix)
                started = time.perf_counter()
                try:
                    response, race = _send(session, method, url, body)
                    raced += race
                    if response.status_code not in (200, 302):
                        bad.append(f"{response.status_code} {url}")
                except requests.RequestException as exc:
                    bad.append(f"{type(exc).__name__}: {str(exc)[:160]}")
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)
            races[0] += raced

    threads = [threading.Thread(target=work, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, races[0]


def served(seconds: float, connections: int) -> None:
    presign_port, links_port = free_port(), free_port()
    # functions-framework's gunicorn runs 4 threads per core; one thread per connection keeps an idle
    # keep-alive connection from being closed under the client as it sends (THREADS is its setting).
    env = {**environment(LINK_SIGNING_KEYS=LINK_KEYS, LINK_BASE_URL=f"http://127.0.0.1:{links_port}"),
           "THREADS": str(connections)}
    with running(functions_framework_command("functions/presign/main.py", "presign", presign_port), presign_port,
                 env) as presign, \
            running(functions_framework_command("functions/links/main.py", "links", links_port), links_port,
                    env) as links:
        made = requests.post(f"{links}/links", json={"key": "reports/q1.pdf", "ttl": "30d"}, headers=HEADERS,
                             timeout=10)
        made.raise_for_status()
        mix = _mix(presign, links, made.json()["link"])
        groups = _server_pgids([presign_port, links_port])
        _drive(mix, min(10.0, seconds / 6), connections)  # warm-up
        warm = sum(_group_rss_kib(group) for group in groups)
        started = time.monotonic()
        latencies, errors, races = _drive(mix, seconds, connections)
        elapsed = time.monotonic() - started
        end = sum(_group_rss_kib(group) for group in groups)
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"served: {len(latencies):,} requests in {elapsed:.0f} s from {connections} connections = "
          f"{len(latencies) / elapsed:,.0f} req/s; p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; "
          f"errors {len(errors)}{' e.g. ' + errors[0] if errors else ''}; keep-alive races resent {races}")
    print(f"        server memory after warm-up {warm / 1024:.1f} MiB, at the end {end / 1024:.1f} MiB "
          f"({(end - warm) / warm * 100:+.1f}%, target within 10%)")


def fc_loop(seconds: float) -> None:
    os.environ.update(environment())
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "presign"))
    import index  # the FC entry, configured at import as on a cold start

    event = json.dumps({"version": "v1", "rawPath": "/presign", "body": "", "isBase64Encoded": False,
                        "headers": {"X-Api-Key": API_KEY}, "queryParameters": {"key": "reports/q1.pdf"},
                        "requestContext": {"requestId": "r", "http": {"method": "GET", "path": "/presign",
                                                                      "sourceIp": "127.0.0.1"}}}).encode()
    devnull = open(os.devnull, "w")  # the audit lines would otherwise flood the terminal
    real_stderr, sys.stderr = sys.stderr, devnull
    try:
        for _ in range(2000):
            index.handler(event, None)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        calls, stop = 0, time.monotonic() + seconds
        started = time.monotonic()
        while time.monotonic() < stop:
            assert index.handler(event, None)["statusCode"] == 200
            calls += 1
        elapsed = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        sys.stderr = real_stderr
        devnull.close()
    print(f"FC loop: {calls:,} calls in {elapsed:.0f} s = {calls / elapsed:,.0f} calls/s; peak RSS "
          f"{before / 1024:.1f} MiB after warm-up, {after / 1024:.1f} MiB at the end ({after - before} KiB growth)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    served(args.seconds, args.connections)
    fc_loop(min(args.seconds, 20.0))


if __name__ == "__main__":
    main()
