"""The console script `reconciler` (and `python -m reconciler`). `reconciler --version`
alone, what CI jobs run to log the tool's version, is answered here before typer is
imported (typer and the stdlib modules it pulls in are 60-90 ms of a 0.15 s budget,
issue 16); every other command line goes to `cli.main`."""

from __future__ import annotations

import os
import sys

from reconciler import __version__


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(f"reconciler {__version__}")
        sys.exit(0)
    # pydantic looks for its plugins (observability hooks) in every installed package's
    # entry points when the first model is built: 10-20 ms of a `validate` that the
    # pre-commit hook runs on every commit, for plugins a CLI has no use for. A value
    # the user set is kept (pydantic's documented switch).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        from reconciler.cli.main import main as run_app

        run_app()
    except KeyboardInterrupt:  # Ctrl-C before the app's own handling is in place
        sys.stderr.write("interrupted\n")
        sys.exit(130)
