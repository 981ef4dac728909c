"""The upload client's HTTP: the presign function's S3 routes (Uppy's protocol, JSON) and the bucket's own URLs.

    Routes(endpoint, auth)          the function's routes, each a method of its own:
        form(filename, type, meta)      GET    /s3/params              -> the form of a small file's upload
        start(filename, type, meta)     POST   /s3/multipart           -> {"uploadId", "key"}
        sign_parts(id, key, numbers)    GET    /s3/multipart/{id}/batch (else /s3/multipart/{id}/{n}, one by one)
        list_parts(id, key)             GET    /s3/multipart/{id}      -> [{"PartNumber", "Size", "ETag"}]
        complete(id, key, parts)        POST   /s3/multipart/{id}/complete
        abort(id, key)                  DELETE /s3/multipart/{id}
    Transport                       http.client connections, one kept alive per thread and host

A refusal is a RouteError (the status, the JSON error's code and message); the network's failures are OSError
or http.client.HTTPException. Neither ever holds the API key, the token or a presigned URL's query.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from urllib.parse import quote, urlencode, urlsplit

MAX_ANSWER = 8 << 20  # bytes: the longest JSON answer read (ListParts of 10,000 parts is about 1 MiB)
TIMEOUT = 60.0  # seconds a connection may stall on one read or write
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
PIECE = 1 << 20  # bytes of a file sent at a time
Body = Callable[[], Iterable[bytes]]  # a body that can be sent again: each call starts it from its beginning


class FileRange:
    """A body that is ``size`` bytes of an open file from ``offset``; ``sent`` counts them as they go (from 0
    again when it is sent again). Over plain HTTP the kernel copies them to the socket (sendfile)."""

    __slots__ = ("fd", "offset", "size", "sent", "_position")

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.fd, self.offset, self.size, self.sent = fd, offset, size, 0
        self._position = offset

    # What socket.sendfile asks of a file: its descriptor, and seek and read where sendfile cannot be used.
    def fileno(self) -> int:
        return self.fd

    def seek(self, position: int, whence: int = os.SEEK_SET) -> int:
        self._position = position
        return position

    def read(self, size: int) -> bytes:
        piece = os.pread(self.fd, size, self._position)  # pread: threads sharing the descriptor never meet
        self._position += len(piece)
        return piece


class RouteError(Exception):
    """Raised when a route or the bucket refuses a request: its status, error code and message."""

    def __init__(self, what: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{what} answered {status} {code}" + (f": {message}" if message else ""))
        self.status = status
        self.code = code

    @property
    def retryable(self) -> bool:
        """Whether sending the request again may succeed (the server's trouble, not the request's)."""
        return self.status in RETRYABLE


class Answer:
    """One HTTP answer: its status, headers (names lower-cased) and body (bounded)."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Transport:
    """Sends requests over http.client, reusing one connection per thread and host (scheme://host:port)."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._local = threading.local()

    def send(self, method: str, url: str, headers: Mapping[str, str], body: Body | FileRange | None = None,
             limit: int = MAX_ANSWER) -> Answer:
        """Send one request; a kept-alive connection that the server closed meanwhile is opened again once."""
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        origin = f"{parts.scheme}://{parts.netloc}"
        for reused in (True, False):
            connection, was_open = self._connection(origin, fresh=not reused)
            try:
                return self._exchange(connection, method, target, headers, body, limit)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close(origin)
                if not (reused and was_open):
                    raise
            except BaseException:
                self.close(origin)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self, origin: str | None = None) -> None:
        """Close this thread's connection to origin (or all of them)."""
        pool: dict[str, http.client.HTTPConnection] = getattr(self._local, "pool", {})
        for name in [origin] if origin else list(pool):
            connection = pool.pop(name, None) if name else None
            if connection is not None:
                connection.close()

    def _connection(self, origin: str, *, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        pool: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        if fresh:
            self.close(origin)
        if origin in pool:
            return pool[origin], True
        parts = urlsplit(origin)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        pool[origin] = kind(parts.netloc, timeout=self.timeout)
        return pool[origin], False

    @staticmethod
    def _exchange(connection: http.client.HTTPConnection, method: str, target: str, headers: Mapping[str, str],
                  body: Body | FileRange | None, limit: int) -> Answer:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        if isinstance(body, FileRange):
            _send_file(connection, body)
        else:
            for chunk in body() if body is not None else ():
                connection.send(chunk)
        response = connection.getresponse()
        data = response.read(limit + 1)
        if len(data) > limit:
            connection.close()  # the rest is unread: the connection cannot be reused
            raise http.client.HTTPException(f"the answer is longer than {limit} bytes")
        if response.will_close:
            connection.close()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


class Routes:
    """The presign function's upload routes, called with the caller's credentials header."""

    def __init__(self, endpoint: str, auth: tuple[str, str], transport: Transport) -> None:
        self.base = endpoint.rstrip("/")  # as Uppy does
        self._auth = auth
        self.transport = transport
        self._batch = True  # False once the function answers that it has no batch route

    def __repr__(self) -> str:
        return f"Routes({self.base!r})"  # never the credentials

    def form(self, filename: str, content_type: str, meta: Mapping[str, str]) -> dict[str, object]:
        """GET /s3/params: the form (method, url, fields) that uploads a small file."""
        query = [("filename", filename), ("type", content_type)] + [(f"metadata[{k}]", v) for k, v in meta.items()]
        return self._object("GET", "/s3/params?" + urlencode(query))

    def start(self, filename: str, content_type: str, meta: Mapping[str, str]) -> tuple[str, str]:
        """POST /s3/multipart: the new upload's id and key."""
        answer = self._object("POST", "/s3/multipart", {"filename": filename, "type": content_type, "metadata": meta})
        upload_id, key = answer.get("uploadId"), answer.get("key")
        if not isinstance(upload_id, str) or not isinstance(key, str) or not upload_id or not key:
            raise RouteError("POST /s3/multipart", 200, "BadAnswer", "no uploadId and key")
        return upload_id, key

    def sign_parts(self, upload_id: str, key: str, numbers: Sequence[int]) -> dict[int, str]:
        """Presigned PUT URLs for these parts: the batch route, or the route of one part where there is none."""
        if self._batch:
            query = urlencode({"key": key, "partNumbers": ",".join(map(str, numbers))})
            try:
                urls = self._object("GET", f"{self._upload(upload_id)}/batch?{query}").get("presignedUrls")
            except RouteError as exc:
                if exc.status not in (404, 405) or exc.code == "NoSuchUpload":
                    raise
                self._batch = False
            else:
                if not isinstance(urls, dict) or not all(str(n) in urls for n in numbers):
                    raise RouteError("GET .../batch", 200, "BadAnswer", "presignedUrls misses parts")
                return {n: str(urls[str(n)]) for n in numbers}
        query = urlencode({"key": key})
        return {n: str(self._object("GET", f"{self._upload(upload_id)}/{n}?{query}")["url"]) for n in numbers}

    def list_parts(self, upload_id: str, key: str) -> dict[int, tuple[int, str]]:
        """GET /s3/multipart/{id}: the parts uploaded so far, {number: (size, ETag)}."""
        listed = self._json("GET", f"{self._upload(upload_id)}?{urlencode({'key': key})}")
        if not isinstance(listed, list):
            raise RouteError("GET /s3/multipart/{uploadId}", 200, "BadAnswer", "not a list of parts")
        return {int(p["PartNumber"]): (int(p["Size"]), str(p["ETag"])) for p in listed}

    def complete(self, upload_id: str, key: str, etags: Mapping[int, str]) -> dict[str, object]:
        """POST /s3/multipart/{id}/complete with every part, in order: the answer (its ``location``)."""
        parts = [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]
        return self._object("POST", f"{self._upload(upload_id)}/complete?{urlencode({'key': key})}", {"parts": parts})

    def abort(self, upload_id: str, key: str) -> None:
        """DELETE /s3/multipart/{id}: the upload and its parts are gone."""
        self._json("DELETE", f"{self._upload(upload_id)}?{urlencode({'key': key})}")

    @staticmethod
    def _upload(upload_id: str) -> str:
        return "/s3/multipart/" + quote(upload_id, safe="")

    def _object(self, method: str, path: str, payload: object = None) -> dict[str, object]:
        answer = self._json(method, path, payload)
        if not isinstance(answer, dict):
            raise RouteError(f"{method} {path.split('?')[0]}", 200, "BadAnswer", "not a JSON object")
        return answer

    def _json(self, method: str, path: str, payload: object = None) -> object:
        headers = {"Accept": "application/json", self._auth[0]: self._auth[1]}
        body: Body | None = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers |= {"Content-Type": "application/json", "Content-Length": str(len(data))}
            body = lambda: (data,)  # noqa: E731
        elif method in ("POST", "PUT"):
            headers["Content-Length"] = "0"
        answer = self.transport.send(method, self.base + path, headers, body)
        what = f"{method} {path.split('?')[0]}"
        if answer.status >= 300:
            raise route_error(what, answer)
        if answer.status == 204 or not answer.body:
            return None
        try:
            return json.loads(answer.body)
        except ValueError:
            raise RouteError(what, answer.status, "BadAnswer", "not JSON") from None


def _send_file(connection: http.client.HTTPConnection, body: FileRange) -> None:
    """Send a FileRange a piece at a time: by sendfile on a plain socket, else read (pread) and written."""
    body.sent = 0
    plain = not isinstance(connection, http.client.HTTPSConnection)
    while body.sent < body.size:
        offset, count = body.offset + body.sent, min(PIECE, body.size - body.sent)
        if plain:
            sent = connection.sock.sendfile(body, offset, count)
        else:
            piece = os.pread(body.fd, count, offset)
            connection.send(piece)
            sent = len(piece)
        if sent == 0:
            raise OSError("the file got shorter while it was uploaded")
        body.sent += sent


def route_error(what: str, answer: Answer) -> RouteError:
    """The RouteError of a refusal: the project's JSON error (code, message), OSS's XML error, or the status."""
    code, message = "", ""
    try:
        document = json.loads(answer.body)
        error = document.get("error", {}) if isinstance(document, dict) else {}
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        message = str(document.get("message") or (error.get("message", "") if isinstance(error, dict) else ""))
    except ValueError:
        text = answer.body[:4096].decode("utf-8", "replace")
        code = _between(text, "<Code>", "</Code>")
        message = _between(text, "<Message>", "</Message>")
    return RouteError(what, answer.status, code or http.client.responses.get(answer.status, "Error"),
                      message[:300].replace("\n", " "))


def _between(text: str, start: str, end: str) -> str:
    head, found, tail = text.partition(start)
    return tail.partition(end)[0] if found else ""
