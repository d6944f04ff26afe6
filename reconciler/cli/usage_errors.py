"""Usage errors (an unknown option or command, a bad value) in the tool's words, the way
git and Terraform put them: one `error:` line naming the problem, then the command's usage
line. No I/O.

typer 0.2x parses with its own copy of click (`typer._click`) and raises that copy's
exceptions, not those of a separately installed click; `CLICK` is whichever click typer
really uses (`typer.BadParameter` is that click's BadParameter), so the classes caught and
inspected here are the ones raised. An unknown command is named by the groups
themselves (`CommandGroup`, which `main` gives the root and every group it loads).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from enum import Enum
from typing import Any

import typer
from typer.core import TyperGroup

CLICK: Any = importlib.import_module(typer.BadParameter.__module__)
# A bare group with no_args_is_help (click >= 8.2): the help was shown, nothing to add.
NO_ARGS_IS_HELP: tuple[type[Exception], ...] = tuple(
    [CLICK.NoArgsIsHelpError] if hasattr(CLICK, "NoArgsIsHelpError") else []
)

_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def describe(err: Any) -> str:
    """The problem in one line (without the `error: ` prefix)."""
    if isinstance(err, CLICK.NoSuchOption):
        text = f"unknown option {err.option_name}"
        close = _close(str(err.option_name), err.possibilities or [])
        if close:
            text += f" (did you mean {_either(close)}?)"
        return text
    if isinstance(err, CLICK.MissingParameter) and err.param is not None:
        kind = err.param_type or err.param.param_type_name
        return f"missing {kind} {_param_name(err.param)}"
    if isinstance(err, CLICK.BadParameter) and err.param is not None:
        return f"invalid value for {_param_name(err.param)}: {_why(err)}"
    return _sentence(str(err.format_message()))


def usage_lines(err: Any, root: Any, argv: Sequence[str], prog: str) -> list[str]:
    """The usage line of the command the error is about, and where to read more. A
    usage error raised while parsing may come without its context: then the command
    is found by following the command words of `argv` down from `root`."""
    ctx = err.ctx if err.ctx is not None else context_for(root, argv, prog)
    usage = str(ctx.get_usage()).strip()
    return [usage, f"See '{ctx.command_path} --help'."]


def context_for(root: Any, argv: Sequence[str], prog: str) -> Any:
    """A context for the deepest (sub)command named in argv (options skipped)."""
    ctx = typer.Context(root, info_name=prog)
    command = root
    for word in argv:
        if word.startswith("-"):
            continue
        sub = command.get_command(ctx, word) if hasattr(command, "get_command") else None
        if sub is None:
            break
        ctx = typer.Context(sub, info_name=word, parent=ctx)
        command = sub
    return ctx


class CommandGroup(TyperGroup):
    """A group that names an unknown command in the tool's words, with the close ones
    (typer's own message is English to be parsed back)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0]
        known = self.get_command(ctx, name) is not None
        if known or name.startswith("-") or ctx.resilient_parsing:
            return super().resolve_command(ctx, args)  # an option: click's NoSuchOption
        text = f"unknown command '{name}'"
        close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
        if close:
            text += f" (did you mean {_either([repr(c) for c in close])}?)"
        raise CLICK.UsageError(text, ctx=ctx)


def _why(err: Any) -> str:
    """What is wrong with the value: from the pydantic error typer 0.2x converts with
    (it carries the value given), else from click's own message."""
    cause = err.__cause__
    errors = cause.errors() if callable(getattr(cause, "errors", None)) else []
    first: dict[str, Any] = errors[0] if errors else {}
    shown = repr(str(first["input"])) if "input" in first else None
    choices = _choices(err.param)
    kind = first.get("type")
    if shown is not None:
        if choices:
            return f"{shown} (choose from {', '.join(choices)})"
        if kind == "int_parsing":
            return f"{shown} is not an integer"
        if kind == "float_parsing":
            return f"{shown} is not a number"
        if kind in _BOUNDS:
            key, words = _BOUNDS[kind]
            limit = (first.get("ctx") or {}).get(key)
            return f"{shown} is out of range (must be {words} {limit})"
        reason = str(first.get("msg") or err.message).removeprefix("Value error, ")
        return f"{shown}: {_sentence(reason)}"
    return _sentence(str(err.message))


def _choices(param: Any) -> list[str]:
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None) or getattr(
        getattr(param, "type", None), "choices", None
    )
    return [str(c.value) if isinstance(c, Enum) else str(c) for c in choices or ()]


def _param_name(param: Any) -> str:
    if param.param_type_name == "option":
        opts = [*param.opts, *getattr(param, "secondary_opts", [])]
        longs = [o for o in opts if o.startswith("--")]
        return str((longs or opts)[0])
    return str(param.metavar or param.name or "argument").upper()


def _close(option: str, possibilities: Sequence[str]) -> list[str]:
    """click's candidates compared without the dashes, which make every long option
    look alike (click offers --out for --formt)."""
    bare = {p.lstrip("-"): p for p in possibilities}
    return [bare[m] for m in difflib.get_close_matches(option.lstrip("-"), bare, n=3)]


def _either(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _sentence(message: str) -> str:
    """Click's capitalised sentence as a clause: "Option '-x' requires an argument." ->
    "option '-x' requires an argument"."""
    text = message.strip().rstrip(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text
