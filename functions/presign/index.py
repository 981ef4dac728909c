"""Presign function for Function Compute: ``handler`` (FC 3.0 HTTP and API Gateway triggers) and
``wsgi_handler`` (FC 2.0 HTTP functions, any WSGI server). Configuration is read once, here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

_HERE = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(os.path.join(_HERE, "shared")):  # a checkout: shared/ is at the top, two levels up
    sys.path.insert(0, os.path.dirname(os.path.dirname(_HERE)))

from shared.http.fc import serve_fc_event  # noqa: E402
from shared.presign.wiring import build_presign_app  # noqa: E402

APP = build_presign_app(os.environ)


def handler(event: object, context: object) -> dict[str, object]:
    """FC 3.0 HTTP trigger or API Gateway trigger event in, response dict out."""
    return serve_fc_event(APP, event, context)


def wsgi_handler(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    """WSGI application."""
    from shared.http.wsgi import serve_wsgi  # the FC 3.0 path never needs it: not at cold start

    return serve_wsgi(APP, environ, start_response)
