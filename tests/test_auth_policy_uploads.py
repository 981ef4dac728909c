"""shared.auth.policy for form uploads (PostObject): POST in a rule's methods, its max_size, and a key_prefix that
only a prefix rule under which it lies can grant."""

from __future__ import annotations

import json

import pytest

from shared.auth.authenticator import Principal
from shared.auth.policy import Grant, Policy
from shared.errors import AccessDenied, ConfigError

MIB = 1 << 20
DEFAULT = 100 * MIB
RULES = {
    "alice": [
        {"bucket": "docs", "prefix": "inbox/alice/", "methods": ["POST"], "max_size": 10 * MIB, "max_expires": 600},
        {"bucket": "docs", "prefix": "inbox/alice/videos/", "methods": ["POST", "GET"], "max_size": 2048 * MIB},
        {"bucket": "docs", "prefix": "puts/", "methods": ["PUT"]},
        {"bucket": "docs", "keys": ["forms/*.pdf"], "methods": ["POST"], "allow": ["content_type"]},
        {"bucket": "docs", "prefix": "big/", "methods": ["POST"]},
    ],
    "root": [{"bucket": "docs", "prefix": "", "methods": ["POST"], "max_size": MIB}],
    "clerk": [{"bucket": "docs", "keys": ["forms/*.pdf", "forms/**"], "methods": ["POST"]}],
}
ALICE = Principal("alice", "api_key")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.parse(json.dumps({"principals": RULES}))


def upload(policy: Policy, key: str, *, principal: Principal = ALICE, key_prefix: bool = False,
           options: tuple[str, ...] = (), max_size: int = DEFAULT) -> Grant:
    return policy.authorize_upload(principal, bucket="docs", key=key, key_prefix=key_prefix, options=options,
                                   max_size=max_size, default_max_size=DEFAULT)


ALLOWED = {
    "key-under-a-prefix-rule": ("inbox/alice/a.pdf", False, (), "principals.alice[0]", 10 * MIB),
    "prefix-under-a-prefix-rule": ("inbox/alice/2026/", False, (), "principals.alice[0]", 10 * MIB),
    "prefix-equal-to-the-rule": ("inbox/alice/", True, (), "principals.alice[0]", 10 * MIB),
    "prefix-not-ending-in-slash": ("inbox/alice/photo-", True, (), "principals.alice[0]", 10 * MIB),
    "the-rule-granting-most-of-the-size": ("inbox/alice/videos/", True, (), "principals.alice[1]", 2048 * MIB),
    "exact-key-of-a-keys-rule": ("forms/tax.pdf", False, ("content_type",), "principals.alice[3]", None),
    "rule-without-max_size": ("big/x.iso", False, (), "principals.alice[4]", None),
}


@pytest.mark.parametrize(("key", "key_prefix", "options", "rule", "max_size"), ALLOWED.values(), ids=ALLOWED.keys())
def test_allowed(policy: Policy, key: str, key_prefix: bool, options: tuple[str, ...], rule: str,
                 max_size: int | None) -> None:
    grant = upload(policy, key, key_prefix=key_prefix, options=options)
    assert (grant.rule, grant.max_size) == (rule, max_size)


DENIED = {
    "outside-every-rule": ("other/a.pdf", False, (), "key matches no prefix"),
    "prefix-wider-than-the-rule": ("inbox/", True, (), "key matches no prefix"),
    "prefix-sibling": ("inbox/alicex/", True, (), "key matches no prefix"),
    "key_prefix-against-a-keys-rule": ("forms/", True, (), "key matches no prefix"),
    "keys-rule-is-exact": ("forms/sub/a.pdf", False, (), "key matches no prefix"),
    "put-does-not-grant-post": ("puts/a.bin", False, (), "method POST not allowed by principals.alice[2]"),
    "option-not-allowed": ("inbox/alice/a", False, ("meta",), "option 'meta' not allowed"),
    "dot-segment-in-the-prefix": ("inbox/alice/../", True, (), "'.' or '..' segment"),
    "whole-bucket-prefix-without-a-whole-bucket-rule": ("", True, (), "key matches no prefix"),
}


@pytest.mark.parametrize(("key", "key_prefix", "options", "detail"), DENIED.values(), ids=DENIED.keys())
def test_denied(policy: Policy, key: str, key_prefix: bool, options: tuple[str, ...], detail: str) -> None:
    with pytest.raises(AccessDenied) as caught:
        upload(policy, key, key_prefix=key_prefix, options=options)
    assert caught.value.message == "not allowed by the policy"
    assert detail in str(caught.value.detail)


@pytest.mark.parametrize("key_prefix", ["forms/", "forms/a.pdf", "forms/sub/"])
def test_a_keys_rule_grants_exact_keys_only_never_a_key_prefix(policy: Policy, key_prefix: str) -> None:
    clerk = Principal("clerk", "api_key")
    assert upload(policy, key_prefix, principal=clerk).rule == "principals.clerk[0]"  # as one key: fine
    with pytest.raises(AccessDenied) as caught:
        upload(policy, key_prefix, principal=clerk, key_prefix=True)
    assert caught.value.detail == ("key_prefix needs a prefix rule; principals.clerk[0] grants keys matching its "
                                   "patterns only")


