"""The README's webhook receiver, run from README.md itself: the ``python`` block that follows "A receiver,
standard library only" in the object-created section is executed here, so that ``Receiver`` is that exact
code (every delivery test, through ``stubs_webhook``, goes through it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent.parent / "README.md"
ANCHOR = "A receiver, standard library only"


def readme_receiver_source(text: str | None = None) -> str:
    """The receiver's code block in the README (the first ``python`` block after its introduction)."""
    text = README.read_text("utf-8") if text is None else text
    start = text.index(ANCHOR)
    found = re.search(r"^```python\n(.*?)^```$", text[start:], re.M | re.S)
    if found is None:
        raise LookupError("README.md: no python block after the webhook receiver's introduction")
    return found.group(1)


def _load() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "webhook_receiver_readme"}  # not "__main__": no server starts
    exec(compile(readme_receiver_source(), f"{README}:receiver", "exec"), namespace)
    return namespace


Receiver: Any = _load()["Receiver"]
