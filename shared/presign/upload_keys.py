"""Where an upload through the S3 routes goes: ``PRESIGN_UPLOAD_KEY``, a key template the caller cannot change.

    uploads/{principal}/{date}/{uuid}/{filename}      the default
    {principal}   the authenticated principal's name, cleaned as a filename is
    {date}        the day of the request, UTC, as 2026-12-02
    {uuid}        a random UUID (version 4), so that two uploads of one name never meet
    {filename}    the name the client gave, cleaned: one path segment ('/' and '\\' become '_'), no control
                  characters, NFC, at most 200 bytes of UTF-8 (its extension kept), never '', '.' or '..'

The literal text before the first placeholder is the template's ``prefix``: the one part of the bucket these
uploads can reach, which the template's role grants the multipart actions on. The key a template makes must
still be allowed by the policy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime

from shared.auth.policy import clean_key
from shared.errors import ConfigError, InvalidArgument
from shared.oss.object_keys import MAX_KEY_BYTES

VARIABLE = "PRESIGN_UPLOAD_KEY"
DEFAULT_TEMPLATE = "uploads/{principal}/{date}/{uuid}/{filename}"
PLACEHOLDERS = ("principal", "date", "uuid", "filename")
MAX_FILENAME_BYTES = 200
MAX_EXTENSION_CHARS = 16
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DROPPED = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))  # controls, formats, surrogates, unassigned, breaks


def clean_filename(name: str, *, fallback: str = "file") -> str:
    """One safe path segment from a name a client gave (see the module's docstring)."""
    import unicodedata  # only an upload needs it: not at cold start

    text = unicodedata.normalize("NFC", name)
    text = "".join("_" if c in "/\\" else c for c in text if unicodedata.category(c) not in _DROPPED).strip()
    text = _fit(text, MAX_FILENAME_BYTES)
    return fallback if text in ("", ".", "..") else text


def _fit(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8, cut between characters, a short extension kept."""
    if len(text.encode("utf-8")) <= limit:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        stem, extension = text, ""
    tail = f".{extension}" if extension else ""
    room = limit - len(tail.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip()
    return cut + tail


class UploadKeys:
    """A checked ``PRESIGN_UPLOAD_KEY`` template and the source of its random UUIDs."""

    __slots__ = ("template", "prefix", "_random")

    def __init__(self, template: str, *, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self.template = template
        self.prefix = template.partition("{")[0]
        self._random = random_bytes

    def __repr__(self) -> str:
        return f"UploadKeys({self.template!r})"

    @classmethod
    def parse(cls, value: str | None, *, random_bytes: Callable[[int], bytes] = os.urandom) -> UploadKeys:
        """Check the template: known placeholders only, {uuid} or {filename} in it, a name OSS stores."""
        template = DEFAULT_TEMPLATE if value is None or not value.strip() else value.strip()
        names = _PLACEHOLDER.findall(template)
        unknown = [name for name in names if name not in PLACEHOLDERS]
        if unknown:
            raise ConfigError(VARIABLE, f"{VARIABLE} has the unknown placeholder {{{unknown[0][:32]}}}; use "
                                        f"{', '.join('{' + name + '}' for name in PLACEHOLDERS)}")
        if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
            raise ConfigError(VARIABLE, f"{VARIABLE} has a brace that opens or closes no placeholder")
        if "uuid" not in names and "filename" not in names:
            raise ConfigError(VARIABLE, f"{VARIABLE} needs {{uuid}} or {{filename}}: otherwise every upload "
                                        "would have the same key")
        sample = cls(template, random_bytes=lambda size: bytes(size)).render(
            principal="p", filename="f", moment=datetime(2026, 1, 1))
        if template[0] in "/\\" or not clean_key(sample):
            raise ConfigError(VARIABLE, f"{VARIABLE} must make keys that do not start with '/' and have no "
                                        "empty, '.' or '..' segment")
        return cls(template, random_bytes=random_bytes)

    def render(self, *, principal: str, filename: str, moment: datetime) -> str:
        """The key of a new upload by ``principal`` of a file named ``filename``; 400 when it is too long."""
        values = {"principal": clean_filename(principal, fallback="_"), "date": f"{moment:%Y-%m-%d}",
                  "uuid": self._uuid(), "filename": clean_filename(filename)}
        key = _PLACEHOLDER.sub(lambda match: values[match.group(1)], self.template)
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise InvalidArgument("filename", f"the upload's key would be over {MAX_KEY_BYTES} bytes: send a "
                                              "shorter filename")
        return key

    def _uuid(self) -> str:
        raw = bytearray(self._random(16))
        raw[6] = raw[6] & 0x0F | 0x40  # version 4
        raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
        text = raw.hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
