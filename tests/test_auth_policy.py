"""The authorization policy: parsing (every mistake points at its rule), globs, and default-deny decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.auth.authenticator import Principal
from shared.auth.policy import DEFAULT_MAX_LINK_TTL, DENIED, OPTIONS, Grant, Policy, clean_key, compile_glob
from shared.errors import AccessDenied, ConfigError

POLICY = {"principals": {
    "alice": [
        {"bucket": "docs", "prefix": "reports/", "methods": ["GET", "HEAD"], "max_expires": 3600,
         "allow": ["filename"]},
        {"bucket": "docs", "prefix": "reports/2025/", "max_expires": 86400},
        {"bucket": "uploads", "keys": ["incoming/*.pdf", "incoming/**/scan-??.png"], "methods": ["PUT"],
         "allow": ["content_type", "meta"]},
    ],
    "bob": [{"bucket": "docs", "prefix": ""}],
    "*": [
        {"bucket": "public", "keys": ["**"], "max_expires": 600},
        {"bucket": "docs", "prefix": "shared/", "max_expires": 300, "allow": list(OPTIONS)},
    ],
}}
ALICE, BOB, CAROL = Principal("alice", "api_key"), Principal("bob", "gateway"), Principal("carol", "jwt")


def jwt(name: str, prefix: str) -> Principal:
    return Principal(name, "jwt", prefix)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.parse(json.dumps(POLICY))


# -- decisions ---------------------------------------------------------------------------------------------

ALLOWED = {
    "prefix-rule": (ALICE, "docs", "reports/q1.pdf", "GET", (), Grant(3600, "principals.alice[0]")),
    "most-generous-of-two-rules": (ALICE, "docs", "reports/2025/q1.pdf", "GET", (),
                                   Grant(86400, "principals.alice[1]")),
    "only-rule-allowing-the-method": (ALICE, "docs", "reports/2025/q1.pdf", "HEAD", (),
                                      Grant(3600, "principals.alice[0]")),
    "only-rule-allowing-the-option": (ALICE, "docs", "reports/2025/q1.pdf", "GET", ("filename",),
                                      Grant(3600, "principals.alice[0]")),
    "folder-marker-key": (ALICE, "docs", "reports/2025/", "GET", (), Grant(86400, "principals.alice[1]")),
    "percent-escapes-are-literal": (ALICE, "docs", "reports/%2e%2e/x", "GET", (),
                                    Grant(3600, "principals.alice[0]")),
    "glob-star": (ALICE, "uploads", "incoming/invoice.pdf", "PUT", ("content_type", "meta"),
                  Grant(None, "principals.alice[2]")),
    "glob-double-star-zero-segments": (ALICE, "uploads", "incoming/scan-01.png", "PUT", (),
                                       Grant(None, "principals.alice[2]")),
    "glob-double-star-many-segments": (ALICE, "uploads", "incoming/2025/03/scan-01.png", "PUT", (),
                                       Grant(None, "principals.alice[2]")),
    "whole-bucket-no-limit": (BOB, "docs", "any/deep/key.bin", "GET", (), Grant(None, "principals.bob[0]")),
    "no-limit-beats-a-wildcard-limit": (BOB, "docs", "shared/x", "GET", (), Grant(None, "principals.bob[0]")),
    "wildcard-for-anyone": (CAROL, "public", "a/b/c.txt", "GET", (), Grant(600, "principals.*[0]")),
    "wildcard-second-rule": (CAROL, "docs", "shared/x", "GET", ("meta", "bind_ip"),
                             Grant(300, "principals.*[1]")),
    "wildcard-also-for-named": (ALICE, "docs", "shared/x", "GET", ("process",), Grant(300, "principals.*[1]")),
    "jwt-prefix-inside-rule": (jwt("alice", "reports/2025/"), "docs", "reports/2025/q1.pdf", "GET", (),
                               Grant(86400, "principals.alice[1]")),
    "options-as-any-iterable": (ALICE, "docs", "reports/a", "GET", iter(["filename"]),
                                Grant(3600, "principals.alice[0]")),
}


@pytest.mark.parametrize(("principal", "bucket", "key", "method", "options", "grant"), ALLOWED.values(),
                         ids=ALLOWED.keys())
def test_allowed(policy: Policy, principal: Principal, bucket: str, key: str, method: str,
                 options: tuple[str, ...], grant: Grant) -> None:
    assert policy.authorize(principal, bucket=bucket, key=key, method=method, options=options) == grant


DENIALS = {
    "escape-dot-dot": (ALICE, "docs", "reports/../secret", "GET", (), "'.' or '..' segment"),
    "escape-dot-dot-at-end": (ALICE, "docs", "reports/..", "GET", (), "'.' or '..' segment"),
    "escape-dot": (ALICE, "docs", "reports/./q1.pdf", "GET", (), "'.' or '..' segment"),
    "escape-empty-segment": (ALICE, "docs", "reports//x", "GET", (), "empty"),
    "escape-leading-slash": (ALICE, "docs", "/reports/x", "GET", (), "empty"),
    "escape-in-whole-bucket-rule": (BOB, "docs", "a/../../b", "GET", (), "'.' or '..' segment"),
    "empty-key": (BOB, "docs", "", "GET", (), "empty"),
    "prefix-without-slash": (ALICE, "docs", "reports", "GET", (), "key matches no prefix"),
    "prefix-sibling": (ALICE, "docs", "reportsX/a", "GET", (), "key matches no prefix"),
    "other-bucket": (ALICE, "backups", "reports/a", "GET", (), "no rule for bucket 'backups'"),
    "method": (ALICE, "docs", "reports/a", "PUT", (), "method PUT not allowed by principals.alice[0]"),
    "method-default-is-get-only": (ALICE, "docs", "reports/2025/a", "PUT", (), "method PUT not allowed"),
    "method-case-matters": (ALICE, "docs", "reports/a", "get", (), "method get not allowed"),
    "option": (ALICE, "docs", "reports/a", "GET", ("process",), "option 'process' not allowed"),
    "every-option-must-be-allowed": (ALICE, "docs", "reports/a", "GET", ("filename", "version_id"),
                                     "option 'version_id' not allowed"),
    "glob-star-does-not-cross-slash": (ALICE, "uploads", "incoming/sub/a.pdf", "PUT", (), "key matches no"),
    "glob-is-anchored-at-the-end": (ALICE, "uploads", "incoming/a.pdf.exe", "PUT", (), "key matches no"),
    "glob-is-case-sensitive": (ALICE, "uploads", "incoming/a.PDF", "PUT", (), "key matches no"),
    "glob-question-is-one-char": (ALICE, "uploads", "incoming/scan-1.png", "PUT", (), "key matches no"),
    "glob-question-is-not-slash": (ALICE, "uploads", "incoming/scan-1/.png", "PUT", (), "key matches no"),
    "anyone-outside-wildcard-rules": (CAROL, "docs", "reports/a", "GET", (), "key matches no prefix"),
    "anyone-other-bucket": (CAROL, "uploads", "incoming/a.pdf", "PUT", (), "no rule for bucket 'uploads'"),
    "jwt-prefix-narrows": (jwt("alice", "reports/2025/"), "docs", "reports/2024/q4.pdf", "GET", (),
                           "outside the token's prefix"),
    "jwt-prefix-narrows-wildcard-rules": (jwt("alice", "reports/"), "public", "a.txt", "GET", (),
                                          "outside the token's prefix"),
    "jwt-prefix-does-not-widen": (jwt("alice", "secret/"), "docs", "secret/plans.pdf", "GET", (),
                                  "key matches no prefix"),
    "jwt-prefix-sibling": (jwt("alice", "reports/2025/"), "docs", "reports/2025x/a", "GET", (),
                           "outside the token's prefix"),
    "jwt-prefix-without-slash": (jwt("alice", "reports"), "docs", "reports/a", "GET", (),
                                 "prefix claim is not a path ending in '/'"),
    "jwt-prefix-with-dot-dot": (jwt("alice", "reports/../"), "docs", "reports/a", "GET", (),
                                "prefix claim is not a path ending in '/'"),
    "jwt-prefix-root-slash": (jwt("alice", "/"), "docs", "reports/a", "GET", (),
                              "prefix claim is not a path ending in '/'"),
}


@pytest.mark.parametrize(("principal", "bucket", "key", "method", "options", "detail"), DENIALS.values(),
                         ids=DENIALS.keys())
def test_denied(policy: Policy, principal: Principal, bucket: str, key: str, method: str,
                options: tuple[str, ...], detail: str) -> None:
    with pytest.raises(AccessDenied) as caught:
        policy.authorize(principal, bucket=bucket, key=key, method=method, options=options)
    assert caught.value.message == DENIED == "not allowed by the policy"
    assert detail in (caught.value.detail or "")


def test_a_principal_without_rules_and_no_wildcard_is_denied() -> None:
    policy = Policy.parse(json.dumps({"principals": {"alice": [{"bucket": "docs", "prefix": ""}], "bob": []}}))
    for name in ("zed", "bob"):
        with pytest.raises(AccessDenied) as caught:
            policy.authorize(Principal(name, "jwt"), bucket="docs", key="a", method="GET", options=())
        assert caught.value.detail == f"no rules for principal {name!r}"


def test_unknown_options_are_a_programming_error(policy: Policy) -> None:
    with pytest.raises(ValueError):
        policy.authorize(ALICE, bucket="docs", key="reports/a", method="GET", options=["disposition"])


def test_ties_go_to_the_first_rule() -> None:
    rule = {"bucket": "docs", "prefix": "", "max_expires": 60}
    policy = Policy.parse(json.dumps({"principals": {"alice": [rule, rule], "*": [rule]}}))
    grant = policy.authorize(ALICE, bucket="docs", key="a", method="GET", options=())
    assert grant == Grant(60, "principals.alice[0]")


# -- links: max_link_ttl ----------------------------------------------------------------------------------

LINK_RULES = {"principals": {"alice": [
    {"bucket": "docs", "prefix": "reports/", "max_expires": 3600, "max_link_ttl": 86400},
    {"bucket": "docs", "prefix": "reports/", "max_expires": 600, "max_link_ttl": 2_592_000},
    {"bucket": "docs", "prefix": "reports/2025/", "methods": ["HEAD"], "max_link_ttl": 31_536_000},
], "*": [{"bucket": "docs", "prefix": "shared/"}]}}


def test_max_link_ttl_defaults_to_30_days_and_is_read_per_rule() -> None:
    policy = Policy.parse(json.dumps(LINK_RULES))
    assert DEFAULT_MAX_LINK_TTL == 30 * 86400
    shared = policy.authorize_link(ALICE, bucket="docs", key="shared/a", options=(), ttl=31_536_000)
    assert shared == Grant(None, "principals.*[0]", DEFAULT_MAX_LINK_TTL)
    assert policy.authorize(ALICE, bucket="docs", key="reports/a", method="GET", options=()).max_link_ttl == 86400


@pytest.mark.parametrize(("ttl", "grant"), [(3600, Grant(3600, "principals.alice[0]", 86400)),
                                             (86400, Grant(3600, "principals.alice[0]", 86400)),
                                             (86401, Grant(600, "principals.alice[1]", 2_592_000)),
                                             (31_536_000, Grant(600, "principals.alice[1]", 2_592_000))])
def test_a_link_gets_the_rule_that_grants_most_of_its_ttl_then_the_longest_urls(ttl: int, grant: Grant) -> None:
    """One rule decides, never a mix: a 30-day link here mints 600 s URLs, not the other rule's 3600 s."""
    policy = Policy.parse(json.dumps(LINK_RULES))
    assert policy.authorize_link(ALICE, bucket="docs", key="reports/2025/q1.pdf", options=(), ttl=ttl) == grant


