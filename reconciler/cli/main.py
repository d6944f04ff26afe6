"""Entry point: the typer app, global flags, and the one place errors are printed.

Start-up stays short (issue 16): every run is a fresh process, in CI most of all. The
root group lists the commands from `COMMANDS` (name, module, one-line help), so
`reconciler --help` imports typer and nothing heavy (`--version` alone is answered by
`cli/entry.py`, the console script, before typer); a command's module
(and with it pydantic, rich, keystoneauth, ...) is imported only when that command is
run, its `--help` is asked or the shell completes its options.
`tests/unit/test_startup.py` keeps it so.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from reconciler import __version__
from reconciler.cli import usage_errors
from reconciler.cli.completion_cmd import PROG
from reconciler.cli.usage_errors import CLICK
from reconciler.errors import InsecureTLSWarning, ManifestError, ReconcilerError
from reconciler.runtime import gcpause


@dataclass(frozen=True)
class LazyCommand:
    module: str
    attribute: str  # a command function, or a typer.Typer of subcommands
    help: str  # what `reconciler --help` lists: the first paragraph of the command's help


# In the order `reconciler --help` lists them.
COMMANDS: dict[str, LazyCommand] = {
    "validate": LazyCommand(
        "reconciler.cli.validate_cmd",
        "validate",
        "Check manifests offline (or against the server's schema, enabled import "
        "methods and stores with --online).",
    ),
    "plan": LazyCommand(
        "reconciler.cli.plan_cmd", "plan", "Show what apply would change (reads only)."
    ),
    "drift": LazyCommand(
        "reconciler.cli.drift_cmd",
        "drift",
        "Report drift between the manifests and the cloud (reads only). Exit 0 no drift, "
        "2 drift found, 1 error.",
    ),
    "targets": LazyCommand(
        "reconciler.cli.targets_cmd",
        "targets",
        "List the targets a manifest set declares (reads files only), for a CI matrix "
        "with one job per target.",
    ),
    "import": LazyCommand(
        "reconciler.cli.import_cmd",
        "import_images",
        "Write manifests describing live images (reads only; never writes to the cloud).",
    ),
    "bump": LazyCommand(
        "reconciler.cli.bump_cmd",
        "bump",
        "Move each entry with a source.watch to its newest upstream build.",
    ),
    "apply": LazyCommand(
        "reconciler.cli.apply_cmd",
        "apply",
        "Apply a saved plan, or plan manifests and apply them after confirmation.",
    ),
    "rollback": LazyCommand(
        "reconciler.cli.apply_cmd",
        "rollback",
        "Undo what an apply run recorded in its journal (after a crash, say).",
    ),
    "completion": LazyCommand(
        "reconciler.cli.completion_cmd",
        "completion",
        'Print the shell completion script (e.g. `eval "$(reconciler completion bash)"`).',
    ),
    "sandbox": LazyCommand(
        "reconciler.cli.sandbox_cmd",
        "app",
        "A real Keystone + Glance on 127.0.0.1 for trying manifests.",
    ),
}


def load_command(name: str) -> Any:
    """Import the module of the command `name` and convert the command as typer would
    have converted it registered on the root app (a click command, or a group for a
    typer.Typer of subcommands)."""
    from reconciler.cli import help_text

    spec = COMMANDS[name]
    target = getattr(importlib.import_module(spec.module), spec.attribute)
    holder = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name, cls=usage_errors.CommandGroup)
        group: Any = typer.main.get_command(holder)
        return help_text.finish(group.commands[name], name)
    holder.command(name)(target)
    return help_text.finish(typer.main.get_command(holder), name)


class LazyGroup(usage_errors.CommandGroup):
    """The root group, click's lazy group ("Lazily Loading Subcommands" in click's docs):
    `list_commands` names the commands of COMMANDS and `get_command` imports one when it
    is asked for. The root's `--help` and the completion of command names show COMMANDS'
    one-line help instead of asking the commands, so neither imports one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loaded: dict[str, Any] = {}
        # Read-only where typer declares a MutableMapping: every command is in COMMANDS.
        self.commands = _CommandView(self)  # type: ignore[assignment]

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load_command(cmd_name)
        return self._loaded[cmd_name]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The first paragraph of each command's help, whole (as typer's rich help)."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, spec.help) for name, spec in COMMANDS.items()])

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """Command names (with their help, as click shortens it) and the root's options;
        a command's own options and values are completed by that command, loaded then."""
        completion_item = _click_module("shell_completion").CompletionItem
        short_help = _click_module("utils").make_default_short_help
        items: list[Any] = [
            completion_item(name, help=short_help(spec.help))
            for name, spec in COMMANDS.items()
            if name.startswith(incomplete)
        ]
        items.extend(super(TyperGroup, self).shell_complete(ctx, incomplete))
        return items


