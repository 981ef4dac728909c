"""Links function for functions-framework: ``functions-framework --source functions/links/main.py
--target links [--port 9000]`` (custom runtimes, containers, any HTTP FaaS)."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(os.path.join(_HERE, "shared")):  # a checkout: shared/ is at the top, two levels up
    sys.path.insert(0, os.path.dirname(os.path.dirname(_HERE)))

import functions_framework  # noqa: E402

from shared.http.framework import guard_framework_app  # noqa: E402
from shared.http.wsgi import FlaskRequest, serve_flask  # noqa: E402
from shared.links.wiring import build_links_app  # noqa: E402

guard_framework_app()  # the request limits, in front of every hook of functions-framework's app
APP = build_links_app(os.environ)


@functions_framework.http
def links(request: FlaskRequest) -> tuple[bytes, int, dict[str, str]]:
    """Flask request in, (body, status, headers) out."""
    return serve_flask(APP, request)
