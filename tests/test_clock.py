"""shared/clock.py: the one text form of a moment, written and read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.clock import iso8601, parse_iso8601, utc_now


def test_utc_now_is_aware_utc() -> None:
    assert utc_now().utcoffset() == timedelta(0)


def test_iso8601_writes_utc_with_z() -> None:
    moment = datetime(2025, 3, 4, 13, 6, 7, 999, tzinfo=timezone(timedelta(hours=8)))
    assert iso8601(moment) == "2025-03-04T05:06:07Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-11-21T00:00:00Z", "2026-11-21T00:00:00+00:00"), ("2026-11-21T08:00:00+08:00", "2026-11-21T00:00:00+00:00"),
     ("2026-11-21T00:00:00.5z", "2026-11-21T00:00:00.500000+00:00")],
)
def test_utc_times(text: str, expected: str) -> None:
    assert parse_iso8601(text).isoformat() == expected


@pytest.mark.parametrize(("text", "fragment"), [("2026-11-21T00:00:00", "time zone"), ("2026-11-21", "time zone"),
                                                ("yesterday", "ISO 8601"), ("", "ISO 8601")])
def test_utc_time_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_iso8601(text)


@pytest.mark.parametrize("text", ["2026-11-20T06:45:43.000Z", "2026-11-20T06:45:43Z", "2026-11-20T14:45:43+08:00",
                                  "2026-11-20T06:45:43.123456z"])
def test_event_times(text: str) -> None:
    assert parse_iso8601(text).utcoffset() is not None


def test_naive_is_utc_when_asked() -> None:
    assert parse_iso8601("2025-03-04T06:00:00", naive_is_utc=True) == datetime(2025, 3, 4, 6, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["2025-03-04T14:00:00+08:00", "2025-03-04T06:00:00-01:00"])
def test_utc_only_refuses_other_offsets(text: str) -> None:
    with pytest.raises(ValueError, match="in UTC"):
        parse_iso8601(text, utc_only=True)
    assert parse_iso8601("2025-03-04T06:00:00+00:00", utc_only=True).tzinfo == timezone.utc
