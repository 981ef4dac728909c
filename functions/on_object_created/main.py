"""Object-created function for functions-framework: ``functions-framework --source
functions/on_object_created/main.py --target on_object_created [--port 9000]`` (custom runtimes, where
Function Compute POSTs each event to ``/invoke``). Who may invoke: ``ON_CREATED_INVOKE_TOKEN`` or, on
Function Compute only, ``ON_CREATED_FC_RUNTIME=true``; anyone else is refused."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

_HERE = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(os.path.join(_HERE, "shared")):  # a checkout: shared/ is at the top, two levels up
    sys.path.insert(0, os.path.dirname(os.path.dirname(_HERE)))

import functions_framework  # noqa: E402

from shared.http.framework import guard_framework_app  # noqa: E402
from shared.object_created.invoke import InvokeRequest, serve_invoke  # noqa: E402
from shared.object_created.settings import load_invoke_access  # noqa: E402
from shared.object_created.wiring import build_on_created_handler  # noqa: E402

# The head's limits in front of functions-framework's hooks; /invoke bounds its body itself, after authentication.
guard_framework_app(bodies=False)
HANDLER = build_on_created_handler(os.environ)
ACCESS = load_invoke_access(os.environ)


@functions_framework.http
def on_object_created(request: InvokeRequest) -> tuple[Iterator[bytes], int, dict[str, str]]:
    """Flask request in (POST /invoke, the event as the body), (body, status, headers) out."""
    return serve_invoke(HANDLER, ACCESS, request)
