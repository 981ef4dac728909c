"""Entry point for ``python -m shared``."""

from __future__ import annotations

import logging
import sys

from shared.cli import main

if __name__ == "__main__":
    # A failed command's one-line error names every credential source and why it failed; the
    # chain's warnings on the way there would only repeat it.
    logging.getLogger("shared").setLevel(logging.ERROR)
    sys.exit(main())
