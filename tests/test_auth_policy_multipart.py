"""shared.auth.policy for multipart uploads: "multipart" in a PUT rule's allow, its max_size (up to 10000 parts of
5 GiB), the rule granting the most, and the token's prefix claim."""

from __future__ import annotations

import json

import pytest

from shared.auth.authenticator import Principal
from shared.auth.policy import MAX_MULTIPART_SIZE, Policy
from shared.errors import AccessDenied, ConfigError

GIB = 1 << 30
DEFAULT = 100 << 20
POLICY = Policy.parse(json.dumps({"principals": {
    "alice": [{"bucket": "b", "prefix": "uploads/alice/", "methods": ["PUT"], "allow": ["multipart"]},
              {"bucket": "b", "prefix": "uploads/alice/big/", "methods": ["PUT"], "allow": ["multipart"],
               "max_size": 50 * GIB, "max_expires": 600},
              {"bucket": "b", "prefix": "plain/", "methods": ["PUT"]},
              {"bucket": "b", "prefix": "forms/", "methods": ["POST"], "allow": ["multipart"]}]}}))
ALICE = Principal("alice", "api_key")


def test_multipart_on_a_put_rule_grants_it_up_to_the_rules_max_size() -> None:
    grant = POLICY.authorize_multipart(ALICE, bucket="b", key="uploads/alice/a.mp4", default_max_size=DEFAULT)
    assert (grant.rule, grant.max_size) == ("principals.alice[0]", None)
    big = POLICY.authorize_multipart(ALICE, bucket="b", key="uploads/alice/big/a.mp4", default_max_size=DEFAULT)
    assert (big.rule, big.max_size, big.max_expires) == ("principals.alice[1]", 50 * GIB, 600)  # the larger size


@pytest.mark.parametrize("key", ["plain/a", "forms/a", "uploads/bob/a", "uploads/alice/../bob/a"],
                         ids=["put-without-multipart", "post-rule", "other-prefix", "dot-dot"])
def test_multipart_is_refused_without_a_put_rule_allowing_it(key: str) -> None:
    with pytest.raises(AccessDenied):
        POLICY.authorize_multipart(ALICE, bucket="b", key=key, default_max_size=DEFAULT)


def test_the_token_prefix_claim_narrows() -> None:
    narrowed = Principal("alice", "jwt", prefix="uploads/alice/2026/")
    POLICY.authorize_multipart(narrowed, bucket="b", key="uploads/alice/2026/a", default_max_size=DEFAULT)
    with pytest.raises(AccessDenied) as caught:
        POLICY.authorize_multipart(narrowed, bucket="b", key="uploads/alice/2025/a", default_max_size=DEFAULT)
    assert caught.value.detail == "key is outside the token's prefix claim"


def test_max_size_on_a_multipart_rule_may_pass_5_gib_and_stops_at_10000_parts() -> None:
    def rule(**fields: object) -> str:
        return json.dumps({"principals": {"u": [{"bucket": "b", "prefix": "in/", "methods": ["PUT"],
                                                  "allow": ["multipart"], **fields}]}})
    assert Policy.parse(rule(max_size=MAX_MULTIPART_SIZE))
    with pytest.raises(ConfigError) as caught:
        Policy.parse(rule(max_size=MAX_MULTIPART_SIZE + 1))
    assert "from 1 to 53687091200000 (10000 parts of 5 GiB)" in caught.value.message
    with pytest.raises(ConfigError) as plain:  # a PUT rule without multipart still may not promise a size
        Policy.parse(json.dumps({"principals": {"u": [{"bucket": "b", "prefix": "in/", "methods": ["PUT"],
                                                       "max_size": 10}]}}))
    assert "bounds form uploads, which need POST in methods" in plain.value.message
