"""The few direct calls the functions make to OSS, signed with the Authorization header.

``requests`` is imported on first use, so that a function that never calls OSS never pays for it.
"""

from __future__ import annotations

from shared.errors import NotFound, UpstreamError
from shared.oss.issuer import Issuer

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    import requests

TIMEOUT = (2.0, 3.0)  # connect, read: well inside a function's time limit


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
