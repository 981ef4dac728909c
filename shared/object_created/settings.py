"""The object-created function's settings: signing, the rules, delivery bounds and the links function's keys."""

from __future__ import annotations

from collections.abc import Mapping

from shared import env
from shared.config import function_signing_defaults
from shared.errors import ConfigError
from shared.object_created.rules import parse_rules

RULES_VARIABLE = "ON_CREATED_RULES"


class OnCreatedSettings:
    """Everything the object-created function reads from the environment, checked once (cold start)."""

    __slots__ = ("signing", "rules", "budget", "concurrency", "attempts", "attempt_timeout", "link_signing_keys",
                 "link_base_url")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.signing = function_signing_defaults(environ)
        rules_text = env.text(environ, RULES_VARIABLE)
        if rules_text is None:
            raise ConfigError(RULES_VARIABLE, f"{RULES_VARIABLE} is required: a JSON list of rules, inline or "
                                              "@path/to/rules.json")
        self.rules = parse_rules(env.inline_or_file(RULES_VARIABLE, rules_text))
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
