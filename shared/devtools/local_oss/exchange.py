"""The two values the server and the service pass each other: the request as received, the reply to send."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from shared.devtools.local_oss.store import Body


@dataclass(frozen=True)
class Incoming:
    """An HTTP request as the server received it: raw target, lower-cased headers, body, client address."""

    method: str
    target: bytes
    headers: Mapping[str, str]
    client_ip: str | None
    body: Body
    content_length: int | None
    chunked: bool = False  # Transfer-Encoding: chunked, so the body's end is its length
    request_id: str = ""


@dataclass
class Reply:
    """What to send back: status and headers, then either ``body`` or ``length`` bytes of ``file``."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    file: BinaryIO | None = None
    length: int = 0
