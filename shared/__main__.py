"""``python -m shared``: the development tools' command line (``shared/devtools/cli.py``)."""

if __name__ == "__main__":
    from shared.devtools.cli import run

    run()
