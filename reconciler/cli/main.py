"""Entry point: the typer app, global flags, and the one place errors are printed."""

from __future__ import annotations

import logging
import sys

import typer

from reconciler import __version__
from reconciler.cli import plan_cmd, sandbox_cmd
from reconciler.cli.console import SETTINGS, stderr_console
from reconciler.errors import ReconcilerError

app = typer.Typer(
    name="reconciler",
    help="GitOps for OpenStack image catalogs: plan and apply YAML manifests to Glance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("validate")(plan_cmd.validate)
app.command("plan")(plan_cmd.plan)
app.add_typer(sandbox_cmd.app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        print(f"reconciler {__version__}")
        raise typer.Exit()


@app.callback()
def global_options(
    debug: bool = typer.Option(False, "--debug", help="Tracebacks and debug logs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only results and errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    SETTINGS.debug, SETTINGS.quiet, SETTINGS.verbose = debug, quiet, verbose
    if debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def main() -> None:
    try:
        app(standalone_mode=False)
    except ReconcilerError as err:
        if SETTINGS.debug:
            raise
        stderr_console().print(f"error: {err}", markup=False)
        sys.exit(err.exit_code)
    except typer.Abort:
        stderr_console().print("aborted", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        stderr_console().print("interrupted", markup=False)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as err:  # the last line of defence: one line, not a traceback
        if SETTINGS.debug:
            raise
        stderr_console().print(
            f"internal error: {type(err).__name__}: {err} (rerun with --debug for details)",
            markup=False,
        )
        sys.exit(1)
