"""Pages on their own origins against ``python -m shared serve``'s processes, in a real Chromium.

One serve runs for the module, with ``--cors-origin`` naming a second page server; a third page server
is on no list. Every request a page makes is cross-origin: to the presign and links functions and to
the local bucket.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from browser import Browser, Page
from http_servers import serving_wsgi
from processes import free_port
from serve_process import Served, free_ports, port_arguments, serve_environment

BLANK = b"""<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>another site</title></head><body><p>another site</p></body></html>"""


def _site(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [BLANK]


@dataclass
class Demo:
    """serve with its demo page, a page origin it lists and one it does not."""

    served: Served
    ports: dict[str, int]
    data: Path
    listed: str
    unlisted: str

    @property
    def settings(self) -> dict[str, str]:
        return dict(json.loads((self.data / "dev-settings.json").read_text("utf-8")))

    @property
    def presign(self) -> str:
        return f"http://127.0.0.1:{self.ports['--port']}"

    @property
    def links(self) -> str:
        return f"http://127.0.0.1:{self.ports['--links-port']}"

    @property
    def page(self) -> str:
        return f"http://127.0.0.1:{self.ports['--page-port']}/"

    def stored(self, key: str) -> bytes:
        """An object's bytes, fetched through a presigned GET the way any client would."""
        asked = requests.get(f"{self.presign}/presign", params={"key": key},
                             headers={"X-Api-Key": self.settings["api_key"]}, timeout=10)
        asked.raise_for_status()
        fetched = requests.get(asked.json()["url"], timeout=10)
        fetched.raise_for_status()
        return fetched.content


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("home")
    with ExitStack() as running:
        listed = running.enter_context(serving_wsgi(_site))
        unlisted = running.enter_context(serving_wsgi(_site)).replace("127.0.0.1", "localhost")
        ports = free_ports()
        arguments = [*port_arguments(ports), "--data", str(home / "oss"), "--cors-origin", listed]
        served = running.enter_context(Served(arguments, serve_environment(home)))
        served.ready()
        yield Demo(served, ports, home / "oss", listed, unlisted)


def _call(page: Page, url: str, body: dict[str, object], headers: dict[str, str]) -> dict[str, object]:
    """POST JSON from the page; the status and the parsed body, as the page sees them."""
    script = f"""fetch({json.dumps(url)}, {{method: 'POST', body: {json.dumps(json.dumps(body))},
                   headers: {json.dumps({**headers, "Content-Type": "application/json"})}}})
        .then(async r => ({{status: r.status, body: await r.json()}}))"""
    answer: dict[str, object] = page.evaluate(script)
    return answer


def test_the_seeds_fetch_and_blob_download_saves_the_objects_bytes(demo: Demo, page: Page, chromium: Browser,
                                                                    tmp_path: Path) -> None:
    page.goto(demo.listed)
    chromium.allow_downloads(tmp_path)
    since = len(chromium.events)
    script = f"""(async () => {{
        const asked = await fetch('{demo.presign}/presign', {{method: 'POST',
            headers: {{'X-Api-Key': {json.dumps(demo.settings["api_key"])}, 'Content-Type': 'application/json'}},
            body: JSON.stringify({{key: 'hello.txt', filename: 'saved hello.txt'}})}});
        const fileURL = (await asked.json()).url;
        const blob = await fetch(fileURL).then(r => r.blob());
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob); a.download = 'saved hello.txt';
        document.body.appendChild(a); a.click(); a.remove();
        return blob.size;
    }})()"""
    size = page.evaluate(script)
    name = chromium.wait_download(since=since)
    assert name == "saved hello.txt"
    assert (tmp_path / name).read_bytes() == demo.stored("hello.txt")
    assert size == len(demo.stored("hello.txt"))


def test_presign_answers_a_page_with_an_api_key_and_with_a_bearer_token(demo: Demo, page: Page) -> None:
    page.goto(demo.listed)
    with_key = _call(page, f"{demo.presign}/presign", {"key": "hello.txt"}, {"X-Api-Key": demo.settings["api_key"]})
    assert with_key["status"] == 200
    token = _token(demo)
    with_token = _call(page, f"{demo.presign}/presign", {"key": "hello.txt"}, {"Authorization": f"Bearer {token}"})
    assert with_token["status"] == 200
    assert str(with_token["body"]["url"]).startswith(  # type: ignore[index]
        f"http://127.0.0.1:{demo.ports['--oss-port']}/examplebucket/hello.txt?")


