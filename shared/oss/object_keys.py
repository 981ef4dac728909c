"""Object key rules: what the signer accepts, what OSS accepts, and what a URL can carry intact.

Three levels, from loosest to strictest:

- ``check_key``: the signer signs any key the official SDKs sign: 1..1023 bytes of UTF-8, no
  lone surrogates (they have no UTF-8 form).
- ``check_object_name``: OSS refuses to create objects whose name is empty, longer than 1023
  bytes, or starts with ``/`` or ``\\``. The CLI and the HTTP functions refuse them up front.
- ``url_unsafe_reason``: keys no URL can carry to every client intact. Browsers (the WHATWG URL
  standard) and ``requests`` resolve dot segments, and both treat ``%2E`` as ``.`` (``requests``
  decodes percent-escapes of unreserved characters before urllib3 removes dot segments). The
  signer encodes ``/`` as ``%2F`` in keys that contain a dot segment or an empty segment (see
  ``shared.oss.signer``), so ``a/../b`` or ``a//b`` travel as one opaque segment; but a key that *is* a
  dot segment, ``.`` or ``..``, becomes ``/bucket/.`` and is rewritten to ``/bucket/`` whatever
  the encoding. Those are the keys the HTTP functions refuse.
"""

from __future__ import annotations

from shared.errors import InvalidArgument

MAX_KEY_BYTES = 1023
_DOT_SEGMENTS = (".", "..")


def check_key(key: str) -> None:
    """Raise InvalidArgument naming the rule the key breaks, if any."""
    if type(key) is not str:
        raise InvalidArgument("key", f"key must be a string, got {type(key).__name__}")
    if key.isascii():
        size = len(key)
    else:
        try:
            size = len(key.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidArgument("key", "key must be valid Unicode text: it contains a lone surrogate") from None
    if not 1 <= size <= MAX_KEY_BYTES:
        raise InvalidArgument("key", f"key must be 1..{MAX_KEY_BYTES} bytes of UTF-8, got {size}")


def check_object_name(key: str) -> None:
    """Refuse names OSS will not store."""
    check_key(key)
    if key[0] in "/\\":
        raise InvalidArgument("key", "key must not start with '/' or '\\': OSS does not accept such object names")


def url_unsafe_reason(key: str) -> str | None:
    """Say why no URL can carry this key intact to browsers and common clients, or None."""
    if key in _DOT_SEGMENTS:
        return f"key {key!r} is a dot segment: browsers and HTTP clients rewrite it to the bucket's root"
    return None


def needs_opaque_path(key: str) -> bool:
    """True when clients would rewrite the key's slashes: it has a dot segment or an empty one."""
    if "//" in key or key.startswith("/"):
        return True
    if "." not in key:
        return False
    return any(segment in _DOT_SEGMENTS for segment in key.split("/"))
