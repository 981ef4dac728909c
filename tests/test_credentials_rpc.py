"""The STS RPC signature (HMAC-SHA1) against the reference vectors, and its percent-encoding."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from shared.credentials.rpc import (
    canonicalized_query,
    percent_encode,
    rpc_timestamp,
    signature,
    signed_query,
    string_to_sign,
)

CASES = json.loads((Path(__file__).parent / "data" / "sts_rpc_signature.json").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_string_to_sign_matches_vector(case: dict) -> None:
    assert string_to_sign(case["method"], case["params"]) == case["string_to_sign"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_signature_matches_vector(case: dict) -> None:
    assert signature(case["access_key_secret"], case["string_to_sign"]) == case["signature"]


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (" ", "%20"),
        ("*", "%2A"),
        ("~", "~"),
        ("-_.", "-_."),
        ("+", "%2B"),
        ("/", "%2F"),
        (":", "%3A"),
        ("é", "%C3%A9"),
        ("AZaz09", "AZaz09"),
    ],
    ids=["space", "star", "tilde", "unreserved", "plus", "slash", "colon", "utf8", "alnum"],
)
def test_percent_encode_keeps_only_unreserved(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


def test_canonicalized_query_sorts_by_encoded_key() -> None:
    assert canonicalized_query({"b": "2", "a b": "1", "A": "0"}) == "A=0&a%20b=1&b=2"


def test_signed_query_adds_common_parameters_and_reproduces_vector() -> None:
    case = CASES[1]
    params = {
        k: v
        for k, v in case["params"].items()
        if k not in ("AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp")
    }
    query = signed_query(
        "GET",
        params,
        access_key_id="AK",
        access_key_secret=case["access_key_secret"],
        security_token=None,
        now=datetime(2024, 1, 1, tzinfo=timezone.utc),
        nonce=case["params"]["SignatureNonce"],
    )
    pairs = dict(parse_qsl(query))
    assert pairs.pop("Signature") == case["signature"]
    assert pairs == case["params"]
    assert query.endswith("&Signature=" + percent_encode(case["signature"]))


def test_signed_query_signs_the_security_token() -> None:
    query = signed_query(
        "GET",
        {"Action": "AssumeRole"},
        access_key_id="STS.a",
        access_key_secret="s",
        security_token="tok en",
        now=datetime(2024, 1, 1, tzinfo=timezone.utc),
        nonce="n",
    )
    pairs = dict(parse_qsl(query))
    signed = {k: v for k, v in pairs.items() if k != "Signature"}
    assert signed["SecurityToken"] == "tok en"
    assert pairs["Signature"] == signature("s", string_to_sign("GET", signed))


def test_rpc_timestamp_is_utc_to_the_second() -> None:
    local = datetime(2024, 1, 1, 8, 0, 0, 999999, tzinfo=timezone(timedelta(hours=8)))
    assert rpc_timestamp(local) == "2024-01-01T00:00:00Z"
