"""Content-Disposition: an ASCII fallback and an RFC 5987 filename* that nothing can break."""

from __future__ import annotations

import pytest

from shared.oss.content_disposition import content_disposition


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("report.pdf", 'attachment; filename="report.pdf"'),
        ("q1 summary (final).pdf", 'attachment; filename="q1 summary (final).pdf"'),
        ("报告.pdf", "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"),
        ('say "hi".txt', "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22.txt"),
        ("back\\slash.txt", 'attachment; filename="slash.txt"'),
        ("../../etc/passwd", 'attachment; filename="passwd"'),
        ("a;b=c.txt", 'attachment; filename="a;b=c.txt"'),
        ("😀.png", "attachment; filename=\"_.png\"; filename*=UTF-8''%F0%9F%98%80.png"),
    ],
)
def test_header(filename: str, expected: str) -> None:
    assert content_disposition(filename) == expected


def test_inline_and_no_control_characters_survive() -> None:
    header = content_disposition("a\r\nSet-Cookie: x=1\x00.txt", "inline")
    assert header.startswith("inline; ") and "\r" not in header and "\n" not in header and "\x00" not in header
