"""A bucket's CORS rules as OSS keeps them: the XML of PutBucketCors and GetBucketCors, and the matching.

    <CORSConfiguration>
      <CORSRule>                                    1..10 rules, tried in order: the first match wins
        <AllowedOrigin>https://*.example.com</AllowedOrigin>   one or more, each with at most one *
        <AllowedMethod>GET</AllowedMethod>          one or more of GET PUT DELETE POST HEAD
        <AllowedHeader>*</AllowedHeader>            any number, each with at most one *
        <ExposeHeader>ETag</ExposeHeader>           any number, no *
        <MaxAgeSeconds>600</MaxAgeSeconds>          at most one
      </CORSRule>
      <ResponseVary>false</ResponseVary>            optional
    </CORSConfiguration>

A request matches a rule when its Origin matches an AllowedOrigin, its method (a preflight's
Access-Control-Request-Method) is an AllowedMethod, and (preflight) each of its
Access-Control-Request-Headers matches an AllowedHeader, case-insensitively. Pure: no I/O.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from xml.sax.saxutils import escape

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.small_bodies import malformed, parse_xml

MAX_RULES = 10
METHODS = ("GET", "PUT", "DELETE", "POST", "HEAD")
_RULE_ELEMENTS = ("AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds")


@dataclass(frozen=True)
class CorsRule:
    """One CORSRule: who may ask (origins), how (methods, request headers), what they may read, for how long."""

    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None


@dataclass(frozen=True)
class CorsConfiguration:
    """A bucket's rules, in order, and whether every answer carries ``Vary: Origin`` (ResponseVary)."""

    rules: tuple[CorsRule, ...]
    response_vary: bool = False

    def to_json(self) -> str:
        """The form the bucket's settings keep."""
        return json.dumps({"rules": [rule.__dict__ for rule in self.rules], "response_vary": self.response_vary})

    @classmethod
    def from_json(cls, text: str) -> CorsConfiguration:
        """Read what ``to_json`` wrote."""
        document = json.loads(text)
        rules = tuple(CorsRule(tuple(rule["allowed_origins"]), tuple(rule["allowed_methods"]),
                               tuple(rule["allowed_headers"]), tuple(rule["expose_headers"]),
                               rule["max_age_seconds"]) for rule in document["rules"])
        return cls(rules, bool(document["response_vary"]))


def parse_cors_xml(body: bytes) -> CorsConfiguration:
    """Read a PutBucketCors body; MalformedXML or InvalidArgument naming what is wrong."""
    root = parse_xml(body, "CORSConfiguration")
    rules, vary = [], False
    for child in root:
        if child.tag == "CORSRule":
            rules.append(_rule(child))
        elif child.tag == "ResponseVary":
            text = (child.text or "").strip()
            if text not in ("true", "false"):
                raise malformed("ResponseVary must be true or false")
            vary = text == "true"
        else:
            raise malformed(f"unknown element {child.tag[:40]}")
    if not 1 <= len(rules) <= MAX_RULES:
        raise OssError("InvalidArgument", f"A bucket takes 1..{MAX_RULES} CORS rules, got {len(rules)}.")
    return CorsConfiguration(tuple(rules), vary)


def render_cors_xml(config: CorsConfiguration) -> bytes:
    """The GetBucketCors body."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<CORSConfiguration>\n']
    for rule in config.rules:
        parts.append("  <CORSRule>\n")
        for tag, values in (("AllowedOrigin", rule.allowed_origins), ("AllowedMethod", rule.allowed_methods),
                            ("AllowedHeader", rule.allowed_headers), ("ExposeHeader", rule.expose_headers)):
            parts += [f"    <{tag}>{escape(value)}</{tag}>\n" for value in values]
        if rule.max_age_seconds is not None:
            parts.append(f"    <MaxAgeSeconds>{rule.max_age_seconds}</MaxAgeSeconds>\n")
        parts.append("  </CORSRule>\n")
    parts.append(f"  <ResponseVary>{'true' if config.response_vary else 'false'}</ResponseVary>\n")
    parts.append("</CORSConfiguration>\n")
    return "".join(parts).encode("utf-8")


def matching_rule(config: CorsConfiguration, origin: str, method: str,
                  request_headers: tuple[str, ...] = ()) -> CorsRule | None:
    """The first rule that allows this origin, method and (for a preflight) these request headers."""
    for rule in config.rules:
        if (method in rule.allowed_methods and any(wildcard_match(p, origin) for p in rule.allowed_origins)
                and all(any(wildcard_match(p.lower(), h) for p in rule.allowed_headers) for h in request_headers)):
            return rule
    return None


def wildcard_match(pattern: str, text: str) -> bool:
    """True when text is the pattern, its one ``*`` standing for any run of characters (none included)."""
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == text
    return len(text) >= len(head) + len(tail) and text.startswith(head) and text.endswith(tail)


def requested_headers(value: str | None) -> tuple[str, ...]:
    """The names of an Access-Control-Request-Headers value, lower-cased."""
    return tuple(name.strip().lower() for name in (value or "").split(",") if name.strip())


def allow_headers(rule: CorsRule, origin: str, request_headers: tuple[str, ...] = (),
                  *, preflight: bool = False) -> list[tuple[str, str]]:
    """The Access-Control-* headers a matched request is answered with, and ``Vary: Origin``."""
    anyone = "*" in rule.allowed_origins and not any(p != "*" and wildcard_match(p, origin)
                                                     for p in rule.allowed_origins)
    headers = [("Access-Control-Allow-Origin", "*" if anyone else origin),
               ("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods))]
    if preflight and request_headers:
        headers.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
    if rule.expose_headers:
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule.expose_headers)))
    if preflight and rule.max_age_seconds is not None:
        headers.append(("Access-Control-Max-Age", str(rule.max_age_seconds)))
    headers.append(("Vary", "Origin"))
    return headers


def _rule(element: ElementTree.Element) -> CorsRule:
    values: dict[str, list[str]] = {tag: [] for tag in _RULE_ELEMENTS}
    for child in element:
        if child.tag not in values:
            raise malformed(f"unknown element {child.tag[:40]} in CORSRule")
        text = (child.text or "").strip()
        if not text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
            raise malformed(f"{child.tag} must be non-empty text without control characters")
        values[child.tag].append(text)
    origins, methods = values["AllowedOrigin"], values["AllowedMethod"]
    if not origins or not methods:
        raise malformed("each CORSRule needs an AllowedOrigin and an AllowedMethod")
    for text in origins + values["AllowedHeader"]:
        if text.count("*") > 1:
            raise OssError("InvalidArgument", f"{text[:60]!r} has more than one '*': one wildcard is allowed.")
    for method in methods:
        if method not in METHODS:
            raise OssError("InvalidArgument", f"AllowedMethod must be one of {', '.join(METHODS)}, "
                                              f"got {method[:20]!r}.")
    if any("*" in text for text in values["ExposeHeader"]):
        raise OssError("InvalidArgument", "ExposeHeader cannot hold a wildcard '*'.")
    return CorsRule(tuple(origins), tuple(dict.fromkeys(methods)), tuple(values["AllowedHeader"]),
                    tuple(values["ExposeHeader"]), _max_age(values["MaxAgeSeconds"]))


def _max_age(texts: list[str]) -> int | None:
    if not texts:
        return None
    if len(texts) > 1 or not texts[0].isascii() or not texts[0].isdigit() or len(texts[0]) > 9:
        raise OssError("InvalidArgument", "MaxAgeSeconds must be one whole number of seconds.")
    return int(texts[0])


