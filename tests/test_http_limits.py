"""What a request may bring before anyone is authenticated, against real servers on 127.0.0.1: the
functions-framework command, the same app under gunicorn with shared/http/gunicorn_conf.py, the WSGI
entry under a standard-library server, and the FC event adapter. Raw sockets where the client must
misbehave (a huge body, a trickled head); requests where it need not."""

from __future__ import annotations

import io
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from events import load_event
from http_servers import serving_wsgi
from presign_env import API_KEY, environment
from processes import ROOT, free_port, functions_framework_command, wait_for_port

from shared.errors import HeadersTooLarge, InvalidArgument, PayloadTooLarge, UriTooLong
from shared.http.fc import serve_fc_event
from shared.http.framework import framework_error
from shared.http.gunicorn_worker import head_refusal, raw_error
from shared.http.limits import (
    MAX_HEAD_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADER_FIELDS,
    MAX_PATH_BYTES,
    MAX_QUERY_BYTES,
    MAX_REQUEST_LINE_BYTES,
    check_head,
    declared_length,
    read_bounded,
)
from shared.http.messages import MAX_BODY_BYTES
from shared.presign.wiring import build_presign_app

HEADERS = {"X-Api-Key": API_KEY}
BIG_BODY = 256 * 1024 * 1024
RSS_GROWTH = 20 * 1024 * 1024  # what the server may grow by while refusing BIG_BODY: far less than the body
ANSWER_WAIT = 2.0  # the bounded wait for a legitimate answer while other connections idle or trickle
GUNICORN_CONF = ROOT / "shared/http/gunicorn_conf.py"


def gunicorn_command(port: int) -> list[str]:
    """The README's container command: gunicorn with our config, on a free 127.0.0.1 port."""
    executable = shutil.which("gunicorn")
    base = [executable] if executable else [sys.executable, "-m", "gunicorn"]
    return [*base, "-c", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}"]


class Server:
    """A server process and its base URL; the serving process's resident memory from /proc, in bytes."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def serving_pid(self) -> int:
        """gunicorn's worker (the master's only child), else the process itself."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(children[0]) if children else pid

    def reset_peak(self) -> None:
        """Start VmHWM (the peak of VmRSS) afresh, so that it tells the peak of the next request alone."""
        Path(f"/proc/{self.serving_pid()}/clear_refs").write_text("5")

    def memory(self, field: str = "VmRSS") -> int:
        """VmRSS (or VmHWM, its peak) of the serving process."""
        status = Path(f"/proc/{self.serving_pid()}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith(f"{field}:"))
        return int(kib) * 1024


def start(command: list[str], port: int, log: Path | None = None, **env: str) -> Iterator[Server]:
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **environment(), **env}
    output = open(log, "wb") if log else subprocess.DEVNULL  # closed with the process
    process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=output, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for_port(port, process)
        yield Server(process, port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        if log:
            output.close()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def framework_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("framework") / "server.log"


@pytest.fixture(scope="module")
def framework(framework_log: Path) -> Iterator[Server]:
    """``functions-framework --target presign --source functions/presign/main.py``, as it really runs."""
    port = free_port()
    yield from start(functions_framework_command("functions/presign/main.py", "presign", port), port, framework_log)


@pytest.fixture(scope="module")
def container() -> Iterator[Server]:
    """The same app under gunicorn with our config (the README's container command)."""
    port = free_port()
    yield from start(gunicorn_command(port), port, None, FUNCTION_TARGET="presign",
                     FUNCTION_SOURCE=str(ROOT / "functions/presign/main.py"))


@pytest.fixture(scope="module")
def wsgi() -> Iterator[str]:
    """The WSGI entry (FC 2.0 HTTP functions, any WSGI server) under the standard library's server."""
    from shared.http.wsgi import serve_wsgi

    app = build_presign_app(environment())
    with serving_wsgi(lambda environ, start_response: serve_wsgi(app, environ, start_response)) as base:
        yield base


@pytest.fixture(params=["functions-framework", "gunicorn-config", "wsgi"])
def base(request: pytest.FixtureRequest) -> str:
    if request.param == "wsgi":
        return str(request.getfixturevalue("wsgi"))
    server: Server = request.getfixturevalue("framework" if request.param == "functions-framework" else "container")
    return server.base


def assert_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:200]
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and set(error) == {"code", "message", "request_id"}


