"""Check an OSS Signature V4 request as OSS does: query authentication (presigned URLs) and the
Authorization header. Canonicalisation is shared.oss.canonical's step functions, the signer's: there is one of it.

``verify`` raises the first failure, in OSS's order; ``problems`` lists every failure (for
``explain``). Each failure's ``cause`` maps to one OSS error code in ``CAUSES``:

    anonymous, malformed                        403 AccessDenied, 400 InvalidArgument
    expired                                     403 AccessDenied "Request has expired."
    not_yet_valid (query), skewed (header)      403 RequestTimeTooSkewed (more than 15 minutes)
    credential_date, region, product            403 SignatureDoesNotMatch
    access_key, token_missing, token_unexpected, token_wrong, header_missing, signature
                                                403 SignatureDoesNotMatch
    source_ip                                   403 AccessDenied

A SignatureDoesNotMatch carries the StringToSign and the CanonicalRequest the server expected, as
OSS does, except that a security token's value is shown as ``<redacted>`` (the string to sign is
still computed over the real value).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from shared.clock import iso8601
from shared.credentials.value import Credentials
from shared.devtools.local_oss.addressing import ObjectRequest
from shared.devtools.local_oss.errors import OssError
from shared.errors import InvalidArgument
from shared.oss.canonical import (
    ALGORITHM,
    RESERVED_PARAMS,
    UNSIGNED_PAYLOAD,
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uri,
    credential_scope,
    encode_params,
    header_value,
    signature,
    signed_headers,
    signing_key,
    string_to_sign,
    uri_encode,
)
from shared.oss.signer import MAX_EXPIRES

QUERY, HEADER = "query", "header"
MAX_SKEW = timedelta(minutes=15)
REDACTED = "<redacted>"
_TOKEN = "x-oss-security-token"
_SIGNATURE_DOES_NOT_MATCH = "SignatureDoesNotMatch"
CAUSES: dict[str, str] = {
    "anonymous": "AccessDenied", "malformed": "InvalidArgument", "expired": "AccessDenied",
    "not_yet_valid": "RequestTimeTooSkewed", "skewed": "RequestTimeTooSkewed",
    "credential_date": _SIGNATURE_DOES_NOT_MATCH, "region": _SIGNATURE_DOES_NOT_MATCH,
    "product": _SIGNATURE_DOES_NOT_MATCH, "access_key": _SIGNATURE_DOES_NOT_MATCH,
    "token_missing": _SIGNATURE_DOES_NOT_MATCH, "token_unexpected": _SIGNATURE_DOES_NOT_MATCH,
    "token_wrong": _SIGNATURE_DOES_NOT_MATCH, "header_missing": _SIGNATURE_DOES_NOT_MATCH,
    "signature": _SIGNATURE_DOES_NOT_MATCH, "source_ip": "AccessDenied",
}


class AuthFailure(OssError):
    """Raised when a request's signature does not authorise it; ``cause`` names the failed check."""

    def __init__(self, cause: str, message: str, **details: str) -> None:
        super().__init__(CAUSES[cause], message, headers=None, **details)
        self.cause = cause


@dataclass(frozen=True)
class Authorization:
    """The signature a request carries: who signed, for which scope and time, over which headers."""

    style: str
    access_key_id: str
    scope_date: str
    scope_region: str
    product: str
    timestamp: str
    signed_at: datetime
    expires: int | None
    signature: str
    additional: tuple[str, ...]
    security_token: str | None

    @property
    def expires_at(self) -> datetime | None:
        """When a presigned URL stops working (None for the Authorization header)."""
        return None if self.expires is None else self.signed_at + timedelta(seconds=self.expires)

    def __repr__(self) -> str:
        return f"Authorization({self.style}, {self.access_key_id}/{self.scope_date}/{self.scope_region})"


@dataclass(frozen=True)
class Expectation:
    """What the server computes from a request: the canonical request (also token-redacted) and string to sign."""

    canonical_request: str
    shown_canonical_request: str
    string_to_sign: str

    def details(self) -> dict[str, str]:
        """The XML elements a SignatureDoesNotMatch carries."""
        return {"StringToSign": self.string_to_sign, "CanonicalRequest": self.shown_canonical_request}


def verify(request: ObjectRequest, *, keyring: Mapping[str, Credentials], region: str, now: datetime,
           product: str = "oss") -> Authorization:
    """Return the request's authorization, or raise the first AuthFailure, as OSS would."""
    auth, found = problems(request, keyring=keyring, region=region, now=now, product=product)
    if found:
        raise found[0]
    assert auth is not None
    return auth


