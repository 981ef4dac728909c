"""shared/devtools/webhook_receiver.py: the README's receiver for ``serve``. It answers every delivery as the
README's (tests/webhook_receiver.py) does, prints one line per verified delivery (never the link's
signature), and answers a malformed request with 400 instead of a traceback. Real servers on 127.0.0.1."""

from __future__ import annotations

import http.client
import io
import json
import secrets
import socket
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
from http_servers import serving
from webhook_receiver import Receiver as ReadmeReceiver

from shared.devtools.webhook_receiver import WebhookReceiver
from shared.object_created.webhooks import signature_header

TIMEOUT = 5
EVENT = {"event_id": "e1", "event_name": "ObjectCreated:PutObject", "event_time": "2026-11-20T06:45:43.000Z",
         "bucket": "examplebucket", "key": "notes/hello.txt", "size": 5, "etag": "5D41402ABC4B2A76B9719D911017C592",
         "link": "http://127.0.0.1:9100/examplebucket/notes/hello.txt?x-oss-signature-version=OSS4-HMAC-SHA256&"
                 "x-oss-signature=" + "ab" * 32, "expires_at": "2026-11-20T07:45:43Z"}
BODY = json.dumps(EVENT).encode()


@pytest.fixture
def secret() -> bytes:
    return secrets.token_urlsafe(24).encode()


@pytest.fixture
def both(secret: bytes) -> Iterator[tuple[str, str, io.StringIO]]:
    """The README's receiver and the devtools one, with the same secret: their URLs and the latter's output."""
    readme = type("Readme", (ReadmeReceiver,), {"secret": secret, "log_message": lambda *args: None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), readme)
    out = io.StringIO()
    with serving(server), WebhookReceiver(secret, out) as devtools:
        yield f"http://127.0.0.1:{server.server_port}/hook", devtools.url, out


KEY = "f" * 64


def _headers(secret: bytes, *, age: int = 0, body: bytes = BODY, key: str = KEY) -> dict[str, str]:
    return {"X-Presign-Signature": signature_header(secret, body, int(time.time()) - age, key),
            "Idempotency-Key": key, "Content-Type": "application/json"}


@pytest.mark.parametrize(("case", "status"), [("fresh", 204), ("four minutes old", 204), ("six minutes old", 401),
                                               ("forged", 401), ("unsigned", 401), ("another body", 401),
                                               ("replayed with a new key", 401), ("v1 only", 401)])
def test_answers_as_the_readme_receiver(both: tuple[str, str, io.StringIO], secret: bytes, case: str,
                                        status: int) -> None:
    headers = {"fresh": _headers(secret), "four minutes old": _headers(secret, age=240),
               "six minutes old": _headers(secret, age=360), "forged": _headers(b"not-the-secret-0123"),
               "unsigned": {"Idempotency-Key": KEY}, "another body": _headers(secret, body=b"{}"),
               "replayed with a new key": {**_headers(secret), "Idempotency-Key": "e" * 64},
               "v1 only": {**_headers(secret), "X-Presign-Signature": signature_header(secret, BODY, int(time.time()))},
               }[case]
    readme, devtools, out = both
    answers = [requests.post(url, data=BODY, headers=headers, timeout=TIMEOUT).status_code
               for url in (readme, devtools)]
    assert answers == [status, status]
    assert out.getvalue().count("\n") == (1 if status == 204 else 0)


def test_prints_the_delivery_without_the_links_signature(both: tuple[str, str, io.StringIO], secret: bytes) -> None:
    _, devtools, out = both
    assert requests.post(devtools, data=BODY, headers=_headers(secret), timeout=TIMEOUT).status_code == 204
    line = out.getvalue()
    assert line.startswith("webhook: verified examplebucket/notes/hello.txt ")
    assert "expires 2026-11-20T07:45:43Z" in line
    assert "http://127.0.0.1:9100/examplebucket/notes/hello.txt" in line and "ab" * 32 not in line


@pytest.mark.parametrize(("body", "headers"), [(b"not json", {}), (BODY, {"Content-Length": "many"}),
                                               (b"[1, 2]", {}), (b'{"key": "k"}', {})],
                         ids=["not JSON", "a length that is not a number", "not an object", "fields missing"])
def test_a_malformed_request_is_a_400(both: tuple[str, str, io.StringIO], secret: bytes, body: bytes,
                                      headers: dict[str, str]) -> None:
    _, devtools, out = both
    target = urlsplit(devtools)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT)
    try:
        connection.request("POST", target.path, body=body, headers={**_headers(secret, body=body), **headers})
        assert connection.getresponse().status == 400
    finally:
        connection.close()
    assert out.getvalue() == ""


def _refusal(url: str, head: bytes) -> int:
    """Send a request line and headers only (the body never comes): the answer's status."""
    target = urlsplit(url)
    with socket.create_connection((target.hostname, target.port), timeout=TIMEOUT) as connection:
        connection.sendall(b"POST " + target.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + b"\r\n")
        answer = connection.makefile("rb").readline()
    return int(answer.split()[1])


@pytest.mark.parametrize(("head", "status"), [
    (b"", 411), (b"Transfer-Encoding: chunked\r\n", 411), (b"Content-Length: many\r\n", 400),
    (b"Content-Length: -1\r\n", 400), (b"Content-Length: \xc2\xb2\r\n", 400), (b"Content-Length: 1048577\r\n", 413),
    (b"Content-Length: 99999999999999999999\r\n", 413)],
    ids=["missing", "chunked (no length)", "not a number", "negative", "a digit that is not ASCII", "over 1 MiB",
         "huge"])
def test_a_bad_length_is_refused_before_the_body_is_read(both: tuple[str, str, io.StringIO], secret: bytes,
                                                         head: bytes, status: int) -> None:
    """The README's receiver (its exact code) and serve's: the answer comes although no body is ever sent."""
    signed = "".join(f"{name}: {value}\r\n" for name, value in _headers(secret).items()).encode("latin-1")
    readme, devtools, out = both
    for url in (readme, devtools):
        assert _refusal(url, signed + head) == status, url
    assert out.getvalue() == ""