# --- the limits themselves --------------------------------------------------------------------------------

def test_check_head_refuses_just_past_each_limit() -> None:
    check_head(MAX_PATH_BYTES, MAX_QUERY_BYTES, [("X-Pad", "p" * (MAX_HEADER_BYTES - 9))])  # each exactly at it
    with pytest.raises(UriTooLong, match="query string"):
        check_head(1, MAX_QUERY_BYTES + 1, [])
    with pytest.raises(UriTooLong, match="path"):
        check_head(MAX_PATH_BYTES + 1, 0, [])
    with pytest.raises(HeadersTooLarge, match="over 32768 bytes"):
        check_head(1, 0, [("X-Pad", "p" * (MAX_HEADER_BYTES - 8))])
    with pytest.raises(HeadersTooLarge, match="at most 100 header fields"):
        check_head(1, 0, [("X", "")] * (MAX_HEADER_FIELDS + 1))


def test_content_length_and_streamed_bodies() -> None:
    assert declared_length({}) is None and declared_length({"CONTENT_LENGTH": str(MAX_BODY_BYTES)}) == MAX_BODY_BYTES
    for given, error in (("12abc", InvalidArgument), ("-1", InvalidArgument),
                         (str(MAX_BODY_BYTES + 1), PayloadTooLarge), ("9" * 4000, PayloadTooLarge)):
        with pytest.raises(error):
            declared_length({"CONTENT_LENGTH": given})
    assert read_bounded(io.BytesIO(b"x" * MAX_BODY_BYTES)) == b"x" * MAX_BODY_BYTES
    stream = io.BytesIO(b"x" * (4 * MAX_BODY_BYTES))
    with pytest.raises(PayloadTooLarge):
        read_bounded(stream)
    assert stream.tell() == MAX_BODY_BYTES + 1  # not a byte more than it takes to know


def test_the_worker_refuses_a_head_from_its_size_alone() -> None:
    assert head_refusal(b"GET /" + b"q" * (MAX_REQUEST_LINE_BYTES - 5)) is None
    assert isinstance(head_refusal(b"GET /" + b"q" * MAX_REQUEST_LINE_BYTES), UriTooLong)
    line = b"GET / HTTP/1.1\r\n"
    assert head_refusal(line + b"h" * (MAX_HEAD_BYTES - len(line))) is None
    assert isinstance(head_refusal(line + b"h" * MAX_HEAD_BYTES), HeadersTooLarge)
    answer = raw_error(UriTooLong("request line is over 24640 bytes"))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ") and b"\r\nConnection: close\r\n" in head
    assert f"Content-Length: {len(body)}".encode() in head and json.loads(body)["error"]["code"] == "UriTooLong"


def test_framework_errors_take_the_json_shape() -> None:
    from werkzeug.exceptions import NotFound, RequestEntityTooLarge

    body, status, headers = framework_error(RequestEntityTooLarge())
    assert status == 413 and json.loads(body)["error"]["code"] == "PayloadTooLarge"
    assert headers["Content-Type"].startswith("application/json")
    assert framework_error(NotFound())[1] == 404 and framework_error(RuntimeError())[1] == 500


# --- query strings and header blocks ----------------------------------------------------------------------

def test_a_query_string_over_16_kib_is_refused_414(base: str, request: pytest.FixtureRequest) -> None:
    padding = "a" * (MAX_QUERY_BYTES - len("key=reports/a&pad="))
    at_limit = requests.get(f"{base}/presign?key=reports/a&pad={padding}", headers=HEADERS, timeout=10)
    assert at_limit.status_code != 414  # 16 KiB exactly is the function's to judge
    over = requests.get(f"{base}/presign?key=reports/a&pad={padding}b", headers=HEADERS, timeout=10)
    assert_error(over, 414, "UriTooLong")
    # 2 MiB, as in the report; 60 KiB for the standard-library server, which refuses lines over 64 KiB itself
    size = 60 << 10 if base == request.getfixturevalue("wsgi") else 2 << 20
    huge = requests.get(f"{base}/presign?key=reports/a&pad={'a' * size}", timeout=10)
    assert_error(huge, 414, "UriTooLong")


