"""``python -m shared serve``: the whole job on one machine, with no cloud account.

Starts, on 127.0.0.1, the local signature-checking bucket (a folder, default ``./.local-oss/``) and
the HTTP functions through their real functions-framework entry points and their normal
configuration (``OSS_ENDPOINT`` pointing at the local bucket, a region, credentials, an API key and a
policy). Development credentials and the API key are generated once and kept in the folder, so they
survive restarts. With ``OSS_BUCKET`` set in the environment it serves the functions against real OSS
instead, with the environment's configuration, and says so. Ctrl-C (SIGINT) or SIGTERM stops
everything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

from shared.auth.policy import OPTIONS
from shared.credentials import Credentials
from shared.devtools.usage import UsageError

if TYPE_CHECKING:
    from shared.devtools.local_oss.server import LocalOss

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_KEY = "hello.txt"
SAMPLE = b"Hello from the local OSS bucket!\n"
START_TIMEOUT = 60.0


class ServeError(Exception):
    """Raised when serving cannot start: the message says what to fix."""


def dev_settings(folder: Path) -> dict[str, str]:
    """Load the development keys from the folder, creating them on first run (mode 0600)."""
    path = folder / "dev-settings.json"
    if path.exists():
        settings: dict[str, str] = json.loads(path.read_text("utf-8"))
        return settings
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"access_key_id": "LTAI5tDEV" + secrets.token_hex(6), "access_key_secret": secrets.token_urlsafe(24),
                "api_key": "dev-" + secrets.token_urlsafe(18), "link_key": "dev:" + secrets.token_urlsafe(32)}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(settings, handle, indent=1)
    return settings


def function_environment(settings: Mapping[str, str], *, endpoint: str, bucket: str, region: str,
                         links_url: str) -> dict[str, str]:
    """The normal configuration of the functions, pointed at the local bucket."""
    policy = {"principals": {"dev": [{"bucket": bucket, "prefix": "", "methods": ["GET", "HEAD", "PUT"],
                                      "allow": list(OPTIONS)}]}}
    return {
        "OSS_ENDPOINT": endpoint, "OSS_REGION": region, "OSS_BUCKET": bucket,
        "OSS_ACCESS_KEY_ID": settings["access_key_id"], "OSS_ACCESS_KEY_SECRET": settings["access_key_secret"],
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "PRESIGN_API_KEYS": "dev:" + hashlib.sha256(settings["api_key"].encode()).hexdigest(),
        "PRESIGN_POLICY": json.dumps(policy), "LINK_SIGNING_KEYS": settings["link_key"], "LINK_BASE_URL": links_url,
    }


def check_port(port: int) -> None:
    """Raise ServeError naming the port when something already listens there."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise ServeError(f"port {port} on 127.0.0.1 is taken; choose another with the port options") from None


def _functions() -> list[tuple[str, str]]:
    """The HTTP functions this checkout has: (target, source)."""
    found = []
    for target in ("presign", "links"):
        source = ROOT / "functions" / target / "main.py"
        if source.exists():
            found.append((target, str(source)))
    return found


def _framework_command(source: str, target: str, port: int) -> list[str]:
    executable = shutil.which("functions-framework")
    base = [executable] if executable else [sys.executable, "-m", "functions_framework"]
    return [*base, "--source", source, "--target", target, "--host", "127.0.0.1", "--port", str(port)]


