"""The authorization policy (default deny): which principal may presign which keys, how, and for how long.

``PRESIGN_POLICY`` is inline JSON or ``@path/to/file.json``::

    {"principals": {"alice": [{"bucket": "b", "prefix": "reports/", "methods": ["GET"],
                               "max_expires": 3600, "max_link_ttl": 86400, "allow": ["filename"]},
                              {"bucket": "b", "prefix": "inbox/alice/", "methods": ["POST"], "max_size": 10485760}],
                    "*": [{"bucket": "b", "keys": ["public/**/*.pdf"]}]}}

A request passes only if one rule of its principal, or of ``"*"`` (anyone authenticated), allows its
bucket, key, method and every option it uses. A key with an empty, ``.`` or ``..`` segment matches no
rule, so ``reports/../secret`` never passes as ``reports/``. ``max_expires`` caps a presigned URL's
lifetime, ``max_link_ttl`` (default 30 days) a links-function link's. ``POST`` grants form uploads (PostObject),
of at most the rule's ``max_size`` bytes; a ``key_prefix`` upload needs a ``prefix`` rule under which it lies.
``"multipart"`` in ``allow`` on a ``PUT`` rule grants multipart uploads (the S3 routes), whose completed size is
bounded by the same ``max_size`` (up to 10000 parts of 5 GiB).
Structural errors are ConfigErrors that point at the rule; refusals tell the caller only "not allowed by the
policy" and the log why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from shared.env import inline_or_file, read_text_file
from shared.errors import AccessDenied, ConfigError
from shared.fields import unique_names
from shared.oss.expiry import MAX_V4_LIFETIME as MAX_EXPIRES
from shared.oss.limits import MAX_POST_SIZE

MAX_MULTIPART_SIZE = 10_000 * MAX_POST_SIZE  # bytes: 10000 parts of at most 5 GiB each

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from shared.auth.authenticator import Principal

VARIABLE = "PRESIGN_POLICY"
DENIED = "not allowed by the policy"
ANYONE = "*"
METHODS = ("GET", "HEAD", "PUT", "POST")  # POST: a form upload (PostObject), bounded by max_size
OPTIONS = ("filename", "process", "version_id", "bind_ip", "traffic_limit", "content_type", "meta",
           "check_exists", "multipart")
_OPTION_SET = frozenset(OPTIONS)
RULE_FIELDS = ("bucket", "prefix", "keys", "methods", "max_expires", "max_link_ttl", "max_size", "allow")
DEFAULT_MAX_LINK_TTL = 2_592_000  # 30 days
MAX_LINK_TTL = 31_536_000  # 365 days: the longest link the links function makes (the one home of this limit)

_GLOB = r"\*\*\*|\*\*/|\*\*|\*|\?"  # compiled (and cached by re) when a policy has a glob
_DOT_SEGMENTS = ("", ".", "..")


class Grant:
    """What the policy granted: the longest URL lifetime (None: no limit) and link lifetime, which rule, and the
    largest form upload in bytes (None: the rule sets none, the deployment's PRESIGN_MAX_UPLOAD_SIZE applies)."""

    __slots__ = ("max_expires", "rule", "max_link_ttl", "max_size")

    max_expires: int | None
    rule: str
    max_link_ttl: int
    max_size: int | None

    def __init__(self, max_expires: int | None, rule: str, max_link_ttl: int = DEFAULT_MAX_LINK_TTL,
                 max_size: int | None = None) -> None:
        object.__setattr__(self, "max_expires", max_expires)
        object.__setattr__(self, "rule", rule)
        object.__setattr__(self, "max_link_ttl", max_link_ttl)
        object.__setattr__(self, "max_size", max_size)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Grant is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Grant is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Grant):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (f"Grant(max_expires={self.max_expires!r}, rule={self.rule!r}, max_link_ttl={self.max_link_ttl!r}, "
                f"max_size={self.max_size!r})")

    def _fields(self) -> tuple[int | None, str, int, int | None]:
        return (self.max_expires, self.rule, self.max_link_ttl, self.max_size)


