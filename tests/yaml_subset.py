"""A loader for the block-YAML subset template.yml is written in (PyYAML is not a dependency).

Supported: block mappings and sequences (``- - x`` and ``- key: value`` included), comments, plain
scalars (``true``/``false``, ``null``/``~``, integers, floats, strings), single- and double-quoted
strings, and flow collections of scalars (``[]``, ``{}``, ``[GET, POST]``). Keys such as ``Fn::Sub``
and ``Ref`` are ordinary keys here, as they are for ROS. Anything else (anchors, tags, multi-line
scalars, flow mappings with content, duplicate keys, tabs) raises ``YamlError`` with its line number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_UNSUPPORTED_START = tuple("&*!|>%@`{")


class YamlError(ValueError):
    """Raised for text outside the supported subset, with the line it is on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class _Line:
    number: int
    indent: int
    text: str


def load(text: str) -> object:
    """Parse one YAML document of the subset into dicts, lists and scalars."""
    lines = _lines(text)
    if not lines:
        return None
    value, end = _block(lines, 0, lines[0].indent)
    if end != len(lines):
        raise YamlError(lines[end].number, "unexpected indentation")
    return value


def _lines(text: str) -> list[_Line]:
    result = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlError(number, "tabs are not allowed in indentation")
        content = _strip_comment(raw).rstrip()
        if content.strip() in ("", "---"):
            continue
        result.append(_Line(number, len(content) - len(content.lstrip()), content.strip()))
    return result


def _strip_comment(line: str) -> str:
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


def _block(lines: list[_Line], start: int, indent: int) -> tuple[object, int]:
    if lines[start].text == "-" or lines[start].text.startswith("- "):
        return _sequence(lines, start, indent)
    return _mapping(lines, start, indent)


def _sequence(lines: list[_Line], index: int, indent: int) -> tuple[list[object], int]:
    items: list[object] = []
    while index < len(lines) and lines[index].indent == indent:
        line = lines[index]
        if not (line.text == "-" or line.text.startswith("- ")):
            raise YamlError(line.number, "expected a '- ' sequence item")
        rest = line.text[1:].strip()
        if not rest:  # the item is the block below
            item, index = _nested(lines, index, indent, line.number)
        elif rest.startswith("- ") or rest == "-" or _split_key(rest) is not None:
            # "- - x" or "- key: value": the item is a block that starts on this line, two columns in
            lines[index] = _Line(line.number, indent + 2, rest)
            item, index = _block(lines, index, indent + 2)
        else:
            item, index = _scalar(rest, line.number), index + 1
        items.append(item)
    return items, index


def _mapping(lines: list[_Line], index: int, indent: int) -> tuple[dict[str, object], int]:
    mapping: dict[str, object] = {}
    while index < len(lines) and lines[index].indent == indent:
        line = lines[index]
        pair = _split_key(line.text)
        if pair is None:
            raise YamlError(line.number, f"expected 'key: value', got {line.text!r}")
        key, rest = pair
        if key in mapping:
            raise YamlError(line.number, f"duplicate key {key!r}")
        if rest:
            mapping[key], index = _scalar(rest, line.number), index + 1
        else:
            mapping[key], index = _nested(lines, index, indent, line.number)
    return mapping, index


def _nested(lines: list[_Line], index: int, indent: int, number: int) -> tuple[object, int]:
    """The block under the line at ``index``: deeper indented, or null when there is none."""
    if index + 1 < len(lines) and lines[index + 1].indent > indent:
        return _block(lines, index + 1, lines[index + 1].indent)
    return None, index + 1


def _split_key(text: str) -> tuple[str, str] | None:
    """``key: rest`` or ``key:`` split at the first colon followed by a space or the end; None otherwise."""
    if text[:1] in "'\"":
        end = _quoted_end(text)
        key, after = _scalar(text[: end + 1], 0), text[end + 1:]
        if after == ":" or after.startswith(": "):
            return str(key), after[1:].strip()
        return None
    match = re.match(r"([^\s'\"][^#]*?):(?:\s+(.*)|$)", text)
    if match is None or match.group(1).startswith(("- ", "[", "{")):
        return None
    return match.group(1), (match.group(2) or "").strip()


def _quoted_end(text: str) -> int:
    quote, index = text[0], 1
    while index < len(text):
        if text[index] == quote:
            if quote == "'" and text[index + 1: index + 2] == "'":
                index += 2
                continue
            return index
        index += 2 if quote == '"' and text[index] == "\\" else 1
    raise YamlError(0, f"unterminated string {text!r}")


def _scalar(text: str, number: int) -> object:
    if text[:1] in "'\"":
        if _quoted_end(text) != len(text) - 1:
            raise YamlError(number, f"text after a quoted string: {text!r}")
        if text[0] == "'":
            return text[1:-1].replace("''", "'")
        return json.loads(text)  # YAML's double-quoted escapes that JSON shares
    if text in ("[]", "{}"):
        return [] if text == "[]" else {}
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(item.strip(), number) for item in _flow_items(text[1:-1], number)]
    if text.startswith(_UNSUPPORTED_START) or text.startswith("["):
        raise YamlError(number, f"unsupported YAML: {text!r}")
    return _plain(text)


def _flow_items(text: str, number: int) -> list[str]:
    items, current, quote = [], "", None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[]{}":
            raise YamlError(number, "nested flow collections are not supported")
        elif char == ",":
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    if any(not item.strip() for item in items):
        raise YamlError(number, f"empty item in [{text}]")
    return items


def _plain(text: str) -> object:
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    if text in ("null", "Null", "NULL", "~"):
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if ": " in text or text.endswith(":"):
        raise YamlError(0, f"ambiguous plain scalar {text!r}: quote it")
    return text
