"""shared/object_created/records.py: the OSS trigger event, record by record; keys as given; bad records reported."""

from __future__ import annotations

import copy
import json

import pytest
from events import load_event

from shared.errors import InvalidArgument
from shared.object_created.records import (
    ObjectCreated,
    RecordProblem,
    parse_event,
)


def sample_record(**changes: object) -> dict:
    """The sample event's record, with dotted-path changes (a value of ... deletes the field)."""
    record = copy.deepcopy(load_event("oss_object_created")["events"][0])
    for path, value in changes.items():
        *parents, name = path.split("__")
        target = record
        for parent in parents:
            target = target[parent]
        if value is ...:
            del target[name]
        else:
            target[name] = value
    return record


def test_the_sample_event() -> None:
    event = load_event("oss_object_created")
    for form in (event, json.dumps(event), json.dumps(event).encode()):
        (record,) = parse_event(form)
        assert record == ObjectCreated(
            event_name="ObjectCreated:PutObject", event_time="2026-11-20T06:45:43.000Z", bucket="examplebucket",
            key="incoming/invoices/2026-11/INV 0042.pdf", size=122539, etag="688A7BF4F233DC9C88A80BF985AB7329",
            request_id="58F9FF2D3DF792092E12044C")


def test_keys_are_used_as_given_not_url_decoded() -> None:
    (record,) = parse_event({"events": [sample_record(oss__object__key="a%20b/c+d%2Fe ü.pdf")]})
    assert isinstance(record, ObjectCreated) and record.key == "a%20b/c+d%2Fe ü.pdf"


def test_idempotency_key_and_event_id_are_deterministic() -> None:
    (first,) = parse_event({"events": [sample_record()]})
    (again,) = parse_event({"events": [sample_record(responseElements={"requestId": "OTHER"})]})
    (newer,) = parse_event({"events": [sample_record(eventTime="2026-11-20T07:00:00.000Z")]})
    assert isinstance(first, ObjectCreated) and isinstance(again, ObjectCreated) and isinstance(newer, ObjectCreated)
    assert len(first.idempotency_key) == 64 and first.idempotency_key == again.idempotency_key
    assert newer.idempotency_key != first.idempotency_key
    assert len(first.event_id) == 32 and first.event_id != again.event_id
    (no_request_id,) = parse_event({"events": [sample_record(responseElements=...)]})
    assert no_request_id.event_id == first.idempotency_key[:32]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"eventName": ...}, "eventName is missing"),
        ({"eventName": 7}, "eventName is missing"),
        ({"oss": ...}, "oss is missing"),
        ({"oss__bucket": "examplebucket"}, "oss.bucket is missing"),
        ({"oss__bucket__name": ""}, "oss.bucket.name is missing"),
        ({"oss__object": ...}, "oss.object is missing"),
        ({"oss__object__key": ...}, "oss.object.key is missing"),
        ({"oss__object__key": "/leading"}, "oss.object.key: key must not start with '/'"),
        ({"oss__object__key": "k" * 1024}, "oss.object.key: key must be 1..1023 bytes"),
        ({"oss__object__size": "122539"}, "oss.object.size"),
        ({"oss__object__size": -1}, "oss.object.size"),
        ({"oss__object__size": True}, "oss.object.size"),
        ({"oss__object__eTag": ...}, "oss.object.eTag"),
        ({"eventTime": ...}, "eventTime is missing"),
        ({"eventTime": "yesterday"}, "eventTime is not an ISO 8601"),
        ({"eventTime": "2026-11-20T06:45:43"}, "eventTime is not an ISO 8601"),
    ],
)
def test_malformed_records_are_reported_not_raised(changes: dict, reason: str) -> None:
    good, bad = parse_event({"events": [sample_record(), sample_record(**changes)]})
    assert isinstance(good, ObjectCreated)
    assert isinstance(bad, RecordProblem) and bad.index == 1 and reason in bad.reason and not bad.ignored


def test_other_event_kinds_are_ignored_and_junk_is_reported() -> None:
    removed, junk = parse_event({"events": [sample_record(eventName="ObjectRemoved:DeleteObject"), "junk"]})
    assert isinstance(removed, RecordProblem) and removed.ignored and "not ObjectCreated" in removed.reason
    assert isinstance(junk, RecordProblem) and not junk.ignored and junk.index == 1


@pytest.mark.parametrize("event", [b"\xff", "not json", "[]", json.dumps({"records": []}),
                                   json.dumps({"events": {}}), 7])
def test_an_event_that_is_not_an_oss_event_raises(event: object) -> None:
    with pytest.raises(InvalidArgument):
        parse_event(event)  # type: ignore[arg-type]


def test_no_records_is_an_empty_list() -> None:
    assert parse_event({"events": []}) == []
