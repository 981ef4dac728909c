"""``python -m shared serve`` as a stranger uses it: the README's run command starts, every command it prints
works when pasted into a shell, an upload reaches the webhook receiver through the object-created function,
real-OSS mode checks its configuration first, and Ctrl-C stops everything. Real processes, bounded waits."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shlex
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from processes import ROOT
from serve_process import Served, free_ports, port_arguments, serve_environment

README = (ROOT / "README.md").read_text("utf-8")
SERVE = re.search(r"^python3 -m pip install -r requirements.txt && (python3 -m shared serve.*)$", README, re.M)
COMMAND_TIMEOUT = 30


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _shell(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a pasted command line as a stranger's shell would."""
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                          env=serve_environment(ROOT, **env), cwd=ROOT)


def _printed(lines: list[str], fragment: str) -> str:
    return next(line.strip() for line in lines if fragment in line and "curl" in line)


@dataclass
class Local:
    """serve against the local bucket, started once for this module."""

    served: Served
    lines: list[str]
    ports: dict[str, int]
    data: Path

    @property
    def api_key(self) -> str:
        return str(json.loads((self.data / "dev-settings.json").read_text("utf-8"))["api_key"])


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    assert SERVE, "README.md must start with the run command"
    home = tmp_path_factory.mktemp("home")
    ports = free_ports()
    arguments = shlex.split(SERVE.group(1))[4:] + port_arguments(ports) + ["--data", str(home / "oss")]
    served = Served(arguments, serve_environment(home))
    try:
        yield Local(served, served.ready(), ports, home / "oss")
    finally:
        served.kill()


def test_the_printed_download_works_without_sending_the_key_to_the_bucket(local: Local) -> None:
    download = _printed(local.lines, "redirect=1")
    assert not re.search(r" -[a-zA-Z]*L", download)  # curl -L would send the key on to the bucket
    done = _shell(download)
    assert (done.returncode, done.stdout) == (0, "Hello from the local OSS bucket!\n"), done.stderr


def test_the_printed_url_request_and_link_work(local: Local) -> None:
    asked = json.loads(_shell(_printed(local.lines, "/presign?key=hello.txt'")).stdout)
    assert asked["key"] == "hello.txt" and asked["url"].startswith(f"http://127.0.0.1:{local.ports['--oss-port']}/")
    link = json.loads(_shell(_printed(local.lines, "/links'")).stdout)["link"]
    assert link.startswith(f"http://127.0.0.1:{local.ports['--links-port']}/d/")
    done = _shell(f"curl -sL '{link}'")
    assert done.stdout == "Hello from the local OSS bucket!\n"


def test_the_readme_upload_reaches_the_webhook_receiver(local: Local) -> None:
    upload = next(line for line in README.splitlines() if "curl -sT -" in line)
    upload = upload.replace("127.0.0.1:9000", f"127.0.0.1:{local.ports['--port']}")
    done = _shell(upload, API_KEY=local.api_key)
    assert done.returncode == 0, done.stderr
    key = re.search(r"key=([^&']+)", upload).group(1)  # type: ignore[union-attr]
    delivered = local.served.until(lambda line: line.startswith("webhook") and f"/{key} " in line)
    assert "verified" in delivered and "x-oss-signature" not in delivered


def test_a_chunked_upload_from_stdin_is_stored_and_announced(local: Local) -> None:
    put = json.loads(_shell(f"curl -s -H 'X-Api-Key: {local.api_key}' "
                            f"'http://127.0.0.1:{local.ports['--port']}/presign?key=piped/log.txt&method=PUT'").stdout)
    done = _shell(f"printf 'line one\\nline two\\n' | curl -sS -f -T - '{put['url']}'")
    assert done.returncode == 0, done.stdout + done.stderr
    local.served.until(lambda line: line.startswith("webhook") and "/piped/log.txt " in line)
    got = json.loads(_shell(f"curl -s -H 'X-Api-Key: {local.api_key}' "
                            f"'http://127.0.0.1:{local.ports['--port']}/presign?key=piped/log.txt'").stdout)
    assert _shell(f"curl -s '{got['url']}'").stdout == "line one\nline two\n"