def test_authorize_link_is_a_get_refused_like_any_other() -> None:
    policy = Policy.parse(json.dumps(LINK_RULES))
    for principal, key, options in ((ALICE, "secret/a", ()), (CAROL, "reports/a", ()),
                                    (ALICE, "reports/a", ["filename"]), (jwt("alice", "other/"), "reports/a", ())):
        with pytest.raises(AccessDenied) as caught:
            policy.authorize_link(principal, bucket="docs", key=key, options=options, ttl=60)
        assert caught.value.message == DENIED


# -- parsing -----------------------------------------------------------------------------------------------

def rule(**fields: object) -> str:
    """A policy whose alice has one good rule, then this one: errors must point at principals.alice[1]."""
    good = {"bucket": "docs", "prefix": "reports/"}
    return json.dumps({"principals": {"alice": [good, {"bucket": "docs", "prefix": "reports/", **fields}]}})


def rule_without(*names: str, **fields: object) -> str:
    spec = {"bucket": "docs", "prefix": "reports/", **fields}
    return json.dumps({"principals": {"alice": [{k: v for k, v in spec.items() if k not in names}]}})


PARSE_ERRORS = {
    "unset": (None, "PRESIGN_POLICY is not set: nothing is allowed without a policy"),
    "empty": ("", "is not set"),
    "blank": ("  \n", "is not set"),
    "not-json": ("principals: alice", "PRESIGN_POLICY is not valid JSON: Expecting value: line 1 column 1"),
    "json-array": ("[]", "PRESIGN_POLICY: policy: must be a JSON object"),
    "principals-misspelt": ('{"principal": {}}', "policy: must be a JSON object"),
    "unknown-top-level-field": ('{"principals": {"a": []}, "version": 1}', "policy: unknown field 'version'"),
    "principals-empty": ('{"principals": {}}', "principals: must be a non-empty object"),
    "principals-list": ('{"principals": []}', "principals: must be a non-empty object"),
    "principal-repeated": ('{"principals": {"alice": [], "alice": []}}', "the name 'alice' appears twice"),
    "principal-name-spaces": ('{"principals": {" alice": []}}', "principals. alice: a principal name must"),
    "principal-name-empty": ('{"principals": {"": []}}', "principals.: a principal name must"),
    "rules-not-a-list": ('{"principals": {"alice": {"bucket": "docs"}}}', "principals.alice: must be a list"),
    "rule-not-an-object": ('{"principals": {"alice": ["docs"]}}', "principals.alice[0]: a rule must be"),
    "rule-field-repeated": ('{"principals": {"alice": [{"bucket": "a", "bucket": "b", "prefix": ""}]}}',
                            "the name 'bucket' appears twice"),
    "rule-unknown-field": (rule(method=["GET"]), "principals.alice[1].method: unknown field 'method'"),
    "rule-unknown-field-max_expire": (rule(max_expire=60), "principals.alice[1].max_expire: unknown field"),
    "bucket-missing": (rule_without("bucket"), "principals.alice[0].bucket: required"),
    "bucket-empty": (rule(bucket=""), "principals.alice[1].bucket: required"),
    "bucket-number": (rule(bucket=7), "principals.alice[1].bucket: required"),
    "neither-prefix-nor-keys": (rule_without("prefix"), 'principals.alice[0]: needs exactly one of prefix '
                                                          'and keys ("prefix": "" allows the whole bucket)'),
    "both-prefix-and-keys": (rule(keys=["a/*"]), "principals.alice[1]: needs exactly one of prefix and keys"),
    "prefix-without-slash": (rule(prefix="reports"), "principals.alice[1].prefix: must be \"\""),
    "prefix-leading-slash": (rule(prefix="/reports/"), "principals.alice[1].prefix"),
    "prefix-dot-dot": (rule(prefix="reports/../"), "principals.alice[1].prefix"),
    "prefix-dot": (rule(prefix="./"), "principals.alice[1].prefix"),
    "prefix-empty-segment": (rule(prefix="reports//"), "principals.alice[1].prefix"),
    "prefix-slash-only": (rule(prefix="/"), "principals.alice[1].prefix"),
    "prefix-number": (rule(prefix=1), "principals.alice[1].prefix"),
    "prefix-null": (rule(prefix=None), "principals.alice[1].prefix"),
    "keys-empty": (rule_without("prefix", keys=[]), "principals.alice[0].keys: must be a non-empty list"),
    "keys-string": (rule_without("prefix", keys="reports/*"), "principals.alice[0].keys: must be a non-empty"),
    "keys-empty-pattern": (rule_without("prefix", keys=["a/*", ""]), "principals.alice[0].keys[1]: must be"),
    "keys-dot-dot": (rule_without("prefix", keys=["reports/../*"]), "principals.alice[0].keys[0]: must be"),
    "keys-leading-slash": (rule_without("prefix", keys=["/reports/*"]), "principals.alice[0].keys[0]: must be"),
    "keys-empty-segment": (rule_without("prefix", keys=["a//*"]), "principals.alice[0].keys[0]: must be"),
    "keys-triple-star": (rule_without("prefix", keys=["a/***"]),
                         "principals.alice[0].keys[0]: '***' is ambiguous"),
    "keys-number": (rule_without("prefix", keys=[7]), "principals.alice[0].keys[0]: must be"),
    "methods-unknown": (rule(methods=["GET", "PATCH"]), "principals.alice[1].methods: unknown method 'PATCH'"),
    "methods-lower-case": (rule(methods=["get"]), "principals.alice[1].methods: unknown method 'get'"),
    "methods-string": (rule(methods="GET"), "principals.alice[1].methods: must be a non-empty list"),
    "methods-empty": (rule(methods=[]), "principals.alice[1].methods: must be a non-empty list"),
    "methods-nested": (rule(methods=[["GET"]]), "principals.alice[1].methods: unknown method ['GET']"),
    "max_expires-zero": (rule(max_expires=0), "principals.alice[1].max_expires: must be a whole number"),
    "max_expires-negative": (rule(max_expires=-60), "principals.alice[1].max_expires"),
    "max_expires-string": (rule(max_expires="3600"), "principals.alice[1].max_expires"),
    "max_expires-float": (rule(max_expires=3600.0), "principals.alice[1].max_expires"),
    "max_expires-bool": (rule(max_expires=True), "principals.alice[1].max_expires"),
    "max_expires-null": (rule(max_expires=None), "principals.alice[1].max_expires"),
    "max_expires-over-7-days": (rule(max_expires=604801), "from 1 to 604800, got 604801"),
    "max_link_ttl-zero": (rule(max_link_ttl=0),
                          "principals.alice[1].max_link_ttl: must be a whole number of seconds from 1 to 31536000"),
    "max_link_ttl-over-365-days": (rule(max_link_ttl=31_536_001), "(365 days), got 31536001"),
    "max_link_ttl-string": (rule(max_link_ttl="30d"), "principals.alice[1].max_link_ttl: must be a whole number"),
    "max_link_ttl-float": (rule(max_link_ttl=86400.0), "principals.alice[1].max_link_ttl"),
    "max_link_ttl-bool": (rule(max_link_ttl=True), "principals.alice[1].max_link_ttl"),
    "max_link_ttl-null": (rule(max_link_ttl=None), "principals.alice[1].max_link_ttl: must be a whole number"),
    "max_link_ttl-misspelt": (rule(max_link_tll=60), "unknown field 'max_link_tll'; a rule has bucket, prefix, "
                                                     "keys, methods, max_expires, max_link_ttl, max_size, allow"),
    "allow-unknown-option": (rule(allow=["filename", "filenames"]),
                             "principals.alice[1].allow: unknown option 'filenames'"),
    "allow-disposition-is-not-an-option": (rule(allow=["disposition"]), "unknown option 'disposition'"),
    "allow-string": (rule(allow="filename"), "principals.alice[1].allow: must be a list"),
    "allow-number": (rule(allow=[1]), "principals.alice[1].allow: unknown option 1"),
    "at-without-path": ("@", "PRESIGN_POLICY: '@' must be followed by a file path"),
}


