"""Link tokens: known-answer vectors, the documented layout, tampering, expiry, rotation and size."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
import struct
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.auth.authenticator import VIAS
from shared.errors import ConfigError, InvalidArgument, InvalidLink
from shared.links import tokens
from shared.links.tokens import MAX_TOKEN_CHARS, LinkSigner, is_link_id, new_link, parse_signing_keys

VECTORS = json.loads((Path(__file__).parent / "data" / "link_tokens.json").read_text("utf-8"))
NOW = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)
K1 = "k1:link-signing-secret-one-0123456789"
K2 = "k2:link-signing-secret-two-0123456789"
SIGNER = LinkSigner.from_setting(K1)
ALPHABET = string.ascii_letters + string.digits + "-_"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def vector_link(case: dict):
    random = bytes.fromhex(case["random"])
    return new_link(now=utc(case["now"]), random_bytes=lambda size: random[:size], **case["link"])


def decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def link(key: str = "reports/a.pdf", **fields: object):
    return new_link(bucket="examplebucket", key=key, ttl=3600, url_expires=300, now=NOW, **fields)


@pytest.mark.parametrize("case", VECTORS, ids=[case["id"] for case in VECTORS])
def test_known_answer_vectors(case: dict) -> None:
    signer = LinkSigner.from_setting(case["keys"])
    expected = vector_link(case)
    assert expected.link_id == case["link_id"]
    assert signer.sign(expected) == case["token"]
    assert signer.unsign(case["token"], now=utc(case["now"])) == expected


@pytest.mark.parametrize("case", VECTORS, ids=[case["id"] for case in VECTORS])
def test_vectors_follow_the_documented_layout(case: dict) -> None:
    """Rebuild each vector from the module docstring's table with struct and hmac alone."""
    kid, secret = case["keys"].split(",")[-1].split(":", 1)
    fields, issued = case["link"], int(utc(case["now"]).timestamp())
    text = [fields["bucket"].encode(), fields["key"].encode(), fields.get("filename", "").encode()]
    disposition = (None, "attachment", "inline").index(fields.get("disposition"))
    version = 2 if "principal" in fields else 1
    signed = (bytes([version, len(kid)]) + kid.encode() + bytes.fromhex(case["random"])
              + struct.pack(">IIIB", issued, fields["ttl"], fields["url_expires"], disposition)
              + struct.pack(">B", len(text[0])) + text[0] + struct.pack(">H", len(text[1])) + text[1]
              + struct.pack(">H", len(text[2])) + text[2])
    if version == 2:
        principal = fields["principal"].encode()
        signed += bytes([("api_key", "jwt", "gateway").index(fields["via"]) + 1])
        signed += struct.pack(">H", len(principal)) + principal
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).digest()[:16]
    assert decode(case["token"]) == signed + mac


def test_round_trip_and_the_random_id() -> None:
    made = link(filename="季度.pdf", disposition="inline")
    assert is_link_id(made.link_id) and made.issued_at == NOW and made.expires_at == NOW + timedelta(hours=1)
    assert SIGNER.unsign(SIGNER.sign(made), now=NOW) == made
    assert link().link_id != link().link_id


def test_every_character_tampered_is_refused() -> None:
    token = SIGNER.sign(link(filename="a.pdf"))
    for position, char in enumerate(token):
        for other in {ALPHABET[(ALPHABET.index(char) + 1) % 64], ALPHABET[(ALPHABET.index(char) + 32) % 64]}:
            with pytest.raises(InvalidLink):
                SIGNER.unsign(token[:position] + other + token[position + 1:], now=NOW)


def test_every_byte_flipped_is_refused() -> None:
    blob = decode(SIGNER.sign(link()))
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        token = base64.urlsafe_b64encode(bytes(tampered)).rstrip(b"=").decode()
        with pytest.raises(InvalidLink):
            SIGNER.unsign(token, now=NOW)


def test_every_truncation_and_extension_is_refused() -> None:
    token = SIGNER.sign(link())
    for end in range(len(token)):
        with pytest.raises(InvalidLink):
            SIGNER.unsign(token[:end], now=NOW)
    for extra in ("A", "AA", "AAAA", "."):
        with pytest.raises(InvalidLink):
            SIGNER.unsign(token + extra, now=NOW)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "malformed: not a base64url"),
        ("abc=", "malformed: not a base64url"),
        ("ab+/", "malformed: not a base64url"),
        ("A" * (MAX_TOKEN_CHARS + 1), "malformed: not a base64url"),
        ("A", "malformed: bad base64url length"),
        ("AQ", "malformed: truncated"),
        ("Aw" + "A" * 40, "malformed: unknown version"),
        ("AQJrOQ" + "A" * 40, "unknown key id"),
    ],
    ids=["empty", "padding", "standard-alphabet", "too-long", "length", "truncated", "version", "kid"],
)
def test_one_opaque_error_with_a_reason_for_the_log(token: str, reason: str) -> None:
    with pytest.raises(InvalidLink) as caught:
        SIGNER.unsign(token, now=NOW)
    error = caught.value
    assert error.reason.startswith(reason) and error.detail == error.reason
    assert (str(error), error.status, error.code) == ("no such link", 404, "NotFound")
    assert error.reason not in repr(error) and error.link_id is None


