"""Alibaba Cloud RPC-style request signature (HMAC-SHA1, SignatureVersion 1.0), as STS AssumeRole wants it.

    string_to_sign = METHOD & enc("/") & enc(canonicalized_query)
    signature      = base64(HMAC-SHA1(AccessKeySecret + "&", string_to_sign))

Checked against ``tests/data/sts_rpc_signature.json``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timezone

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"


def percent_encode(value: str) -> str:
    """Encode everything but A-Z a-z 0-9 - _ . ~ (so space is %20 and '*' is %2A, never '+')."""
    from urllib.parse import quote  # an STS call's, not the cold start's

    return quote(value, safe="-_.~")


def canonicalized_query(params: Mapping[str, str]) -> str:
    """Join the encoded ``key=value`` pairs sorted by encoded key, as both sides compute it."""
    pairs = sorted((percent_encode(key), percent_encode(value)) for key, value in params.items())
    return "&".join(f"{key}={value}" for key, value in pairs)


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """Return METHOD & %2F & the encoded canonicalized query: what the signature covers."""
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def signature(access_key_secret: str, to_sign: str) -> str:
    """Return base64(HMAC-SHA1(secret + '&', string to sign)); the '&' is where a token secret would go."""
    import base64  # an STS call's, not the cold start's

    key = f"{access_key_secret}&".encode()
    return base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha1).digest()).decode()


def rpc_timestamp(now: datetime) -> str:
    """Format the signing time as the ``Timestamp`` parameter: ISO 8601 UTC to the second."""
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_query(
    method: str,
    params: Mapping[str, str],
    *,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None,
    now: datetime,
    nonce: str,
) -> str:
    """Add the common signing parameters to ``params`` and return the query string, Signature last."""
    full = dict(params)
    full.update({
        "AccessKeyId": access_key_id,
        "SignatureMethod": SIGNATURE_METHOD,
        "SignatureVersion": SIGNATURE_VERSION,
        "SignatureNonce": nonce,
        "Timestamp": rpc_timestamp(now),
    })
    if security_token:
        full["SecurityToken"] = security_token
    sig = signature(access_key_secret, string_to_sign(method, full))
    return f"{canonicalized_query(full)}&Signature={percent_encode(sig)}"