class Rule:
    """One checked rule: a bucket, a prefix or key globs, methods, lifetime and size caps and allowed options."""

    __slots__ = ("where", "bucket", "prefix", "patterns", "methods", "max_expires", "max_link_ttl", "max_size",
                 "allow")

    def __init__(self, where: str, bucket: str, *, prefix: str | None, patterns: Sequence[re.Pattern[str]],
                 methods: frozenset[str], max_expires: int | None, allow: frozenset[str],
                 max_link_ttl: int = DEFAULT_MAX_LINK_TTL, max_size: int | None = None) -> None:
        self.where = where
        self.bucket = bucket
        self.prefix = prefix
        self.patterns = tuple(patterns)
        self.methods = methods
        self.max_expires = max_expires
        self.max_link_ttl = max_link_ttl
        self.max_size = max_size
        self.allow = allow

    def grant(self) -> Grant:
        """What this rule grants a request it allows."""
        return Grant(self.max_expires, self.where, self.max_link_ttl, self.max_size)

    def refusal(self, bucket: str, key: str, method: str, options: frozenset[str], *,
                key_prefix: bool = False) -> tuple[int, str] | None:
        """Return None if this rule allows the request, else how far it got (for the log) and why not.
        With ``key_prefix`` the key is a prefix every uploaded key will start with: only a ``prefix`` rule
        under which it lies covers it."""
        if bucket != self.bucket:
            return 0, f"no rule for bucket {bucket!r}"
        if key_prefix and self.prefix is None:
            return 1, f"key_prefix needs a prefix rule; {self.where} grants keys matching its patterns only"
        if not self.matches(key):
            return 1, f"key matches no prefix or keys pattern of the rules for bucket {bucket!r}"
        if method not in self.methods:
            return 2, f"method {method} not allowed by {self.where}"
        refused = sorted(options - self.allow)
        if refused:
            return 3, f"option {refused[0]!r} not allowed by {self.where}"
        return None

    def matches(self, key: str) -> bool:
        """True if the key is under the prefix or matches one of the globs."""
        if self.prefix is not None:
            return key.startswith(self.prefix)
        return any(pattern.fullmatch(key) for pattern in self.patterns)


class Policy:
    """The rules of every principal, checked and compiled once; ``authorize`` decides each request."""

    __slots__ = ("_rules",)

    def __init__(self, rules: Mapping[str, Sequence[Rule]]) -> None:
        self._rules = {name: tuple(named) for name, named in rules.items()}

    def __repr__(self) -> str:
        return f"Policy(principals={len(self._rules)}, rules={sum(map(len, self._rules.values()))})"

    @classmethod
    def parse(cls, value: str | None, *, read_text: Callable[[str], str] = read_text_file) -> Policy:
        """Check ``PRESIGN_POLICY`` (inline JSON or ``@file``); a mistake is a ConfigError naming its rule."""
        text = (value or "").strip()
        if not text:
            raise ConfigError(VARIABLE, f"{VARIABLE} is not set: nothing is allowed without a policy")
        text = inline_or_file(VARIABLE, text, read_text=read_text)
        try:
            document = json.loads(text, object_pairs_hook=unique_names)
        except ValueError as exc:
            raise ConfigError(VARIABLE, f"{VARIABLE} is not valid JSON: {exc}") from exc
        return cls(_principals(document))

    def authorize(self, principal: Principal, *, bucket: str, key: str, method: str,
                  options: Iterable[str]) -> Grant:
        """Return the most generous Grant among the rules that allow the request, or raise AccessDenied."""
        rules = self._allowing(principal, bucket=bucket, key=key, method=method, options=options)
        return max(rules, key=_url_cap).grant()  # max() keeps the first of equals

    def authorize_link(self, principal: Principal, *, bucket: str, key: str, options: Iterable[str],
                       ttl: int) -> Grant:
        """Authorize a link to GET the key for ``ttl`` s: the rule granting most of ``ttl``, then the longest URLs."""
        rules = self._allowing(principal, bucket=bucket, key=key, method="GET", options=options)
        return max(rules, key=lambda rule: (min(rule.max_link_ttl, ttl), _url_cap(rule))).grant()

    def authorize_upload(self, principal: Principal, *, bucket: str, key: str, key_prefix: bool = False,
                         options: Iterable[str], max_size: int, default_max_size: int) -> Grant:
        """Authorize a form upload (POST) of up to ``max_size`` bytes to ``key``, or with ``key_prefix`` to any key
        starting with it: the rule granting most of ``max_size`` (``default_max_size`` for a rule without one),
        then the longest URLs."""
        rules = self._allowing(principal, bucket=bucket, key=key, method="POST", options=options,
                               key_prefix=key_prefix)
        return max(rules, key=lambda rule: (min(default_max_size if rule.max_size is None else rule.max_size,
                                                max_size), _url_cap(rule))).grant()

    def authorize_multipart(self, principal: Principal, *, bucket: str, key: str, default_max_size: int) -> Grant:
        """Authorize a multipart upload to ``key`` (a PUT rule allowing "multipart"): the rule granting the largest
        size (``default_max_size`` for a rule without ``max_size``), then the longest URLs."""
        rules = self._allowing(principal, bucket=bucket, key=key, method="PUT", options=("multipart",))
        return max(rules, key=lambda rule: (default_max_size if rule.max_size is None else rule.max_size,
                                            _url_cap(rule))).grant()

    def _allowing(self, principal: Principal, *, bucket: str, key: str, method: str,
                  options: Iterable[str], key_prefix: bool = False) -> list[Rule]:
        """The rules of the principal and of "*" that allow the request, in order; AccessDenied when none."""
        used = frozenset(options)
        if not used <= _OPTION_SET:
            raise ValueError(f"unknown policy options: {', '.join(sorted(used - _OPTION_SET))}")
        if not clean_key(key) and not (key_prefix and key == ""):  # "": a prefix covering the whole bucket
            raise AccessDenied(DENIED, detail="key has an empty, '.' or '..' segment")
        if principal.prefix is not None:
            if not principal.prefix.endswith("/") or not clean_key(principal.prefix):
                raise AccessDenied(DENIED, detail="the token's prefix claim is not a path ending in '/'")
            if not key.startswith(principal.prefix):
                raise AccessDenied(DENIED, detail="key is outside the token's prefix claim")
        rules = self._rules.get(principal.name, ())
        if principal.name != ANYONE:
            rules += self._rules.get(ANYONE, ())
        allowing = []
        closest = (-1, f"no rules for principal {principal.name!r}")
        for rule in rules:
            refusal = rule.refusal(bucket, key, method, used, key_prefix=key_prefix)
            if refusal is None:
                allowing.append(rule)
            elif refusal[0] > closest[0]:
                closest = refusal
        if not allowing:
            raise AccessDenied(DENIED, detail=closest[1])
        return allowing


