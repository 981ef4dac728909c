"""shared.presign.upload_keys: PRESIGN_UPLOAD_KEY checked once, the keys it makes, the filenames it cleans."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.errors import ConfigError, InvalidArgument
from shared.presign.upload_keys import DEFAULT_TEMPLATE, UploadKeys, clean_filename

MOMENT = datetime(2026, 12, 2, 23, 59, 59, tzinfo=timezone.utc)


def counting() -> object:
    count = iter(range(1, 1000))
    return lambda size: bytes([next(count)]) * size


def test_the_default_template_makes_one_key_per_upload() -> None:
    keys = UploadKeys.parse(None, random_bytes=counting())  # type: ignore[arg-type]
    assert keys.template == DEFAULT_TEMPLATE and keys.prefix == "uploads/"
    first = keys.render(principal="alice", filename="a.pdf", moment=MOMENT)
    assert first == "uploads/alice/2026-12-02/01010101-0101-4101-8101-010101010101/a.pdf"  # a version 4 UUID
    assert keys.render(principal="alice", filename="a.pdf", moment=MOMENT) != first
    assert UploadKeys.parse("  ").template == DEFAULT_TEMPLATE


@pytest.mark.parametrize(("name", "cleaned"), [
    ("report.pdf", "report.pdf"),
    ("a/b\\c.txt", "a_b_c.txt"),
    ("..", "file"), (".", "file"), ("   ", "file"), ("\n\t", "file"),
    ("e\u0301t\u00e9.txt", "\u00e9t\u00e9.txt"),  # NFC
    ("bad\u202e\u0000\u2028name", "badname"),  # bidi override, NUL, line separator dropped
    (" spaced .txt ", "spaced .txt"),
], ids=["plain", "separators", "dot-dot", "dot", "blank", "controls-only", "nfc", "controls", "trimmed"])
def test_filenames_are_cleaned_to_one_segment(name: str, cleaned: str) -> None:
    assert clean_filename(name) == cleaned


def test_a_long_filename_is_cut_to_200_bytes_keeping_its_extension() -> None:
    cut = clean_filename("\u4e2d" * 100 + ".mp4")  # 3 bytes each
    assert cut.endswith(".mp4") and len(cut.encode()) <= 200 and cut == "\u4e2d" * 65 + ".mp4"
    assert len(clean_filename("x" * 300).encode()) == 200
    assert clean_filename("y" * 300 + ".averyveryverylongextension").startswith("y" * 100)  # no extension kept


def test_the_principal_is_cleaned_as_a_filename() -> None:
    keys = UploadKeys.parse("in/{principal}/{uuid}")
    assert keys.render(principal="auth0|a/b", filename="x", moment=MOMENT).startswith("in/auth0|a_b/")
    assert keys.render(principal="..", filename="x", moment=MOMENT).startswith("in/_/")


@pytest.mark.parametrize(("template", "message"), [
    ("uploads/{user}/{filename}", "unknown placeholder {user}"),
    ("uploads/{principal}/x", "needs {uuid} or {filename}"),
    ("uploads/{principal/{uuid}", "a brace that opens or closes no placeholder"),
    ("uploads}/{uuid}", "a brace that opens or closes no placeholder"),
    ("/uploads/{uuid}", "must make keys that do not start with '/'"),
    ("uploads//{uuid}", "empty, '.' or '..' segment"),
    ("uploads/../{uuid}", "empty, '.' or '..' segment"),
], ids=["unknown", "constant", "unclosed", "stray-close", "leading-slash", "empty-segment", "dot-dot"])
def test_a_bad_template_is_a_config_error(template: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        UploadKeys.parse(template)
    assert caught.value.variable == "PRESIGN_UPLOAD_KEY" and message in caught.value.message


def test_the_prefix_is_the_text_before_the_first_placeholder() -> None:
    assert UploadKeys.parse("media/in-{date}/{uuid}").prefix == "media/in-"
    assert UploadKeys.parse("{principal}/{uuid}").prefix == ""


def test_a_key_over_1023_bytes_is_refused() -> None:
    keys = UploadKeys.parse("u/" + "d/" * 450 + "{filename}")
    with pytest.raises(InvalidArgument) as caught:
        keys.render(principal="a", filename="f" * 200, moment=MOMENT)
    assert caught.value.field == "filename"
