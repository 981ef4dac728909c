"""``python -m shared serve`` when something is wrong: one line naming the problem and exit status 2 before
anything starts (ports, settings, the data folder), exit status 1 with the function's last lines when a
function dies, and Ctrl-C honoured at once while the functions start. Real processes, bounded waits."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from pathlib import Path

import pytest
from serve_process import Served, fake_framework, free_ports, port_arguments, serve_environment

PROMPTLY = 10.0  # seconds: well under serve's 60 s start timeout


def _refused(arguments: list[str], env: dict[str, str]) -> str:
    """Run serve, expect exit status 2 with nothing on stdout and one line on stderr; that line."""
    with Served(arguments, env) as served:
        status = served.wait(PROMPTLY * 3)
    assert (status, served.out) == (2, []), served.err
    assert len(served.err) == 1 and served.err[0].startswith("error: "), served.err
    return served.err[0]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_default_links_port_given_to_presign_is_a_usage_error(tmp_path: Path) -> None:
    line = _refused(["--port", "9001", "--data", str(tmp_path / "oss")], serve_environment(tmp_path))
    assert "--port and --links-port are both 9001" in line
    assert not (tmp_path / "oss").exists()


def test_any_two_services_on_one_port_is_a_usage_error(tmp_path: Path) -> None:
    ports = free_ports()
    ports["--webhook-port"] = ports["--oss-port"]
    line = _refused(port_arguments(ports) + ["--data", str(tmp_path / "oss")], serve_environment(tmp_path))
    assert f"--webhook-port and --oss-port are both {ports['--oss-port']}" in line


@pytest.mark.parametrize(("option", "value"), [("--port", "70000"), ("--links-port", "0"), ("--oss-port", "-1"),
                                                ("--webhook-port", "http"), ("--on-created-port", "65536")])
def test_a_port_out_of_range_is_one_line(tmp_path: Path, option: str, value: str) -> None:
    line = _refused([option, value, "--data", str(tmp_path)], serve_environment(tmp_path))
    assert f"argument {option}: must be a port number 1..65535, got {value!r}" in line


@pytest.mark.parametrize(("option", "value", "fragment"), [("--bucket", "Bad_Bucket", "is not a valid name"),
                                                           ("--region", "", "must be a region such as cn-hangzhou"),
                                                           ("--region", "cn hangzhou", "must be a region")])
def test_a_bad_bucket_or_region_is_one_line_before_anything_starts(tmp_path: Path, option: str, value: str,
                                                                   fragment: str) -> None:
    line = _refused([option, value, "--data", str(tmp_path / "oss")], serve_environment(tmp_path))
    assert f"argument {option}: " in line and fragment in line and not (tmp_path / "oss").exists()


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = free_ports()
        ports["--links-port"] = taken.getsockname()[1]
        line = _refused(port_arguments(ports) + ["--data", str(tmp_path)], serve_environment(tmp_path))
    assert f"port {ports['--links-port']} on 127.0.0.1 is taken" in line and "--links-port" in line


@pytest.mark.parametrize("content", ["{not json", "[]", '{"api_key": "k"}', '{"access_key_id": 1, "access_key_secret'
                                     '": "s", "api_key": "k", "link_key": "dev:x"}', "\udcff"])
def test_corrupt_development_settings_are_one_line(tmp_path: Path, content: str) -> None:
    (tmp_path / "oss").mkdir()
    (tmp_path / "oss" / "dev-settings.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    line = _refused(port_arguments(free_ports()) + ["--data", str(tmp_path / "oss")], serve_environment(tmp_path))
    assert "dev-settings.json" in line and "delete it" in line


@pytest.mark.parametrize("make", ["file", "under a file"])
def test_data_that_is_not_a_folder_is_one_line(tmp_path: Path, make: str) -> None:
    (tmp_path / "file").write_text("x")
    data = tmp_path / "file" if make == "file" else tmp_path / "file" / "oss"
    line = _refused(port_arguments(free_ports()) + ["--data", str(data)], serve_environment(tmp_path))
    assert f"--data {data}" in line and "folder" in line


def test_an_empty_data_is_one_line_not_the_working_directory(tmp_path: Path) -> None:
    line = _refused(port_arguments(free_ports()) + ["--data", ""], serve_environment(tmp_path))
    assert "--data must name a folder" in line


def test_a_function_that_dies_while_starting_stops_serve_with_its_last_lines(tmp_path: Path) -> None:
    ports = free_ports()
    env = serve_environment(tmp_path, PATH=fake_framework(tmp_path / "bin"), FAKE_LINKS="die")
    with Served(port_arguments(ports) + ["--data", str(tmp_path / "oss")], env) as served:
        status = served.wait(PROMPTLY * 3)
    assert status == 1 and not any(line.startswith("ready") for line in served.out)
    text = "\n".join(served.err)
    assert "the links function exited with status 3" in text and "ImportError: cannot import the handler" in text
    assert "Traceback" not in text
    assert not any(_listening(port) for port in ports.values())


def test_a_function_that_dies_after_start_up_stops_serve(tmp_path: Path) -> None:
    ports = free_ports()
    env = serve_environment(tmp_path, PATH=fake_framework(tmp_path / "bin"), FAKE_ON_OBJECT_CREATED="die-later")
    with Served(port_arguments(ports) + ["--data", str(tmp_path / "oss")], env) as served:
        served.ready()
        # The signal to die; serve's event for the seeded sample may have given it first (then: refused).
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", ports["--on-created-port"]), timeout=5).close()
        status = served.wait(PROMPTLY)
    assert status == 1
    text = "\n".join(served.err)
    assert "the on_object_created function exited with status 4" in text and "worker crashed" in text
    assert not any(_listening(port) for port in ports.values())


def test_ctrl_c_while_the_functions_start_stops_at_once(tmp_path: Path) -> None:
    ports = free_ports()
    env = serve_environment(tmp_path, PATH=fake_framework(tmp_path / "bin"), FAKE_PRESIGN="hang")
    with Served(port_arguments(ports) + ["--data", str(tmp_path / "oss")], env) as served:
        served.until_stderr("[presign] presign: importing slowly")  # the functions are starting; presign never will
        asked = time.monotonic()
        status = served.interrupt(PROMPTLY)
        assert time.monotonic() - asked < PROMPTLY
    assert status == 0 and served.out[-1] == "stopped"
    assert not any(_listening(port) for port in ports.values())


def test_settings_written_by_an_older_serve_still_load(tmp_path: Path) -> None:
    (tmp_path / "oss").mkdir()
    old = {"access_key_id": "LTAI5tDEVold", "access_key_secret": "old-secret", "api_key": "dev-old",
           "link_key": "dev:" + "x" * 43}
    (tmp_path / "oss" / "dev-settings.json").write_text(json.dumps(old), "utf-8")
    ports = free_ports()
    with Served(port_arguments(ports) + ["--data", str(tmp_path / "oss")], serve_environment(tmp_path)) as served:
        lines = served.ready()
        assert served.interrupt() == 0 and any("X-Api-Key: dev-old" in line for line in lines)