def clean_key(key: str) -> bool:
    """False for keys with an empty, '.' or '..' segment; one trailing '/' (a folder marker) is fine."""
    segments = key.split("/")
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()
    return not any(segment in _DOT_SEGMENTS for segment in segments)


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile a key glob: '*' and '?' stay within a segment, '**' crosses them; the rest is literal."""
    parts = []
    position = 0
    for match in re.finditer(_GLOB, pattern):
        parts.append(re.escape(pattern[position:match.start()]))
        position = match.end()
        token = match.group()
        if token == "***":
            raise ValueError("'***' is ambiguous: use '*' within a segment or '**' across segments")
        if token == "**/":  # at a segment's start: zero or more whole segments, as in .gitignore
            at_start = match.start() == 0 or pattern[match.start() - 1] == "/"
            parts.append("(?:.*/)?" if at_start else ".*/")
        else:
            parts.append({"**": ".*", "*": "[^/]*", "?": "[^/]"}[token])
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts), re.DOTALL)


def _principals(document: object) -> dict[str, tuple[Rule, ...]]:
    """Check the top level: ``{"principals": {name: [rule, ...]}}`` and nothing else."""
    if not isinstance(document, dict) or "principals" not in document:
        raise _bad("policy", 'must be a JSON object {"principals": {"<name>" or "*": [rules]}}')
    for name in document:
        if name != "principals":
            raise _bad("policy", f"unknown field {name!r}; the policy has one field, principals")
    principals = document["principals"]
    if not isinstance(principals, dict) or not principals:
        raise _bad("principals", "must be a non-empty object of principal names to lists of rules")
    compiled = {}
    for name, rules in principals.items():
        where = f"principals.{name}"
        if not name or name != name.strip():
            raise _bad(where, "a principal name must be non-empty, without surrounding spaces")
        if not isinstance(rules, list):
            raise _bad(where, "must be a list of rules")
        compiled[name] = tuple(_rule(f"{where}[{index}]", spec) for index, spec in enumerate(rules))
    return compiled


def _rule(where: str, spec: object) -> Rule:
    """Check one rule; unknown fields are errors, so a typo can neither widen nor narrow it."""
    if not isinstance(spec, dict):
        raise _bad(where, "a rule must be a JSON object")
    for field in spec:
        if field not in RULE_FIELDS:
            raise _bad(f"{where}.{field}", f"unknown field {field!r}; a rule has {', '.join(RULE_FIELDS)}")
    bucket = spec.get("bucket")
    if not isinstance(bucket, str) or not bucket:
        raise _bad(f"{where}.bucket", "required: the bucket's name")
    prefix, patterns = _key_scope(where, spec)
    methods = _methods(where, spec)
    allow = _allow(where, spec)  # "multipart" on a rule without PUT grants nothing, as "filename" on a PUT rule
    return Rule(where, bucket, prefix=prefix, patterns=patterns, methods=methods,
                max_expires=_max_expires(where, spec), allow=allow,
                max_link_ttl=_max_link_ttl(where, spec), max_size=_max_size(where, spec, methods, allow))


def _key_scope(where: str, spec: Mapping[str, object]) -> tuple[str | None, list[re.Pattern[str]]]:
    """Check ``prefix`` or ``keys`` (exactly one): a '/'-ended prefix ("" = whole bucket) or key globs."""
    if ("prefix" in spec) == ("keys" in spec):
        raise _bad(where, 'needs exactly one of prefix and keys ("prefix": "" allows the whole bucket)')
    if "prefix" in spec:
        prefix = spec["prefix"]
        if not isinstance(prefix, str) or prefix and not (prefix.endswith("/") and clean_key(prefix)):
            raise _bad(f"{where}.prefix", 'must be "" (the whole bucket) or a path ending in \'/\', '
                                          "without empty, '.' or '..' segments; use keys for finer patterns")
        return prefix, []
    globs = spec["keys"]
    if not isinstance(globs, list) or not globs:
        raise _bad(f"{where}.keys", 'must be a non-empty list of key patterns such as ["reports/*.pdf"]')
    patterns = []
    for index, glob in enumerate(globs):
        if not isinstance(glob, str) or not glob or not clean_key(glob):
            raise _bad(f"{where}.keys[{index}]",
                       "must be a non-empty pattern without empty, '.' or '..' segments")
        try:
            patterns.append(compile_glob(glob))
        except ValueError as exc:
            raise _bad(f"{where}.keys[{index}]", str(exc)) from exc
    return None, patterns


def _methods(where: str, spec: Mapping[str, object]) -> frozenset[str]:
    methods = spec.get("methods", ["GET"])
    if not isinstance(methods, list) or not methods:
        raise _bad(f"{where}.methods", 'must be a non-empty list such as ["GET", "HEAD"]')
    for method in methods:
        if method not in METHODS:
            raise _bad(f"{where}.methods", f"unknown method {method!r}; use GET, HEAD, PUT or POST")
    return frozenset(methods)


def _max_expires(where: str, spec: Mapping[str, object]) -> int | None:
    if "max_expires" not in spec:
        return None
    value = spec["max_expires"]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EXPIRES:
        raise _bad(f"{where}.max_expires",
                   f"must be a whole number of seconds from 1 to {MAX_EXPIRES}, got {value!r}")
    return value


def _max_link_ttl(where: str, spec: Mapping[str, object]) -> int:
    value = spec.get("max_link_ttl", DEFAULT_MAX_LINK_TTL)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LINK_TTL:
        raise _bad(f"{where}.max_link_ttl",
                   f"must be a whole number of seconds from 1 to {MAX_LINK_TTL} (365 days), got {value!r}")
    return value


def _max_size(where: str, spec: Mapping[str, object], methods: frozenset[str], allow: frozenset[str]) -> int | None:
    if "max_size" not in spec:
        return None
    value = spec["max_size"]
    multipart = "multipart" in allow
    high = MAX_MULTIPART_SIZE if multipart else MAX_POST_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        span = f"{MAX_MULTIPART_SIZE} (10000 parts of 5 GiB)" if multipart else f"{MAX_POST_SIZE} (5 GiB)"
        raise _bad(f"{where}.max_size", f"must be a whole number of bytes from 1 to {span}, got {value!r}")
    if "POST" not in methods and not multipart:
        # A presigned PUT URL cannot bound the size of its body: a max_size there would promise what it cannot keep.
        raise _bad(f"{where}.max_size", "bounds form uploads, which need POST in methods; a presigned PUT URL "
                                        "cannot bound the size it uploads")
    return value


def _allow(where: str, spec: Mapping[str, object]) -> frozenset[str]:
    options = spec.get("allow", [])
    if not isinstance(options, list):
        raise _bad(f"{where}.allow", 'must be a list of options such as ["filename"]')
    for option in options:
        if option not in OPTIONS:
            raise _bad(f"{where}.allow", f"unknown option {option!r}; options are {', '.join(OPTIONS)}")
    return frozenset(options)


def _url_cap(rule: Rule) -> int:
    """A rule's URL lifetime cap, for ranking rules: no cap ranks above every cap."""
    return MAX_EXPIRES + 1 if rule.max_expires is None else rule.max_expires


def _bad(where: str, problem: str) -> ConfigError:
    return ConfigError(VARIABLE, f"{VARIABLE}: {where}: {problem}")
