"""The development tools' server: a client that leaves mid-answer ends its connection quietly (no traceback
on the terminal of someone running serve), while the server goes on answering."""

from __future__ import annotations

import socket
import struct
import time
from urllib.parse import urlsplit

import pytest
from stubs_local_oss import Bucket


def test_a_client_that_resets_mid_download_leaves_no_traceback(bucket: Bucket,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    put = bucket.presign("big.bin", method="PUT")
    assert bucket.http.put(put.url, data=b"x" * (8 << 20), timeout=10).status_code == 200
    url = urlsplit(bucket.presign("big.bin").url)
    for _ in range(3):
        with socket.create_connection((url.hostname, url.port), timeout=10) as client:
            client.sendall(f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
            client.recv(1024)  # the answer has begun
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    upload = urlsplit(bucket.presign("half.bin", method="PUT").url)
    for _ in range(3):  # an upload cut off with a reset, as a reloaded page does
        with socket.create_connection((upload.hostname, upload.port), timeout=10) as client:
            client.sendall(f"PUT {upload.path}?{upload.query} HTTP/1.1\r\nHost: {upload.netloc}\r\n"
                           f"Content-Length: {8 << 20}\r\n\r\n".encode() + b"y" * (1 << 20))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with socket.create_connection((url.hostname, url.port), timeout=10) as client:  # a head cut off
        client.sendall(b"GET /examplebucket/big.bin HTTP/1.1\r\nHost: x")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.3)  # let the server's threads reach the broken connection
    assert bucket.http.get(bucket.presign("big.bin").url, timeout=10).content == b"x" * (8 << 20)
    assert "Traceback" not in capfd.readouterr().err
