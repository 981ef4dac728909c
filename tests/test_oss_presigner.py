"""``Presigner.url`` is ``presign(...).url`` for the same arguments, over seeded random requests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from shared.credentials.value import Credentials
from shared.errors import InvalidArgument
from shared.oss.presigner import presigner
from shared.oss.signer import MAX_EXPIRES, presign

AT = datetime(2025, 3, 4, 5, 6, 7, 500_000, tzinfo=timezone.utc)
_ALPHABET = "aZ09-_.~ +%?#&=/\\:;@!*'()[]{}|^`\"<>,$中文😀é\t"
_SITES = [
    {"bucket": "examplebucket", "region": "cn-hangzhou"},
    {"bucket": "examplebucket", "region": "cn-beijing", "endpoint": "http://127.0.0.1:9000"},
    {"bucket": "examplebucket", "region": "cn-hangzhou", "endpoint": "cdn.example.com", "cname": True},
    {"bucket": "examplebucket", "region": "cn-hangzhou", "path_style": True},
    {"bucket": "examplebucket", "region": "cn-hangzhou", "cloudbox_id": "cb-f8z7yvzgwfkl9q0h"},
]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 30)))


@pytest.mark.parametrize("seed", range(10))
def test_urls_equal_presigns(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        credentials = Credentials("LTAI5tPresigner", "presigner-secret", rng.choice([None, "token/+="]))
        site = rng.choice(_SITES)
        method, expires = rng.choice(["GET", "PUT", "head"]), rng.randint(1, MAX_EXPIRES)
        when = AT + timedelta(seconds=rng.randint(0, 3))
        signing = presigner(credentials, signing_time=when, method=method, expires=expires, **site)
        for _ in range(10):
            key = _text(rng)
            params = {_text(rng): rng.choice([None, "", _text(rng)]) for _ in range(rng.randint(0, 3))}
            params = {name: value for name, value in params.items() if not name.lower().startswith("x-oss-")}
            expected = presign(credentials, key=key, params=params, signing_time=when, method=method,
                               expires=expires, **site)
            assert signing.url(key, params) == expected.url
            assert (signing.method, signing.when) == (expected.method, expected.signing_time)


def test_refuses_what_presign_refuses() -> None:
    credentials = Credentials("LTAI5tPresigner", "presigner-secret")
    for bad in ({"expires": 0}, {"method": "PATCH"}, {"bucket": "Bad_Bucket"}, {"region": "cn hangzhou"}):
        arguments = {"bucket": "examplebucket", "region": "cn-hangzhou", "signing_time": AT, **bad}
        with pytest.raises(InvalidArgument) as presign_error:
            presign(credentials, key="k", **arguments)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument) as presigner_error:
            presigner(credentials, **arguments)  # type: ignore[arg-type]
        assert str(presigner_error.value) == str(presign_error.value)
    signing = presigner(credentials, bucket="examplebucket", region="cn-hangzhou", signing_time=AT)
    with pytest.raises(InvalidArgument, match="1..1023 bytes"):
        signing.url("")
    with pytest.raises(InvalidArgument, match="written by the signature"):
        signing.url("k", {"X-Oss-Date": "1"})
