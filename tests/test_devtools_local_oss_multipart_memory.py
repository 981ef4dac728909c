"""The local bucket's memory while a 256 MiB multipart upload goes through it: the bucket in a process of its
own, 16 parts of 16 MiB, 4 at a time, presigned; its peak RSS (VmHWM) against its RSS before, and the object
read back whole."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from multipart_requests import TIMEOUT, Remote, complete, initiate, object_etag, upload_part
from processes import ROOT, free_port, wait_for_port
from stubs_local_oss import BUCKET, KEYS, REGION

from shared.clock import utc_now
from shared.oss.signer import presign

SERVE = r"""
import sys
from shared.credentials import Credentials
from shared.clock import utc_now
from shared.devtools.local_oss import LocalOss
root, port, key_id, secret, region, bucket = sys.argv[1:7]
with LocalOss(root, credentials=[Credentials(key_id, secret)], region=region, port=int(port), buckets=[bucket]):
    sys.stdin.read()  # serve until the test closes stdin
"""
BIG_PART = 16 << 20
BIG_PARTS = 16  # 256 MiB in all
RSS_ALLOWANCE = 64 << 20


def _memory_kib(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure (VmRSS, VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_256_mib_in_16_mib_parts_keeps_the_servers_memory_flat(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(tmp_path / "oss"), str(port), KEYS.access_key_id,
                               KEYS.access_key_secret, REGION, BUCKET], cwd=ROOT, stdin=subprocess.PIPE,
                              env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)})
    try:
        wait_for_port(port, server)
        remote = Remote(f"http://127.0.0.1:{port}", requests.Session())
        warm = initiate(remote, "warm-up")
        upload_part(remote, "warm-up", warm, 1, b"x" * 1000)
        baseline = _memory_kib(server.pid, "VmRSS") << 10
        etag, digest = _big_upload(remote)
        peak = _memory_kib(server.pid, "VmHWM") << 10
        got = hashlib.sha256()
        url = presign(KEYS, bucket=BUCKET, key="big.bin", region=REGION, signing_time=utc_now(),
                      endpoint=remote.endpoint).url
        with requests.get(url, stream=True, timeout=TIMEOUT) as answer:
            assert answer.headers["ETag"] == etag
            for chunk in answer.iter_content(1 << 20):
                got.update(chunk)
        assert got.hexdigest() == digest
        assert peak - baseline < RSS_ALLOWANCE, f"the server grew by {(peak - baseline) >> 20} MiB"
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=30)


def _big_upload(remote: Remote) -> tuple[str, str]:
    """Upload BIG_PARTS parts of BIG_PART bytes, 4 at a time; return the object's ETag and the SHA-256 sent."""
    upload_id = initiate(remote, "big.bin")
    base = os.urandom(BIG_PART)
    bodies = [hashlib.sha256(bytes([n])).digest() + base[32:] for n in range(BIG_PARTS)]  # distinct parts
    whole = hashlib.sha256()
    for data in bodies:
        whole.update(data)

    def send(number: int) -> str:
        answer = requests.put(presign(KEYS, bucket=BUCKET, key="big.bin", region=REGION, signing_time=utc_now(),
                                      endpoint=remote.endpoint, method="PUT",
                                      params={"partNumber": str(number), "uploadId": upload_id}).url,
                              data=bodies[number - 1], timeout=120)
        assert answer.status_code == 200, answer.text
        return answer.headers["ETag"]

    with ThreadPoolExecutor(4) as pool:
        etags = list(pool.map(send, range(1, BIG_PARTS + 1)))
    done = complete(remote, "big.bin", upload_id, list(enumerate(etags, start=1)))
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == object_etag(bodies)
    return done.headers["ETag"], whole.hexdigest()
