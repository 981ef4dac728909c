"""The local bucket's object-created hook: called once after each stored object, never for a refused upload,
with an event shaped like the OSS trigger's (tests/events/oss_object_created.json) that the function reads."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from events import load_event
from stubs_local_oss import BUCKET, KEYS, REGION

from shared.devtools.local_oss import LocalOss
from shared.devtools.local_oss.events import ObjectStored
from shared.object_created.records import ObjectCreated, parse_event
from shared.oss.signer import presign_now

TIMEOUT = 10


class Recorder:
    """A hook that keeps what it is told, and can be made to fail."""

    def __init__(self) -> None:
        self.stored: list[ObjectStored] = []
        self.fail = False

    def __call__(self, stored: ObjectStored) -> None:
        self.stored.append(stored)
        if self.fail:
            raise RuntimeError("the hook failed")


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[tuple[LocalOss, Recorder]]:
    recorder = Recorder()
    with LocalOss(tmp_path / "oss", credentials=[KEYS], region=REGION, buckets=[BUCKET], max_object_size=1000,
                  on_stored=recorder) as oss:
        yield oss, recorder


def _put(oss: LocalOss, key: str, body: bytes, **headers: str) -> requests.Response:
    signed = presign_now(KEYS, bucket=BUCKET, key=key, region=REGION, endpoint=oss.endpoint, method="PUT",
                         headers=headers or None)
    return requests.put(signed.url, data=body, headers=signed.signed_headers, timeout=TIMEOUT)


def _shape(document: object) -> object:
    """The names at every level of a JSON document (its shape, without the values)."""
    if isinstance(document, dict):
        return {name: _shape(value) for name, value in document.items()}
    if isinstance(document, list):
        return [_shape(item) for item in document[:1]]
    return type(document).__name__


def test_each_put_raises_one_event_shaped_like_the_oss_trigger(hooked: tuple[LocalOss, Recorder]) -> None:
    oss, recorder = hooked
    answer = _put(oss, "incoming/INV 0042.pdf", b"%PDF-1.7", **{"Content-Type": "application/pdf"})
    assert answer.status_code == 200 and len(recorder.stored) == 1
    event = {"events": [recorder.stored[0].oss_event()]}
    assert _shape(event) == _shape(load_event("oss_object_created"))
    record = event["events"][0]
    assert (record["eventName"], record["eventSource"], record["region"]) == ("ObjectCreated:PutObject", "acs:oss",
                                                                              REGION)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["eventTime"])
    assert record["oss"]["bucket"]["name"] == BUCKET and record["oss"]["bucket"]["arn"].endswith(f":{BUCKET}")
    assert record["oss"]["object"] == {"key": "incoming/INV 0042.pdf", "size": 8, "deltaSize": 8,
                                       "eTag": hashlib.md5(b"%PDF-1.7").hexdigest().upper(),
                                       "objectMeta": {"mimeType": "application/pdf"}}
    assert record["responseElements"]["requestId"] == answer.headers["x-oss-request-id"]
    assert record["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
    (parsed,) = parse_event(event)  # the function reads it as the OSS trigger's
    assert isinstance(parsed, ObjectCreated) and (parsed.key, parsed.size) == ("incoming/INV 0042.pdf", 8)


def test_an_overwrite_reports_the_change_in_size(hooked: tuple[LocalOss, Recorder]) -> None:
    oss, recorder = hooked
    for body in (b"x" * 100, b"y" * 30):
        assert _put(oss, "again.txt", body).status_code == 200
    assert [stored.oss_event()["oss"]["object"]["deltaSize"] for stored in recorder.stored] == [100, -70]


def test_refused_uploads_and_deletes_raise_nothing(hooked: tuple[LocalOss, Recorder]) -> None:
    oss, recorder = hooked
    assert _put(oss, "big.bin", b"x" * 1001).status_code == 400
    url = presign_now(KEYS, bucket=BUCKET, key="forged.txt", region=REGION, endpoint=oss.endpoint, method="PUT").url
    assert requests.put(url[:-1] + ("0" if url[-1] != "0" else "1"), data=b"x", timeout=TIMEOUT).status_code == 403
    assert _put(oss, "kept.txt", b"x").status_code == 200
    delete = presign_now(KEYS, bucket=BUCKET, key="kept.txt", region=REGION, endpoint=oss.endpoint, method="DELETE")
    assert requests.delete(delete.url, timeout=TIMEOUT).status_code == 204
    assert [stored.stored.key for stored in recorder.stored] == ["kept.txt"]


def test_a_failing_hook_does_not_fail_the_upload(hooked: tuple[LocalOss, Recorder],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    oss, recorder = hooked
    recorder.fail = True
    with caplog.at_level(logging.ERROR, logger="shared.devtools.local_oss"):
        assert _put(oss, "still.txt", b"stored").status_code == 200
    assert oss.store.exists(BUCKET, "still.txt") and "object-created hook failed" in caplog.text
