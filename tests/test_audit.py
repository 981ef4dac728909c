"""The audit log: one JSON object per line, whatever the keys and paths carry (U+2028, U+2029, U+0085
split a line for ``str.splitlines()`` and many log shippers), through the real apps on a real server."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from urllib.parse import quote, urlsplit

import requests
from http_servers import WsgiApp
from presign_env import API_KEY, environment

from shared.audit import AuditLog
from shared.http.wsgi import serve_wsgi
from shared.links.wiring import build_links_app
from shared.presign.wiring import build_presign_app

ALICE = {"X-Api-Key": API_KEY}
SEPARATORS = "\u2028\u2029\u0085\u000b\u000c\u001c\u001d\u001e\r\n"  # every one str.splitlines() splits at
KEYS = ["reports/line\u2028separator.pdf", "reports/para\u2029graph\u2028\u2029.pdf", "reports/季度\u2028.pdf"]
NOW = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)


def assert_one_object_per_line(text: str, records: int) -> list[dict]:
    """Exactly ``records`` lines, each one whole JSON object, in plain ASCII."""
    assert text.endswith("\n") and text.count("\n") == records
    lines = text.splitlines()
    assert len(lines) == records
    assert all(line.isascii() for line in lines)
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(record, dict) for record in parsed)
    return parsed


def test_every_field_is_written_escaped_on_one_line() -> None:
    stream = io.StringIO()
    audit = AuditLog(lambda: NOW, stream)
    audit.write("issued", key=SEPARATORS * 3, reason=f"a{SEPARATORS}b", nested={SEPARATORS: [SEPARATORS]})
    (record,) = assert_one_object_per_line(stream.getvalue(), 1)
    assert record["key"] == SEPARATORS * 3 and record["nested"] == {SEPARATORS: [SEPARATORS]}


def test_presign_log_lines_stay_whole(wsgi_server: Callable[[WsgiApp], str]) -> None:
    audit = io.StringIO()
    base = wsgi_server(partial(serve_wsgi, build_presign_app(environment(), audit_stream=audit)))
    for key in KEYS:  # issued, the key logged as given
        assert requests.get(f"{base}/presign", params={"key": key}, headers=ALICE, timeout=10).status_code == 200
    batch = requests.post(f"{base}/presign/batch", json={"items": [{"key": key} for key in KEYS]}, headers=ALICE,
                          timeout=10)
    assert batch.status_code == 200
    refused = [  # refusals whose reason or path carries the separators
        requests.get(f"{base}/presign{quote(SEPARATORS)}", headers=ALICE, timeout=10),
        requests.get(f"{base}/presign", params={"key": "secret/\u2028x"}, headers=ALICE, timeout=10),
        requests.post(f"{base}/presign", json={"key": "reports/a", f"field{SEPARATORS}": 1}, headers=ALICE,
                      timeout=10),
    ]
    assert [response.status_code for response in refused] == [404, 403, 400]
    records = assert_one_object_per_line(audit.getvalue(), 2 * len(KEYS) + len(refused))
    assert [record["key"] for record in records if record["event"] == "issued"] == KEYS + KEYS
    assert records[-3]["path"] == f"/presign{SEPARATORS}"


def test_links_log_lines_stay_whole(wsgi_server: Callable[[WsgiApp], str]) -> None:
    audit = io.StringIO()
    env = environment(LINK_SIGNING_KEYS="k1:link-signing-secret-one-0123456789",
                      LINK_BASE_URL="https://dl.example.com")
    base = wsgi_server(partial(serve_wsgi, build_links_app(env, audit_stream=audit)))
    for key in KEYS:
        made = requests.post(f"{base}/links", json={"key": key, "ttl": "1d"},
                             headers=ALICE, timeout=10)
        assert made.status_code == 200, made.text
        click = requests.get(base + urlsplit(made.json()["link"]).path, allow_redirects=False, timeout=10)
        assert click.status_code == 302
    assert requests.get(f"{base}/d/{quote(SEPARATORS)}", timeout=10).status_code == 404
    records = assert_one_object_per_line(audit.getvalue(), 2 * len(KEYS) + 1)
    assert [record["key"] for record in records if record["event"] == "link_followed"] == KEYS
