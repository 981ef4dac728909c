"""The credentials JSON shared by the metadata service, credentials URIs and STS; and secret redaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.credentials.document import credentials_from_document, decode_json, parse_expiration, redact
from shared.errors import CredentialsError

NOW = datetime(2025, 3, 4, 5, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text",
    ["2025-03-04T06:00:00Z", "2025-03-04T06:00:00.000Z", "2025-03-04T14:00:00+08:00", "2025-03-04T06:00:00"],
    ids=["zulu", "fraction", "offset", "naive_read_as_utc"],
)
def test_parse_expiration(text: str) -> None:
    assert parse_expiration("s", text) == NOW + timedelta(hours=1)


@pytest.mark.parametrize("text", ["", None, 1741064400, "06:00 tomorrow"], ids=repr)
def test_parse_expiration_refuses(text: object) -> None:
    with pytest.raises(CredentialsError, match="^s: the answer"):
        parse_expiration("s", text)


def test_credentials_from_document() -> None:
    document = {
        "AccessKeyId": "STS.a",
        "AccessKeySecret": "S",
        "SecurityToken": "T",
        "Expiration": "2025-03-04T06:00:00Z",
    }
    credentials = credentials_from_document("s", document, now=NOW)
    assert (credentials.access_key_id, credentials.expiration) == ("STS.a", NOW + timedelta(hours=1))


def test_credentials_from_document_names_wrong_types() -> None:
    document = {"AccessKeyId": 7, "AccessKeySecret": ["S"], "SecurityToken": "T", "Expiration": "x"}
    with pytest.raises(CredentialsError, match="^s: the answer lacks AccessKeyId, AccessKeySecret$"):
        credentials_from_document("s", document, now=NOW)


def test_decode_json_refuses_non_objects() -> None:
    assert decode_json("s", b'{"a": 1}', "it") == {"a": 1}
    with pytest.raises(CredentialsError, match="^s: it answered malformed JSON \\(1 bytes\\)$"):
        decode_json("s", b"{", "it")


def test_redact_hides_raw_and_percent_encoded_secrets() -> None:
    token = "CAIS+tok/en="
    text = f"raw {token} once CAIS%2Btok%2Fen%3D twice CAIS%252Btok%252Fen%253D secret SK"
    assert redact(text, (token, "SK", None)) == "raw <hidden> once <hidden> twice <hidden> secret <hidden>"


def test_redact_hides_before_it_shortens() -> None:
    text = "x" * 195 + "LONGSECRETVALUE" + "y" * 100
    shown = redact(text, ("LONGSECRETVALUE",))
    assert "LONG" not in shown and shown.endswith("...") and len(shown) == 203
