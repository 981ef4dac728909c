"""The object-created function's settings: signing, the rules, the buckets served, delivery bounds, the links
function's keys, and who may POST /invoke."""

from __future__ import annotations

from collections.abc import Mapping

from shared import env
from shared.config import function_signing_defaults
from shared.errors import ConfigError, InvalidArgument
from shared.object_created.invoke_access import (
    FC_MODE_VARIABLE,
    FC_PRESENCE_VARIABLE,
    TOKEN_VARIABLE,
    InvokeAccess,
    invoke_access,
)
from shared.object_created.rules import parse_rules
from shared.oss.endpoints import check_bucket

RULES_VARIABLE = "ON_CREATED_RULES"
BUCKETS_VARIABLE = "ON_CREATED_BUCKETS"


class OnCreatedSettings:
    """Everything the object-created function reads from the environment, checked once (cold start)."""

    __slots__ = ("signing", "rules", "buckets", "budget", "concurrency", "attempts", "attempt_timeout",
                 "link_signing_keys", "link_base_url")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.signing = function_signing_defaults(environ)
        rules_text = env.text(environ, RULES_VARIABLE)
        if rules_text is None:
            raise ConfigError(RULES_VARIABLE, f"{RULES_VARIABLE} is required: a JSON list of rules, inline or "
                                              "@path/to/rules.json")
        self.rules = parse_rules(env.inline_or_file(RULES_VARIABLE, rules_text))
        self.buckets = served_buckets(environ, self.signing.bucket)
        self.budget = env.whole_number(environ, "ON_CREATED_BUDGET", 30, high=900, unit="seconds ")
        self.attempts = env.whole_number(environ, "ON_CREATED_ATTEMPTS", 4, high=10)
        self.attempt_timeout = env.whole_number(environ, "ON_CREATED_ATTEMPT_TIMEOUT", 5, high=60, unit="seconds ")
        self.concurrency = env.whole_number(environ, "ON_CREATED_CONCURRENCY", 4, high=16)
        self.link_signing_keys = env.text(environ, "LINK_SIGNING_KEYS")  # checked by LinkSigner, when used
        self.link_base_url = env.base_url(environ, "LINK_BASE_URL")
        if self.rules.uses("redirect") and not (self.link_signing_keys and self.link_base_url):
            raise ConfigError("LINK_SIGNING_KEYS" if not self.link_signing_keys else "LINK_BASE_URL",
                              "redirect links need the links function: LINK_SIGNING_KEYS and LINK_BASE_URL")

    def __repr__(self) -> str:
        return f"OnCreatedSettings({self.signing!r}, {self.rules!r})"  # the rest may hold secrets


def served_buckets(environ: Mapping[str, str], default_bucket: str | None) -> frozenset[str]:
    """The buckets whose objects get links: ``ON_CREATED_BUCKETS`` (comma-separated), else ``OSS_BUCKET``."""
    listed = env.text(environ, BUCKETS_VARIABLE)
    if listed is None:
        if default_bucket is None:
            raise ConfigError(BUCKETS_VARIABLE, f"{BUCKETS_VARIABLE} (comma-separated) or OSS_BUCKET is required: "
                                                "the buckets whose new objects get links")
        return frozenset({default_bucket})
    buckets = [name.strip() for name in listed.split(",")]
    for name in buckets:
        try:
            check_bucket(name)
        except InvalidArgument:
            raise ConfigError(BUCKETS_VARIABLE, f"{BUCKETS_VARIABLE} must be bucket names separated by commas, got "
                                                f"{name[:70]!r}") from None
    return frozenset(buckets)


def load_invoke_access(environ: Mapping[str, str]) -> InvokeAccess:
    """Who may POST /invoke: ``ON_CREATED_INVOKE_TOKEN`` and ``ON_CREATED_FC_RUNTIME`` (a broken one refuses all)."""
    try:
        fc_runtime = env.flag(environ, FC_MODE_VARIABLE)
    except ConfigError as error:
        return InvokeAccess(error=error)
    return invoke_access(env.text(environ, TOKEN_VARIABLE), fc_runtime=fc_runtime,
                         on_fc=env.text(environ, FC_PRESENCE_VARIABLE) is not None)