def test_a_header_block_over_32_kib_is_refused_431(base: str) -> None:
    headers = {**HEADERS, **{f"X-Pad-{index}": "p" * 4000 for index in range(9)}}  # each line under 8190 bytes
    assert_error(requests.get(f"{base}/presign", params={"key": "reports/a"}, headers=headers, timeout=10),
                 431, "HeadersTooLarge")
    fewer = {**HEADERS, **{f"X-Pad-{index}": "p" * 4000 for index in range(7)}}
    assert requests.get(f"{base}/presign", params={"key": "reports/a"}, headers=fewer, timeout=10).status_code == 200


def test_each_refusal_in_front_of_the_framework_writes_one_log_line(framework: Server, framework_log: Path) -> None:
    answer = requests.get(f"{framework.base}/presign?key=reports/secret-ish&pad={'z' * MAX_QUERY_BYTES}", timeout=10)
    request_id = answer.json()["error"]["request_id"]
    deadline = time.monotonic() + 5
    while request_id not in framework_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [json.loads(line) for line in framework_log.read_text().splitlines() if request_id in line]
    assert len(lines) == 1 and lines[0]["event"] == "refused" and lines[0]["code"] == "UriTooLong"
    assert lines[0]["status"] == 414 and lines[0]["path"] == "/presign" and "zzz" not in json.dumps(lines[0])


def test_the_container_config_answers_a_long_header_line_and_request_line_in_json(container: Server) -> None:
    one_line = {**HEADERS, "X-Pad": "p" * (MAX_HEADER_BYTES - 100)}  # over gunicorn's default 8190-byte line
    assert_error(requests.get(f"{container.base}/presign", headers=one_line, timeout=10), 431, "HeadersTooLarge")
    answer = exchange(container.port, b"GET /presign?" + b"q" * (64 << 10) + b" HTTP/1.1\r\n")
    assert answer.status == 414 and json.loads(answer.body)["error"]["code"] == "UriTooLong"


@pytest.mark.parametrize("name", ["fc3_http_trigger", "apigw_trigger"])
def test_fc_events_over_the_limits_are_refused_before_they_are_adapted(name: str) -> None:
    app = build_presign_app(environment())
    event = load_event(name)
    long_query = {**event, "queryParameters": {"key": "reports/a", "pad": "a" * MAX_QUERY_BYTES}}
    answer = serve_fc_event(app, long_query)
    assert answer["statusCode"] == 414 and json.loads(str(answer["body"]))["error"]["code"] == "UriTooLong"
    big_headers = {**event, "headers": {f"X-Pad-{index}": "p" * 4000 for index in range(9)}}
    answer = serve_fc_event(app, big_headers)
    assert answer["statusCode"] == 431 and json.loads(str(answer["body"]))["error"]["code"] == "HeadersTooLarge"
    at_limit = {**event, "queryParameters": {"key": "reports/a", "x": "a" * (MAX_QUERY_BYTES - 20)}}
    assert serve_fc_event(app, at_limit)["statusCode"] not in (414, 431)


# --- bodies -----------------------------------------------------------------------------------------------

@dataclass
class Answer:
    """What a raw client got: the status, how much body it had sent by then, the answer's body."""

    status: int
    sent: int
    body: bytes


def exchange(port: int, head: bytes, body_size: int = 0, *, chunked: bool = False, timeout: float = 10.0) -> Answer:
    """Send ``head``, then body (1 MiB pieces, up to ``body_size``) until the server answers or closes; then read
    the answer. A server that refuses early closes while the body is still going out: that is the point."""
    piece = b"x" * (1 << 20)
    framed = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    sent = 0
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(head)
        while sent < body_size and time.monotonic() < deadline:
            readable, writable, _ = select.select([client], [client], [], 1.0)
            if readable:
                break
            try:
                sent += client.send(framed) if writable else 0
            except OSError:  # refused and closed: the answer waits in the receive buffer
                break
        data = read_answer(client, deadline)
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    return Answer(status, sent, data.partition(b"\r\n\r\n")[2])


