"""The few direct calls the functions make to OSS, signed with the Authorization header.

``requests`` is imported on first use, so that a function that never calls OSS never pays for it.
``send`` is the general call (the multipart requests of ``shared.oss.multipart``): it retries once when OSS
could not be reached or answered 5xx, a request that is not idempotent only when it surely was never sent.
Neither a URL nor a signature ever goes into an error message.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.errors import NotFound, UpstreamError
from shared.oss.issuer import Issuer

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    import requests

TIMEOUT = (2.0, 3.0)  # connect, read: well inside a function's time limit
ATTEMPTS = 2  # one retry: a function's time limit leaves room for no more
RETRIED_STATUSES = frozenset((500, 502, 503, 504))


class OssAnswer:
    """What OSS answered a ``send``: status, headers (lower-cased names), body, and how many attempts it took."""

    __slots__ = ("status", "headers", "body", "attempts")

    def __init__(self, status: int, headers: dict[str, str], body: bytes, attempts: int) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"OssAnswer({self.status}, attempts={self.attempts})"


class OssClient:
    """HEAD and GET objects through one pooled HTTP session."""

    def __init__(self, issuer: Issuer, *, session: requests.Session | None = None,
                 timeout: tuple[float, float] = TIMEOUT) -> None:
        self.issuer = issuer
        self.timeout = timeout
        self._session = session

    def _http(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> None:
        """Return if the object exists; raise NotFound (NoSuchKey) or UpstreamError."""
        self._send("HEAD", bucket, key, version_id)

    def get_object(self, bucket: str, key: str, *, max_bytes: int = 1 << 20) -> bytes:
        """Return a small object's bytes; raise NotFound (NoSuchKey) or UpstreamError."""
        response = self._send("GET", bucket, key, None)
        body = response.content
        if len(body) > max_bytes:
            raise UpstreamError(f"oss://{bucket}/{key} is over {max_bytes} bytes")
        return body

    def send(self, method: str, bucket: str, key: str, *, params: Mapping[str, str | None] | None = None,
             headers: Mapping[str, str] | None = None, body: bytes = b"", idempotent: bool = True,
             max_bytes: int = 4 << 20, timeout: tuple[float, float] | None = None) -> OssAnswer:
        """Sign and send one request (signed afresh for each attempt); any status is returned, never raised.
        UpstreamError when OSS stays unreachable or its answer is over ``max_bytes``."""
        what = f"{method} oss://{bucket}/{key}"
        for attempt in range(1, ATTEMPTS + 1):
            signed = self.issuer.sign_request(bucket=bucket, key=key, method=method, params=params, headers=headers)
            try:
                response = self._http().request(method, signed.url, headers=signed.headers, data=body or None,
                                                 timeout=timeout or self.timeout, allow_redirects=False)
            except Exception as exc:  # requests' whole family: connection, timeout, TLS, bad URL
                if attempt < ATTEMPTS and (idempotent or _never_sent(exc)):
                    continue
                raise UpstreamError(f"OSS is unreachable ({type(exc).__name__}) for {what}") from None
            if response.status_code in RETRIED_STATUSES and idempotent and attempt < ATTEMPTS:
                continue
            content = response.content
            if len(content) > max_bytes:
                raise UpstreamError(f"OSS answered {what} with over {max_bytes} bytes")
            return OssAnswer(response.status_code, {name.lower(): value for name, value in response.headers.items()},
                             content, attempt)
        raise AssertionError("the loop returns or raises")

    def _send(self, method: str, bucket: str, key: str, version_id: str | None) -> requests.Response:
        params = {"versionId": version_id} if version_id else None
        signed = self.issuer.sign_request(bucket=bucket, key=key, method=method, params=params)
        try:
            response = self._http().request(method, signed.url, headers=signed.headers,
                                             timeout=self.timeout, allow_redirects=False)
        except Exception as exc:  # requests' whole family: connection, timeout, TLS, bad URL
            raise UpstreamError(f"OSS is unreachable ({type(exc).__name__}) for oss://{bucket}/{key}") from None
        status = response.status_code
        if status == 404:
            raise NotFound(f"no such object: {key}", code="NoSuchKey")
        if status >= 300:
            raise UpstreamError(f"OSS answered {status} to {method} oss://{bucket}/{key}")
        return response


def _never_sent(error: Exception) -> bool:
    """True for a failure to connect: the request never reached OSS, so sending it again cannot repeat it."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if isinstance(error, requests.ConnectionError) and error.args \
        else None
    return isinstance(reason, NewConnectionError)
