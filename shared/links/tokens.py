"""Link tokens: a download link's description, compact, URL-safe and signed (HMAC-SHA256 with key ids).

A token is the unpadded base64url of these bytes (integers big-endian, strings length-prefixed)::

    version      1 byte    2 for a link a principal made (``POST /links``); 1 for one without
                           (the object-created function's, and every link made before version 2)
    kid          1 + n     the signing key's id, ASCII, 1..16 characters
    link_id      12 bytes  random; its base64url (16 characters) is the id that revocation lists name
    issued_at    4 bytes   Unix seconds
    ttl          4 bytes   seconds the link lives after issued_at
    url_expires  4 bytes   seconds each minted URL may live (before the link's and credentials' caps)
    disposition  1 byte    0 none, 1 attachment, 2 inline
    bucket       1 + n     ASCII
    key          2 + n     UTF-8
    filename     2 + n     UTF-8; empty for none
    via          1 byte    version 2 only: how the principal that made the link authenticated,
                           1 api_key, 2 jwt, 3 gateway
    principal    2 + n     version 2 only: that principal's name, UTF-8
    mac          16 bytes  HMAC-SHA256 of every byte above under the kid's secret, cut to 128 bits
                           (as HMAC-SHA-256-128 in RFC 4868: forging one still takes 2**128 guesses)

So a version 1 token is ``ceil(4/3 * (48 + kid + bucket + key + filename bytes))`` characters: a
100-byte key in a 13-character bucket signed by kid ``k1`` makes 218, whatever the script; under 250
holds keys of up to 123 bytes there (41 CJK characters). Version 2 adds 3 bytes and the principal's
name. A token over ``MAX_TOKEN_CHARS`` (1000: a key of up to 687 bytes there) is refused with a 400
when the link is created, so every link stays well inside the 2,000 characters that browsers, mail
gateways and link rewriters carry.

Signed, not encrypted: anyone holding a link can base64-decode it and read the bucket, the object
key, the download filename and disposition, the link id, when it was issued, when it expires, the
minted URLs' lifetime, the signing key's id and (version 2) the name of the principal that made it.
It holds no secret and no credential: it grants only what the links function does with it, and only
until it expires, is revoked, or (version 2) its principal or rule is removed.

Keys rotate: ``LINK_SIGNING_KEYS`` lists ``kid:secret`` pairs, newest last; the last one signs, all
of them verify, so a new key can be added (appended) before the old one is retired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from shared.errors import ConfigError, InvalidArgument, InvalidLink

VARIABLE = "LINK_SIGNING_KEYS"
VERSION = 2  # of a link a principal made; VERSION_WITHOUT_PRINCIPAL for one without
VERSION_WITHOUT_PRINCIPAL = 1
LINK_ID_BYTES = 12
MAC_BYTES = 16
MIN_SECRET_BYTES = 32  # RFC 2104: a key shorter than the hash's output weakens HMAC
MAX_TOKEN_CHARS = 1000
MAX_CLOCK_SKEW = 60  # seconds a token may claim to be issued in the future (another instance's clock)
DISPOSITIONS = (None, "attachment", "inline")
VIAS = (None, "api_key", "jwt", "gateway")  # Principal.via by its byte (tests hold it to shared.auth's list)

_KID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_LINK_ID = re.compile(r"[A-Za-z0-9_-]{16}")
_TIMES = struct.Struct(">12sIIIB")  # link_id, issued_at, ttl, url_expires, disposition
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Link:
    """What a link token says: which object, how to serve it, and from when until when it lives."""

    link_id: str
    bucket: str
    key: str
    issued_at: datetime
    expires_at: datetime
    url_expires: int
    filename: str | None = None
    disposition: str | None = None
    principal: str | None = None  # who made the link (None: the object-created function, or a version 1 token)
    via: str | None = None  # how that principal authenticated: api_key, jwt or gateway


def is_link_id(text: str) -> bool:
    """True for a link id: 16 base64url characters (12 bytes)."""
    return bool(_LINK_ID.fullmatch(text))


def new_link(*, bucket: str, key: str, ttl: int, url_expires: int, now: datetime, filename: str | None = None,
             disposition: str | None = None, principal: str | None = None, via: str | None = None,
             random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> Link:
    """A link issued at ``now`` (whole seconds) for ``ttl`` seconds, with a fresh random id."""
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    issued_at = _EPOCH + timedelta(seconds=int(now.timestamp()))
    return Link(link_id=_b64encode(random_bytes(LINK_ID_BYTES)), bucket=bucket, key=key, issued_at=issued_at,
                expires_at=issued_at + timedelta(seconds=ttl), url_expires=url_expires, filename=filename,
                disposition=disposition, principal=principal, via=via)


class SigningKey:
    """One ``kid:secret`` pair; its repr shows the kid only."""

    __slots__ = ("kid", "secret")

    def __init__(self, kid: str, secret: bytes) -> None:
        if not _KID.fullmatch(kid):
            raise ValueError("kid must be 1..16 letters, digits, '-' or '_'")
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"a link signing secret must be at least {MIN_SECRET_BYTES} bytes")
        self.kid = kid
        self.secret = secret

    def __repr__(self) -> str:
        return f"SigningKey({self.kid!r})"


def parse_signing_keys(text: str | None) -> tuple[SigningKey, ...]:
    """Read ``kid:secret,kid:secret`` (newest last); anything wrong is a ConfigError that shows no secret."""
    items = [item.strip() for item in (text or "").split(",") if item.strip()]
    if not items:
        raise ConfigError(VARIABLE, f"{VARIABLE} is required: comma-separated kid:secret pairs, newest last, "
                                    f"each secret at least {MIN_SECRET_BYTES} bytes")
    keys: dict[str, SigningKey] = {}
    for position, item in enumerate(items, 1):
        kid, colon, secret = item.partition(":")
        if not colon or not _KID.fullmatch(kid):
            raise ConfigError(VARIABLE, f"{VARIABLE} item {position} is not kid:secret with a kid of 1..16 "
                                        "letters, digits, '-' or '_'")
        if kid in keys:
            raise ConfigError(VARIABLE, f"{VARIABLE} names kid {kid!r} twice")
        raw = secret.encode("utf-8", "surrogateescape")
        if len(raw) < MIN_SECRET_BYTES:
            raise ConfigError(VARIABLE, f"{VARIABLE}: the secret of kid {kid!r} is shorter than "
                                        f"{MIN_SECRET_BYTES} bytes")
        keys[kid] = SigningKey(kid, raw)
    return tuple(keys.values())


class LinkSigner:
    """Signs links with the newest (last) key and verifies them with any key."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("a LinkSigner needs at least one key")
        self._keys = {key.kid: key for key in keys}
        self._newest = keys[-1]

    @classmethod
    def from_setting(cls, text: str | None) -> LinkSigner:
        """A signer for the raw ``LINK_SIGNING_KEYS`` value."""
        return cls(parse_signing_keys(text))

    def __repr__(self) -> str:
        return f"LinkSigner(kids={list(self._keys)}, signs_with={self._newest.kid!r})"

    @property
    def kid(self) -> str:
        """The id of the key that signs new links."""
        return self._newest.kid

    def get_signature(self, key: SigningKey, signed: bytes) -> bytes:
        """HMAC-SHA256 of the signed bytes under the key, cut to MAC_BYTES."""
        return hmac.new(key.secret, signed, hashlib.sha256).digest()[:MAC_BYTES]

    def verify_signature(self, key: SigningKey, signed: bytes, mac: bytes) -> bool:
        """Compare in constant time."""
        return hmac.compare_digest(self.get_signature(key, signed), mac)

    def sign(self, link: Link) -> str:
        """The link's token; a 400 naming ``key`` when the key and filename make it too long."""
        signed = _encode(link, self._newest.kid)
        token = _b64encode(signed + self.get_signature(self._newest, signed))
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidArgument("key", f"this key and filename make a link token of {len(token)} characters, "
                                         f"over the limit of {MAX_TOKEN_CHARS}: shorten the key or the filename"
                                  + (" (the principal's name counts too)" if link.principal else ""))
        return token

    def unsign(self, token: str, *, now: datetime) -> Link:
        """The link a token describes, if it is genuine and unexpired at ``now``; else InvalidLink."""
        if now.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        blob = _b64decode(token)
        if len(blob) < 2 + MAC_BYTES or blob[0] not in (VERSION, VERSION_WITHOUT_PRINCIPAL):
            raise InvalidLink("malformed: truncated" if len(blob) < 2 + MAC_BYTES else "malformed: unknown version")
        kid = blob[2:2 + blob[1]].decode("latin-1")
        key = self._keys.get(kid)
        if key is None:
            raise InvalidLink(f"unknown key id {kid[:16]!r}")
        signed, mac = blob[:-MAC_BYTES], blob[-MAC_BYTES:]
        if not self.verify_signature(key, signed, mac):
            raise InvalidLink("bad signature")
        link = _decode(signed)
        if now >= link.expires_at:
            raise InvalidLink("expired", link_id=link.link_id)
        if (link.issued_at - now).total_seconds() > MAX_CLOCK_SKEW:
            raise InvalidLink("issued in the future", link_id=link.link_id)
        return link


