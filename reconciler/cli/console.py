"""Output settings shared by the commands: colours, quiet/verbose/debug. Terminal I/O."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from rich.console import Console


@dataclass
class Settings:
    debug: bool = False
    quiet: bool = False
    verbose: bool = False


SETTINGS = Settings()


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def stdout_console() -> Console:
    return Console(no_color=_no_color(), highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(stderr=True, no_color=_no_color(), highlight=False, soft_wrap=True)


def is_tty() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def info(message: str) -> None:
    """Progress chatter on stderr, silenced by --quiet."""
    if not SETTINGS.quiet:
        stderr_console().print(message, markup=False)
