"""`reconciler completion SHELL`: typer's completion script for bash, zsh or fish, printed
to be sourced or saved (`--install-completion` writes it into the shell's start-up file
instead). Prints only; the shell then asks `reconciler` itself for the candidates, through
the `_RECONCILER_COMPLETE` variable the script sets."""

from __future__ import annotations

from enum import StrEnum

import typer

PROG = "reconciler"
COMPLETE_VAR = "_RECONCILER_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Shell = typer.Argument(..., metavar="SHELL", help="bash, zsh or fish."),
) -> None:
    """Print the shell completion script (e.g. `eval "$(reconciler completion bash)"`)."""
    from typer._completion_shared import get_completion_script

    print(get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell.value))