@pytest.mark.parametrize(("value", "message"), PARSE_ERRORS.values(), ids=PARSE_ERRORS.keys())
def test_parse_error(value: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Policy.parse(value)
    assert caught.value.variable == "PRESIGN_POLICY"
    assert message in caught.value.message


def test_defaults_are_get_only_no_options_no_limit() -> None:
    policy = Policy.parse('{"principals": {"alice": [{"bucket": "docs", "prefix": ""}]}}')
    grant = policy.authorize(ALICE, bucket="docs", key="a", method="GET", options=())
    assert grant == Grant(None, "principals.alice[0]")
    for method, options in (("HEAD", ()), ("PUT", ()), ("GET", ("filename",))):
        with pytest.raises(AccessDenied):
            policy.authorize(ALICE, bucket="docs", key="a", method=method, options=options)


def test_policy_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(POLICY), encoding="utf-8")
    policy = Policy.parse(f"@{path}")
    assert policy.authorize(CAROL, bucket="public", key="x", method="GET", options=()).max_expires == 600
    assert repr(policy) == "Policy(principals=3, rules=6)"


def test_policy_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as caught:
        Policy.parse(f"@{missing}")
    assert caught.value.message == f"PRESIGN_POLICY: cannot read {missing}: No such file or directory"
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"principals": {"andré": []}}'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        Policy.parse(f"@{latin1}")
    assert caught.value.message == f"PRESIGN_POLICY: cannot read {latin1}: not UTF-8 text"
    broken = tmp_path / "broken.json"
    broken.write_text('{"principals": {"alice": [{"bucket": "docs", "prefix": "", "methods": ["PATCH"]}]}}')
    with pytest.raises(ConfigError) as caught:
        Policy.parse(f"@{broken}")
    assert caught.value.message == ("PRESIGN_POLICY: principals.alice[0].methods: unknown method 'PATCH'; "
                                    "use GET, HEAD, PUT or POST")


