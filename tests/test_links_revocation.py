"""Revocation: the LINK_* settings, the revocation document, the one-minute cache, fail closed and fail open."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from presign_env import ACCESS_KEY, environment
from processes import free_port
from stubs_credentials import FakeClock

from shared.clock import parse_iso8601
from shared.credentials import ExplicitSource
from shared.devtools.local_oss import LocalOss
from shared.errors import ConfigError, InvalidLink, NotFound, UpstreamError
from shared.links.revocation import (
    UNAVAILABLE,
    Revocation,
    RevocationList,
    RevocationObject,
    parse_revocation_document,
)
from shared.links.settings import LinksSettings
from shared.links.tokens import new_link
from shared.oss.client import OssClient
from shared.oss.issuer import Issuer
from shared.oss.signer import presign

NOW = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)
LINK = new_link(bucket="examplebucket", key="reports/a.pdf", ttl=86_400, url_expires=300, now=NOW,
                random_bytes=lambda size: b"\x01" * size)
OTHER_ID = "AAAAAAAAAAAAAAAA"


def settings(**overrides: str) -> LinksSettings:
    return LinksSettings(environment(LINK_SIGNING_KEYS="k1:" + "s" * 32, **overrides))


class Fetches:
    """A revocation object's successive bodies (or errors), counting the reads."""

    def __init__(self, *answers: bytes | Exception) -> None:
        self.answers = list(answers)
        self.count = 0

    def __call__(self) -> bytes:
        answer = self.answers[min(self.count, len(self.answers) - 1)]
        self.count += 1
        if isinstance(answer, Exception):
            raise answer
        return answer


