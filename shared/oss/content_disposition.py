"""Content-Disposition for a download name, safe whatever the name contains (RFC 6266, RFC 5987)."""

from __future__ import annotations

_QUOTABLE = frozenset(" !#$%&'()*+,-.0123456789;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~")
# RFC 5987 attr-char: what may stand unescaped in filename*.
_ATTR_CHARS = frozenset("!#$&+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """Return ``<disposition>; filename="<ascii fallback>"`` plus ``filename*`` for anything else.

    The quoted fallback keeps printable ASCII other than ``"`` and ``\\``, which become ``_``, as do
    path separators and every other character; CR, LF and NUL can never reach the header.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1] or "download"
    fallback = "".join(c if c in _QUOTABLE else "_" for c in base)
    header = f'{disposition}; filename="{fallback}"'
    if fallback != base:
        header += "; filename*=UTF-8''" + "".join(
            chr(b) if chr(b) in _ATTR_CHARS else f"%{b:02X}" for b in base.encode("utf-8"))
    return header
