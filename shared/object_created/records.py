"""OSS trigger events: ``{"events": [...]}`` to one checked ``ObjectCreated`` record per event.

The OSS trigger hands Function Compute a JSON document (bytes, text, or already a dict) whose
``events`` list holds one record per object change. Each record is checked on its own: a record with a
missing or malformed field becomes a ``RecordProblem`` naming the field, and the others go on. The
object key is used exactly as the event gives it: OSS does not document it as URL-encoded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from shared.clock import parse_iso8601
from shared.errors import InvalidArgument
from shared.fields import json_event
from shared.oss.object_keys import check_object_name

CREATED_PREFIX = "ObjectCreated:"


@dataclass(frozen=True)
class ObjectCreated:
    """One ``ObjectCreated:*`` record: which object, which version of it (eTag), and when."""

    event_name: str
    event_time: str  # as the event wrote it; the idempotency key depends on these exact characters
    bucket: str
    key: str
    size: int
    etag: str
    request_id: str | None = None

    @property
    def idempotency_key(self) -> str:
        """SHA-256 hex of (bucket, key, eTag, event time): the same for every retry of this record."""
        fields = json.dumps([self.bucket, self.key, self.etag, self.event_time], ensure_ascii=False)
        return hashlib.sha256(fields.encode("utf-8")).hexdigest()

    @property
    def event_id(self) -> str:
        """A short id for logs and receivers: from the OSS request id and the object, else the version."""
        if self.request_id:
            fields = json.dumps([self.request_id, self.bucket, self.key], ensure_ascii=False)
            return hashlib.sha256(fields.encode("utf-8")).hexdigest()[:32]
        return self.idempotency_key[:32]


@dataclass(frozen=True)
class RecordProblem:
    """A record that cannot be handled: its position in ``events`` and why (never its whole content)."""

    index: int
    reason: str
    ignored: bool = False  # True for a well-formed record of another kind (not ObjectCreated)


def parse_event(event: object) -> list[ObjectCreated | RecordProblem]:
    """One entry per record, in order; raise InvalidArgument when the event itself is not an OSS event."""
    document = json_event(event)
    records = document.get("events")
    if not isinstance(records, list):
        raise InvalidArgument("events", "an OSS trigger event must hold an 'events' list")
    return [parse_record(index, record) for index, record in enumerate(records)]


def parse_record(index: int, record: object) -> ObjectCreated | RecordProblem:
    """Check one record; a problem names the first missing or malformed field."""
    if not isinstance(record, Mapping):
        return RecordProblem(index, "the record is not a JSON object")
    name = record.get("eventName")
    if not isinstance(name, str) or not name:
        return RecordProblem(index, "eventName is missing or not a string")
    if not name.startswith(CREATED_PREFIX):
        return RecordProblem(index, f"eventName {name[:64]!r} is not ObjectCreated:*", ignored=True)
    try:
        return _created(record, name)
    except InvalidArgument as problem:
        return RecordProblem(index, problem.message)


def _created(record: Mapping[str, object], name: str) -> ObjectCreated:
    oss = _object(record, "oss", "oss")
    bucket = _text(_object(oss, "bucket", "oss.bucket"), "name", "oss.bucket.name")
    target = _object(oss, "object", "oss.object")
    key = _text(target, "key", "oss.object.key")
    try:
        check_object_name(key)
    except InvalidArgument as exc:
        raise InvalidArgument("oss.object.key", f"oss.object.key: {exc.message}") from None
    size = target.get("size")
    if type(size) is not int or size < 0:
        raise InvalidArgument("oss.object.size", "oss.object.size is missing or not a whole number")
    etag = _text(target, "eTag", "oss.object.eTag")
    event_time = _text(record, "eventTime", "eventTime")
    try:
        parse_iso8601(event_time)
    except ValueError:
        raise InvalidArgument("eventTime", "eventTime is not an ISO 8601 time with a zone") from None
    response = record.get("responseElements")
    request_id = response.get("requestId") if isinstance(response, Mapping) else None
    return ObjectCreated(event_name=name, event_time=event_time, bucket=bucket, key=key, size=size, etag=etag,
                         request_id=request_id if isinstance(request_id, str) and request_id else None)


def _object(parent: Mapping[str, object], name: str, path: str) -> Mapping[str, object]:
    value = parent.get(name)
    if not isinstance(value, Mapping):
        raise InvalidArgument(path, f"{path} is missing or not an object")
    return value


def _text(parent: Mapping[str, object], name: str, path: str) -> str:
    value = parent.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidArgument(path, f"{path} is missing or not a non-empty string")
    return value