def document(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_settings_read_every_link_variable() -> None:
    read = settings(LINK_REVOKED_IDS=f" {LINK.link_id}, {OTHER_ID} ", LINK_NOT_BEFORE="2026-11-01T00:00:00Z",
                    LINK_REVOCATION_OBJECT="links/revoked.json", LINK_REVOCATION_FAIL_OPEN="true",
                    LINK_BIND_IP="yes", LINK_BASE_URL="https://dl.example.com/files/")
    assert read.revoked_ids == {LINK.link_id, OTHER_ID} and read.not_before == parse_iso8601("2026-11-01T00:00:00Z")
    assert read.revocation_object == ("examplebucket", "links/revoked.json") and read.fail_open and read.bind_ip
    assert read.base_url == "https://dl.example.com/files" and "s" * 32 not in repr(read)
    other = settings(LINK_REVOCATION_OBJECT="oss://other-bucket/a/b.json")
    assert other.revocation_object == ("other-bucket", "a/b.json")
    plain = settings()
    assert (plain.revoked_ids, plain.not_before, plain.revocation_object, plain.fail_open) == (
        frozenset(), None, None, False)


@pytest.mark.parametrize(
    ("overrides", "variable", "fragment"),
    [
        ({"LINK_REVOKED_IDS": "abc"}, "LINK_REVOKED_IDS", "'abc', which is not a link id"),
        ({"LINK_NOT_BEFORE": "2026-11-21"}, "LINK_NOT_BEFORE", "LINK_NOT_BEFORE must give its time zone"),
        ({"LINK_REVOCATION_OBJECT": "revoked.json", "OSS_BUCKET": ""}, "LINK_REVOCATION_OBJECT", "OSS_BUCKET"),
        ({"LINK_REVOCATION_OBJECT": "oss://Bad_Bucket/k"}, "LINK_REVOCATION_OBJECT", "not a valid name"),
        ({"LINK_REVOCATION_OBJECT": "oss://bucket"}, "LINK_REVOCATION_OBJECT", "key"),
        ({"LINK_REVOCATION_FAIL_OPEN": "maybe"}, "LINK_REVOCATION_FAIL_OPEN", "true or false"),
        ({"LINK_BIND_IP": "2"}, "LINK_BIND_IP", "true or false"),
        ({"LINK_BASE_URL": "links.example.com"}, "LINK_BASE_URL", "http or https URL"),
        ({"LINK_BASE_URL": "https://x.example.com/?a=1"}, "LINK_BASE_URL", "without query"),
        ({"LINK_BASE_URL": "https://x.example.com:port"}, "LINK_BASE_URL", "http or https URL"),
    ],
)
def test_settings_errors_name_their_variable(overrides: dict, variable: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**overrides)
    assert caught.value.variable == variable and fragment in caught.value.message


def test_the_environment_list_revokes_by_id_and_by_cut_off() -> None:
    assert RevocationList([OTHER_ID]).reason(LINK) is None
    assert RevocationList([LINK.link_id]).reason(LINK) == "revoked: link id listed in LINK_REVOKED_IDS"
    assert RevocationList((), NOW + timedelta(seconds=1)).reason(LINK) == "revoked: issued before LINK_NOT_BEFORE"
    assert RevocationList((), NOW).reason(LINK) is None  # issued at the cut-off itself: still valid
    with pytest.raises(InvalidLink) as caught:
        Revocation(RevocationList([LINK.link_id])).check(LINK, now=NOW)
    assert caught.value.link_id == LINK.link_id and caught.value.message == "no such link"


def test_the_document() -> None:
    listed = parse_revocation_document(document(revoked_ids=[LINK.link_id], not_before="2026-11-01T00:00:00Z"))
    assert listed.revoked_ids == {LINK.link_id} and listed.not_before == parse_iso8601("2026-11-01T00:00:00Z")
    assert listed.reason(LINK) == "revoked: link id listed in the revocation object"
    assert parse_revocation_document(b"{}").reason(LINK) is None
    late = parse_revocation_document(document(not_before="2026-11-22T00:00:00Z", revoked_ids=[]))
    assert late.reason(LINK) == "revoked: issued before the revocation object's not_before"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"\xff", "not UTF-8 JSON"), (b"{", "not UTF-8 JSON"), (b"[]", "not a JSON object"),
        (b"[" * 100_000, "not UTF-8 JSON"), (document(revoked_id=[]), "unknown field 'revoked_id'"),
        (document(revoked_ids="x"), "revoked_ids is not a list"),
        (document(revoked_ids=[OTHER_ID, "short"]), "revoked_ids[1] is not a link id"),
        (document(not_before=5), "not_before is not a string"), (document(not_before="soon"), "not_before must be"),
    ],
    ids=["utf8", "json", "array", "nesting", "typo", "ids-type", "id", "cut-off-type", "cut-off"],
)
def test_document_errors_say_why(body: bytes, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_revocation_document(body)
    assert fragment in str(caught.value)


def test_the_object_is_cached_for_a_minute_and_then_reread() -> None:
    fetches = Fetches(b"{}", document(revoked_ids=[LINK.link_id]))
    revocation = Revocation(RevocationList(), RevocationObject(fetches, where="oss://b/k"))
    assert revocation.check(LINK, now=NOW) is None
    assert revocation.check(LINK, now=NOW + timedelta(seconds=59)) is None and fetches.count == 1
    with pytest.raises(InvalidLink) as caught:
        revocation.check(LINK, now=NOW + timedelta(seconds=60))
    assert caught.value.reason == "revoked: link id listed in the revocation object" and fetches.count == 2


def test_fail_closed_by_default_and_retry_after_five_seconds() -> None:
    fetches = Fetches(UpstreamError("OSS is unreachable (ConnectionError) for oss://b/k"), b"{}")
    revocation = Revocation(RevocationList(), RevocationObject(fetches, where="oss://b/k"))
    for seconds in (0, 4):
        with pytest.raises(UpstreamError) as caught:
            revocation.check(LINK, now=NOW + timedelta(seconds=seconds))
        assert caught.value.message == UNAVAILABLE and caught.value.status == 502
        assert caught.value.detail == "revocation object oss://b/k cannot be read: OSS is unreachable " \
                                      "(ConnectionError) for oss://b/k"
    assert fetches.count == 1
    assert revocation.check(LINK, now=NOW + timedelta(seconds=5)) is None and fetches.count == 2


def test_a_missing_or_malformed_object_fails_closed_too() -> None:
    for answer, why in ((NotFound("no such object: k", code="NoSuchKey"), "cannot be read: no such object: k"),
                        (document(revoked_id=[LINK.link_id]), "has an unknown field 'revoked_id'")):
        revocation = Revocation(RevocationList(), RevocationObject(Fetches(answer), where="oss://b/k"))
        with pytest.raises(UpstreamError) as caught:
            revocation.check(LINK, now=NOW)
        assert caught.value.detail.startswith(f"revocation object oss://b/k {why}")  # type: ignore[union-attr]


def test_fail_open_serves_and_says_so() -> None:
    revocation = Revocation(RevocationList(), RevocationObject(Fetches(UpstreamError("down")), where="oss://b/k"),
                            fail_open=True)
    note = revocation.check(LINK, now=NOW)
    assert note == "revocation object oss://b/k cannot be read: down; served anyway (LINK_REVOCATION_FAIL_OPEN=true)"
    with pytest.raises(InvalidLink):  # the environment's list still applies
        Revocation(RevocationList([LINK.link_id]), revocation.source, fail_open=True).check(LINK, now=NOW)


def test_against_the_local_bucket_with_a_header_signed_get(tmp_path) -> None:
    clock = FakeClock(NOW)
    with LocalOss(tmp_path, credentials=[ACCESS_KEY], region="cn-hangzhou", clock=clock,
                  buckets=["examplebucket"]) as oss:
        issuer = Issuer(ExplicitSource(ACCESS_KEY), region="cn-hangzhou", endpoint=oss.endpoint, clock=clock)
        read = settings(OSS_ENDPOINT=oss.endpoint, LINK_REVOCATION_OBJECT="links/revoked.json")
        revocation = Revocation.from_settings(read, OssClient(issuer))
        with pytest.raises(UpstreamError, match="try again"):  # not written yet: fail closed
            revocation.check(LINK, now=clock())
        put(oss.endpoint, "links/revoked.json", document(revoked_ids=[OTHER_ID]))
        clock.advance(seconds=5)
        assert revocation.check(LINK, now=clock()) is None
        put(oss.endpoint, "links/revoked.json", document(revoked_ids=[OTHER_ID, LINK.link_id]))
        clock.advance(seconds=59)
        assert revocation.check(LINK, now=clock()) is None  # still the cached copy
        clock.advance(seconds=1)
        with pytest.raises(InvalidLink):
            revocation.check(LINK, now=clock())


@pytest.mark.parametrize("fail_open", [False, True], ids=["fail-closed", "fail-open"])
def test_oss_unreachable(fail_open: bool) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    issuer = Issuer(ExplicitSource(ACCESS_KEY), region="cn-hangzhou", endpoint=endpoint, clock=lambda: NOW)
    read = settings(OSS_ENDPOINT=endpoint, LINK_REVOCATION_OBJECT="revoked.json",
                    LINK_REVOCATION_FAIL_OPEN=str(fail_open).lower())
    revocation = Revocation.from_settings(read, OssClient(issuer, timeout=(1.0, 1.0)))
    if fail_open:
        assert "unreachable" in revocation.check(LINK, now=NOW)  # type: ignore[operator]
    else:
        with pytest.raises(UpstreamError) as caught:
            revocation.check(LINK, now=NOW)
        assert "unreachable" in caught.value.detail  # type: ignore[operator]


def put(endpoint: str, key: str, body: bytes) -> None:
    url = presign(ACCESS_KEY, bucket="examplebucket", key=key, region="cn-hangzhou", endpoint=endpoint,
                  method="PUT", signing_time=NOW).url
    assert requests.put(url, data=body, timeout=10).status_code == 200
