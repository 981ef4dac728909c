"""Raw environment values, read from a mapping passed in: text, flags, whole numbers, ``@file``, URLs.

A leaf: it knows the shapes a variable can take, not what any variable means (``shared.config`` and
the features' settings say that). Every mistake is a ConfigError naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shared.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import overload

# The words of a yes/no value, in variables and in request fields alike.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")


def text(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value with surrounding white space removed; None when unset or blank."""
    value = environ.get(name, "").strip()
    return value or None


def flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A boolean variable; anything but a clear yes or no is a ConfigError naming it."""
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(name, f"{name} must be true or false, got {raw!r}")


if TYPE_CHECKING:
    @overload
    def seconds(environ: Mapping[str, str], name: str, default: int, *, high: int) -> int: ...
    @overload
    def seconds(environ: Mapping[str, str], name: str, default: None, *, high: int) -> int | None: ...


def seconds(environ: Mapping[str, str], name: str, default: int | None, *, high: int) -> int | None:
    """A lifetime in whole seconds, 1..high."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ConfigError(name, f"{name} must be a whole number of seconds from 1 to {high}, got {raw!r}")
    return int(raw)


def whole_number(environ: Mapping[str, str], name: str, default: int, *, high: int, unit: str = "") -> int:
    """A whole number 1..high (``unit`` such as ``"seconds "`` for the message)."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ConfigError(name, f"{name} must be a whole number {'of ' + unit if unit else ''}from 1 to {high}, "
                                f"got {raw[:32]!r}")
    return int(raw)


def read_text_file(path: str) -> str:
    """A file's text, read as UTF-8: how an ``@path`` value is read."""
    with open(path, encoding="utf-8") as file:
        return file.read()


def inline_or_file(name: str, value: str, *, read_text: Callable[[str], str] = read_text_file) -> str:
    """A value given inline, or the UTF-8 text of the file it names as ``@path``."""
    if not value.startswith("@"):
        return value
    path = value[1:].strip()
    if not path:
        raise ConfigError(name, f"{name}: '@' must be followed by a file path")
    try:
        return read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(name, f"{name}: cannot read {path}: {reason}") from None


def base_url(environ: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL without query or fragment, such as a public base address; its trailing ``/`` dropped."""
    raw = text(environ, name)
    if raw is None:
        return None
    from urllib.parse import urlsplit  # only a URL setting needs it: not at every cold start

    try:
        parts = urlsplit(raw)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not (parts.query or parts.fragment)
        _ = parts.port  # a port that is not a number 0..65535 raises ValueError
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(name, f"{name} must be an http or https URL without query or fragment, such as "
                                f"https://links.example.com, got {raw[:100]!r}")
    return raw.rstrip("/")