class _CommandView(Mapping[str, Any]):
    """click's `commands` attribute of the lazy group, for code that reads it (typer's
    resolve_command does): the names of COMMANDS, each command from `get_command`."""

    def __init__(self, group: LazyGroup) -> None:
        self._group = group

    def __getitem__(self, name: str) -> Any:
        command = self._group.get_command(None, name)
        if command is None:
            raise KeyError(name)
        return command

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


def _click_module(name: str) -> Any:
    """A module of the click typer parses with (see usage_errors.CLICK)."""
    return importlib.import_module(f"{CLICK.__name__.rpartition('.')[0]}.{name}")


app = typer.Typer(
    name="reconciler",
    help="GitOps for OpenStack image catalogs: plan and apply YAML manifests to Glance.",
    cls=LazyGroup,
    # The root's help in click's plain layout: typer's rich panels import rich, which
    # alone takes longer than the start-up budget. Commands have the same layout
    # (cli/help_text.py), so every help reads alike.
    rich_markup_mode=None,
    no_args_is_help=True,
    epilog=(
        "\b\nExit codes (each command's --help says its own, with examples):\n"
        "  0  success\n  1  an error\n  2  changes (plan --detailed-exitcode) or drift\n"
        "  3  partly applied (apply, rollback)"
    ),
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion, --show-completion (bash, zsh, fish)
)


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
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    from reconciler.cli.console import SETTINGS

    if quiet and (verbose or debug):
        raise CLICK.UsageError("--quiet cannot be combined with --verbose or --debug", ctx=ctx)
    SETTINGS.debug, SETTINGS.quiet, SETTINGS.verbose = debug, quiet, verbose
    _route_output(debug, verbose)


def _route_output(debug: bool, verbose: bool) -> None:
    """Libraries' warnings and log records stay out of the output unless --debug;
    --verbose shows only the tool's own request log; the tool's own warnings are one
    loud line whatever is chosen."""
    import logging

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
            _stderr(f"WARNING: {message}", style="bold red")

    warnings.showwarning = show


def _stderr(line: str, style: str | None = None) -> None:
    """One line on stderr through rich (imported here: only commands and errors print)."""
    from reconciler.cli.console import stderr_console

    stderr_console().print(line, style=style, markup=False)


def _debug() -> bool:
    from reconciler.cli.console import SETTINGS

    return SETTINGS.debug


def main() -> None:
    code = run(final=True)
    # The command is done and its files are closed: the process ends here, without the
    # interpreter's finalization (100-300 ms of joining idle HTTP pool threads and
    # freeing modules), during which a Ctrl-C would end it by the signal (exit -2)
    # after its output was complete.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`)
            pass
    os._exit(code)


def run(argv: list[str] | None = None, *, final: bool = False) -> int:
    """Run the app (on `argv`, default the command line); every failure ends here as one
    line on stderr and an exit code. `final`: the process ends right after (main), so
    once the command is done a Ctrl-C is ignored: it could only interrupt the clean-up
    and turn a complete run into a signal's exit."""
    try:
        with gcpause.paused():
            code = app(args=argv, prog_name=PROG, standalone_mode=False)
            if final:
                import signal

                signal.signal(signal.SIGINT, signal.SIG_IGN)
    except usage_errors.NO_ARGS_IS_HELP as err:  # bare `reconciler`: the help, exit 1
        if str(err):  # click's plain help comes as the message; typer's rich help prints itself
            print(str(err))
        return 1
    except CLICK.UsageError as err:
        # Usage errors exit 1, not click's 2: 2 means "changes" with --detailed-exitcode.
        _usage_error(err, sys.argv[1:] if argv is None else argv)
        return 1
    except CLICK.ClickException as err:
        _stderr(f"error: {err.format_message()}")
        return 1
    except ReconcilerError as err:
        if _debug():
            raise
        lines = err.problems if isinstance(err, ManifestError) else [str(err)]
        for line in lines:
            _stderr(f"error: {line}")
        return err.exit_code
    except typer.Abort:  # click's Abort (older typer re-exports it) or typer's own
        _stderr("aborted")
        return 1
    except KeyboardInterrupt:
        _stderr("interrupted")
        return 130
    except Exception as err:  # the last line of defence: one line, not a traceback
        if _debug():
            raise
        _stderr(f"internal error: {type(err).__name__}: {err} (rerun with --debug for details)")
        return 1
    if code == 130 and not _stopping():  # typer turned a KeyboardInterrupt into exit 130
        _stderr("interrupted")
    return code if isinstance(code, int) else 0


def _stopping() -> bool:
    """An apply run handled the interrupt itself (and said so)."""
    interrupts = sys.modules.get("reconciler.runtime.interrupts")
    return bool(interrupts is not None and interrupts.STOP.requested)


def _usage_error(err: Exception, argv: list[str]) -> None:
    """`error: <what is wrong>`, then the command's usage line (git's and Terraform's way)."""
    _stderr(f"error: {usage_errors.describe(err)}")
    root = typer.main.get_command(app)
    for line in usage_errors.usage_lines(err, root, argv, PROG):
        _stderr(line)
