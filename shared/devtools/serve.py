"""``python -m shared serve``: the whole job on one machine, with no cloud account.

Starts, on 127.0.0.1, the local signature-checking bucket (a folder, default ``./.local-oss/``), a
webhook receiver that prints each verified delivery, and the three functions through their real
functions-framework entry points and their normal configuration (``OSS_ENDPOINT`` pointing at the local
bucket, a region, credentials, an API key, a policy, link keys and object-created rules delivering to
the receiver). Each object the local bucket stores is an OSS ``ObjectCreated:PutObject`` event for
the object-created function (``trigger``). With ``OSS_BUCKET`` set it serves the presign and links
functions against real OSS with the environment's configuration instead, and says so.

Before anything starts: every port is distinct and free, the data folder and its settings are
usable, and each function's configuration builds (else one line naming the problem, exit status 2).
A function that ends while serve runs stops everything, with its last lines (exit status 1). Ctrl-C
(SIGINT) or SIGTERM stops everything at once, during start-up too.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import socket
import sys
import threading
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import IO, TYPE_CHECKING

from shared.credentials import Credentials
from shared.credentials.provider import CredentialsProvider
from shared.devtools.console import Console
from shared.devtools.function_processes import ROOT, FunctionExited, FunctionGroup
from shared.devtools.page_server import DemoPage, page_config
from shared.devtools.serve_help import SAMPLE_KEY, print_ready
from shared.devtools.serve_settings import (
    check_configuration,
    check_credentials,
    check_data_folder,
    cors_environment,
    function_environment,
    load_dev_settings,
)
from shared.devtools.trigger import FunctionTrigger
from shared.devtools.usage import UsageError
from shared.errors import PresignError

if TYPE_CHECKING:
    from shared.devtools.local_oss.server import LocalOss

SAMPLE = b"Hello from the local OSS bucket!\n"
# (the option, its default, what listens there); the local bucket's three are not used against real OSS
PORTS = (("--port", 9000, "the presign function"), ("--links-port", 9001, "the links function"),
         ("--on-created-port", 9002, "the object-created function (local bucket only)"),
         ("--webhook-port", 9003, "the webhook receiver (local bucket only)"), ("--oss-port", 9100, "the local bucket"),
         ("--page-port", 9200, "the demo page"))
REAL_OSS_PORTS = ("--port", "--links-port", "--page-port")
MAX_CORS_ORIGINS = 9  # with the demo page's own origin, the 10 CORS rules a bucket may have
# What the local bucket's CORS rules let a page read: upload clients need ETag and Location.
EXPOSED = ("ETag", "Location", "x-oss-request-id", "Content-Length", "Content-Disposition")
FUNCTIONS = (("presign", "--port"), ("links", "--links-port"), ("on_object_created", "--on-created-port"))
ProviderFactory = Callable[[Mapping[str, str]], CredentialsProvider]


def port_number(text: str) -> int:
    """argparse type of a port option: 1..65535."""
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    raise argparse.ArgumentTypeError(f"must be a port number 1..65535, got {text!r}")


def bucket_name(text: str) -> str:
    """argparse type of ``--bucket``: a name OSS accepts."""
    from shared.oss.endpoints import check_bucket

    try:
        check_bucket(text)
    except PresignError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
    return text


def region_name(text: str) -> str:
    """argparse type of ``--region``: letters, digits and hyphens, as in cn-hangzhou."""
    if text and all(c.isascii() and (c.isalnum() or c == "-") for c in text):
        return text
    raise argparse.ArgumentTypeError(f"must be a region such as cn-hangzhou, got {text!r}")


def cors_origin(text: str) -> str:
    """argparse type of ``--cors-origin``: an origin as a browser sends it."""
    from shared.http.cors import origin_problem

    problem = origin_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} is not an origin: {problem} (e.g. http://localhost:5173)")
    return text


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` command's flags."""
    for option, default, service in PORTS:
        parser.add_argument(option, type=port_number, default=default, help=f"port of {service} (default {default})")
    parser.add_argument("--data", default=".local-oss", help="the local bucket's folder (default ./.local-oss)")
    parser.add_argument("--bucket", type=bucket_name, default="examplebucket",
                        help="the local bucket (default examplebucket)")
    parser.add_argument("--region", type=region_name, default="cn-hangzhou",
                        help="the local bucket's region (default cn-hangzhou)")
    parser.add_argument("--cors-origin", type=cors_origin, action="append", default=[], metavar="ORIGIN",
                        help="let pages of this origin call the functions and the local bucket (repeatable; the "
                             "demo page's origin is always allowed)")


