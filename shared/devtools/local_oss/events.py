"""What the local bucket tells its hook after it stored an object, and the OSS trigger event it makes.

``ObjectStored.oss_event()`` is one record shaped as the OSS trigger sends it to Function Compute
(``{"events": [record]}``; ``tests/events/oss_object_created.json`` is a real sample): the event name,
time with milliseconds, the bucket's ARN, the object's key, size, change in size, eTag (upper-case hex,
unquoted) and MIME type, the uploader's address and the request id the upload was answered with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from shared.devtools.local_oss.store import StoredObject

PUT_OBJECT = "ObjectCreated:PutObject"
POST_OBJECT = "ObjectCreated:PostObject"
COMPLETE_MULTIPART_UPLOAD = "ObjectCreated:CompleteMultipartUpload"
LOCAL_ACCOUNT_ID = "1234567890123456"  # the account that owns the local buckets, as ARNs and identities name it


@dataclass(frozen=True)
class ObjectStored:
    """One object the local bucket has just stored, and the request that stored it."""

    event_name: str
    bucket: str
    stored: StoredObject
    region: str
    request_id: str
    source_ip: str | None
    time: datetime
    previous_size: int | None  # the size of the object this one replaced; None when the key was new

    def oss_event(self) -> dict[str, object]:
        """This object's record, as the OSS trigger puts it in the event's ``events`` list."""
        stored = self.stored
        return {
            "eventName": self.event_name,
            "eventSource": "acs:oss",
            "eventTime": event_time(self.time),
            "eventVersion": "1.0",
            "oss": {
                "bucket": {"arn": f"acs:oss:{self.region}:{LOCAL_ACCOUNT_ID}:{self.bucket}", "name": self.bucket,
                           "ownerIdentity": LOCAL_ACCOUNT_ID, "virtualBucket": ""},
                "object": {"deltaSize": stored.size - (self.previous_size or 0), "eTag": stored.etag.strip('"'),
                           "key": stored.key, "size": stored.size, "objectMeta": {"mimeType": stored.content_type}},
                "ossSchemaVersion": "1.0",
                "ruleId": hashlib.sha1(f"local-oss:{self.bucket}".encode()).hexdigest(),  # one trigger rule a bucket
            },
            "region": self.region,
            "requestParameters": {"sourceIPAddress": self.source_ip or ""},
            "responseElements": {"requestId": self.request_id},
            "userIdentity": {"principalId": LOCAL_ACCOUNT_ID},
        }


def event_time(moment: datetime) -> str:
    """OSS's form of an event's time: UTC, milliseconds, ``Z`` (``2026-11-20T06:45:43.000Z``)."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