def _encode(link: Link, kid: str) -> bytes:
    """The signed part of a token: every field of the link, in the documented layout."""
    if not _LINK_ID.fullmatch(link.link_id) or link.disposition not in DISPOSITIONS:
        raise ValueError("link_id must be 16 base64url characters and disposition attachment, inline or None")
    if (link.principal is None) != (link.via is None) or link.principal == "" or link.via not in VIAS:
        raise ValueError("a link has a principal with its via (api_key, jwt or gateway), or neither")
    issued = int((link.issued_at - _EPOCH).total_seconds())
    ttl = int((link.expires_at - link.issued_at).total_seconds())
    version = VERSION_WITHOUT_PRINCIPAL if link.principal is None else VERSION
    try:
        times = _TIMES.pack(base64.urlsafe_b64decode(link.link_id), issued, ttl, link.url_expires,
                            DISPOSITIONS.index(link.disposition))
        parts = [bytes((version, len(kid))), kid.encode("ascii"), times, _field(">B", link.bucket.encode("ascii")),
                 _field(">H", link.key.encode("utf-8")), _field(">H", (link.filename or "").encode("utf-8"))]
        if link.principal is not None:
            parts += [bytes((VIAS.index(link.via),)), _field(">H", link.principal.encode("utf-8"))]
        return b"".join(parts)
    except struct.error as exc:
        raise ValueError(f"a link field is out of range for its token: {exc}") from None


