"""PostObject: ``POST /`` to a bucket, a multipart/form-data body whose V4 policy authorises the upload.

The fields before ``file`` are read (``form_data``) and checked (``post_verify``); then the file streams
into the store, counted against ``content-length-range``: past its end 400 EntityTooLarge, short of its
start 400 EntityTooSmall, and nothing is kept either way. ``${filename}`` in the key becomes the file's
name. The answer is ``success_action_status`` (200 empty, 201 with a PostResponse document, 204 the
default) with ETag and Location. Signatures in the URL or headers are not looked at, as on OSS.

Form fields the local bucket keeps: key, Content-Type, x-oss-meta-*; it reads the V4 fields, the token,
policy and success_action_status. Any other field (Cache-Control, success_action_redirect, ...) is 400
InvalidArgument rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from shared.credentials.value import Credentials
from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.exchange import Incoming, Reply
from shared.devtools.local_oss.form_data import read_form
from shared.devtools.local_oss.post_verify import verify_post
from shared.devtools.local_oss.store import Body, ObjectStore, StoredObject
from shared.oss.canonical import uri_encode
from shared.oss.post_policy import FILENAME

_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&'*+^`|~")
READ_FIELDS = frozenset({"key", "policy", "content-type", "success_action_status", "x-oss-signature-version",
                         "x-oss-credential", "x-oss-date", "x-oss-signature", "x-oss-security-token"})


@dataclass(frozen=True)
class Posted:
    """An object stored by a form: the reply, the object, and the size of the one it replaced (None if new)."""

    reply: Reply
    stored: StoredObject
    previous_size: int | None


def post_object(incoming: Incoming, bucket: str, *, store: ObjectStore, keyring: Mapping[str, Credentials],
                region: str, now: datetime, max_object_size: int, base_url: str) -> Posted:
    """Verify the form, store its file under its key, and say how to answer; OssError when OSS would refuse."""
    form, file = read_form(incoming.body, incoming.headers.get("content-type"))
    if file is None:
        raise OssError("InvalidArgument", "The body of your POST request must contain a field named 'file', "
                                          "after the other fields.")
    grant = verify_post(form, bucket=bucket, keyring=keyring, region=region, now=now)
    _check_kept(grant.fields)
    key = grant.key.replace(FILENAME, file.filename)
    low, high = grant.size_range
    previous = store.head(bucket, key).size if store.exists(bucket, key) else None
    fields = grant.fields
    stored = store.put(bucket, key, _Counted(file, low, min(high, max_object_size)), None, modified=now,
                       content_type=fields.get("content-type") or file.content_type,
                       user_meta={name: value for name, value in fields.items() if name.startswith("x-oss-meta-")})
    return Posted(_answer(fields.get("success_action_status"), bucket, stored, base_url), stored, previous)


def _check_kept(fields: Mapping[str, str]) -> None:
    """Refuse fields the local bucket would not keep, and header values that could not be sent back intact."""
    unknown = sorted(name for name in fields if name not in READ_FIELDS and not name.startswith("x-oss-meta-"))
    if unknown:
        raise OssError("InvalidArgument", f"The local bucket does not take the form field(s) {', '.join(unknown)}; "
                                          f"it keeps key, Content-Type and x-oss-meta-*.")
    for name, value in fields.items():
        if name == "content-type" or name.startswith("x-oss-meta-"):
            if not set(name) <= _TOKEN or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
                raise OssError("InvalidArgument", f"The form field {name!r} becomes a header: its name must be a "
                                                  f"token and its value free of control characters.")


def _answer(status: str | None, bucket: str, stored: StoredObject, base_url: str) -> Reply:
    """200 (empty), 201 (PostResponse) or 204 (anything else), with ETag and Location."""
    location = base_url + uri_encode(stored.key, True)
    headers = [("ETag", stored.etag), ("Location", location)]
    if status == "200":
        return Reply(200, headers)
    if status != "201":
        return Reply(204, headers)
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>\n  <Bucket>{escape(bucket)}</Bucket>\n'
            f"  <Location>{escape(location)}</Location>\n  <Key>{escape(stored.key)}</Key>\n"
            f"  <ETag>{escape(stored.etag)}</ETag>\n</PostResponse>\n")
    return Reply(201, [*headers, ("Content-Type", "application/xml")], body.encode("utf-8"))


class _Counted:
    """The file's bytes, refused past ``high`` (EntityTooLarge) or, at their end, short of ``low`` (EntityTooSmall)."""

    def __init__(self, body: Body, low: int, high: int) -> None:
        self.body, self.low, self.high, self.size = body, low, high, 0

    def read(self, size: int, /) -> bytes:
        """Read on, counting."""
        data = self.body.read(min(size, self.high + 1 - self.size))
        self.size += len(data)
        if self.size > self.high:
            raise OssError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.",
                           MaxSizeAllowed=str(self.high))
        if not data and self.size < self.low:
            raise OssError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.",
                           MinSizeAllowed=str(self.low), ProposedSize=str(self.size))
        return data