def run(args: argparse.Namespace, *, environ: Mapping[str, str], stdout: IO[str], provider_factory: ProviderFactory,
        **_: object) -> int:
    """Run ``serve`` until SIGINT or SIGTERM, or until a function ends."""
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return serve(args, environ=environ, out=stdout, err=sys.stderr, stop=stop, provider_factory=provider_factory)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def serve(args: argparse.Namespace, *, environ: Mapping[str, str], out: IO[str], err: IO[str],
          stop: threading.Event, provider_factory: ProviderFactory) -> int:
    """Check, start everything, print how to use it, and serve until ``stop`` is set or a function ends."""
    real = bool(environ.get("OSS_BUCKET"))
    ports = chosen_ports(args, real=real)
    origins = cors_origins(args, ports)
    console, log = Console(out), Console(err)
    with ExitStack() as running:
        if real:
            env = {**environ, **cors_environment(environ, origins)}
            check_configuration(env, [name for name, _ in FUNCTIONS[:2]], real=True)
            check_credentials(env, provider_factory)
            api_key, trigger = None, None
        else:
            env, api_key, trigger = _start_local(args, ports, origins, environ, running, console, log)
        page = running.enter_context(_demo_page(ports, env, api_key, real=real))
        console.line(f"demo page: {page.url}/ (upload, download and link from a page on its own origin)")
        functions = FunctionGroup(log)
        running.callback(functions.stop)
        status = _run_functions(functions, env, ports, stop, log, real=real)
        if status is None:
            if trigger is not None:
                running.callback(trigger.start().stop)
            print_ready(console, ports=ports, real=real, api_key=api_key, jwt=_jwt_to_show(env, environ))
            status = _watch(functions, stop, log)
    console.line("stopped")
    return status


def chosen_ports(args: argparse.Namespace, *, real: bool) -> dict[str, int]:
    """The ports serve will listen on, by option; a UsageError when two are the same or one is taken."""
    ports = {option: getattr(args, option[2:].replace("-", "_")) for option, _, _ in PORTS
             if not real or option in REAL_OSS_PORTS}
    seen: dict[int, str] = {}
    for option, port in ports.items():
        if port in seen:
            raise UsageError(f"{seen[port]} and {option} are both {port}; each service needs its own port")
        seen[port] = option
    for option, port in ports.items():
        check_port(port, option)
    return ports


def _jwt_to_show(env: Mapping[str, str], environ: Mapping[str, str]) -> str | None:
    """None without a JWT secret; "" when it is the shell's own (not printed); else serve's development one."""
    secret = env.get("PRESIGN_JWT_SECRET")
    if not secret:
        return None
    return "" if secret == environ.get("PRESIGN_JWT_SECRET") else secret


def cors_origins(args: argparse.Namespace, ports: Mapping[str, int]) -> list[str]:
    """The demo page's origin and each ``--cors-origin``, once each; a UsageError past the bucket's 10 rules."""
    origins = list(dict.fromkeys([f"http://127.0.0.1:{ports['--page-port']}", *args.cors_origin]))
    if len(origins) > MAX_CORS_ORIGINS + 1:
        raise UsageError(f"at most {MAX_CORS_ORIGINS} --cors-origin (a bucket holds 10 CORS rules, one is the demo "
                         "page's)")
    return origins


def _demo_page(ports: Mapping[str, int], env: Mapping[str, str], api_key: str | None, *, real: bool) -> DemoPage:
    """The page server, told where the functions are; it may connect to them and to the bucket only."""
    base, links = f"http://127.0.0.1:{ports['--port']}", f"http://127.0.0.1:{ports['--links-port']}"
    bucket = "https://*.aliyuncs.com" if real else f"http://127.0.0.1:{ports['--oss-port']}"
    endpoint = env.get("OSS_ENDPOINT", "")
    connect = [base, links, bucket, *([_origin_of(endpoint)] if real and endpoint else [])]
    try:
        return DemoPage(page_config(presign=base, links=links, api_key=api_key), port=ports["--page-port"],
                        connect=connect)
    except OSError as exc:
        raise UsageError(f"the demo page cannot listen on port {ports['--page-port']}: {exc.strerror}") from None


def _origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme or 'https'}://{(rest or url).split('/', 1)[0]}"


