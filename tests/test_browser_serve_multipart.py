"""The demo page's multipart uploads in a real Chromium against ``python -m shared serve`` (the ``demo``
fixture: tests/demo_serve.py): files over 16 MiB in parts of 5 MiB, 4 in flight, one progress bar; a reload in
the middle resumes with only the missing parts; Pause lets the parts in flight finish and starts no other,
Resume sends the rest; a failed part is sent again. The part PUTs are counted from the browser's own network
events (DevTools protocol)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from browser import Browser, Page
from demo_serve import Demo


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


def _wait_for_parts(chromium: Browser, page: Page, since: int, count: int) -> None:
    """Until ``count`` part PUTs sent since event ``since`` are answered (bounded: 400 x 50 ms)."""
    for _ in range(400):
        if len(_part_puts(chromium, page, since)[1]) >= count:
            return
        page.evaluate("new Promise(resolve => setTimeout(resolve, 50))")
    raise AssertionError(f"fewer than {count} parts were answered in 20 s")


def _start_large_upload(demo: Demo, page: Page, chromium: Browser, source: Path) -> tuple[bytes, int]:
    """Open the demo page, hold its uploads to 24 MiB/s, and upload a 64 MiB file written to ``source`` (13 parts
    of 5 MiB); the file's bytes, and the index of the browser's first event since the upload began."""
    content = _pattern_file(source, 64 * 1024 * 1024)
    page.goto(demo.page)
    page.wait_for("document.body.dataset.ready === 'true'")
    page.throttle(upload_bytes_per_second=24 * 1024 * 1024)
    since = len(chromium.events)
    page.set_files("#file", [source])
    page.evaluate("document.getElementById('upload').click()")
    return content, since


def test_the_demo_page_uploads_a_large_file_in_parts_and_resumes_after_a_reload(demo: Demo, page: Page,
                                                                                 chromium: Browser,
                                                                                 tmp_path: Path) -> None:
    source = tmp_path / "big video.bin"
    content, since = _start_large_upload(demo, page, chromium, source)
    deadline_parts = 4
    _wait_for_parts(chromium, page, since, deadline_parts)  # until some parts are in the bucket
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



def test_pause_lets_the_parts_in_flight_finish_and_resume_sends_the_rest(demo: Demo, page: Page,
                                                                         chromium: Browser, tmp_path: Path) -> None:
    content, since = _start_large_upload(demo, page, chromium, tmp_path / "paused.bin")
    _wait_for_parts(chromium, page, since, 2)
    page.evaluate("document.getElementById('pause').click()")
    assert page.evaluate("document.getElementById('pause').textContent") == "Resume"
    page.wait_for("document.getElementById('status').textContent.startsWith('Paused: ')", timeout=30)
    sent_paused, finished_paused = _part_puts(chromium, page, since)
    assert sorted(sent_paused) == sorted(finished_paused) and len(finished_paused) < 13  # none left in flight
    page.evaluate("new Promise(resolve => setTimeout(resolve, 300))")
    assert _part_puts(chromium, page, since)[0] == sent_paused  # while paused, no part starts

    resumed = len(chromium.events)
    page.evaluate("document.getElementById('pause').click()")  # Resume
    _wait_for_parts(chromium, page, resumed, 2)
    page.evaluate("document.getElementById('pause').click()")  # Pause, and Resume at once: parts still in flight
    page.evaluate("document.getElementById('pause').click()")
    page.wait_for("!document.getElementById('stored').hidden || !document.getElementById('error').hidden",
                  timeout=120)
    assert page.evaluate("document.getElementById('error').textContent") == ""
    sent_after, finished_after = _part_puts(chromium, page, resumed)
    assert not set(sent_after) & set(finished_paused)  # a part in the bucket is never sent again
    assert sorted(finished_after) == sorted(set(range(1, 14)) - set(finished_paused))  # each missing part once
    assert page.evaluate("document.getElementById('stored-sha256').textContent") == hashlib.sha256(content).hexdigest()
    assert demo.stored(str(page.evaluate("document.getElementById('stored-key').textContent"))) == content
    assert page.evaluate("document.getElementById('pause').hidden") is True
