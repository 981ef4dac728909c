"""Pages on their own origins against ``python -m shared serve``'s processes, in a real Chromium.

One serve runs for the module, with ``--cors-origin`` naming a second page server; a third page server
is on no list. Every request a page makes is cross-origin: to the presign and links functions and to
the local bucket (the ``demo`` fixture: tests/demo_serve.py). Large files in parts are in
test_browser_serve_multipart.py.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pytest
import requests
from browser import Browser, Page
from demo_serve import Demo
from processes import free_port
from serve_process import Served, free_ports, port_arguments, serve_environment


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
