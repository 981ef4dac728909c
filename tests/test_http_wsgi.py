"""The WSGI adapter: an environ becomes one HttpRequest, an HttpResponse goes out through start_response."""

from __future__ import annotations

import io

import pytest

from shared.errors import InvalidArgument, PayloadTooLarge
from shared.http.messages import MAX_BODY_BYTES, HttpResponse
from shared.http.wsgi import parse_query, request_from_environ, respond


def _environ(method: str = "GET", path: str = "/presign", query: str = "", body: bytes = b"", **headers: str) -> dict:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path.encode("utf-8").decode("latin-1"), "QUERY_STRING": query,
               "REMOTE_ADDR": "192.0.2.1", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)) if body else ""}
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return environ


def test_wsgi_request() -> None:
    request = request_from_environ(_environ("POST", "/presign", "key=a%2Bb&key=c+d", b"{}", X_API_KEY="k",
                                            X_FC_REQUEST_ID="rid"))
    assert request.method == "POST" and request.body == b"{}"
    assert request.query == {"key": ["a+b", "c d"]}
    assert request.headers["x-api-key"] == "k" and request.client_ip == "192.0.2.1"
    # the caller's request id is only logged: ours is a fresh one
    assert request.client_request_id == "rid" and len(request.request_id) == 32 and request.request_id != "rid"


def test_wsgi_unicode_path_and_bad_inputs() -> None:
    assert request_from_environ(_environ(path="/d/é")).path == "/d/é"
    with pytest.raises(InvalidArgument):
        parse_query("key=%ff")
    environ = _environ()
    environ["CONTENT_LENGTH"] = "12abc"
    with pytest.raises(InvalidArgument):
        request_from_environ(environ)
    environ["CONTENT_LENGTH"] = str(MAX_BODY_BYTES + 1)
    with pytest.raises(PayloadTooLarge):
        request_from_environ(environ)


def test_wsgi_respond() -> None:
    seen = []
    body = respond(HttpResponse(302, {"Location": "https://x"}), lambda status, headers: seen.append((status, headers)))
    assert seen == [("302 Found", [("Location", "https://x"), ("Content-Length", "0")])] and list(body) == [b""]
