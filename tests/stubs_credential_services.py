"""Fake metadata service and STS for the credentials tests: they check each request as the real
services do (IMDSv2 tokens; the AssumeRole RPC signature, recomputed here with code independent of
shared.credentials.rpc; the AssumeRoleWithOIDC parameters) and answer with minted credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote

from stubs_credentials import ROLE, Minted, Recorded, Reply


class FakeMetadataService:
    """The ECS metadata service: IMDSv2 tokens (optionally required), role discovery, role credentials."""

    def __init__(self, minted: Minted, *, role: str | None = ROLE, v2: bool = True, v1: bool = True) -> None:
        self.minted = minted
        self.role = role
        self.v2 = v2  # the token endpoint exists
        self.v1 = v1  # GETs without a token are allowed
        self.tokens: set[str] = set()
        self.credentials_reply: Callable[[], Reply] | None = None

    def __call__(self, request: Recorded) -> Reply:
        if request.path == "/latest/api/token":
            return self._token(request)
        if request.method != "GET":
            return Reply(405)
        token = request.headers.get("x-aliyun-ecs-metadata-token")
        if token is not None and token not in self.tokens:
            return Reply(401, "invalid token")
        if token is None and not self.v1:
            return Reply(403, "IMDSv1 is disabled on this instance")
        prefix = "/latest/meta-data/ram/security-credentials/"
        if request.path == prefix:
            return Reply(200, f"{self.role}\n") if self.role else Reply(404, "no role")
        if request.path == prefix + str(self.role):
            return self.credentials_reply() if self.credentials_reply else Reply(200, self.minted.document())
        return Reply(404, "not found")

    def _token(self, request: Recorded) -> Reply:
        if not self.v2:
            return Reply(404, "not found")
        if request.method != "PUT":
            return Reply(405)
        ttl = request.headers.get("x-aliyun-ecs-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return Reply(400, "bad ttl")
        token = f"imds-token-{len(self.tokens) + 1}"
        self.tokens.add(token)
        return Reply(200, token)


def rpc_string_to_sign(method: str, params: dict[str, str]) -> str:
    """The server side's own RPC string to sign (independent of the code under test)."""

    def enc(value: str) -> str:
        return quote(value, safe="~")

    query = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in params.items()))
    return "&".join([method, enc("/"), enc(query)])


class FakeSts:
    """STS: AssumeRole with the RPC signature verified against the caller's secret, and AssumeRoleWithOIDC."""

    def __init__(
        self,
        minted: Minted,
        *,
        keys: dict[str, str] | None = None,
        tokens: dict[str, str] | None = None,
        oidc_token: str | None = None,
    ) -> None:
        self.minted = minted
        self.keys = keys or {}  # access key id -> secret
        self.tokens = tokens or {}  # access key id -> the security token it must come with
        self.oidc_token = oidc_token
        self.nonces: set[str] = set()
        self.calls: list[dict[str, str]] = []
        self.override: Callable[[Recorded], Reply] | None = None

    def __call__(self, request: Recorded) -> Reply:
        if self.override is not None:
            return self.override(request)
        params = request.form if request.method == "POST" else request.query
        self.calls.append(params)
        action = params.get("Action")
        if params.get("Version") != "2015-04-01" or params.get("Format") != "JSON":
            return _sts_error(400, "MissingParameter", "Version and Format are required")
        if action == "AssumeRole" and request.method == "GET":
            problem = self._check_signature(params)
        elif action == "AssumeRoleWithOIDC":
            problem = self._check_oidc(params)
        else:
            return _sts_error(400, "InvalidAction.NotFound", f"no action {action}")
        if problem is not None:
            return problem
        duration = int(params["DurationSeconds"])
        document = self.minted.document(timedelta(seconds=duration))
        fields = ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")
        return Reply(
            200,
            {
                "RequestId": "req-1",
                "Credentials": {k: document[k] for k in fields},
                "AssumedRoleUser": {"Arn": params["RoleArn"]},
            },
        )

    def _check_signature(self, params: dict[str, str]) -> Reply | None:
        signed = dict(params)
        given = signed.pop("Signature", "")
        secret = self.keys.get(signed.get("AccessKeyId", ""))
        if secret is None:
            return _sts_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if signed.get("SignatureMethod") != "HMAC-SHA1" or signed.get("SignatureVersion") != "1.0":
            return _sts_error(400, "InvalidParameter", "bad signature method or version")
        nonce = signed.get("SignatureNonce", "")
        if not nonce or nonce in self.nonces:
            return _sts_error(400, "SignatureNonceUsed", "The request signature nonce has been used.")
        self.nonces.add(nonce)
        if not _is_rpc_timestamp(signed.get("Timestamp", "")):
            return _sts_error(400, "InvalidTimeStamp.Format", "bad Timestamp")
        if self.tokens.get(signed["AccessKeyId"]) != signed.get("SecurityToken"):
            return _sts_error(400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken mismatch.")
        to_sign = rpc_string_to_sign("GET", signed)
        expected = base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest())
        if not hmac.compare_digest(expected.decode(), given):
            # Like the real STS, echo the string to sign: it holds the SecurityToken, percent-encoded.
            return _sts_error(
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server string to sign "
                f"is:{to_sign}",
            )
        return None

    def _check_oidc(self, params: dict[str, str]) -> Reply | None:
        if "Signature" in params or "AccessKeyId" in params:
            return _sts_error(400, "InvalidParameter", "AssumeRoleWithOIDC is not signed")
        for name in ("RoleArn", "OIDCProviderArn", "OIDCToken", "RoleSessionName", "DurationSeconds"):
            if not params.get(name):
                return _sts_error(400, "MissingParameter", f"{name} is mandatory for this action.")
        if params["OIDCToken"] != self.oidc_token:
            return _sts_error(
                400,
                "AuthenticationFail.OIDCToken.Invalid",
                f"the OIDC token {params['OIDCToken']} is invalid or expired",
            )
        return None


def _sts_error(status: int, code: str, message: str) -> Reply:
    return Reply(
        status, {"RequestId": "req-err", "HostId": "sts.aliyuncs.com", "Code": code, "Message": message}
    )


def _is_rpc_timestamp(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True
