"""The local bucket for tests: started on 127.0.0.1 (port 0) by a fixture, with a clock the test moves."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from stubs_credentials import T0, FakeClock

from shared.credentials import Credentials
from shared.devtools.local_oss import LocalOss
from shared.oss.signer import PresignedUrl, presign

REGION = "cn-hangzhou"
BUCKET = "examplebucket"
KEYS = Credentials("LTAI5tLOCALkey", "local-secret-0123456789")
STS = Credentials("STS.localtemp", "sts-secret-0123456789", "CAIS+local/token==")


@dataclass
class Bucket:
    """A running local bucket, its folder and clock, and a requests session to talk to it."""

    oss: LocalOss
    root: Path
    clock: FakeClock
    http: requests.Session

    def presign(self, key: str, *, credentials: Credentials = KEYS, **request: object) -> PresignedUrl:
        """Presign for this bucket at the clock's time (path style on 127.0.0.1)."""
        options: dict[str, object] = {"bucket": BUCKET, "region": REGION, "endpoint": self.oss.endpoint,
                                      "signing_time": self.clock(), **request}
        return presign(credentials, key=key, **options)  # type: ignore[arg-type]


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[Bucket]:
    """Start the local bucket on a free port; stop it (bounded) after the test."""
    clock = FakeClock(T0)
    oss = LocalOss(tmp_path / "oss", credentials=[KEYS, STS], region=REGION, clock=clock, buckets=[BUCKET],
                   domain="oss-local.test")
    with oss, requests.Session() as http:
        yield Bucket(oss, tmp_path / "oss", clock, http)


def error_of(response: requests.Response) -> dict[str, str]:
    """Parse OSS's XML error body into {element: text}."""
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}
