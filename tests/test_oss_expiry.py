"""Effective expiry: the lifetime a URL can really have, which cap won, and the errors when too short."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.credentials import Credentials
from shared.credentials.value import SAFETY_MARGIN
from shared.errors import CredentialsUnavailable, InvalidArgument
from shared.oss.expiry import MAX_V4_LIFETIME, Lifetime, credentials_remaining, effective_lifetime

NOW = datetime(2025, 3, 4, 5, 0, 0, tzinfo=timezone.utc)
KEYS = Credentials("LTAIkeys", "SECRETkeys")


def sts(expires_in: timedelta) -> Credentials:
    return Credentials("STS.id", "SECRETsts", "TOKENsts", NOW + expires_in)


def test_uncapped_request_keeps_its_lifetime() -> None:
    lifetime = effective_lifetime(900, now=NOW, credentials=KEYS)
    assert lifetime == Lifetime(900, NOW + timedelta(seconds=900), None)


def test_long_lived_keys_allow_the_full_seven_days() -> None:
    lifetime = effective_lifetime(MAX_V4_LIFETIME, now=NOW, credentials=KEYS)
    assert (lifetime.expires, lifetime.capped_by) == (604800, None)


def test_credentials_cap_the_lifetime_less_the_safety_margin() -> None:
    lifetime = effective_lifetime(7200, now=NOW, credentials=sts(timedelta(hours=1)))
    assert lifetime.expires == 3600 - SAFETY_MARGIN
    assert lifetime.capped_by == "credentials"
    assert lifetime.expires_at == NOW + timedelta(seconds=3600 - SAFETY_MARGIN)


def test_fractional_seconds_round_down() -> None:
    lifetime = effective_lifetime(7200, now=NOW, credentials=sts(timedelta(seconds=1000.9)))
    assert lifetime.expires == 1000 - SAFETY_MARGIN


def test_policy_caps_the_lifetime() -> None:
    lifetime = effective_lifetime(3600, now=NOW, credentials=KEYS, policy_max=600)
    assert (lifetime.expires, lifetime.capped_by) == (600, "policy")


def test_smallest_cap_wins() -> None:
    lifetime = effective_lifetime(7200, now=NOW, credentials=sts(timedelta(seconds=660)), policy_max=3600)
    assert (lifetime.expires, lifetime.capped_by) == (600, "credentials")


def test_policy_is_named_in_a_tie_with_the_credentials() -> None:
    lifetime = effective_lifetime(7200, now=NOW, credentials=sts(timedelta(seconds=660)), policy_max=600)
    assert (lifetime.expires, lifetime.capped_by) == (600, "policy")


def test_a_cap_equal_to_the_request_is_not_a_cut() -> None:
    lifetime = effective_lifetime(600, now=NOW, credentials=sts(timedelta(seconds=660)), policy_max=600)
    assert (lifetime.expires, lifetime.capped_by) == (600, None)


def test_margin_is_a_parameter() -> None:
    lifetime = effective_lifetime(7200, now=NOW, credentials=sts(timedelta(seconds=1000)), margin=0)
    assert lifetime.expires == 1000


def test_expires_at_is_utc_even_for_a_local_now() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=8)))
    lifetime = effective_lifetime(60, now=local, credentials=KEYS)
    assert lifetime.expires_at.utcoffset() == timedelta(0)
    assert lifetime.expires_at == NOW + timedelta(seconds=60)


@pytest.mark.parametrize("requested", [0, -1, 1.5, "900", True, None], ids=repr)
def test_requested_out_of_range_is_invalid(requested: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        effective_lifetime(requested, now=NOW, credentials=KEYS)  # type: ignore[arg-type]
    assert caught.value.field == "expires"
    assert str(caught.value) == f"expires must be a whole number of seconds from 1, got {requested!r}"


@pytest.mark.parametrize("requested", [604801, 30 * 86400])
def test_more_than_seven_days_is_cut_to_seven(requested: int) -> None:
    lifetime = effective_lifetime(requested, now=NOW, credentials=KEYS)
    assert (lifetime.expires, lifetime.capped_by) == (MAX_V4_LIFETIME, "max_v4_lifetime")


@pytest.mark.parametrize(
    "expires_in",
    [timedelta(seconds=60), timedelta(seconds=30), timedelta(seconds=-5)],
    ids=["at_margin", "inside_margin", "expired"],
)
def test_nearly_expired_credentials_are_unavailable(expires_in: timedelta) -> None:
    with pytest.raises(CredentialsUnavailable) as caught:
        effective_lifetime(900, now=NOW, credentials=sts(expires_in))
    assert str(caught.value).startswith("credentials unavailable: ")
    assert "safety margin" in str(caught.value)
    assert "SECRETsts" not in str(caught.value) and "TOKENsts" not in str(caught.value)


def test_one_second_left_is_still_a_url() -> None:
    lifetime = effective_lifetime(900, now=NOW, credentials=sts(timedelta(seconds=SAFETY_MARGIN + 1)))
    assert (lifetime.expires, lifetime.capped_by) == (1, "credentials")


def test_min_expires_met() -> None:
    lifetime = effective_lifetime(3600, now=NOW, credentials=sts(timedelta(hours=2)), min_expires=3600)
    assert lifetime.expires == 3600


def test_min_expires_unmet_because_of_the_credentials_says_what_and_why() -> None:
    with pytest.raises(InvalidArgument) as caught:
        effective_lifetime(3600, now=NOW, credentials=sts(timedelta(minutes=10)), min_expires=1800)
    message = str(caught.value)
    assert caught.value.field == "expires"
    assert "at least 1800 s was required" in message and "only 540 s is possible" in message
    assert "credentials expire at 2025-03-04T05:10:00+00:00" in message


def test_min_expires_unmet_because_of_the_policy() -> None:
    with pytest.raises(InvalidArgument, match="the policy allows at most 300 s"):
        effective_lifetime(3600, now=NOW, credentials=KEYS, policy_max=300, min_expires=600)


def test_min_expires_above_the_request() -> None:
    with pytest.raises(InvalidArgument, match="only 300 s is possible: 300 s was requested"):
        effective_lifetime(300, now=NOW, credentials=KEYS, min_expires=600)


@pytest.mark.parametrize("field", ["policy_max", "min_expires"])
@pytest.mark.parametrize("value", [0, -3, 1.5, True], ids=repr)
def test_bad_caps_are_programming_errors(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        effective_lifetime(900, now=NOW, credentials=KEYS, **{field: value})  # type: ignore[arg-type]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        effective_lifetime(900, now=datetime(2025, 1, 1), credentials=KEYS)


def test_credentials_must_be_credentials() -> None:
    with pytest.raises(TypeError):
        effective_lifetime(900, now=NOW, credentials=("id", "secret"))  # type: ignore[arg-type]


def test_credentials_remaining() -> None:
    assert credentials_remaining(KEYS, now=NOW) is None
    assert credentials_remaining(sts(timedelta(seconds=100)), now=NOW) == 100 - SAFETY_MARGIN


def test_lifetime_is_immutable_and_printable() -> None:
    lifetime = effective_lifetime(60, now=NOW, credentials=KEYS)
    with pytest.raises(AttributeError):
        lifetime.expires = 1  # type: ignore[misc]
    assert repr(lifetime) == "Lifetime(expires=60, expires_at=2025-03-04T05:01:00+00:00, capped_by=None)"
    assert hash(lifetime) == hash(Lifetime(60, NOW + timedelta(seconds=60)))


def test_importing_expiry_and_credentials_does_not_import_requests() -> None:
    code = "import sys, shared.oss.expiry, shared.credentials; print('requests' in sys.modules)"
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert result.stdout.strip() == "False"
