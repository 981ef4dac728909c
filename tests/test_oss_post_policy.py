"""shared.oss.post_policy: the PostObject V4 policy, its base64 and its signature against the official Node.js
SDK's vectors (tests/data/oss4_post_policy.json, from ali-oss signPostObjectPolicyV4), and what presign_post
binds and refuses."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from shared.credentials import Credentials
from shared.errors import InvalidArgument
from shared.oss.post_policy import (
    encode_policy,
    policy_document,
    policy_expiration,
    policy_signature,
    presign_post,
)

DATA = Path(__file__).resolve().parent / "data"
CASES = json.loads((DATA / "oss4_post_policy.json").read_text("utf-8"))["cases"]
T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)
KEYS = Credentials("LTAI5tEXAMPLEkey00001", "exampleSecret0000000000000000001")
STS = Credentials("STS.NUexampleTempKey01", "tempSecretExample00000000000000002", "CAISexampleSecurityToken+/==")


def _signing_time(case: dict[str, Any]) -> datetime:
    return datetime.strptime(case["x-oss-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def _credentials(case: dict[str, Any]) -> Credentials:
    return Credentials(case["access_key_id"], case["access_key_secret"], case["security_token"])


def _inputs(case: dict[str, Any]) -> dict[str, Any]:
    """presign_post's arguments for what a vector's policy authorises."""
    policy = json.loads(case["policy_json"])
    inputs: dict[str, Any] = {"bucket": case["bucket"], "region": case["region"], "signing_time": _signing_time(case),
                              "meta": {}}
    inputs["expires"] = int((datetime.fromisoformat(policy["expiration"][:-1] + "+00:00")
                             - inputs["signing_time"]).total_seconds())
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            (name, value), = condition.items()
            if name == "success_action_status":
                inputs["success_action_status"] = int(value)
            elif name.startswith("x-oss-meta-"):
                inputs["meta"][name[len("x-oss-meta-"):]] = value
        elif condition[0] == "content-length-range":
            inputs["min_size"], inputs["max_size"] = condition[1], condition[2]
        elif condition[1] == "$key":
            inputs["key" if condition[0] == "eq" else "key_prefix"] = condition[2]
        elif condition[1] == "$Content-Type":
            inputs["content_type"] = condition[2]
    return inputs


def _canonical(condition: object) -> str:
    return json.dumps(condition, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_signature_of_the_base64_policy(case: dict[str, Any]) -> None:
    date = case["x-oss-date"][:8]
    assert policy_signature(case["access_key_secret"], date, case["region"], case["policy_base64"]) == \
        case["x-oss-signature"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_policy_text_and_base64(case: dict[str, Any]) -> None:
    policy = json.loads(case["policy_json"])
    expiration = datetime.fromisoformat(policy["expiration"][:-1] + "+00:00")
    document = policy_document(expiration, policy["conditions"])
    assert document == case["policy_json"]
    assert encode_policy(document) == case["policy_base64"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_presign_post_binds_what_the_vector_authorises(case: dict[str, Any]) -> None:
    form = presign_post(_credentials(case), **_inputs(case))
    expected, built = json.loads(case["policy_json"]), json.loads(form.policy)
    assert built["expiration"] == expected["expiration"]
    assert sorted(map(_canonical, built["conditions"])) == sorted(map(_canonical, expected["conditions"]))
    assert form.fields["x-oss-credential"] == case["x-oss-credential"]
    assert form.fields["x-oss-date"] == case["x-oss-date"]
    assert form.fields.get("x-oss-security-token") == case["security_token"]
    assert base64.b64decode(form.fields["policy"]).decode() == form.policy
    assert form.fields["x-oss-signature"] == policy_signature(case["access_key_secret"], case["x-oss-date"][:8],
                                                              case["region"], form.fields["policy"])
    if form.policy == case["policy_json"]:  # the same order of conditions: the same bytes, the same signature
        assert form.fields["policy"] == case["policy_base64"]
        assert form.fields["x-oss-signature"] == case["x-oss-signature"]


def test_three_of_the_vectors_come_out_byte_for_byte() -> None:
    same = [case["id"] for case in CASES if presign_post(_credentials(case), **_inputs(case)).policy
            == case["policy_json"]]
    assert same == ["basic-exact-key", "sts-prefix-content-type", "leap-day-max-size"]


def test_fields_and_answer_for_an_exact_key() -> None:
    form = presign_post(KEYS, bucket="examplebucket", region="cn-hangzhou", signing_time=T0, key="uploads/a.txt",
                        max_size=1024, content_type="text/plain", success_action_status=201,
                        meta={"Owner": "alice"}, expires=600)
    assert list(form.fields) == ["key", "Content-Type", "success_action_status", "x-oss-meta-owner", "policy",
                                 "x-oss-signature-version", "x-oss-credential", "x-oss-date", "x-oss-signature"]
    assert form.fields["key"] == "uploads/a.txt"
    assert form.fields["Content-Type"] == "text/plain"
    conditions = json.loads(form.policy)["conditions"]
    assert ["content-length-range", 0, 1024] in conditions
    assert ["eq", "$Content-Type", "text/plain"] in conditions
    assert {"success_action_status": "201"} in conditions and {"x-oss-meta-owner": "alice"} in conditions
    answer = form.to_dict()
    assert answer["url"] == "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/"
    assert answer["expires_at"] == "2026-12-01T12:10:00Z" and answer["max_size"] == 1024
    assert answer["key"] == "uploads/a.txt" and "key_prefix" not in answer
    assert "x-oss-signature" not in repr(form) and form.fields["x-oss-signature"] not in repr(form)


def test_a_prefix_sends_filename_and_a_content_type_prefix_sends_no_field() -> None:
    form = presign_post(STS, bucket="uploads-bucket", region="cn-hangzhou", signing_time=T0, key_prefix="users/42/",
                        max_size=5 << 20, content_type="image/", endpoint="http://127.0.0.1:9100")
    assert form.fields["key"] == "users/42/${filename}"
    assert "Content-Type" not in form.fields
    assert form.fields["x-oss-security-token"] == STS.security_token
    assert ["starts-with", "$Content-Type", "image/"] in json.loads(form.policy)["conditions"]
    assert form.to_dict()["key_prefix"] == "users/42/" and form.url == "http://127.0.0.1:9100/uploads-bucket/"


def test_expiration_keeps_milliseconds() -> None:
    assert policy_expiration(datetime(2028, 2, 29, 9, 30, 0, 123456, tzinfo=timezone.utc)) == \
        "2028-02-29T09:30:00.123Z"
    assert policy_expiration(datetime(1, 1, 2, tzinfo=timezone.utc)) == "0001-01-02T00:00:00.000Z"
    early = presign_post(KEYS, bucket="examplebucket", region="cn-hangzhou", key="a", max_size=1,
                         signing_time=datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert early.fields["x-oss-date"] == "09990102T030405Z"


@pytest.mark.parametrize(("changes", "field"), [
    ({}, "key"),
    ({"key": "a", "key_prefix": "b/"}, "key"),
    ({"key": "/abs"}, "key"),
    ({"key": "a/${filename}"}, "key"),
    ({"key_prefix": "a/${x"}, "key_prefix"),
    ({"key_prefix": "a/$"}, "key_prefix"),
    ({"key": "a", "max_size": -1}, "max_size"),
    ({"key": "a", "max_size": (5 << 30) + 1}, "max_size"),
    ({"key": "a", "max_size": True}, "max_size"),
    ({"key": "a", "min_size": 11}, "min_size"),
    ({"key": "a", "expires": 604801}, "expires"),
    ({"key": "a", "success_action_status": 202}, "success_action_status"),
    ({"key": "a", "content_type": "text/plain\r\nX-Evil: 1"}, "content_type"),
    ({"key": "a", "meta": {"bad name": "x"}}, "meta"),
    ({"key": "a", "meta": {"owner": "a\nb"}}, "meta.owner"),
], ids=["no-key", "both", "absolute", "exact-filename", "prefix-brace", "prefix-dollar", "negative", "over-5gb",
        "bool", "min-over-max", "expires", "status", "content-type-crlf", "meta-name", "meta-value"])
def test_refusals_name_the_field(changes: dict[str, Any], field: str) -> None:
    options: dict[str, Any] = {"bucket": "examplebucket", "region": "cn-hangzhou", "signing_time": T0,
                               "max_size": 10, **changes}
    with pytest.raises(InvalidArgument) as caught:
        presign_post(KEYS, **options)
    assert caught.value.field == field


def test_signing_time_must_be_aware() -> None:
    with pytest.raises(TypeError):
        presign_post(KEYS, bucket="examplebucket", region="cn-hangzhou", signing_time=datetime(2026, 1, 1),
                     key="a", max_size=1)
