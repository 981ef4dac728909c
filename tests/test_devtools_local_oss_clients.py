"""Every key the local bucket stores comes back byte for byte through a presigned GET, with each
client the seeds' users have: curl, requests, urllib, Node (``http.get`` and ``fetch``) and Java
(``HttpURLConnection``).

The keys (the store tests' ROUND_TRIP list) are uploaded through presigned PUT URLs to the ``bucket``
fixture, a real server on 127.0.0.1; each client fetches all of them in one process (``node -e``,
``java Fetch.java``, one curl with an ``-o FILE URL`` pair per key) and writes one file per key. A
client is skipped only when its runtime is not installed and ``CI`` is unset; under CI that fails.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from stubs_local_oss import Bucket
from test_devtools_local_oss_store import ROUND_TRIP, key_id

TIMEOUT = 10  # seconds for one request
PROCESS_TIMEOUT = 120  # seconds for one client process fetching every key
# "." and ".." are whole dot segments. curl, requests and Node (WHATWG URLs) resolve them as RFC 3986
# says, turning /bucket/. and /bucket/.. into /bucket/ before sending, and read %2E as "." too, so no URL
# carries those two keys through them (shared.oss.object_keys.url_unsafe_reason); they are exactly the
# keys those clients skip. urllib and Java's HttpURLConnection send the path as written and fetch them.
DOT_SEGMENTS = (".", "..")

NODE_FETCH = r"""
const fs = require("fs");
const [list, out, mode] = process.argv.slice(-3);
const urls = fs.readFileSync(list, "utf8").split("\n").filter(Boolean);

function viaGet(url) {
  const client = url.startsWith("https:") ? require("https") : require("http");
  return new Promise((resolve, reject) => {
    client.get(url, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => response.statusCode === 200 ? resolve(Buffer.concat(chunks))
                                                           : reject(new Error(`HTTP ${response.statusCode}`)));
    }).on("error", reject);
  });
}