def test_read_text_is_a_seam_and_inline_json_does_not_use_it() -> None:
    files = {"conf/policy.json": json.dumps(POLICY)}
    from_file = Policy.parse("@conf/policy.json", read_text=files.__getitem__)
    inline = Policy.parse(json.dumps(POLICY), read_text=files.pop)  # pop would raise KeyError if called
    assert repr(from_file) == repr(inline) == "Policy(principals=3, rules=6)"


# -- globs and keys -----------------------------------------------------------------------------------------

GLOBS = [
    ("*.pdf", "a.pdf", True), ("*.pdf", "dir/a.pdf", False), ("*.pdf", ".pdf", True),
    ("reports/*", "reports/a", True), ("reports/*", "reports/a/b", False), ("reports/*", "reports/", True),
    ("reports/**", "reports/a/b/c", True), ("reports/**", "reports/", True),
    ("reports/**", "reportsX/a", False),
    ("**/*.pdf", "a.pdf", True), ("**/*.pdf", "a/b/c.pdf", True), ("**/*.pdf", "a/b/c.pdfx", False),
    ("reports/**/x.pdf", "reports/x.pdf", True), ("reports/**/x.pdf", "reports/a/b/x.pdf", True),
    ("reports/**/x.pdf", "reports/ax.pdf", False), ("a**b", "a/x/b", True), ("a**/b", "ax/y/b", True),
    ("a?c", "abc", True), ("a?c", "a/c", False), ("a?c", "ac", False), ("a?c", "abbc", False),
    ("a.b", "a.b", True), ("a.b", "axb", False), ("[ab].txt", "[ab].txt", True), ("[ab].txt", "a.txt", False),
    ("(x)|y+", "(x)|y+", True), ("(x)|y+", "y", False), ("x{2}", "x{2}", True), ("x{2}", "xx", False),
    ("\\d", "\\d", True), ("\\d", "1", False), ("^a$", "^a$", True), ("file*", "file\nname", True),
    ("reports/2025-*", "reports/2025-q1.pdf", True), ("reports/2025-*", "reports/2024-q1.pdf", False),
]