def test_a_whole_bucket_rule_grants_the_empty_prefix(policy: Policy) -> None:
    assert upload(policy, "", principal=Principal("root", "api_key"), key_prefix=True).max_size == MIB


def test_the_token_prefix_claim_narrows_a_key_prefix(policy: Policy) -> None:
    narrowed = Principal("alice", "jwt", prefix="inbox/alice/2026/")
    assert upload(policy, "inbox/alice/2026/", principal=narrowed, key_prefix=True).rule == "principals.alice[0]"
    assert upload(policy, "inbox/alice/2026/march-", principal=narrowed, key_prefix=True).max_size == 10 * MIB
    for wider in ("inbox/alice/", "inbox/alice/2026", ""):
        with pytest.raises(AccessDenied) as caught:
            upload(policy, wider, principal=narrowed, key_prefix=True)
        assert "outside the token's prefix claim" in str(caught.value.detail)


def test_the_rule_granting_most_of_the_size_then_the_longest_urls(policy: Policy) -> None:
    # Both grant 1 MiB in full: then alice[1] for its URLs without a max_expires, whatever the order.
    assert upload(policy, "inbox/alice/videos/a.mp4", max_size=MIB).rule == "principals.alice[1]"
    assert upload(policy, "inbox/alice/videos/a.mp4", max_size=20 * MIB).rule == "principals.alice[1]"
    ordered = Policy.parse(json.dumps({"principals": {"u": [
        {"bucket": "docs", "prefix": "in/", "methods": ["POST"], "max_size": MIB, "max_expires": 60},
        {"bucket": "docs", "prefix": "in/", "methods": ["POST"], "max_size": 10 * MIB, "max_expires": 60},
        {"bucket": "docs", "prefix": "in/", "methods": ["POST"], "max_size": 10 * MIB, "max_expires": 60}]}}))
    u = Principal("u", "api_key")
    assert upload(ordered, "in/a", principal=u, max_size=MIB).rule == "principals.u[0]"  # a tie: the first
    assert upload(ordered, "in/a", principal=u, max_size=5 * MIB).rule == "principals.u[1]"


def test_post_rules_still_grant_only_their_other_methods_to_urls(policy: Policy) -> None:
    assert policy.authorize(ALICE, bucket="docs", key="inbox/alice/videos/a.mp4", method="GET", options=()).rule == \
        "principals.alice[1]"
    with pytest.raises(AccessDenied):
        policy.authorize(ALICE, bucket="docs", key="inbox/alice/a.pdf", method="GET", options=())


def _rule(**fields: object) -> str:
    return json.dumps({"principals": {"u": [{"bucket": "docs", "prefix": "in/", **fields}]}})


PARSE_ERRORS = {
    "max_size-zero": (_rule(methods=["POST"], max_size=0), "principals.u[0].max_size: must be a whole number of "
                                                           "bytes from 1 to 5368709120 (5 GiB), got 0"),
    "max_size-over-5-gib": (_rule(methods=["POST"], max_size=(5 << 30) + 1), "got 5368709121"),
    "max_size-string": (_rule(methods=["POST"], max_size="10MB"), "got '10MB'"),
    "max_size-float": (_rule(methods=["POST"], max_size=1024.0), "got 1024.0"),
    "max_size-bool": (_rule(methods=["POST"], max_size=True), "got True"),
    "max_size-without-post": (_rule(methods=["PUT"], max_size=1024),
                              "principals.u[0].max_size: bounds form uploads, which need POST in methods; a "
                              "presigned PUT URL cannot bound the size it uploads"),
    "max_size-with-default-methods": (_rule(max_size=1024), "need POST in methods"),
    "method-lower-case": (_rule(methods=["post"]), "unknown method 'post'; use GET, HEAD, PUT or POST"),
}


@pytest.mark.parametrize(("value", "message"), PARSE_ERRORS.values(), ids=PARSE_ERRORS.keys())
def test_parse_error(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Policy.parse(value)
    assert caught.value.variable == "PRESIGN_POLICY"
    assert message in caught.value.message


def test_max_size_is_read_per_rule_and_defaults_to_none() -> None:
    policy = Policy.parse(_rule(methods=["POST", "PUT"], max_size=5 << 30))
    assert upload(policy, "in/a", principal=Principal("u", "api_key")).max_size == 5 << 30
    policy = Policy.parse(_rule(methods=["POST"]))
    grant = upload(policy, "in/a", principal=Principal("u", "api_key"))
    assert grant == Grant(None, "principals.u[0]") and grant.max_size is None
    assert repr(Grant(60, "r", 86400, 1024)) == "Grant(max_expires=60, rule='r', max_link_ttl=86400, max_size=1024)"
    assert Grant(60, "r", 86400, 1024) != Grant(60, "r", 86400, 2048)
