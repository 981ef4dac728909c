"""The refresh-ahead cache: when it refreshes, what it keeps on failure, and one refresh for many callers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from stubs_credentials import T0, FakeClock, ScriptedProvider, assert_no_secret, sts_credentials

from shared.credentials import Credentials, CredentialsCache
from shared.credentials.cache import FAILURE_BACKOFF, RETRY_AFTER
from shared.errors import CredentialsError, CredentialsUnavailable

HOUR = timedelta(hours=1)


def cache_over(
    clock: FakeClock, *answers: Credentials | Exception
) -> tuple[CredentialsCache, ScriptedProvider]:
    provider = ScriptedProvider(*answers)
    return CredentialsCache(provider, clock=clock), provider


def test_cached_until_due() -> None:
    clock = FakeClock()
    cache, provider = cache_over(clock, sts_credentials(1, T0 + HOUR), sts_credentials(2, T0 + 2 * HOUR))
    assert cache.get_credentials().access_key_id == "STS.cache1"
    clock.advance(minutes=50)
    assert cache.get_credentials().access_key_id == "STS.cache1"
    assert provider.calls == 1


def test_credentials_without_expiration_are_kept_for_good() -> None:
    clock = FakeClock()
    cache, provider = cache_over(clock, Credentials("LTAIkeys", "SECRETkeys"))
    cache.get_credentials()
    clock.advance(days=400)
    cache.get_credentials()
    assert provider.calls == 1


@pytest.mark.parametrize(
    ("lifetime", "ahead"),
    [
        (timedelta(hours=6), timedelta(minutes=15)),
        (HOUR, timedelta(minutes=6)),
        (timedelta(minutes=15), timedelta(seconds=90)),
    ],
    ids=["6h_15min_ahead", "1h_a_tenth_ahead", "15min_a_tenth_ahead"],
)
def test_refresh_ahead_of_expiry(lifetime: timedelta, ahead: timedelta) -> None:
    clock = FakeClock()
    cache, provider = cache_over(
        clock, sts_credentials(1, T0 + lifetime), sts_credentials(2, T0 + 2 * lifetime)
    )
    cache.get_credentials()
    clock.advance(seconds=(lifetime - ahead).total_seconds() - 1)
    assert cache.get_credentials().access_key_id == "STS.cache1"
    clock.advance(seconds=2)
    assert cache.get_credentials().access_key_id == "STS.cache2"
    assert provider.calls == 2


def test_failed_refresh_keeps_valid_credentials_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    failure = CredentialsError(
        "ecs_ram_role", "http://100.100.100.200/latest/api/token did not answer within 1 s"
    )
    cache, provider = cache_over(
        clock, sts_credentials(1, T0 + HOUR), failure, failure, sts_credentials(2, T0 + 2 * HOUR)
    )
    cache.get_credentials()
    clock.advance(minutes=55)
    with caplog.at_level(logging.WARNING, logger="shared.credentials"):
        assert cache.get_credentials().access_key_id == "STS.cache1"
    (record,) = caplog.records
    assert record.name == "shared.credentials" and record.levelno == logging.WARNING
    assert "keeping the cached credentials until 2025-03-04T06:00:00+00:00" in record.getMessage()
    assert "ecs_ram_role: http://100.100.100.200/latest/api/token did not answer" in record.getMessage()
    assert_no_secret(record.getMessage(), ["SECRETcache1", "TOKENcache1"])
    clock.advance(seconds=RETRY_AFTER.total_seconds() - 1)
    cache.get_credentials()
    assert provider.calls == 2  # no new attempt before RETRY_AFTER
    clock.advance(seconds=2)
    cache.get_credentials()  # fails again, still valid
    clock.advance(seconds=RETRY_AFTER.total_seconds())
    assert cache.get_credentials().access_key_id == "STS.cache2"
    assert provider.calls == 4


def test_expired_credentials_and_failed_refresh_are_unavailable() -> None:
    clock = FakeClock()
    failure = CredentialsError("oidc_role_arn", "STS AssumeRoleWithOIDC failed: HTTP 503")
    cache, _ = cache_over(clock, sts_credentials(1, T0 + HOUR), failure)
    cache.get_credentials()
    clock.advance(minutes=59, seconds=1)  # within the 60 s safety margin: as good as expired
    with pytest.raises(CredentialsUnavailable) as caught:
        cache.get_credentials()
    assert str(caught.value) == (
        "credentials unavailable: oidc_role_arn: STS AssumeRoleWithOIDC failed: HTTP 503; "
        "the cached credentials expired at 2025-03-04T06:00:00+00:00"
    )
    assert caught.value.status == 503
    assert_no_secret(str(caught.value) + repr(caught.value), ["SECRETcache1", "TOKENcache1"])


def test_expired_credentials_are_replaced_as_soon_as_possible() -> None:
    clock = FakeClock()
    cache, provider = cache_over(clock, sts_credentials(1, T0 + HOUR), sts_credentials(2, T0 + 3 * HOUR))
    cache.get_credentials()
    clock.advance(hours=2)
    assert cache.get_credentials().access_key_id == "STS.cache2"


def test_first_failure_is_unavailable_without_doubling_the_prefix() -> None:
    clock = FakeClock()
    cache, _ = cache_over(
        clock, CredentialsUnavailable("credentials unavailable", "no source gave credentials")
    )
    with pytest.raises(CredentialsUnavailable) as caught:
        cache.get_credentials()
    assert str(caught.value) == "credentials unavailable: no source gave credentials"


def test_credentials_inside_the_margin_count_as_a_failure() -> None:
    clock = FakeClock()
    cache, _ = cache_over(clock, sts_credentials(1, T0 + timedelta(seconds=30)))
    with pytest.raises(
        CredentialsUnavailable, match="scripted: returned credentials that expire at .* 60 s margin"
    ):
        cache.get_credentials()


def test_min_valid_until_refreshes_when_a_fresh_copy_would_last_longer() -> None:
    clock = FakeClock()
    cache, provider = cache_over(
        clock, sts_credentials(1, T0 + HOUR), sts_credentials(2, T0 + 90 * timedelta(minutes=1))
    )
    cache.get_credentials()
    clock.advance(minutes=30)
    demanded = clock() + timedelta(minutes=45)
    assert cache.get_credentials(min_valid_until=demanded).access_key_id == "STS.cache2"
    assert provider.calls == 2


def test_min_valid_until_does_not_refresh_brand_new_credentials() -> None:
    clock = FakeClock()
    cache, provider = cache_over(clock, sts_credentials(1, T0 + HOUR))
    cache.get_credentials()
    clock.advance(minutes=1)
    assert cache.get_credentials(min_valid_until=clock() + timedelta(days=7)).access_key_id == "STS.cache1"
    assert provider.calls == 1


def test_min_valid_until_keeps_what_is_valid_when_nothing_better_comes() -> None:
    clock = FakeClock()
    same = sts_credentials(1, T0 + HOUR)
    older = sts_credentials(2, T0 + timedelta(minutes=40))
    cache, provider = cache_over(clock, same, older)
    cache.get_credentials()
    clock.advance(minutes=30)
    demanded = clock() + timedelta(minutes=45)
    assert cache.get_credentials(min_valid_until=demanded) == same
    assert cache.get_credentials(min_valid_until=demanded) == same
    assert provider.calls == 2  # one try, then quiet for RETRY_AFTER


def run_threads(count: int, target: Callable[[], object]) -> tuple[list[threading.Thread], list[object]]:
    """Start ``count`` threads that call ``target`` together; results (or exceptions) land in the list."""
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def work(index: int) -> None:
        barrier.wait(5)
        try:
            results[index] = target()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def test_fifty_threads_during_a_refresh_ahead_make_one_upstream_call() -> None:
    clock = FakeClock()
    cache, provider = cache_over(clock, sts_credentials(1, T0 + HOUR), sts_credentials(2, T0 + 2 * HOUR))
    cache.get_credentials()
    clock.advance(minutes=55)
    provider.gate, provider.entered = threading.Event(), threading.Event()
    threads, results = run_threads(50, cache.get_credentials)
    assert provider.entered.wait(5)
    provider.gate.set()
    for thread in threads:
        thread.join(5)
    assert provider.calls == 2
    assert all(isinstance(result, Credentials) for result in results)
    assert cache.get_credentials().access_key_id == "STS.cache2"


@pytest.mark.parametrize("warm", [False, True], ids=["cold_start", "expired"])
def test_fifty_threads_waiting_for_credentials_make_one_upstream_call(warm: bool) -> None:
    clock = FakeClock()
    cache, provider = cache_over(clock, sts_credentials(1, T0 + HOUR), sts_credentials(2, T0 + 3 * HOUR))
    if warm:
        cache.get_credentials()
        clock.advance(hours=2)
    provider.gate, provider.entered = threading.Event(), threading.Event()
    threads, results = run_threads(50, cache.get_credentials)
    assert provider.entered.wait(5)
    provider.gate.set()
    for thread in threads:
        thread.join(5)
    assert provider.calls == (2 if warm else 1)
    assert len({result.access_key_id for result in results}) == 1  # type: ignore[union-attr]


def test_after_a_failure_callers_without_credentials_fail_fast_then_retry() -> None:
    clock = FakeClock()
    cache, provider = cache_over(
        clock, CredentialsError("credentials_uri", "answered HTTP 500"), sts_credentials(1, T0 + HOUR)
    )
    for _ in range(3):
        with pytest.raises(CredentialsUnavailable, match="credentials_uri: answered HTTP 500"):
            cache.get_credentials()
    assert provider.calls == 1
    clock.advance(seconds=FAILURE_BACKOFF.total_seconds())
    assert cache.get_credentials().access_key_id == "STS.cache1"


def test_fifty_threads_waiting_on_a_failing_refresh_make_one_upstream_call() -> None:
    clock = FakeClock()
    cache, provider = cache_over(clock, CredentialsError("credentials_uri", "http://x/ answered HTTP 500"))
    provider.gate, provider.entered = threading.Event(), threading.Event()
    threads, results = run_threads(50, cache.get_credentials)
    assert provider.entered.wait(5)
    provider.gate.set()
    for thread in threads:
        thread.join(5)
    assert provider.calls == 1
    assert all(isinstance(result, CredentialsUnavailable) for result in results)