async function viaFetch(url) {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

(async () => {
  for (const [index, url] of urls.entries()) {
    try {
      fs.writeFileSync(`${out}/${index}`, await (mode === "fetch" ? viaFetch(url) : viaGet(url)));
    } catch (error) {
      fs.writeFileSync(`${out}/${index}.error`, String(error));
    }
  }
  process.exit(0);
})();
"""

JAVA_FETCH = r"""
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

public class Fetch {
    public static void main(String[] args) throws Exception {
        List<String> urls = Files.readAllLines(Path.of(args[0]));
        for (int index = 0; index < urls.size(); index++) {
            try {
                HttpURLConnection connection = (HttpURLConnection) new URL(urls.get(index)).openConnection();
                connection.setConnectTimeout(10000);
                connection.setReadTimeout(10000);
                if (connection.getResponseCode() != 200) {
                    throw new Exception("HTTP " + connection.getResponseCode());
                }
                try (InputStream body = connection.getInputStream()) {
                    Files.copy(body, Path.of(args[1], String.valueOf(index)));
                }
            } catch (Exception error) {
                Files.writeString(Path.of(args[1], index + ".error"), error.toString());
            }
        }
    }
}
"""


def _body(key: str) -> bytes:
    """Bytes unique to a key, with every byte value in them."""
    return b"\0\r\n" + key.encode() + bytes(range(256))


def _run(command: list[str], where: Path) -> None:
    done = subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=PROCESS_TIMEOUT)
    if done.returncode != 0:  # the scripts record each key's failure; this is the runtime's own
        raise AssertionError(f"{command[0]} exited {done.returncode}: {done.stderr[-2000:]}")


def _with_curl(urls: list[str], out: Path) -> None:
    pairs = [part for number, url in enumerate(urls) for part in ("-o", str(out / str(number)), url)]
    # Several URLs in one curl: it goes on after a failed one; what a user types is `curl -o FILE URL`.
    subprocess.run(["curl", "-sS", "--fail", "--max-time", str(TIMEOUT), *pairs], capture_output=True,
                   timeout=PROCESS_TIMEOUT)


def _with_requests(urls: list[str], out: Path) -> None:
    with requests.Session() as session:
        for number, url in enumerate(urls):
            response = session.get(url, timeout=TIMEOUT)
            if response.status_code == 200:
                (out / str(number)).write_bytes(response.content)
            else:
                (out / f"{number}.error").write_text(f"HTTP {response.status_code}")


def _with_urllib(urls: list[str], out: Path) -> None:
    for number, url in enumerate(urls):
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                (out / str(number)).write_bytes(response.read())
        except OSError as error:
            (out / f"{number}.error").write_text(repr(error))


def _with_node(mode: str) -> Callable[[list[str], Path], None]:
    def fetch(urls: list[str], out: Path) -> None:
        (out.parent / "urls.txt").write_text("\n".join(urls) + "\n")
        _run(["node", "-e", NODE_FETCH, str(out.parent / "urls.txt"), str(out), mode], out)
    return fetch


def _with_java(urls: list[str], out: Path) -> None:
    (out.parent / "urls.txt").write_text("\n".join(urls) + "\n")
    (out.parent / "Fetch.java").write_text(JAVA_FETCH)
    _run(["java", str(out.parent / "Fetch.java"), str(out.parent / "urls.txt"), str(out)], out)


@dataclass(frozen=True)
class Client:
    """A client the seeds' users fetch presigned URLs with, and the program it needs (None: this Python)."""

    name: str
    program: str | None
    fetch: Callable[[list[str], Path], None]
    resolves_dot_segments: bool

    def keys(self) -> list[str]:
        """The keys a URL can carry through this client."""
        return [key for key in ROUND_TRIP if not (self.resolves_dot_segments and key in DOT_SEGMENTS)]


CLIENTS = [Client("curl", "curl", _with_curl, True), Client("requests", None, _with_requests, True),
           Client("urllib", None, _with_urllib, False), Client("node-http-get", "node", _with_node("get"), True),
           Client("node-fetch", "node", _with_node("fetch"), True),
           Client("java-HttpURLConnection", "java", _with_java, False)]


def _require(program: str | None) -> None:
    """Skip when a client's runtime is missing, unless under CI, where every client must run."""
    if program is None or shutil.which(program) is not None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{program} is not installed; CI runs every client")
    pytest.skip(f"{program} is not installed")


def _upload(bucket: Bucket, keys: list[str]) -> list[str]:
    """PUT each key's body through a presigned URL; return a presigned GET URL per key.

    http.client sends each URL's path as written, so the dot-segment keys are uploaded too."""
    connection = http.client.HTTPConnection("127.0.0.1", bucket.oss.port, timeout=TIMEOUT)
    try:
        for key in keys:
            parts = urlsplit(bucket.presign(key, method="PUT").url)
            connection.request("PUT", f"{parts.path}?{parts.query}", body=_body(key))
            response = connection.getresponse()
            status, answer = response.status, response.read()
            assert status == 200, (key_id(key), answer)
    finally:
        connection.close()
    return [bucket.presign(key).url for key in keys]


def _outcome(out: Path, number: int) -> str:
    error = out / f"{number}.error"
    if error.exists():
        return error.read_text()[:200]
    got = out / str(number)
    return f"{got.stat().st_size} other bytes" if got.exists() else "nothing written"


@pytest.mark.parametrize("client", CLIENTS, ids=[client.name for client in CLIENTS])
def test_every_key_comes_back_byte_for_byte(bucket: Bucket, client: Client, tmp_path: Path) -> None:
    _require(client.program)
    keys = client.keys()
    urls = _upload(bucket, keys)
    out = tmp_path / "fetched"
    out.mkdir()
    client.fetch(urls, out)
    wrong = {key_id(key): _outcome(out, number) for number, key in enumerate(keys)
             if not (out / str(number)).exists() or (out / str(number)).read_bytes() != _body(key)}
    assert wrong == {}, f"{client.name} did not get {len(wrong)} of {len(keys)} keys"