def read_answer(client: socket.socket, deadline: float) -> bytes:
    """The answer's bytes, up to the end of its Content-Length, the server's close, or the deadline."""
    data = b""
    while time.monotonic() < deadline:
        try:
            chunk = client.recv(65536)
        except OSError:
            break
        data += chunk
        head, found, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        if not chunk or (found and len(rest) >= length):
            break
    return data


def post_head(length: int | None) -> bytes:
    """An unauthenticated POST /presign/batch head: by Content-Length, or chunked when ``length`` is None."""
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (f"POST /presign/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{framing}\r\n\r\n").encode()


@pytest.fixture(params=["functions-framework", "gunicorn-config"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue("framework" if request.param == "functions-framework" else "container")


def test_a_256_mib_post_is_refused_413_unread_and_memory_stays_flat(server: Server) -> None:
    assert_refused_unread(server, post_head(BIG_BODY), chunked=False)


def test_a_chunked_body_is_refused_413_once_past_the_limit(server: Server) -> None:
    assert_refused_unread(server, post_head(None), chunked=True)


def assert_refused_unread(server: Server, head: bytes, *, chunked: bool) -> None:
    """A BIG_BODY after ``head`` is answered 413 long before it could all be sent, and the server's memory, now
    and at its peak during the request, grows by less than RSS_GROWTH."""
    requests.get(f"{server.base}/presign", timeout=10)  # a first request's imports are not what is measured
    before = server.memory()
    server.reset_peak()
    answer = exchange(server.port, head, BIG_BODY, chunked=chunked)
    after, peak = server.memory(), server.memory("VmHWM")
    assert answer.status == 413 and json.loads(answer.body)["error"]["code"] == "PayloadTooLarge"
    assert answer.sent < BIG_BODY // 4  # answered long before the body could have been read
    assert max(after, peak) - before < RSS_GROWTH, f"RSS {before >> 20} MiB, then {after >> 20}, peak {peak >> 20}"


def test_a_chunked_body_under_the_limit_is_read(server: Server) -> None:
    body = json.dumps({"items": [{"key": "reports/a"}]}).encode()
    response = requests.post(f"{server.base}/presign/batch", data=iter([body]), timeout=10,
                             headers={**HEADERS, "Content-Type": "application/json"})
    assert response.status_code == 200 and "url" in response.json()["items"][0]
    too_big = requests.post(f"{server.base}/presign/batch", data=iter([b" " * MAX_BODY_BYTES, body]), timeout=10,
                            headers={**HEADERS, "Content-Type": "application/json"})
    assert_error(too_big, 413, "PayloadTooLarge")


# --- slow and idle connections ----------------------------------------------------------------------------

IDLE_CONNECTIONS = 100
TRICKLERS = 20


def test_a_request_is_answered_while_100_connections_idle_and_others_trickle_their_heads(container: Server) -> None:
    address = ("127.0.0.1", container.port)
    idle = [socket.create_connection(address, timeout=5) for _ in range(IDLE_CONNECTIONS)]
    tricklers = [socket.create_connection(address, timeout=5) for _ in range(TRICKLERS)]
    stop = threading.Event()

    def trickle() -> None:  # one header byte per connection every 0.1 s: never a whole head
        head = b"GET /presign?key=reports/a HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 4096
        for byte in range(len(head)):
            for connection in tricklers:
                connection.send(head[byte:byte + 1])
            if stop.wait(0.1):
                return

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        time.sleep(0.3)  # the idle connections are accepted and the tricklers have begun
        for attempt in range(3):  # a few requests in a row, each within the bounded wait
            response = requests.get(f"{container.base}/presign", params={"key": f"reports/{attempt}"},
                                    headers=HEADERS, timeout=ANSWER_WAIT)
            assert response.status_code == 200 and "url" in response.json()
    finally:
        stop.set()
        sender.join(timeout=5)
        for connection in idle + tricklers:
            connection.close()


def test_kept_alive_and_pipelined_requests_are_served_through_the_gathered_heads(container: Server) -> None:
    with requests.Session() as session:  # one connection, its second head gathered like the first
        for attempt in range(3):
            answer = session.get(f"{container.base}/presign", params={"key": f"reports/{attempt}"}, headers=HEADERS,
                                 timeout=10)
            assert answer.status_code == 200
    request = f"GET /presign?key=reports/p HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {API_KEY}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", container.port), timeout=10) as client:
        client.sendall(request * 2 + request[:20])  # two whole requests and the start of a third
        time.sleep(0.2)
        client.sendall(request[20:])
        answers = b""
        while answers.count(b"HTTP/1.1 200 OK") < 3:
            chunk = client.recv(65536)
            assert chunk, answers[-300:]
            answers += chunk