def _wait_for(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(f"the {name} function exited with status {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise ServeError(f"the {name} function did not listen on port {port} within {START_TIMEOUT:.0f} s")


class Services:
    """The running local bucket and function processes; ``stop`` ends them all."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.bucket: LocalOss | None = None

    def start_function(self, target: str, source: str, port: int, env: Mapping[str, str]) -> None:
        """Start one function under functions-framework in its own process group."""
        full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(_framework_command(source, target, port), cwd=ROOT, env=full_env,
                                   start_new_session=True)
        self.processes.append(process)
        _wait_for(port, process, target)

    def stop(self) -> None:
        """Stop the functions (SIGTERM, then SIGKILL after 10 s) and the local bucket."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self.bucket is not None:
            self.bucket.stop()


def serve(*, data: Path, bucket: str, region: str, oss_port: int, presign_port: int, links_port: int,
          environ: Mapping[str, str], out: IO[str], stop: threading.Event) -> int:
    """Start everything, print how to use it, and serve until ``stop`` is set."""
    real = bool(environ.get("OSS_BUCKET"))
    ports = [presign_port, links_port] + ([] if real else [oss_port])
    for port in ports:
        check_port(port)
    services = Services()
    try:
        env = dict(environ) if real else _start_local(services, data, bucket, region, oss_port, links_port, out)
        api_key = None if real else dev_settings(data)["api_key"]
        for target, source in _functions():
            services.start_function(target, source, presign_port if target == "presign" else links_port, env)
        _print_ready(out, real=real, presign_port=presign_port, links_port=links_port, api_key=api_key)
        stop.wait()
    finally:
        services.stop()
    out.write("stopped\n")
    return 0


def _start_local(services: Services, data: Path, bucket: str, region: str, oss_port: int, links_port: int,
                 out: IO[str]) -> dict[str, str]:
    from shared.devtools.local_oss.server import LocalOss
    from shared.oss.signer import presign_now

    settings = dev_settings(data)
    credentials = Credentials(settings["access_key_id"], settings["access_key_secret"])
    local = LocalOss(data, credentials=[credentials], region=region, port=oss_port, buckets=[bucket])
    services.bucket = local.start()
    store = local.store
    if not store.exists(bucket, SAMPLE_KEY):
        seed = presign_now(credentials, bucket=bucket, key=SAMPLE_KEY, region=region, endpoint=local.endpoint,
                           method="PUT", expires=60, headers={"Content-Type": "text/plain; charset=utf-8"})
        _put(seed.url, SAMPLE, seed.signed_headers)
    out.write(f"local bucket: {local.endpoint}/{bucket}/ serving {data.resolve()}/{bucket}/ (signatures checked)\n")
    out.write(f"development keys and API key: {data.resolve()}/dev-settings.json\n")
    return function_environment(settings, endpoint=local.endpoint, bucket=bucket, region=region,
                                links_url=f"http://127.0.0.1:{links_port}")


def _put(url: str, body: bytes, headers: Mapping[str, str]) -> None:
    import urllib.request

    request = urllib.request.Request(url, data=body, method="PUT", headers=dict(headers))
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _print_ready(out: IO[str], *, real: bool, presign_port: int, links_port: int, api_key: str | None) -> None:
    base = f"http://127.0.0.1:{presign_port}"
    if real:
        out.write("OSS_BUCKET is set: the functions sign for real OSS with the environment's configuration\n")
    out.write(f"presign function: {base}\n")
    if any(target == "links" for target, _ in _functions()):
        out.write(f"links function:   http://127.0.0.1:{links_port}\n")
    key = api_key or "$API_KEY"
    out.write("ask for a URL:\n")
    out.write(f"  curl -s -H 'X-Api-Key: {key}' '{base}/presign?key={SAMPLE_KEY}'\n")
    out.write("download the sample object through a redirect:\n")
    out.write(f"  curl -sL -H 'X-Api-Key: {key}' '{base}/presign?key={SAMPLE_KEY}&redirect=1'\n")
    if any(target == "links" for target, _ in _functions()):
        out.write("make a 30-day link for an email (then open the \"link\" it answers):\n")
        out.write(f"  curl -s -X POST -H 'X-Api-Key: {key}' -H 'Content-Type: application/json' "
                  f"-d '{{\"key\": \"{SAMPLE_KEY}\", \"ttl\": \"30d\"}}' 'http://127.0.0.1:{links_port}/links'\n")
    out.write("ready; Ctrl-C stops everything\n")
    out.flush()


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` command's flags."""
    parser.add_argument("--port", type=int, default=9000, help="presign function port (default 9000)")
    parser.add_argument("--links-port", type=int, default=9001, help="links function port (default 9001)")
    parser.add_argument("--oss-port", type=int, default=9100, help="local bucket port (default 9100)")
    parser.add_argument("--data", default=".local-oss", help="the local bucket's folder (default ./.local-oss)")
    parser.add_argument("--bucket", default="examplebucket", help="the local bucket (default examplebucket)")
    parser.add_argument("--region", default="cn-hangzhou", help="the local bucket's region (default cn-hangzhou)")


def run(args: argparse.Namespace, *, environ: Mapping[str, str], stdout: IO[str], **_: object) -> int:
    """Run ``serve`` until SIGINT or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        return serve(data=Path(args.data), bucket=args.bucket, region=args.region,
                     oss_port=args.oss_port, presign_port=args.port, links_port=args.links_port,
                     environ=environ, out=stdout, stop=stop)
    except ServeError as error:
        raise UsageError(str(error)) from None
