"""The small request bodies the local bucket reads whole (a CORS configuration, a multipart completion):
bounded, checked against the digests the request declares, and parsed as XML with no document type.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ElementTree

from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.exchange import Incoming
from shared.oss.canonical import UNSIGNED_PAYLOAD

MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"


def read_small_body(incoming: Incoming, limit: int, what: str) -> bytes:
    """A request body of at most ``limit`` bytes, checked against the digests the request declares."""
    if incoming.content_length is not None and incoming.content_length > limit:
        raise OssError("InvalidArgument", f"{what} is at most {limit} bytes.")
    body = b""
    while len(body) <= limit and (chunk := incoming.body.read(limit + 1 - len(body))):
        body += chunk
    if len(body) > limit:
        raise OssError("InvalidArgument", f"{what} is at most {limit} bytes.")
    declared = incoming.headers.get("x-oss-content-sha256", UNSIGNED_PAYLOAD)
    if declared != UNSIGNED_PAYLOAD and declared != hashlib.sha256(body).hexdigest():
        raise OssError("InvalidDigest", "The x-oss-content-sha256 you specified is not the SHA-256 of the body.")
    md5 = incoming.headers.get("content-md5")
    if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
        raise OssError("InvalidDigest", "The Content-MD5 you specified is not the MD5 of the body.")
    return body


def parse_xml(body: bytes, root_tag: str) -> ElementTree.Element:
    """The document's root element, which must be ``root_tag``; MalformedXML naming the problem otherwise.

    A document type or entity declaration is refused before parsing: no entity expansion, ever.
    """
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise malformed("a document type or entity declaration is not accepted")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise malformed("the body is not XML") from None
    if root.tag != root_tag:
        raise malformed(f"the root element must be {root_tag}, got {root.tag[:40]}")
    return root


def malformed(problem: str) -> OssError:
    """OSS's MalformedXML error, with what was wrong."""
    return OssError("MalformedXML", f"{MALFORMED} ({problem}).")
