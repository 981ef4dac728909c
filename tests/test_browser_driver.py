"""The Chromium driver the browser tests stand on: pages load, scripts run, cross-origin rules hold,
the viewport and network emulation take effect, screenshots are written."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from browser import Page

PAGE = b"""<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>driver</title></head><body><p id="verdict">loaded</p></body></html>"""


def site(cors_origin: str | None = None) -> Callable[[dict, Callable[..., object]], Iterable[bytes]]:
    """A tiny WSGI site: / is an HTML page, /data is text that names CORS for ``cors_origin`` only."""
    def app(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/data":
            headers = [("Content-Type", "text/plain")]
            if cors_origin:
                headers.append(("Access-Control-Allow-Origin", cors_origin))
            start_response("200 OK", headers)
            return [b"hello from the other origin"]
        if environ["PATH_INFO"] == "/upload":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            start_response("200 OK", [("Content-Type", "text/plain"), ("Access-Control-Allow-Origin", "*")])
            return [str(len(body)).encode()]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [PAGE]
    return app


def test_a_page_loads_and_scripts_run(page: Page, wsgi_server: Callable[..., str]) -> None:
    base = wsgi_server(site())
    page.goto(base + "/")
    assert page.evaluate("document.getElementById('verdict').textContent") == "loaded"
    assert page.evaluate("Promise.resolve(6 * 7)") == 42


def test_a_cross_origin_fetch_needs_the_servers_consent(page: Page, wsgi_server: Callable[..., str]) -> None:
    home = wsgi_server(site())
    page.goto(home + "/")
    page_origin = home  # http://127.0.0.1:PORT
    consenting = wsgi_server(site(cors_origin=page_origin)).replace("127.0.0.1", "localhost")
    silent = wsgi_server(site()).replace("127.0.0.1", "localhost")
    assert page.evaluate(f"fetch('{consenting}/data').then(r => r.text())") == "hello from the other origin"
    outcome = page.evaluate(f"fetch('{silent}/data').then(() => 'read', e => 'blocked: ' + e.name)")
    assert outcome == "blocked: TypeError"


def test_mobile_emulation_sets_the_viewport(page: Page, wsgi_server: Callable[..., str], tmp_path: Path) -> None:
    page.set_viewport(360, 640, mobile=True)
    page.goto(wsgi_server(site()) + "/")
    assert page.evaluate("window.innerWidth") == 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot = page.screenshot(tmp_path / "driver.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_throttled_uploads_report_progress(page: Page, wsgi_server: Callable[..., str]) -> None:
    base = wsgi_server(site())
    page.goto(base + "/")
    page.throttle(upload_bytes_per_second=2 * 1024 * 1024)
    script = f"""new Promise((resolve, reject) => {{
        const xhr = new XMLHttpRequest(); let events = 0;
        xhr.upload.onprogress = () => {{ events += 1; }};
        xhr.onload = () => resolve({{events, answer: xhr.responseText}});
        xhr.onerror = () => reject(new Error('upload failed'));
        xhr.open('POST', '{base}/upload'); xhr.send(new Uint8Array(1024 * 1024));
    }})"""
    result = page.evaluate(script)
    assert result["answer"] == str(1024 * 1024)
    assert result["events"] >= 2