def _token(demo: Demo) -> str:
    """A JWT for the development principal, minted by the command serve prints."""
    lines = [line for line in demo.served.out if "python3 -m shared token" in line]
    assert lines, demo.served.out
    assert "PRESIGN_JWT_SECRET=" + shlex.quote(demo.settings["jwt_secret"]) in lines[0]
    import subprocess
    import sys

    from processes import ROOT

    minted = subprocess.run([sys.executable, "-m", "shared", "token", "--sub", "dev"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30, env={**serve_environment(ROOT),
                                                        "PRESIGN_JWT_SECRET": demo.settings["jwt_secret"]})
    assert minted.returncode == 0, minted.stderr
    return minted.stdout.strip()


def test_an_error_answer_is_readable_by_the_page(demo: Demo, page: Page) -> None:
    page.goto(demo.listed)
    refused = _call(page, f"{demo.presign}/presign", {"key": "hello.txt"}, {"X-Api-Key": "not-the-key"})
    assert refused["status"] == 401
    assert refused["body"]["error"]["code"] == "Unauthenticated"  # type: ignore[index]
    page_links = _call(page, f"{demo.links}/links", {"key": "hello.txt"}, {})
    assert page_links["status"] == 401


def test_a_presigned_put_with_a_content_type_uploads_from_the_page(demo: Demo, page: Page) -> None:
    page.goto(demo.listed)
    script = f"""(async () => {{
        const asked = await fetch('{demo.presign}/presign', {{method: 'POST',
            headers: {{'X-Api-Key': {json.dumps(demo.settings["api_key"])}, 'Content-Type': 'application/json'}},
            body: JSON.stringify({{key: 'browser/put.txt', method: 'PUT', content_type: 'text/plain'}})}});
        const answer = await asked.json();
        const put = await fetch(answer.url, {{method: 'PUT', headers: answer.signed_headers,
                                             body: 'put from a page'}});
        return {{status: put.status, etag: put.headers.get('ETag'), signed: answer.signed_headers}};
    }})()"""
    result = page.evaluate(script)
    assert result["status"] == 200
    assert result["signed"] == {"content-type": "text/plain"}
    assert result["etag"]  # exposed by the bucket's CORS rule
    assert demo.stored("browser/put.txt") == b"put from a page"


def test_a_page_on_an_origin_not_listed_is_blocked(demo: Demo, page: Page) -> None:
    page.goto(demo.unlisted)
    script = f"""fetch('{demo.presign}/presign', {{method: 'POST',
            headers: {{'X-Api-Key': 'anything', 'Content-Type': 'application/json'}}, body: '{{}}'}})
        .then(() => 'read', e => 'blocked: ' + e.name)"""
    assert page.evaluate(script) == "blocked: TypeError"
    bucket = f"http://127.0.0.1:{demo.ports['--oss-port']}/examplebucket/hello.txt"
    assert page.evaluate(f"fetch('{bucket}').then(() => 'read', e => 'blocked: ' + e.name)") == "blocked: TypeError"


@pytest.mark.parametrize(("width", "height"), [(360, 640), (1280, 800)])
def test_the_demo_page_fits_the_screen(demo: Demo, page: Page, tmp_path: Path, width: int, height: int) -> None:
    page.set_viewport(width, height, mobile=width < 400)
    page.goto(demo.page)
    page.wait_for("document.body.dataset.ready === 'true'")
    assert page.evaluate("document.querySelector('meta[name=viewport]').content").startswith("width=device-width")
    assert page.evaluate("window.innerWidth") == width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.getElementById('secret').value") == demo.settings["api_key"]
    shot = page.screenshot(tmp_path / f"demo-{width}x{height}.png")
    print(f"demo page screenshot: {shot}")


def test_the_demo_page_is_usable_with_the_keyboard_alone(demo: Demo, page: Page) -> None:
    page.goto(demo.page)
    page.wait_for("document.body.dataset.ready === 'true'")
    order = []
    for _ in range(6):
        page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Tab", "code": "Tab",
                                             "windowsVirtualKeyCode": 9})
        page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Tab", "code": "Tab",
                                             "windowsVirtualKeyCode": 9})
        order.append(page.evaluate("document.activeElement.id"))
    assert order[:5] == ["auth-kind", "secret", "file", "max-size", "upload"]


