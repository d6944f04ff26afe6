"""Output settings shared by the commands: colours, quiet/verbose/debug. Terminal I/O."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich loads on the first print, not at start-up
    from rich.console import Console, RenderableType


@dataclass
class Settings:
    debug: bool = False
    quiet: bool = False
    verbose: bool = False


SETTINGS = Settings()


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


PAGE_WIDTH = 100


def stdout_console() -> Console:
    from rich.console import Console

    # Off a terminal rich assumes 80 columns, which folds the apply table in CI logs; use
    # COLUMNS when set, else a page of 100 (the table is made to fit it). Text views do
    # not wrap whatever the width (soft_wrap).
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PAGE_WIDTH
    return Console(no_color=_no_color(), highlight=False, soft_wrap=True, width=width)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, no_color=_no_color(), highlight=False, soft_wrap=True)


def is_tty() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _line(text: str) -> None:
    """One plain line on stderr, as given (no markup, no wrapping: rich is not needed)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def info(message: str) -> None:
    """Progress chatter on stderr, silenced by --quiet."""
    if not SETTINGS.quiet:
        _line(message)


def warning(message: str) -> None:
    """Something that works but is weak (an md5 checksum, ...); shown even with --quiet."""
    _line(f"warning: {message}")


def error(message: str) -> None:
    """A problem that does not stop the command (one target of several failed, ...)."""
    _line(f"error: {message}")


def emit(view: str | RenderableType) -> None:
    """Print a view on stdout: a document (JSON, Markdown, XML, HTML) as it is, rich
    Text as it ends, other renderables (tables) on their own lines."""
    from rich.text import Text

    if isinstance(view, str):
        print(view, end="")
    elif isinstance(view, Text):
        stdout_console().print(view, end="")
    else:
        stdout_console().print(view)
