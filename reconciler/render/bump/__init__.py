"""Views of a bump report: text for the terminal, JSON, and Markdown for the pull
request that carries the bump, chosen in `render_bump`. Pure."""

from __future__ import annotations

from enum import StrEnum

from reconciler.render.bump.views import render_json, render_markdown, render_text
from reconciler.upstream.model import BumpReport


class BumpFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def render_bump(report: BumpReport, fmt: BumpFormat) -> str:
    if fmt is BumpFormat.json:
        return render_json(report)
    if fmt is BumpFormat.markdown:
        return render_markdown(report)
    return render_text(report)
