"""Checks for the text, number and flag fields that callers send; each error names its field."""

from __future__ import annotations

import json
from collections.abc import Mapping

from shared.env import FALSE_WORDS, TRUE_WORDS
from shared.errors import InvalidArgument


def text(value: object, field: str, *, max_chars: int = 1024, ascii_only: bool = False) -> str:
    """A string of 1..max_chars characters, valid UTF-8 and free of control characters."""
    if not isinstance(value, str):
        raise InvalidArgument(field, f"{field} must be a string")
    if not value:
        raise InvalidArgument(field, f"{field} must not be empty")
    if len(value) > max_chars:
        raise InvalidArgument(field, f"{field} must be at most {max_chars} characters, got {len(value)}")
    if ascii_only and not value.isascii():
        raise InvalidArgument(field, f"{field} must be ASCII")
    if not value.isprintable() and any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise InvalidArgument(field, f"{field} must not contain control characters (CR, LF, NUL ...)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(field, f"{field} must be valid Unicode text: it contains a lone surrogate") from None
    return value


def whole_number(value: object, field: str, *, low: int, high: int) -> int:
    """An integer in low..high, from JSON (an int) or a query string (decimal digits)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, f"{field} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise InvalidArgument(field, f"{field} must be {low}..{high}, got {value}")
    return value


def flag(value: object, field: str) -> bool:
    """A boolean, from JSON (true/false) or a query string (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in TRUE_WORDS:
        return True
    if isinstance(value, str) and value.lower() in FALSE_WORDS:
        return False
    raise InvalidArgument(field, f"{field} must be true or false")


def choice(value: object, field: str, allowed: tuple[str, ...]) -> str:
    """One of a few words, case-insensitive; returned in the allowed spelling."""
    if isinstance(value, str):
        for option in allowed:
            if value.lower() == option.lower():
                return option
    raise InvalidArgument(field, f"{field} must be one of {', '.join(allowed)}")


def single_values(query: Mapping[str, list[str]]) -> dict[str, str]:
    """Flatten a parsed query string, refusing any parameter given more than once."""
    flat = {}
    for name, values in query.items():
        if len(values) != 1:
            raise InvalidArgument(name, f"query parameter {name!r} is given {len(values)} times; give it once")
        flat[name] = values[0]
    return flat


def json_event(event: object) -> Mapping[str, object]:
    """A platform event as a mapping: FC passes JSON bytes, some runtimes and tests a str or a dict."""
    if isinstance(event, Mapping):
        return event
    if isinstance(event, (bytes, bytearray)):
        try:
            event = bytes(event).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument("event", "the event is not UTF-8 JSON") from None
    if not isinstance(event, str):
        raise InvalidArgument("event", f"the event must be JSON, got {type(event).__name__}")
    try:
        document = json.loads(event)
    except (ValueError, RecursionError):
        raise InvalidArgument("event", "the event is not valid JSON") from None
    if not isinstance(document, Mapping):
        raise InvalidArgument("event", "the event must be a JSON object")
    return document


def unique_names(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``json.loads`` hook that refuses a repeated name: a second "alice" must not replace the first."""
    document: dict[str, object] = {}
    for name, value in pairs:
        if name in document:
            raise ValueError(f"the name {name[:64]!r} appears twice in one object")
        document[name] = value
    return document
