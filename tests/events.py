"""Sample Function Compute events (tests/events/*.json), loaded by name, with variants built from them."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict:
    """A fresh copy of tests/events/<name>.json."""
    return json.loads((EVENTS / f"{name}.json").read_text("utf-8"))


def fc3_event(method: str = "GET", path: str = "/presign", *, query: dict | None = None, headers: dict | None = None,
              body: bytes | str = b"", base64_body: bool = False, source_ip: str = "203.0.113.7") -> dict:
    """An FC 3.0 HTTP trigger event shaped like the sample, with the given parts."""
    event = copy.deepcopy(load_event("fc3_http_trigger"))
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path, sourceIp=source_ip)
    event["queryParameters"] = query or {}
    event["headers"] = headers or {}
    raw = body.encode("utf-8") if isinstance(body, str) else body
    event["body"] = base64.b64encode(raw).decode("ascii") if base64_body else raw.decode("utf-8")
    event["isBase64Encoded"] = base64_body
    return event


def apigw_event(method: str = "POST", path: str = "/presign", *, body: object = None, headers: dict | None = None,
                query: dict | None = None, encoded: object = True) -> dict:
    """An API Gateway event shaped like the sample; a dict body is sent as base64 JSON."""
    event = copy.deepcopy(load_event("apigw_trigger"))
    event["httpMethod"] = method
    event["path"] = path
    event["headers"] = headers if headers is not None else event["headers"]
    event["queryParameters"] = query or {}
    raw = json.dumps(body).encode("utf-8") if body is not None else b""
    event["body"] = base64.b64encode(raw).decode("ascii") if str(encoded).lower() == "true" else raw.decode("utf-8")
    event["isBase64Encoded"] = encoded
    return event
