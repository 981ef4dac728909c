"""Object-created function for Function Compute: ``handler`` for OSS triggers (``oss:ObjectCreated:*``).
Configuration is read once, here; a failed delivery raises, so that FC retries the event."""

from __future__ import annotations

import json
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(os.path.join(_HERE, "shared")):  # a checkout: shared/ is at the top, two levels up
    sys.path.insert(0, os.path.dirname(os.path.dirname(_HERE)))

from shared.object_created.invoke import serve_oss_event  # noqa: E402
from shared.object_created.wiring import build_on_created_handler  # noqa: E402

HANDLER = build_on_created_handler(os.environ)


def handler(event: object, context: object) -> str:
    """OSS trigger event (JSON bytes, text or dict) in, the summary as JSON text out; raises when a record failed."""
    return json.dumps(serve_oss_event(HANDLER, event, context))