@pytest.mark.parametrize(("pattern", "key", "matches"), GLOBS,
                         ids=[f"{p!r}-{'matches' if m else 'not'}-{k!r}" for p, k, m in GLOBS])
def test_glob(pattern: str, key: str, matches: bool) -> None:
    assert bool(compile_glob(pattern).fullmatch(key)) is matches


CLEAN_KEYS = {"a": True, "a/b": True, "a/b/": True, "a.b/..c/d..": True, "...": True, "a\\..\\b": True,
              "": False, "/": False, "/a": False, "a//b": False, "a//": False, ".": False, "..": False,
              "a/./b": False, "a/../b": False, "a/..": False, "../a": False}


@pytest.mark.parametrize(("key", "clean"), CLEAN_KEYS.items(), ids=[repr(key) for key in CLEAN_KEYS])
def test_clean_key(key: str, clean: bool) -> None:
    assert clean_key(key) is clean


def test_grant_is_an_immutable_value() -> None:
    grant = Grant(3600, "principals.alice[0]")
    with pytest.raises(AttributeError):
        grant.max_expires = None
    with pytest.raises(AttributeError):
        del grant.rule
    assert grant == Grant(3600, "principals.alice[0]") != Grant(None, "principals.alice[0]")
    assert len({grant, Grant(3600, "principals.alice[0]")}) == 1
    assert repr(grant) == "Grant(max_expires=3600, rule='principals.alice[0]', max_link_ttl=2592000, max_size=None)"
    assert grant != Grant(3600, "principals.alice[0]", 60) and grant.max_link_ttl == DEFAULT_MAX_LINK_TTL