def test_the_demo_page_uploads_downloads_and_links(demo: Demo, page: Page, chromium: Browser,
                                                   tmp_path: Path) -> None:
    content = hashlib.sha256(b"seed").digest() * (5 * 1024 * 1024 // 32)  # 5 MiB
    source = tmp_path / "five megabytes.bin"
    source.write_bytes(content)
    page.goto(demo.page)
    page.wait_for("document.body.dataset.ready === 'true'")
    page.throttle(upload_bytes_per_second=10 * 1024 * 1024)
    page.set_files("#file", [source])
    page.evaluate("document.getElementById('upload').click()")
    page.wait_for("!document.getElementById('stored').hidden || !document.getElementById('error').hidden")
    assert page.evaluate("document.getElementById('error').textContent") == ""
    assert page.evaluate("document.getElementById('stored-sha256').textContent") == hashlib.sha256(content).hexdigest()
    assert int(page.evaluate("document.getElementById('progress').dataset.events")) >= 3
    assert demo.stored("demo/five megabytes.bin") == content
    chromium.allow_downloads(tmp_path / "downloads")
    since = len(chromium.events)
    page.evaluate("document.getElementById('download').click()")
    assert chromium.wait_download(since=since) == "five megabytes.bin"
    assert (tmp_path / "downloads" / "five megabytes.bin").read_bytes() == content
    page.wait_for("document.getElementById('download-result').dataset.sha256")
    page.evaluate("document.getElementById('link').click()")
    page.wait_for("document.getElementById('link-result').dataset.link || !document.getElementById('error').hidden")
    assert page.evaluate("document.getElementById('error').textContent") == ""
    link = page.evaluate("document.getElementById('link-result').dataset.link")
    assert str(link).startswith(demo.links + "/d/")
    assert requests.get(str(link), timeout=10).content == content


def test_a_form_upload_over_the_size_limit_is_refused_and_shown(demo: Demo, page: Page, tmp_path: Path) -> None:
    too_big = tmp_path / "too big.bin"
    too_big.write_bytes(b"x" * (1024 * 1024 + 1))
    page.goto(demo.page)
    page.wait_for("document.body.dataset.ready === 'true'")
    page.evaluate("document.getElementById('max-size').value = String(1024 * 1024)")
    page.set_files("#file", [too_big])
    page.evaluate("document.getElementById('upload').click()")
    message = page.wait_for("!document.getElementById('error').hidden && document.getElementById('error').textContent")
    assert "EntityTooLarge" in str(message)
    assert "larger than this upload allows" in str(message)


def test_serve_refuses_a_cors_origin_that_is_not_an_origin(tmp_path: Path) -> None:
    ports = free_ports()
    with Served([*port_arguments(ports), "--data", str(tmp_path / "oss"), "--cors-origin",
                 "https://app.example.com/"], serve_environment(tmp_path)) as served:
        assert served.wait() == 2
    assert any("--cors-origin" in line and "is not an origin" in line for line in served.err), served.err
    assert free_port()  # nothing was left listening


def test_the_links_error_page_fits_a_phone(demo: Demo, page: Page) -> None:
    page.set_viewport(360, 640, mobile=True)
    page.goto(f"{demo.links}/d/not-a-valid-link-token-at-all")
    assert page.evaluate("document.querySelector('meta[name=viewport]').content").startswith("width=device-width")
    assert page.evaluate("window.innerWidth") == 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert "not valid" in page.evaluate("document.body.textContent")


def _pattern_file(path: Path, size: int) -> bytes:
    """``size`` bytes that differ from part to part (so a part in the wrong place shows), written to ``path``."""
    block = b"".join(hashlib.sha256(str(index).encode()).digest() for index in range(32 * 1024))  # 1 MiB
    content = b"".join(bytes([index % 251]) + block[1:] for index in range(size // len(block)))
    path.write_bytes(content)
    return content


def _most_in_flight(chromium: Browser, page: Page, since: int) -> int:
    """The most part PUTs the page had sent and not yet seen answered at any one moment, since event ``since``."""
    open_requests: set[str] = set()
    most = 0
    for event in list(chromium.events[since:]):
        params = event.get("params", {})
        if event.get("sessionId") != page.session:
            continue
        if event["method"] == "Network.requestWillBeSent" and params["request"]["method"] == "PUT" \
                and "partNumber=" in params["request"]["url"]:
            open_requests.add(params["requestId"])
            most = max(most, len(open_requests))
        elif event["method"] in ("Network.loadingFinished", "Network.loadingFailed"):
            open_requests.discard(params["requestId"])
    return most


def _part_puts(chromium: Browser, page: Page, since: int) -> tuple[list[int], list[int]]:
    """Part numbers of the part PUTs the page sent, and of those the bucket answered, since event ``since``."""
    sent: dict[str, int] = {}
    finished: list[int] = []
    for event in list(chromium.events[since:]):
        if event.get("sessionId") != page.session:
            continue
        params = event.get("params", {})
        if event["method"] == "Network.requestWillBeSent" and params["request"]["method"] == "PUT" \
                and "partNumber=" in params["request"]["url"]:
            number = int(params["request"]["url"].split("partNumber=")[1].split("&")[0])
            sent[params["requestId"]] = number
        elif event["method"] == "Network.loadingFinished" and params["requestId"] in sent:
            finished.append(sent[params["requestId"]])
    return list(sent.values()), finished


def test_the_demo_page_uploads_a_large_file_in_parts_and_resumes_after_a_reload(demo: Demo, page: Page,
                                                                                 chromium: Browser,
                                                                                 tmp_path: Path) -> None:
    source = tmp_path / "big video.bin"
    content = _pattern_file(source, 64 * 1024 * 1024)
    page.goto(demo.page)
    page.wait_for("document.body.dataset.ready === 'true'")
    page.throttle(upload_bytes_per_second=24 * 1024 * 1024)
    since = len(chromium.events)
    page.set_files("#file", [source])
    page.evaluate("document.getElementById('upload').click()")
    deadline_parts = 4
    for _ in range(400):  # until some parts are in the bucket (bounded: 400 x 50 ms)
        if len(_part_puts(chromium, page, since)[1]) >= deadline_parts:
            break
        page.evaluate("new Promise(resolve => setTimeout(resolve, 50))")
    sent_before, finished_before = _part_puts(chromium, page, since)
    assert len(finished_before) >= deadline_parts
    assert _most_in_flight(chromium, page, since) >= 2  # parts really go in parallel
    assert page.evaluate("localStorage.length") == 1  # the upload id is kept for a reload

    resumed_at = len(chromium.events)
    page.goto(demo.page)  # a reload in the middle
    page.wait_for("document.body.dataset.ready === 'true'")
    page.set_files("#file", [source])
    page.evaluate("document.getElementById('upload').click()")
    page.wait_for("!document.getElementById('stored').hidden || !document.getElementById('error').hidden",
                  timeout=120)
    assert page.evaluate("document.getElementById('error').textContent") == ""
    sent_after, _ = _part_puts(chromium, page, resumed_at)
    assert not set(sent_after) & set(finished_before)  # only the missing parts went again
    assert set(sent_after) | set(finished_before) == set(range(1, 14))  # 13 parts of 5 MiB
    assert int(page.evaluate("document.getElementById('progress').dataset.events")) >= 3
    assert page.evaluate("document.getElementById('stored-sha256').textContent") == hashlib.sha256(content).hexdigest()
    key = page.evaluate("document.getElementById('stored-key').textContent")
    assert demo.stored(str(key)) == content
    assert page.evaluate("localStorage.length") == 0


def test_a_failed_part_is_retried_by_the_demo_page(demo: Demo, page: Page, chromium: Browser,
                                                   tmp_path: Path) -> None:
    source = tmp_path / "twenty.bin"
    content = _pattern_file(source, 20 * 1024 * 1024)
    page.goto(demo.page)
    page.wait_for("document.body.dataset.ready === 'true'")
    page.send("Fetch.enable", {"patterns": [{"urlPattern": "*partNumber=2&*", "requestStage": "Request"}]})
    since = len(chromium.events)
    page.set_files("#file", [source])
    page.evaluate("document.getElementById('upload').click()")
    failed = 0
    answered: set[str] = set()
    for _ in range(1200):  # answer each paused request for part 2: fail the first, let the others go
        for event in list(chromium.events[since:]):
            if event.get("method") != "Fetch.requestPaused" or event["params"]["requestId"] in answered:
                continue
            answered.add(event["params"]["requestId"])
            if failed == 0:
                page.send("Fetch.failRequest", {"requestId": event["params"]["requestId"],
                                                "errorReason": "ConnectionReset"})
                failed += 1
            else:
                page.send("Fetch.continueRequest", {"requestId": event["params"]["requestId"]})
        if page.evaluate("!document.getElementById('stored').hidden || !document.getElementById('error').hidden"):
            break
        page.evaluate("new Promise(resolve => setTimeout(resolve, 50))")
    page.send("Fetch.disable")
    assert failed == 1
    assert page.evaluate("document.getElementById('error').textContent") == ""
    assert page.evaluate("document.getElementById('progress').dataset.retries") == "1"
    key = page.evaluate("document.getElementById('stored-key').textContent")
    assert demo.stored(str(key)) == content
