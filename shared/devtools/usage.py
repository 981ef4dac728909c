"""What every development command shares: the usage error and an argument parser that raises it."""

from __future__ import annotations

import argparse
from typing import NoReturn

USAGE_ERROR = 2  # the exit status of a command line that cannot run


class UsageError(Exception):
    """Raised for a command line that cannot run: the message says what to fix."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")