def check_port(port: int, option: str) -> None:
    """A UsageError naming the port and its option when something already listens there."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise UsageError(f"port {port} on 127.0.0.1 is taken; choose another with {option}") from None


def _start_local(args: argparse.Namespace, ports: Mapping[str, int], origins: Sequence[str],
                 environ: Mapping[str, str], running: ExitStack, console: Console,
                 log: Console) -> tuple[dict[str, str], str, FunctionTrigger]:
    """Check the folder and configuration, then start the receiver and the local bucket; the functions' env."""
    from shared.devtools.local_oss.server import LocalOss
    from shared.devtools.webhook_receiver import WebhookReceiver

    data = check_data_folder(args.data)
    settings = load_dev_settings(data)
    webhook_secret, invoke_token = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    endpoint = f"http://127.0.0.1:{ports['--oss-port']}"
    env = function_environment(environ, settings, endpoint=endpoint, bucket=args.bucket, region=args.region,
                               links_url=f"http://127.0.0.1:{ports['--links-port']}",
                               webhook_url=f"http://127.0.0.1:{ports['--webhook-port']}/hook",
                               webhook_secret=webhook_secret, invoke_token=invoke_token, cors_origins=origins)
    check_configuration(env, [name for name, _ in FUNCTIONS], real=False)
    trigger = FunctionTrigger(f"http://127.0.0.1:{ports['--on-created-port']}/invoke", token=invoke_token, log=log)
    credentials = Credentials(settings["access_key_id"], settings["access_key_secret"])
    try:
        running.enter_context(WebhookReceiver(webhook_secret.encode(), console, port=ports["--webhook-port"]))
        local = running.enter_context(LocalOss(data, credentials=[credentials], region=args.region,
                                               port=ports["--oss-port"], buckets=[args.bucket],
                                               on_stored=trigger.object_stored))
    except OSError as exc:
        raise UsageError(str(exc)) from None
    _allow_origins(local, args.bucket, origins)
    if not local.store.exists(args.bucket, SAMPLE_KEY):
        _seed(credentials, args.bucket, args.region, endpoint)
    console.line(f"local bucket: {endpoint}/{args.bucket}/ serving {data.resolve()}/{args.bucket}/ "
                 "(signatures checked)")
    console.line(f"development keys and API key: {data.resolve()}/dev-settings.json")
    console.line(f"webhook receiver: http://127.0.0.1:{ports['--webhook-port']}/hook (prints each verified delivery)")
    return env, settings["api_key"], trigger


def _allow_origins(local: LocalOss, bucket: str, origins: Sequence[str]) -> None:
    """The bucket's CORS rules, set at each start: one rule per origin, as a user would set them on OSS."""
    from shared.devtools.local_oss.cors import CorsConfiguration, CorsRule
    from shared.devtools.local_oss.cors_api import put_configuration

    rules = tuple(CorsRule(allowed_origins=(origin,), allowed_methods=("GET", "HEAD", "PUT", "POST"),
                           allowed_headers=("*",), expose_headers=EXPOSED, max_age_seconds=600)
                  for origin in origins)
    put_configuration(local.store, bucket, CorsConfiguration(rules=rules))


def _seed(credentials: Credentials, bucket: str, region: str, endpoint: str) -> None:
    """Upload the sample object through a presigned PUT, as any client would."""
    from shared.oss.signer import presign_now

    seed = presign_now(credentials, bucket=bucket, key=SAMPLE_KEY, region=region, endpoint=endpoint, method="PUT",
                       expires=60, headers={"Content-Type": "text/plain; charset=utf-8"})
    request = urllib.request.Request(seed.url, data=SAMPLE, method="PUT", headers=dict(seed.signed_headers))
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _run_functions(functions: FunctionGroup, env: Mapping[str, str], ports: Mapping[str, int],
                   stop: threading.Event, log: Console, *, real: bool) -> int | None:
    """Start the functions and wait until they listen; None when they do, else the exit status."""
    for target, option in FUNCTIONS[:2] if real else FUNCTIONS:
        source = ROOT / "functions" / target / "main.py"
        if source.exists():
            functions.start(target, str(source), ports[option], env)
    try:
        return None if functions.wait_listening(stop) else 0
    except FunctionExited as exited:
        log.line(exited.report())
        return 1


def _watch(functions: FunctionGroup, stop: threading.Event, log: Console) -> int:
    """Serve until stopped (0) or until a function ends (1, with its last lines)."""
    try:
        functions.watch(stop)
    except FunctionExited as exited:
        log.line(exited.report())
        return 1
    return 0