def test_non_canonical_base64_is_refused() -> None:
    """The last character's unused bits must be zero: no two tokens may carry the same bytes."""
    token = SIGNER.sign(link())
    assert len(token) % 4 in (2, 3)
    spare = ALPHABET[ALPHABET.index(token[-1]) + 1]
    assert decode(token[:-1] + spare) == decode(token)
    with pytest.raises(InvalidLink) as caught:
        SIGNER.unsign(token[:-1] + spare, now=NOW)
    assert caught.value.reason == "malformed: non-canonical base64url"


def test_a_genuine_mac_over_a_malformed_payload_is_refused() -> None:
    key = parse_signing_keys(K1)[0]
    for signed in (b"\x01\x02k1" + b"\x00" * 10, b"\x01\x02k1" + b"\x00" * 40, b"\x01\x02k1" + b"\xff" * 64):
        token = base64.urlsafe_b64encode(signed + SIGNER.get_signature(key, signed)).rstrip(b"=").decode()
        with pytest.raises(InvalidLink) as caught:
            SIGNER.unsign(token, now=NOW)
        assert caught.value.reason == "malformed payload"


# -- version 2: the principal that made the link ---------------------------------------------------------

def test_a_link_with_a_principal_is_version_2_and_one_without_stays_version_1() -> None:
    made = link(principal="alice", via="api_key")
    token = SIGNER.sign(made)
    assert decode(token)[0] == 2 and decode(SIGNER.sign(link()))[0] == 1
    assert SIGNER.unsign(token, now=NOW) == made
    assert (made.principal, made.via) == ("alice", "api_key")
    assert len(decode(token)) == len(decode(SIGNER.sign(link()))) + 3 + len("alice")


def test_version_1_tokens_still_verify_and_name_no_principal() -> None:
    """Every token issued before version 2 (and every object-created link) reads as a link without a principal."""
    for case in VECTORS:
        if "principal" not in case["link"]:
            assert decode(case["token"])[0] == 1
            unsigned = LinkSigner.from_setting(case["keys"]).unsign(case["token"], now=utc(case["now"]))
            assert (unsigned.principal, unsigned.via) == (None, None)


@pytest.mark.parametrize(("principal", "via"), [("alice", None), (None, "jwt"), ("", "jwt"), ("alice", "key")])
def test_a_principal_goes_with_its_via_or_neither(principal: str | None, via: str | None) -> None:
    with pytest.raises(ValueError, match="principal with its via"):
        SIGNER.sign(link(principal=principal, via=via))


def test_the_via_bytes_are_the_authenticators_methods() -> None:
    assert tokens.VIAS[1:] == VIAS and tokens.VIAS[0] is None


@pytest.mark.parametrize(
    "damage",
    [lambda tail: b"\x00" + tail[1:], lambda tail: b"\x04" + tail[1:], lambda tail: tail[:1] + b"\x00\x00",
     lambda tail: tail + b"x", lambda tail: tail[:1] + b"\x00\x09alice", lambda tail: tail[:1] + b"\x00\x05al\xffce",
     lambda tail: tail[:1], lambda tail: b""],
    ids=["via-0", "via-4", "empty-principal", "trailing-byte", "length-past-the-end", "not-utf-8", "no-name",
         "no-via"],
)
def test_a_genuine_mac_over_a_malformed_principal_is_refused(damage: Callable[[bytes], bytes]) -> None:
    key = parse_signing_keys(K1)[0]
    signed = decode(SIGNER.sign(link(principal="alice", via="jwt")))[:-16]
    head, tail = signed[:-8], signed[-8:]  # tail: the via byte and the 2 + 5 bytes of "alice"
    assert tail == b"\x02\x00\x05alice"
    damaged = head + damage(tail)
    token = base64.urlsafe_b64encode(damaged + SIGNER.get_signature(key, damaged)).rstrip(b"=").decode()
    with pytest.raises(InvalidLink) as caught:
        SIGNER.unsign(token, now=NOW)
    assert caught.value.reason == "malformed payload"


def test_a_version_1_token_carrying_principal_bytes_is_refused() -> None:
    """The version byte decides the layout: principal bytes after a version 1 payload are trailing bytes."""
    key = parse_signing_keys(K1)[0]
    signed = b"\x01" + decode(SIGNER.sign(link(principal="alice", via="jwt")))[1:-16]
    token = base64.urlsafe_b64encode(signed + SIGNER.get_signature(key, signed)).rstrip(b"=").decode()
    with pytest.raises(InvalidLink) as caught:
        SIGNER.unsign(token, now=NOW)
    assert caught.value.reason == "malformed payload"


