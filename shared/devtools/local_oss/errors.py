"""The local bucket's errors: one class, one table from code to HTTP status, one XML renderer.

Every refusal is an ``OssError(code, message, **details)``; the status comes from ``STATUS`` by
code, so each code has exactly one status. ``error_body`` renders the body OSS sends::

    <Error><Code/><Message/><RequestId/><HostId/>...details...</Error>
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.sax.saxutils import escape

STATUS: dict[str, int] = {
    "InvalidArgument": 400,
    "InvalidURI": 400,
    "InvalidObjectName": 400,
    "InvalidBucketName": 400,
    "InvalidDigest": 400,
    "IncompleteBody": 400,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "MalformedPOSTRequest": 400,
    "InvalidPolicyDocument": 400,
    "MalformedXML": 400,
    "InvalidPart": 400,
    "InvalidPartOrder": 400,
    "BadRequest": 400,
    "AccessDenied": 403,
    "AccessForbidden": 403,
    "InvalidAccessKeyId": 403,
    "RequestTimeTooSkewed": 403,
    "SignatureDoesNotMatch": 403,
    "NoSuchBucket": 404,
    "NoSuchKey": 404,
    "NoSuchCORSConfiguration": 404,
    "NoSuchUpload": 404,
    "KeyConflict": 409,
    "MissingContentLength": 411,
    "InvalidRange": 416,
    "InternalError": 500,
    "NotImplemented": 501,
}
# XML 1.0 cannot carry these characters at all, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class OssError(Exception):
    """Raised when the local bucket refuses a request; ``details`` become extra XML elements."""

    def __init__(self, code: str, message: str, *, headers: Mapping[str, str] | None = None,
                 **details: str) -> None:
        if code not in STATUS:
            raise ValueError(f"unknown OSS error code {code!r}")
        super().__init__(message)
        self.code = code
        self.status = STATUS[code]
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"OssError({self.code!r}, {self.message!r})"


def error_body(error: OssError, *, request_id: str, host_id: str) -> bytes:
    """Render OSS's XML error document for an error."""
    fields = {"Code": error.code, "Message": error.message, "RequestId": request_id, "HostId": host_id,
              **error.details}
    inner = "".join(f"\n  <{name}>{_text(value)}</{name}>" for name, value in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}\n</Error>\n'.encode()


def _text(value: str) -> str:
    """Escape for XML, writing characters XML cannot carry as ``\\xNN``."""
    return escape(_NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value))
