"""shared/object_created/rules.py: parsing ON_CREATED_RULES strictly, and the first matching rule winning."""

from __future__ import annotations

import json

import pytest

from shared.errors import ConfigError
from shared.object_created.rules import DEFAULT_EXPIRES, DEFAULT_TTL, parse_rules

SECRET = "webhook-secret-0123456789"
HOOK = {"url": "https://hooks.example.com/oss?token=url-secret-token", "secret": SECRET}


def rules(*specs: dict) -> str:
    return json.dumps(list(specs))


def test_first_match_wins_by_prefix_and_suffix() -> None:
    parsed = parse_rules(rules(
        {"prefix": "invoices/", "suffix": ".pdf", "link": "presigned", "expires": 86400, "webhook": HOOK},
        {"prefix": "invoices/", "link": "presigned", "webhook": HOOK},
        {"suffix": ".csv", "link": "redirect", "ttl": "12h", "filename": "from_key", "webhook": HOOK},
    ))
    assert parsed.match("invoices/2026/a.pdf").index == 0  # type: ignore[union-attr]
    assert parsed.match("invoices/2026/a.PDF").index == 1  # type: ignore[union-attr]  # case-sensitive
    assert parsed.match("exports/a.csv").index == 2  # type: ignore[union-attr]
    assert parsed.match("exports/a.json") is None
    assert parsed.match("invoicesX/a.pdf") is None
    third = parsed.rules[2]
    assert third.lifetime == 12 * 3600 and third.filename_from_key and third.link == "redirect"
    assert parsed.uses("redirect") and parsed.uses("presigned")


def test_defaults() -> None:
    presigned, redirect = parse_rules(rules({"link": "presigned", "webhook": HOOK},
                                            {"link": "redirect", "webhook": HOOK})).rules
    assert presigned.lifetime == DEFAULT_EXPIRES and redirect.lifetime == DEFAULT_TTL
    assert presigned.prefix == presigned.suffix == "" and presigned.matches("anything")
    assert not presigned.filename_from_key and presigned.webhook.headers == ()
    assert presigned.webhook.secret == SECRET.encode()


def test_headers_are_kept_in_order() -> None:
    (rule,) = parse_rules(rules({"link": "presigned", "webhook": {**HOOK, "headers": {
        "Authorization": "Bearer x", "X-Team": "billing"}}})).rules
    assert rule.webhook.headers == (("Authorization", "Bearer x"), ("X-Team", "billing"))


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"link": "presigned", "webhook": HOOK, "bucket": "b"}, "ON_CREATED_RULES[0]: unknown field 'bucket'"),
        ({"link": "signed", "webhook": HOOK}, "ON_CREATED_RULES[0].link"),
        ({"webhook": HOOK}, "ON_CREATED_RULES[0].link"),
        ({"link": "presigned"}, "ON_CREATED_RULES[0].webhook: is required"),
        ({"link": "presigned", "prefix": 3, "webhook": HOOK}, "ON_CREATED_RULES[0].prefix"),
        ({"link": "presigned", "suffix": None, "webhook": HOOK}, "ON_CREATED_RULES[0].suffix"),
        ({"link": "presigned", "filename": "name.pdf", "webhook": HOOK}, "ON_CREATED_RULES[0].filename"),
        ({"link": "presigned", "expires": 0, "webhook": HOOK}, "ON_CREATED_RULES[0].expires"),
        ({"link": "presigned", "expires": 604801, "webhook": HOOK}, "ON_CREATED_RULES[0].expires"),
        ({"link": "presigned", "expires": "1h", "webhook": HOOK}, "ON_CREATED_RULES[0].expires"),
        ({"link": "presigned", "expires": True, "webhook": HOOK}, "ON_CREATED_RULES[0].expires"),
        ({"link": "presigned", "ttl": "1d", "webhook": HOOK}, "ON_CREATED_RULES[0].ttl: does not apply"),
        ({"link": "redirect", "expires": 60, "webhook": HOOK}, "ON_CREATED_RULES[0].expires: does not apply"),
        ({"link": "redirect", "ttl": "400d", "webhook": HOOK}, "ON_CREATED_RULES[0].ttl"),
        ({"link": "redirect", "ttl": "soon", "webhook": HOOK}, "ON_CREATED_RULES[0].ttl"),
        ({"link": "presigned", "webhook": {**HOOK, "url": "ftp://x/y"}}, "ON_CREATED_RULES[0].webhook.url"),
        ({"link": "presigned", "webhook": {**HOOK, "url": "https:///nohost"}}, "ON_CREATED_RULES[0].webhook.url"),
        ({"link": "presigned", "webhook": {**HOOK, "url": "https://h:99999/"}}, "ON_CREATED_RULES[0].webhook.url"),
        ({"link": "presigned", "webhook": {**HOOK, "url": "https://h/#frag"}}, "ON_CREATED_RULES[0].webhook.url"),
        ({"link": "presigned", "webhook": {**HOOK, "secret": "short-secret"}}, "ON_CREATED_RULES[0].webhook.secret"),
        ({"link": "presigned", "webhook": {"url": HOOK["url"]}}, "ON_CREATED_RULES[0].webhook.secret"),
        ({"link": "presigned", "webhook": {**HOOK, "retries": 3}}, "ON_CREATED_RULES[0].webhook: unknown field"),
        ({"link": "presigned", "webhook": {**HOOK, "headers": ["a"]}}, "ON_CREATED_RULES[0].webhook.headers"),
        ({"link": "presigned", "webhook": {**HOOK, "headers": {"Bad Name": "x"}}}, "webhook.headers: 'Bad Name'"),
        ({"link": "presigned", "webhook": {**HOOK, "headers": {"X-A": "a\r\nb"}}}, "webhook.headers.X-A"),
        ({"link": "presigned", "webhook": {**HOOK, "headers": {"X-A": 1}}}, "webhook.headers.X-A"),
    ],
)
def test_mistakes_point_at_the_rule(spec: dict, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rules(rules(spec))
    message = caught.value.message
    assert caught.value.variable == "ON_CREATED_RULES" and where in message
    assert SECRET not in message and "url-secret-token" not in message


@pytest.mark.parametrize("name", ["X-Presign-Signature", "idempotency-key", "Content-Type", "Content-Length",
                                  "Host", "Transfer-Encoding", "Connection"])
def test_headers_may_not_override_the_delivery(name: str) -> None:
    with pytest.raises(ConfigError, match="cannot be overridden"):
        parse_rules(rules({"link": "presigned", "webhook": {**HOOK, "headers": {name: "x"}}}))


@pytest.mark.parametrize(("text", "problem"), [
    ("", "not valid JSON"), ("{", "not valid JSON"), ("{}", "non-empty JSON list"), ("[]", "non-empty JSON list"),
    ("[1]", "[0]: each rule must be a JSON object"),
    ('[{"link": "presigned", "link": "redirect", "webhook": {}}]', "appears twice"),
])
def test_rule_set_shape(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(text)


def test_reprs_hide_secrets() -> None:
    parsed = parse_rules(rules({"link": "presigned", "webhook": {**HOOK, "headers": {"Authorization": "Bearer t0k"}}}))
    text = repr(parsed) + repr(parsed.rules)
    assert SECRET not in text and "url-secret-token" not in text and "t0k" not in text