def test_the_demo_page_answers_only_its_own_host_names(local: Local) -> None:
    """DNS rebinding: a site whose name resolves to 127.0.0.1 must not read the key from /config.json."""
    port = local.ports["--page-port"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        answer = requests.get(f"http://127.0.0.1:{port}/config.json", headers={"Host": host}, timeout=10)
        assert answer.status_code == 200 and answer.json()["api_key"] == local.api_key
    for host in (f"rebound.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}"):
        for path in ("/config.json", "/"):
            answer = requests.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}, timeout=10)
            assert answer.status_code == 421 and local.api_key not in answer.text, (host, path)


def test_ctrl_c_stops_every_process_and_frees_every_port(local: Local) -> None:
    assert local.served.interrupt() == 0
    assert local.served.out[-1] == "stopped"
    assert not any(_listening(port) for port in local.ports.values())
    assert (local.data / "dev-settings.json").stat().st_mode & 0o077 == 0
    assert not any("Traceback" in line for line in local.served.err)


def _real_oss(tmp_path: Path, **overrides: str) -> tuple[dict[str, str], dict[str, str], str]:
    api_key = "key-" + secrets.token_urlsafe(16)
    policy = {"principals": {"me": [{"bucket": "realbucket", "prefix": "", "methods": ["GET"]}]}}
    env = serve_environment(tmp_path, OSS_BUCKET="realbucket", OSS_REGION="cn-hangzhou",
                            OSS_ACCESS_KEY_ID="LTAI5tREAL" + secrets.token_hex(4),
                            OSS_ACCESS_KEY_SECRET=secrets.token_urlsafe(20),
                            PRESIGN_API_KEYS="me:" + hashlib.sha256(api_key.encode()).hexdigest(),
                            PRESIGN_POLICY=json.dumps(policy), LINK_SIGNING_KEYS="k1:" + secrets.token_urlsafe(32))
    env.update(overrides)
    real_oss_ports = ("--port", "--links-port", "--page-port")  # serve listens on these against real OSS
    ports = {option: port for option, port in free_ports().items() if option in real_oss_ports}
    return {name: value for name, value in env.items() if value}, ports, api_key


def test_real_oss_mode_prints_commands_the_shell_expands(tmp_path: Path) -> None:
    env, ports, api_key = _real_oss(tmp_path)
    with Served(port_arguments(ports) + ["--data", str(tmp_path / "unused")], env) as served:
        lines = served.ready()
        assert any("real OSS" in line for line in lines) and not (tmp_path / "unused").exists()
        asked = _shell(_printed(lines, "/presign?key="), API_KEY=api_key)
        url = json.loads(asked.stdout)["url"]
        assert url.startswith("https://realbucket.oss-cn-hangzhou.aliyuncs.com/")
        assert served.interrupt() == 0


@pytest.mark.parametrize(("unset", "named"), [("OSS_REGION", "OSS_REGION"), ("PRESIGN_POLICY", "PRESIGN_POLICY"),
                                              ("LINK_SIGNING_KEYS", "LINK_SIGNING_KEYS"),
                                              ("OSS_ACCESS_KEY_SECRET", "OSS_ACCESS_KEY_SECRET")])
def test_real_oss_mode_refuses_a_configuration_that_would_answer_500(tmp_path: Path, unset: str, named: str) -> None:
    env, ports, _ = _real_oss(tmp_path, **{unset: ""})
    with Served(port_arguments(ports), env) as served:
        status = served.wait(COMMAND_TIMEOUT)
    assert status == 2 and served.out == [] and len(served.err) == 1
    assert served.err[0].startswith("error: ") and named in served.err[0]
    assert not any(_listening(port) for port in ports.values())


def test_the_readme_links_example_posts_to_the_links_port() -> None:
    section = README.split("## Links for emails", 1)[1].split("\n## ", 1)[0]
    assert "--port 9001" in section and "localhost:9001/links" in section and ":9000" not in section


def test_no_readme_command_follows_a_redirect_with_the_api_key() -> None:
    for line in README.splitlines():
        words = line.split()
        if "curl" in words and any(word in ("-L", "-sL") for word in words):
            assert "X-Api-Key" not in line and "Authorization" not in line, line