def problems(request: ObjectRequest, *, keyring: Mapping[str, Credentials], region: str, now: datetime,
             product: str = "oss") -> tuple[Authorization | None, list[AuthFailure]]:
    """Run every check that can run; return the authorization (if it parses) and each failure in order."""
    try:
        auth = parse_authorization(request)
        expected = expectation(request, auth)
    except AuthFailure as failure:
        return None, [failure]
    found = _time_problems(auth, now)
    details = expected.details()
    found += _scope_problems(auth, region, product, details)
    credentials = keyring.get(auth.access_key_id)
    if credentials is None:
        found.append(AuthFailure("access_key", f"The access key id {auth.access_key_id} is not known here.",
                                 OSSAccessKeyId=auth.access_key_id, **details))
        return auth, found
    found += _token_problems(auth, credentials, details)
    found += _missing_header_problems(request, auth, details)
    key = signing_key(credentials.access_key_secret, auth.scope_date, auth.scope_region, auth.product)
    if not hmac.compare_digest(signature(key, expected.string_to_sign).encode(), auth.signature.encode()):
        found.append(AuthFailure("signature", "The request signature we calculated does not match the signature "
                                              "you provided. Check your key and signing method.", **details))
    elif (source := _source_ip_problem(request)) is not None:
        found.append(source)  # trusted only once the signature shows the restriction is genuine
    return auth, found


def parse_authorization(request: ObjectRequest) -> Authorization:
    """Read the signature fields from the query (presigned URL) or the Authorization header."""
    in_query = any(request.param(name) is not None for name in ("x-oss-signature", "x-oss-credential",
                                                                   "x-oss-signature-version"))
    header = request.headers.get("authorization")
    if in_query and header is not None:
        raise AuthFailure("malformed", "Use either query authentication or the Authorization header, not both.")
    if in_query:
        return _from_query(request)
    if header is not None:
        return _from_header(request, header)
    if request.param("OSSAccessKeyId") is not None or request.param("Signature") is not None:
        raise AuthFailure("malformed", "Only OSS Signature V4 (OSS4-HMAC-SHA256) is checked here; this is V1.")
    raise AuthFailure("anonymous", "Anonymous access is forbidden: sign the request.")


def expectation(request: ObjectRequest, auth: Authorization) -> Expectation:
    """Compute the canonical request and the string to sign the request's signature must cover."""
    canonical = _canonical(request, auth, redact=False)
    shown = _canonical(request, auth, redact=True) if auth.security_token else canonical
    scope = credential_scope(auth.scope_date, auth.scope_region, auth.product)
    return Expectation(canonical, shown, string_to_sign(auth.timestamp, scope, canonical))


def _canonical(request: ObjectRequest, auth: Authorization, *, redact: bool) -> str:
    headers = {name: header_value(value) for name, value in request.headers.items()}
    if redact and auth.style == HEADER and _TOKEN in headers:
        headers[_TOKEN] = REDACTED
    signed = signed_headers(headers, list(auth.additional))
    pairs = _query_pairs(request, auth)
    if redact and auth.style == QUERY:
        pairs = [(name, REDACTED if name == _TOKEN else value) for name, value in pairs]
    payload = UNSIGNED_PAYLOAD if auth.style == QUERY else headers.get("x-oss-content-sha256", "")
    return canonical_request(request.method, canonical_uri(request.bucket, request.key), canonical_query(pairs),
                             canonical_headers(signed), list(auth.additional), payload)


def _query_pairs(request: ObjectRequest, auth: Authorization) -> list[tuple[str, str]]:
    """Encode the query as signed: every parameter but x-oss-signature, re-encoded from its decoded form."""
    ordinary = {n: v for n, v in request.query if auth.style == HEADER or n not in RESERVED_PARAMS}
    try:
        pairs = encode_params(ordinary)
    except InvalidArgument as exc:
        raise AuthFailure("malformed", exc.message) from None
    if auth.style == QUERY:
        pairs += [(name, uri_encode(value)) for name, value in request.query
                  if name in RESERVED_PARAMS and name != "x-oss-signature"]
    return pairs


def _from_query(request: ObjectRequest) -> Authorization:
    version = request.param("x-oss-signature-version")
    if version != ALGORITHM:
        raise AuthFailure("malformed", f"x-oss-signature-version must be {ALGORITHM}, got {version!r}.")
    ak, date, region, product = _credential(request.param("x-oss-credential") or "")
    timestamp, signed_at = _timestamp(request.param("x-oss-date"))
    expires_text = request.param("x-oss-expires") or ""
    if not expires_text.isdigit() or not 1 <= int(expires_text) <= MAX_EXPIRES:
        raise AuthFailure("malformed", f"x-oss-expires must be 1..{MAX_EXPIRES} seconds, got {expires_text!r}.")
    given = request.param("x-oss-signature")
    if not given:
        raise AuthFailure("malformed", "x-oss-signature is missing.")
    listed = request.param("x-oss-additional-headers") or ""
    additional = tuple(sorted({name.strip().lower() for name in listed.split(";") if name.strip()}))
    return Authorization(QUERY, ak, date, region, product, timestamp, signed_at, int(expires_text), given,
                         additional, request.param(_TOKEN) or None)