def _field(width: str, raw: bytes) -> bytes:
    return struct.pack(width, len(raw)) + raw


def _decode(signed: bytes) -> Link:
    """Parse the signed part, its MAC already verified; any inconsistency is InvalidLink."""
    at = 2 + signed[1]
    try:
        link_id, issued, ttl, url_expires, disposition = _TIMES.unpack_from(signed, at)
        at += _TIMES.size
        bucket, at = _read(signed, at, ">B")
        key, at = _read(signed, at, ">H")
        filename, at = _read(signed, at, ">H")
        principal, via = None, None
        if signed[0] == VERSION:
            via = VIAS[signed[at]] or ""  # "" (byte 0): no via, refused below
            raw_principal, at = _read(signed, at + 1, ">H")
            principal = raw_principal.decode("utf-8")
        if at != len(signed) or not bucket or not key or ttl < 1 or url_expires < 1 or via == "" or principal == "":
            raise ValueError("trailing bytes or an empty field")
        issued_at = _EPOCH + timedelta(seconds=issued)
        return Link(link_id=_b64encode(link_id), bucket=bucket.decode("ascii"), key=key.decode("utf-8"),
                    issued_at=issued_at, expires_at=issued_at + timedelta(seconds=ttl), url_expires=url_expires,
                    filename=filename.decode("utf-8") or None, disposition=DISPOSITIONS[disposition],
                    principal=principal, via=via)
    except (struct.error, ValueError, IndexError):  # UnicodeDecodeError is a ValueError
        raise InvalidLink("malformed payload") from None


def _read(blob: bytes, at: int, width: str) -> tuple[bytes, int]:
    (size,) = struct.unpack_from(width, blob, at)
    at += struct.calcsize(width)
    if at + size > len(blob):
        raise ValueError("a field runs past the end")
    return blob[at:at + size], at + size


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(token: object) -> bytes:
    """Strict unpadded base64url: one spelling per byte string, so no two tokens carry the same bytes."""
    if not isinstance(token, str) or not _BASE64URL.fullmatch(token) or len(token) > MAX_TOKEN_CHARS:
        raise InvalidLink(f"malformed: not a base64url token of at most {MAX_TOKEN_CHARS} characters")
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidLink("malformed: bad base64url length") from None
    if _b64encode(blob) != token:
        raise InvalidLink("malformed: non-canonical base64url")
    return blob
