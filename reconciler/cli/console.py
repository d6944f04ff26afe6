"""Output settings shared by the commands: colours, quiet/verbose/debug. Terminal I/O."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from rich.console import Console, RenderableType
from rich.text import Text


@dataclass
class Settings:
    debug: bool = False
    quiet: bool = False
    verbose: bool = False


SETTINGS = Settings()


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def stdout_console() -> Console:
    # Off a terminal rich assumes 80 columns, which folds tables in CI logs; use COLUMNS
    # when set, else a wide page.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(no_color=_no_color(), highlight=False, soft_wrap=True, width=width)


def stderr_console() -> Console:
    return Console(stderr=True, no_color=_no_color(), highlight=False, soft_wrap=True)


def is_tty() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def info(message: str) -> None:
    """Progress chatter on stderr, silenced by --quiet."""
    if not SETTINGS.quiet:
        stderr_console().print(message, markup=False)


def warning(message: str) -> None:
    """Something that works but is weak (an md5 checksum, ...); shown even with --quiet."""
    stderr_console().print(f"warning: {message}", markup=False)


def error(message: str) -> None:
    """A problem that does not stop the command (one target of several failed, ...)."""
    stderr_console().print(f"error: {message}", markup=False)


def emit(view: str | RenderableType) -> None:
    """Print a view on stdout: a document (JSON, Markdown, XML, HTML) as it is, rich
    Text as it ends, other renderables (tables) on their own lines."""
    if isinstance(view, str):
        print(view, end="")
    elif isinstance(view, Text):
        stdout_console().print(view, end="")
    else:
        stdout_console().print(view)