def _from_header(request: ObjectRequest, header: str) -> Authorization:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthFailure("malformed", f"the Authorization header must use {ALGORITHM}.")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    ak, date, region, product = _credential(fields.get("Credential", ""))
    timestamp, signed_at = _timestamp(request.headers.get("x-oss-date"))
    if not fields.get("Signature"):
        raise AuthFailure("malformed", "the Authorization header has no Signature.")
    if not request.headers.get("x-oss-content-sha256"):
        raise AuthFailure("malformed", "the x-oss-content-sha256 header is required with the Authorization header.")
    listed = fields.get("AdditionalHeaders", "")
    additional = tuple(sorted({name.strip().lower() for name in listed.split(";") if name.strip()}))
    return Authorization(HEADER, ak, date, region, product, timestamp, signed_at, None, fields["Signature"],
                         additional, request.headers.get(_TOKEN) or None)


def _credential(text: str) -> tuple[str, str, str, str]:
    parts = text.split("/")
    if len(parts) != 5 or parts[4] != "aliyun_v4_request" or not all(parts[:4]):
        raise AuthFailure("malformed",
                          "the credential must be <AccessKeyId>/<yyyymmdd>/<region>/oss/aliyun_v4_request.")
    return parts[0], parts[1], parts[2], parts[3]


def _timestamp(text: str | None) -> tuple[str, datetime]:
    try:
        if text is None or len(text) != 16:
            raise ValueError(text)
        return text, datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise AuthFailure("malformed", f"x-oss-date must be yyyymmddThhmmssZ, got {text!r}.") from None


def _time_problems(auth: Authorization, now: datetime) -> list[AuthFailure]:
    times = {"RequestTime": iso8601(auth.signed_at), "ServerTime": iso8601(now)}
    if auth.expires_at is not None and now > auth.expires_at:
        return [AuthFailure("expired", "Request has expired.", Expires=iso8601(auth.expires_at),
                            ServerTime=iso8601(now))]
    skew = auth.signed_at - now
    if skew > MAX_SKEW or (auth.style == HEADER and -skew > MAX_SKEW):
        cause = "not_yet_valid" if auth.style == QUERY else "skewed"
        return [AuthFailure(cause, "The difference between the request time and the current time is too large.",
                            MaxAllowedSkewMilliseconds=str(int(MAX_SKEW.total_seconds() * 1000)), **times)]
    return []


def _scope_problems(auth: Authorization, region: str, product: str, details: dict[str, str]) -> list[AuthFailure]:
    found = []
    if auth.scope_date != auth.timestamp[:8]:
        found.append(AuthFailure("credential_date", f"The credential date {auth.scope_date} is not the day of "
                                                    f"x-oss-date {auth.timestamp}.", **details))
    if auth.scope_region != region:
        found.append(AuthFailure("region", f"The credential is for region {auth.scope_region}; this bucket is in "
                                           f"{region}.", **details))
    if auth.product != product:
        found.append(AuthFailure("product", f"The credential is for product {auth.product}; expected {product}.",
                                 **details))
    return found


def _token_problems(auth: Authorization, credentials: Credentials, details: dict[str, str]) -> list[AuthFailure]:
    expected, given = credentials.security_token, auth.security_token
    if expected and not given:
        return [AuthFailure("token_missing", f"The access key id {auth.access_key_id} needs a security token "
                                             f"(x-oss-security-token); none was sent.", **details)]
    if given and not expected:
        return [AuthFailure("token_unexpected", f"A security token was sent, but the access key id "
                                                f"{auth.access_key_id} takes none.", **details)]
    if given and expected and not hmac.compare_digest(given.encode(), expected.encode()):
        return [AuthFailure("token_wrong", "The security token is not the one issued with this access key id.",
                            **details)]
    return []


def _missing_header_problems(request: ObjectRequest, auth: Authorization,
                             details: dict[str, str]) -> list[AuthFailure]:
    missing = [name for name in auth.additional if not request.headers.get(name, "").strip()]
    if not missing:
        return []
    return [AuthFailure("header_missing", f"The signature covers the header(s) {', '.join(missing)}, which the "
                                          f"request does not send.", MissingHeaders=";".join(missing), **details)]


def _source_ip_problem(request: ObjectRequest) -> AuthFailure | None:
    allowed = request.param("x-oss-ac-source-ip")
    if request.param("x-oss-ac-vpc-id"):
        return AuthFailure("source_ip", "The signature allows requests from a VPC only; the local bucket has none.")
    if allowed is None or request.client_ip is None:
        return None
    client = request.client_ip
    forwarded = request.headers.get("x-forwarded-for", "")
    if request.param("x-oss-ac-forward-allow") == "true" and forwarded:
        client = forwarded.split(",")[0].strip()
    try:
        mask = request.param("x-oss-ac-subnet-mask") or ("128" if ":" in allowed else "32")
        network = ipaddress.ip_network(f"{allowed}/{mask}", strict=False)
        inside = ipaddress.ip_address(client) in network
    except ValueError:
        inside = False
    if inside:
        return None
    return AuthFailure("source_ip", f"Access denied: the signature allows requests from {allowed}/{mask} only.",
                       SourceIp=client)