def test_a_head_sent_slowly_but_whole_is_answered_and_a_half_head_then_a_close_harms_nothing(
        container: Server) -> None:
    request = f"GET /presign?key=reports/s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {API_KEY}\r\n" \
              "Connection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", container.port), timeout=10) as client:
        for start in range(0, len(request), 16):
            client.sendall(request[start:start + 16])
            time.sleep(0.01)
        assert read_answer(client, time.monotonic() + 10).startswith(b"HTTP/1.1 200 ")
    with socket.create_connection(("127.0.0.1", container.port), timeout=10) as client:
        client.sendall(request[:30])
    assert requests.get(f"{container.base}/presign", params={"key": "reports/a"}, headers=HEADERS,
                        timeout=ANSWER_WAIT).status_code == 200


@pytest.fixture(scope="module")
def quick() -> Iterator[Server]:
    """The container command with the worker's timeouts cut to 0.5 s (tests/gunicorn_quick_worker.py)."""
    port = free_port()
    command = [*gunicorn_command(port), "--worker-class", "gunicorn_quick_worker.QuickWorker"]
    yield from start(command, port, None, FUNCTION_TARGET="presign", PYTHONPATH=f"{ROOT}:{ROOT / 'tests'}",
                     FUNCTION_SOURCE=str(ROOT / "functions/presign/main.py"))


def closed_within(client: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within ``seconds`` (a bounded wait), reading what it sends."""
    client.settimeout(seconds)
    try:
        while client.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        pass  # reset: closed too
    return True


def test_a_head_not_whole_within_the_head_timeout_is_dropped(quick: Server) -> None:
    address = ("127.0.0.1", quick.port)
    with socket.create_connection(address) as idle, socket.create_connection(address) as trickler:
        trickler.sendall(b"GET /presign HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert closed_within(idle, 5.0) and closed_within(trickler, 5.0)
    assert requests.get(f"{quick.base}/presign", params={"key": "reports/a"}, headers=HEADERS,
                        timeout=ANSWER_WAIT).status_code == 200


def test_a_body_that_stops_arriving_is_refused_once_a_read_waits_past_the_io_timeout(quick: Server) -> None:
    head = post_head(100).replace(b"Host:", f"X-Api-Key: {API_KEY}\r\nHost:".encode())
    with socket.create_connection(("127.0.0.1", quick.port), timeout=5) as client:
        client.sendall(head + b'{"items": [')
        answer = read_answer(client, time.monotonic() + 5)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["message"].startswith("the request body stopped")


def test_the_frameworks_own_errors_take_the_json_shape(server: Server) -> None:
    assert_error(requests.get(f"{server.base}/robots.txt", timeout=10), 404, "NotFound")  # functions-framework's


def test_clients_that_never_close_after_their_answer_hold_up_nobody(container: Server) -> None:
    request = f"GET /presign?key=reports/c HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {API_KEY}\r\n" \
              "Connection: close\r\n\r\n".encode()
    silent = [socket.create_connection(("127.0.0.1", container.port), timeout=5) for _ in range(10)]
    try:
        for client in silent:  # each is answered, and then neither reads nor closes
            client.sendall(request)
        time.sleep(0.3)
        answer = requests.get(f"{container.base}/presign", params={"key": "reports/a"}, headers=HEADERS,
                              timeout=ANSWER_WAIT)
        assert answer.status_code == 200
        assert read_answer(silent[0], time.monotonic() + 5).startswith(b"HTTP/1.1 200 ")
    finally:
        for client in silent:
            client.close()
