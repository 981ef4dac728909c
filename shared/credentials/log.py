"""The ``shared.credentials`` logger, with ``logging`` imported only when a record could be shown.

Until something imports ``logging`` nothing has configured it, and a record would reach its last-resort
handler, which shows warnings and above only: an info record is then dropped unseen without importing
it, and a warning imports it. A cold start that finds credentials at once never pays for ``logging``.
"""

from __future__ import annotations

import sys

LOGGER = "shared.credentials"
_silenced = False


def silence() -> None:
    """Drop this log's records from now on: for a command line whose one-line error says it all."""
    global _silenced
    _silenced = True


def info(message: str, *args: object) -> None:
    """Log at INFO, if logging is in use at all."""
    if "logging" in sys.modules and not _silenced:
        sys.modules["logging"].getLogger(LOGGER).info(message, *args)


def warning(message: str, *args: object) -> None:
    """Log at WARNING."""
    if _silenced:
        return
    import logging

    logging.getLogger(LOGGER).warning(message, *args)