def test_the_principals_name_counts_towards_the_size_limit() -> None:
    longest = "报告" * 114 + "abc"
    with pytest.raises(InvalidArgument) as caught:
        SIGNER.sign(link(longest, principal="alice", via="api_key"))
    assert "over the limit of 1000" in caught.value.message and "principal's name counts too" in caught.value.message


def test_expiry_is_checked_against_the_given_time() -> None:
    made = link()
    token = SIGNER.sign(made)
    assert SIGNER.unsign(token, now=made.expires_at - timedelta(seconds=1)) == made
    with pytest.raises(InvalidLink) as caught:
        SIGNER.unsign(token, now=made.expires_at)
    assert (caught.value.reason, caught.value.link_id) == ("expired", made.link_id)
    assert SIGNER.unsign(token, now=NOW - timedelta(seconds=60)) == made
    with pytest.raises(InvalidLink, match="no such link") as caught:
        SIGNER.unsign(token, now=NOW - timedelta(seconds=61))
    assert caught.value.reason == "issued in the future"


def test_naive_times_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SIGNER.unsign(SIGNER.sign(link()), now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        new_link(bucket="b-1", key="a", ttl=1, url_expires=1, now=NOW.replace(tzinfo=None))


def test_rotation_newest_last_signs_all_verify() -> None:
    old_token = SIGNER.sign(link())
    rotated = LinkSigner.from_setting(f"{K1},{K2}")
    assert rotated.kid == "k2" and rotated.unsign(old_token, now=NOW).key == "reports/a.pdf"
    new_token = rotated.sign(link())
    assert decode(new_token)[1:4] == b"\x02k2" and decode(old_token)[1:4] == b"\x02k1"
    with pytest.raises(InvalidLink) as caught:
        SIGNER.unsign(new_token, now=NOW)
    assert caught.value.reason == "unknown key id 'k2'"
    retired = LinkSigner.from_setting(K2)
    with pytest.raises(InvalidLink):
        retired.unsign(old_token, now=NOW)
    assert retired.unsign(new_token, now=NOW).key == "reports/a.pdf"


@pytest.mark.parametrize(
    "key",
    ["r" * 100, "报" * 33 + "x", "😀" * 25, "ü" * 50, "reports/" + "é" * 46],
    ids=["ascii", "cjk", "emoji", "latin", "mixed"],
)
def test_a_100_byte_key_makes_a_token_under_250_characters(key: str) -> None:
    assert len(key.encode()) == 100
    token = SIGNER.sign(link(key))
    assert len(token) == 218  # under the 250 budget
    assert SIGNER.unsign(token, now=NOW).key == key


def test_the_documented_size_formula_and_limits() -> None:
    assert len(SIGNER.sign(link("报" * 41))) == 248  # under 250 holds 123 bytes of key here
    assert len(SIGNER.sign(link("报" * 41 + "a"))) == 250
    longest = "报告" * 114 + "abc"  # 687 bytes: the longest key that fits MAX_TOKEN_CHARS with this bucket
    assert len(SIGNER.sign(link(longest))) == 1000
    for too_long, filename in ((longest + "d", None), ("报" * 230, None), ("报" * 200, "季" * 40), ("a" * 1023, None)):
        with pytest.raises(InvalidArgument) as caught:
            SIGNER.sign(link(too_long, filename=filename))
        assert caught.value.field == "key" and "over the limit of 1000" in caught.value.message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "LINK_SIGNING_KEYS is required"),
        (" , ", "LINK_SIGNING_KEYS is required"),
        ("no-colon-but-a-long-secret-0123456789", "item 1 is not kid:secret"),
        (f"{K1},bad kid:{'s' * 32}", "item 2 is not kid:secret"),
        (f"{'k' * 17}:{'s' * 32}", "item 1 is not kid:secret"),
        ("k1:short-secret", "the secret of kid 'k1' is shorter than 32 bytes"),
        (f"{K1},{K1}", "names kid 'k1' twice"),
    ],
)
def test_signing_key_errors_name_the_variable_never_the_secret(value: str | None, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_signing_keys(value)
    assert caught.value.variable == "LINK_SIGNING_KEYS" and fragment in caught.value.message
    for secret in ("short-secret", "link-signing-secret-one", "s" * 32, "no-colon-but"):
        assert secret not in caught.value.message


def test_signing_keys_parse_leniently_where_it_is_safe() -> None:
    keys = parse_signing_keys(f" {K1} , k:2:{'s' * 31},")
    assert [key.kid for key in keys] == ["k1", "k"] and keys[1].secret == b"2:" + b"s" * 31
    assert "secret" not in repr(keys) and "secret" not in repr(LinkSigner(keys))
    assert LinkSigner(keys).kid == "k"
