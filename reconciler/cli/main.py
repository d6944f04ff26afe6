"""Entry point: the typer app, global flags, and the one place errors are printed."""

from __future__ import annotations

import logging
import sys
import warnings

import typer

from reconciler import __version__, gcpause
from reconciler.cli import (
    apply_cmd,
    completion_cmd,
    drift_cmd,
    import_cmd,
    plan_cmd,
    sandbox_cmd,
    usage_errors,
)
from reconciler.cli.console import SETTINGS, stderr_console
from reconciler.cli.usage_errors import CLICK
from reconciler.errors import InsecureTLSWarning, ManifestError, ReconcilerError

app = typer.Typer(
    name="reconciler",
    help="GitOps for OpenStack image catalogs: plan and apply YAML manifests to Glance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion, --show-completion (bash, zsh, fish)
)
app.command("validate")(plan_cmd.validate)
app.command("plan")(plan_cmd.plan)
app.command("drift")(drift_cmd.drift)
app.command("import")(import_cmd.import_images)
app.command("apply")(apply_cmd.apply)
app.command("rollback")(apply_cmd.rollback)
app.add_typer(sandbox_cmd.app, name="sandbox")
app.command("completion")(completion_cmd.completion)


def _version(value: bool) -> None:
    if value:
        print(f"reconciler {__version__}")
        raise typer.Exit()


@app.callback()
def global_options(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Tracebacks and debug logs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only results and errors."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log every Image API request (method, path, status, time)."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    if quiet and (verbose or debug):
        raise CLICK.UsageError("--quiet cannot be combined with --verbose or --debug", ctx=ctx)
    SETTINGS.debug, SETTINGS.quiet, SETTINGS.verbose = debug, quiet, verbose
    _route_output(debug, verbose)


def _route_output(debug: bool, verbose: bool) -> None:
    """Libraries' warnings and log records stay out of the output unless --debug;
    --verbose shows only the tool's own request log; the tool's own warnings are one
    loud line whatever is chosen."""
    if debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    else:
        warnings.simplefilter("ignore")
        logging.getLogger().addHandler(logging.NullHandler())  # no lastResort printing
    if verbose and not debug:  # every Image API request: method, path, status, time, id
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        ours = logging.getLogger("reconciler")
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
    warnings.simplefilter("always", InsecureTLSWarning)

    def show(
        message: Warning | str, category: type[Warning], *_args: object, **_kw: object
    ) -> None:
        if issubclass(category, InsecureTLSWarning) or debug:
            stderr_console().print(f"WARNING: {message}", style="bold red", markup=False)

    warnings.showwarning = show


def main() -> None:
    code = run()
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the app (on `argv`, default the command line); every failure ends here as one
    line on stderr and an exit code."""
    try:
        with gcpause.paused():
            code = app(args=argv, prog_name=completion_cmd.PROG, standalone_mode=False)
    except usage_errors.NO_ARGS_IS_HELP as err:  # bare `reconciler`: the help, exit 1
        if str(err):  # typer's rich help prints itself and leaves the message empty
            stderr_console().print(str(err), markup=False)
        return 1
    except CLICK.UsageError as err:
        # Usage errors exit 1, not click's 2: 2 means "changes" with --detailed-exitcode.
        _usage_error(err, sys.argv[1:] if argv is None else argv)
        return 1
    except CLICK.ClickException as err:
        stderr_console().print(f"error: {err.format_message()}", markup=False)
        return 1
    except ReconcilerError as err:
        if SETTINGS.debug:
            raise
        lines = err.problems if isinstance(err, ManifestError) else [str(err)]
        for line in lines:
            stderr_console().print(f"error: {line}", markup=False)
        return err.exit_code
    except typer.Abort:  # click's Abort (older typer re-exports it) or typer's own
        stderr_console().print("aborted", markup=False)
        return 1
    except KeyboardInterrupt:
        stderr_console().print("interrupted", markup=False)
        return 130
    except Exception as err:  # the last line of defence: one line, not a traceback
        if SETTINGS.debug:
            raise
        stderr_console().print(
            f"internal error: {type(err).__name__}: {err} (rerun with --debug for details)",
            markup=False,
        )
        return 1
    return code if isinstance(code, int) else 0


def _usage_error(err: Exception, argv: list[str]) -> None:
    """`error: <what is wrong>`, then the command's usage line (git's and Terraform's way)."""
    console = stderr_console()
    console.print(f"error: {usage_errors.describe(err)}", markup=False)
    root = typer.main.get_command(app)
    for line in usage_errors.usage_lines(err, root, argv, completion_cmd.PROG):
        console.print(line, markup=False)
