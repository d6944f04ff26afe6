"""How every command's `--help` reads: click's plain layout, as the root help (which
stays plain for the start-up budget, issue 16), value names instead of typer's Python
type names (`--timeout SECONDS`, not `<float>`), usage lines in one convention
(`PATHS...`, `[NAME]`), and each command's exit codes and an example after its options.
No I/O.

`finish` is applied to each command once typer has converted it (`main.load_command`);
`tests/unit/test_help.py` reads every command's help and checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import typer.core


@dataclass(frozen=True)
class CommandHelp:
    exit_codes: tuple[tuple[int, str], ...]
    examples: tuple[str, ...]


_ERROR = (1, "an error: bad input (file:line), authentication, an unreachable cloud")

# By command path (`sandbox up`); every command the tool has is here (a test says so).
HELP: dict[str, CommandHelp] = {
    "validate": CommandHelp(
        ((0, "valid"), (1, "a problem in the manifests, or an error-level policy violation")),
        (
            "reconciler validate manifests/",
            "reconciler validate --online --policy scs-0102 manifests/",
        ),
    ),
    "plan": CommandHelp(
        (
            (0, "planned (with --detailed-exitcode: no changes)"),
            _ERROR,
            (2, "changes to apply (only with --detailed-exitcode)"),
        ),
        (
            "reconciler plan manifests/",
            "reconciler plan --out plan.json --detailed-exitcode manifests/",
        ),
    ),
    "drift": CommandHelp(
        (
            (0, "no drift (of the kind --fail-on names)"),
            _ERROR,
            (2, "drift found (drifted or missing images, orphans, policy violations)"),
        ),
        (
            "reconciler drift manifests/",
            "reconciler drift --format openmetrics --out /var/lib/node_exporter/reconciler.prom "
            "manifests/",
        ),
    ),
    "targets": CommandHelp(
        ((0, "listed"), (1, "a problem in the manifests or the targets file")),
        ("reconciler targets --format json manifests/",),
    ),
    "import": CommandHelp(
        ((0, "manifests written"), (1, "an error: no image matched, a file exists, auth")),
        (
            "reconciler import --mine --out-dir manifests/",
            "reconciler import --update manifests/ubuntu.yaml",
        ),
    ),
    "apply": CommandHelp(
        (
            (0, "every image applied (or nothing to do)"),
            (1, "an error before any write (bad input, no terminal to confirm, auth)"),
            (
                3,
                "some images rolled back, stale, diverged, incomplete, copy_failed or skipped; a "
                "target failed",
            ),
            (130, "interrupted (Ctrl-C, SIGTERM): what finished is reported, the rest skipped"),
        ),
        (
            "reconciler plan --out plan.json manifests/ && reconciler apply plan.json",
            "reconciler apply --auto-approve manifests/",
        ),
    ),
    "bump": CommandHelp(
        (
            (0, "every watched entry is current"),
            (1, "an error: an upstream failed (that entry named at file:line), bad manifests"),
            (2, "entries updated (or, with --dry-run, would be)"),
        ),
        (
            "reconciler bump manifests/",
            "reconciler bump --dry-run --format markdown manifests/ > pr-body.md",
        ),
    ),
    "rollback": CommandHelp(
        (
            (0, "everything the journal recorded is undone"),
            (1, "an error (the journal unreadable, auth)"),
            (3, "some images could not be restored"),
        ),
        ("reconciler rollback .reconciler/journals/apply-20261203T101500Z.jsonl",),
    ),
    "completion": CommandHelp(
        ((0, "printed"), (1, "an unknown shell")),
        ('eval "$(reconciler completion bash)"',),
    ),
    "sandbox": CommandHelp(
        ((0, "done"), (1, "an error (see each command)")),
        ('reconciler sandbox up && eval "$(reconciler sandbox env)"',),
    ),
    "sandbox up": CommandHelp(
        ((0, "the sandbox answers"), (1, "it could not be started (a port taken, ...)")),
        ("reconciler sandbox up --dir .sandbox",),
    ),
    "sandbox down": CommandHelp(
        ((0, "stopped (or nothing was running)"), (1, "an error")),
        ("reconciler sandbox down --purge",),
    ),
    "sandbox status": CommandHelp(
        ((0, "every service answers"), (1, "the sandbox is not fully up")),
        ("reconciler sandbox status --dir .sandbox",),
    ),
    "sandbox env": CommandHelp(
        ((0, "printed"), (1, "no sandbox in the folder, or an unknown cloud")),
        ('eval "$(reconciler sandbox env --dir /path/to/checkout/.sandbox)"',),
    ),
}

# Value names by the parameter's type, where the declaration names none.
_TYPE_NAMES: dict[Any, str] = {int: "N", float: "NUMBER", str: "TEXT"}


def epilog(path: str) -> str:
    """The exit codes and examples of the command `path`, in click's help layout
    (`\\b` keeps a paragraph's lines as they are)."""
    spec = HELP[path]
    codes = "\n".join(f"  {code}  {text}" for code, text in spec.exit_codes)
    examples = "\n".join(f"  $ {example}" for example in spec.examples)
    return f"\b\nExit codes:\n{codes}\n\n\b\nExamples:\n{examples}"


def value_name(param: Any) -> str:
    """What an option's value or an argument is called in help and usage lines."""
    if param.metavar is not None:
        return str(param.metavar)
    choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
    if choices:
        return "[" + "|".join(str(c.value if isinstance(c, Enum) else c) for c in choices) + "]"
    if isinstance(param, typer.core.TyperArgument):
        return str(param.name or "ARG").upper()
    descriptor = getattr(param, "type_descriptor", None)
    if getattr(descriptor, "is_path", False):
        return "PATH"
    annotation: Any = getattr(descriptor, "annotation", None)
    return _TYPE_NAMES.get(annotation, str(param.name or "VALUE").upper())


class _Argument(typer.core.TyperArgument):
    """An argument shown as click shows one: `PATHS...` (required), `[NAME]` (optional)."""

    def _usage_display_name(self) -> str:
        name = value_name(self)
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def _rich_display_name(self) -> str:
        return value_name(self) + ("..." if self.nargs != 1 else "")

    def display_type(self, ctx: Any) -> str:
        return ""


class _Option(typer.core.TyperOption):
    """An option's value named (`--timeout SECONDS`); a flag shows no value."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return ""
        return value_name(self) + ("..." if self.nargs != 1 else "")


def finish(command: Any, path: str) -> Any:
    """Give the converted command (and a group's subcommands) the layout above."""
    command.rich_markup_mode = None
    command.epilog = epilog(path)
    for param in command.params:
        if type(param) is typer.core.TyperArgument:
            param.__class__ = _Argument
        elif type(param) is typer.core.TyperOption:
            param.__class__ = _Option
    for name, sub in (getattr(command, "commands", None) or {}).items():
        finish(sub, f"{path} {name}")
    return command
