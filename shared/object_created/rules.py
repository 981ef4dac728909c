"""``ON_CREATED_RULES``: which new objects get which link, delivered to which webhook.

A JSON list, checked once at cold start; the first rule whose prefix and suffix both match the key
wins (both default to ``""``, which matches everything; matching is case-sensitive, like OSS's own
trigger filters)::

    [{"prefix": "incoming/invoices/", "suffix": ".pdf", "link": "presigned", "expires": 86400,
      "filename": "from_key",
      "webhook": {"url": "https://billing.example.com/hooks/oss", "secret": "at-least-16-bytes",
                  "headers": {"Authorization": "Bearer ..."}}},
     {"prefix": "exports/", "link": "redirect", "ttl": "30d",
      "webhook": {"url": "https://chat.example.com/hook", "secret": "another-secret-1234"}}]

``expires`` (seconds, 1..604800, default 3600) is the lifetime of a presigned URL; ``ttl`` (seconds
or ``"12h"``, ``"30d"``, up to 365 days, read as ``POST /links`` reads it; default 30 days) the
lifetime of a redirect link. A mistake is a ConfigError
that points at the rule and field and never shows a secret or a webhook URL (which may hold one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import ConfigError, InvalidArgument
from shared.fields import unique_names
from shared.object_created.webhooks import Webhook
from shared.oss.expiry import MAX_V4_LIFETIME as MAX_EXPIRES

VARIABLE = "ON_CREATED_RULES"
LINK_KINDS = ("presigned", "redirect")
DEFAULT_EXPIRES = 3600
DEFAULT_TTL = 30 * 86400
MIN_SECRET_BYTES = 16
# Headers the delivery itself sets; a rule may not replace them (or the message's framing).
RESERVED_HEADERS = frozenset({"x-presign-signature", "idempotency-key", "content-type", "content-length",
                              "host", "transfer-encoding", "connection"})

_RULE_FIELDS = frozenset({"prefix", "suffix", "link", "expires", "ttl", "filename", "webhook"})
_WEBHOOK_FIELDS = frozenset({"url", "secret", "headers"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name


@dataclass(frozen=True)
class Rule:
    """One rule: which keys (prefix, suffix), which link for how long, and where to deliver it."""

    index: int
    link: str
    lifetime: int  # seconds: ``expires`` for presigned URLs, ``ttl`` for redirect links
    webhook: Webhook
    prefix: str = ""
    suffix: str = ""
    filename_from_key: bool = False

    def matches(self, key: str) -> bool:
        """True when the key starts with the prefix and ends with the suffix."""
        return key.startswith(self.prefix) and key.endswith(self.suffix)


class RuleSet:
    """The checked rules, in order; the first that matches a key wins."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)

    def __repr__(self) -> str:
        return f"RuleSet({len(self.rules)} rules)"

    def match(self, key: str) -> Rule | None:
        """The first rule matching the key, or None."""
        return next((rule for rule in self.rules if rule.matches(key)), None)

    def uses(self, link: str) -> bool:
        """True when some rule makes this kind of link."""
        return any(rule.link == link for rule in self.rules)


def parse_rules(text: str) -> RuleSet:
    """Check the JSON text of ``ON_CREATED_RULES``; raise a ConfigError pointing at the first mistake."""
    try:
        document = json.loads(text, object_pairs_hook=unique_names)
    except ValueError as exc:
        raise ConfigError(VARIABLE, f"{VARIABLE} is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(document, list) or not document:
        raise ConfigError(VARIABLE, f"{VARIABLE} must be a non-empty JSON list of rules")
    return RuleSet([_rule(index, spec) for index, spec in enumerate(document)])


def _rule(index: int, spec: object) -> Rule:
    where = f"{VARIABLE}[{index}]"
    if not isinstance(spec, Mapping):
        raise _bad(where, "each rule must be a JSON object")
    _known(where, spec, _RULE_FIELDS)
    prefix, suffix = (_optional_text(where, spec, name) for name in ("prefix", "suffix"))
    link = spec.get("link")
    if link not in LINK_KINDS:
        raise _bad(f"{where}.link", f"must be one of {', '.join(LINK_KINDS)}")
    filename = spec.get("filename")
    if filename not in (None, "from_key"):
        raise _bad(f"{where}.filename", "must be \"from_key\" or absent")
    return Rule(index=index, link=str(link), lifetime=_lifetime(where, spec, str(link)),
                webhook=_webhook(f"{where}.webhook", spec.get("webhook")), prefix=prefix, suffix=suffix,
                filename_from_key=filename == "from_key")


def _lifetime(where: str, spec: Mapping[str, object], link: str) -> int:
    name, other = ("expires", "ttl") if link == "presigned" else ("ttl", "expires")
    if other in spec:
        raise _bad(f"{where}.{other}", f"does not apply to {link} links: use {name}")
    if name not in spec:
        return DEFAULT_EXPIRES if link == "presigned" else DEFAULT_TTL
    value = spec[name]
    if link == "redirect":
        from shared.links.request import (
            parse_ttl,  # the links function's own reading of a link's ttl
        )

        try:
            return parse_ttl(value)
        except InvalidArgument as exc:
            raise _bad(f"{where}.ttl", exc.message) from None
    if type(value) is not int or not 1 <= value <= MAX_EXPIRES:
        raise _bad(f"{where}.expires",
                   f"must be a whole number of seconds from 1 to {MAX_EXPIRES}, got {repr(value)[:40]}")
    return value


def _webhook(where: str, spec: object) -> Webhook:
    if not isinstance(spec, Mapping):
        raise _bad(where, "is required: an object with url and secret")
    _known(where, spec, _WEBHOOK_FIELDS)
    url = spec.get("url")
    if not isinstance(url, str) or not _is_http_url(url):
        raise _bad(f"{where}.url", "must be an http or https URL with a host and no fragment")
    secret = spec.get("secret")
    if not isinstance(secret, str) or len(secret.encode("utf-8", "surrogatepass")) < MIN_SECRET_BYTES:
        raise _bad(f"{where}.secret", f"must be a string of at least {MIN_SECRET_BYTES} bytes")
    return Webhook(url=url, secret=secret.encode("utf-8", "surrogatepass"),
                   headers=_headers(f"{where}.headers", spec.get("headers")))


def _headers(where: str, spec: object) -> tuple[tuple[str, str], ...]:
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise _bad(where, "must be an object of header names to values")
    headers = []
    for name, value in spec.items():
        if not _TOKEN.fullmatch(name):
            raise _bad(where, f"{name[:64]!r} is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise _bad(where, f"{name} is set by the delivery itself and cannot be overridden")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise _bad(f"{where}.{name}", "must be a string without CR, LF or NUL")
        headers.append((name, value))
    return tuple(headers)


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number 0..65535 raises ValueError
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.fragment \
        and not any(c in url for c in " \r\n\t\0")


def _optional_text(where: str, spec: Mapping[str, object], name: str) -> str:
    value = spec.get(name, "")
    if not isinstance(value, str):
        raise _bad(f"{where}.{name}", "must be a string")
    return value


def _known(where: str, spec: Mapping[str, object], allowed: frozenset[str]) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise _bad(where, f"unknown field {', '.join(repr(name[:64]) for name in unknown)} "
                          f"(allowed: {', '.join(sorted(allowed))})")


def _bad(where: str, problem: str) -> ConfigError:
    return ConfigError(VARIABLE, f"{where}: {problem}")
