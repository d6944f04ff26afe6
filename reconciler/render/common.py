"""What the views of every report kind share: the terminal styles of the change
symbols and how text is made safe for one Markdown table cell. Pure."""

from __future__ import annotations

STYLES = {
    "+": "green",
    "~": "yellow",
    "±": "bold yellow",
    "-": "red",
    "!": "bold magenta",
    "#": "dim",
    "?": "cyan",
    " ": "",
}


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
