"""``python -m shared``: the development tools' command line (``shared/devtools/cli.py``).

Ctrl-C ends the process at once with exit status 130 and no traceback, from the moment this file
runs (during the imports too); a signal that comes earlier, while Python itself starts, is Python's.
"""

from __future__ import annotations

INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command that Ctrl-C stopped


def _interrupted(signum: int, frame: object) -> None:
    """SIGINT: leave now. Output is flushed block by block, so what was written stays written."""
    import os

    os._exit(INTERRUPTED)  # no KeyboardInterrupt: it could land in an import, a destructor or the teardown


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, _interrupted)
    from shared.devtools.cli import run

    run()
