"""A fixture: ``python -m shared serve`` with its demo page for a module's browser tests (``demo``), with a page
origin it lists in ``--cors-origin`` and one it does not."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from http_servers import serving_wsgi
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
