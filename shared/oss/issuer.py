"""Issue presigned URLs with the runtime's credentials, for no longer than those credentials live.

The one place where a clock, a credential provider and the signer meet: the CLI, the presign and
links functions and the object-created trigger all sign through an ``Issuer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from shared.clock import utc_now
from shared.credentials.provider import CredentialsProvider
from shared.oss.endpoints import Endpoint, bucket_site, object_path, parse_endpoint
from shared.oss.expiry import effective_lifetime
from shared.oss.signer import PresignedUrl, SignedRequest, presign, sign_request

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from shared.oss.post_policy import PostForm


class IssuedUrl:
    """A presigned URL and, when its lifetime was cut short, what cut it."""

    __slots__ = ("presigned", "capped_by")

    def __init__(self, presigned: PresignedUrl, capped_by: str | None) -> None:
        self.presigned = presigned
        self.capped_by = capped_by

    def __repr__(self) -> str:
        return f"IssuedUrl({self.presigned!r}, capped_by={self.capped_by!r})"


class IssuedForm:
    """A signed upload form, its lifetime in seconds and, when that was cut short, what cut it."""

    __slots__ = ("form", "capped_by", "expires")

    def __init__(self, form: PostForm, capped_by: str | None, expires: int = 0) -> None:
        self.form = form
        self.capped_by = capped_by
        self.expires = expires

    def __repr__(self) -> str:
        return f"IssuedForm({self.form!r}, capped_by={self.capped_by!r})"


class Issuer:
    """Signs for one region and endpoint with credentials from a provider, reading a clock."""

    def __init__(self, provider: CredentialsProvider, *, region: str, endpoint: str | None = None, cname: bool = False,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.provider = provider
        self.region = region
        self.endpoint: Endpoint | None = parse_endpoint(endpoint, cname=cname) if endpoint else None
        self.clock = clock

    def presign(self, *, bucket: str, key: str, method: str = "GET", expires: int,
                policy_max: int | None = None, min_expires: int | None = None,
                headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None) -> IssuedUrl:
        """Sign now, for min(expires, policy_max, the credentials' life, 7 days) seconds."""
        now = self.clock()
        wanted = min(expires, policy_max or expires)
        credentials = self.provider.get_credentials(
            min_valid_until=now + timedelta(seconds=wanted))
        lifetime = effective_lifetime(expires, now=now, credentials=credentials,
                                      policy_max=policy_max, min_expires=min_expires)
        presigned = presign(credentials, bucket=bucket, key=key, region=self.region, endpoint=self.endpoint,
                            method=method, expires=lifetime.expires, signing_time=now,
                            headers=headers, params=params)
        return IssuedUrl(presigned, lifetime.capped_by)

    def presign_post(self, *, bucket: str, key: str | None = None, key_prefix: str | None = None, expires: int,
                     max_size: int, policy_max: int | None = None, content_type: str | None = None,
                     success_action_status: int | None = None,
                     meta: Mapping[str, str] | None = None) -> IssuedForm:
        """Sign a PostObject form now, for min(expires, policy_max, the credentials' life, 7 days) seconds."""
        from shared.oss.post_policy import presign_post  # the form builder: loaded by the first form

        now = self.clock()
        wanted = min(expires, policy_max or expires)
        credentials = self.provider.get_credentials(min_valid_until=now + timedelta(seconds=wanted))
        lifetime = effective_lifetime(expires, now=now, credentials=credentials, policy_max=policy_max)
        form = presign_post(credentials, bucket=bucket, region=self.region, signing_time=now, max_size=max_size,
                            key=key, key_prefix=key_prefix, content_type=content_type, expires=lifetime.expires,
                            success_action_status=success_action_status, meta=meta, endpoint=self.endpoint)
        return IssuedForm(form, lifetime.capped_by, lifetime.expires)

    def sign_request(self, *, bucket: str, key: str, method: str, params: Mapping[str, str | None] | None = None,
                     headers: Mapping[str, str] | None = None) -> SignedRequest:
        """Sign an ordinary request to OSS with the Authorization header (HEAD, GET, the multipart requests)."""
        credentials = self.provider.get_credentials()
        return sign_request(credentials, bucket=bucket, key=key, region=self.region, endpoint=self.endpoint,
                            method=method, signing_time=self.clock(), params=params, headers=headers)

    def object_url(self, bucket: str, key: str) -> str:
        """The object's URL with no query: where it is, granting nothing."""
        return object_path(bucket_site(bucket, self.region, self.endpoint, False, False, None, None), key)[1]
