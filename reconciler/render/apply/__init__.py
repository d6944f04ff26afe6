"""Views of an apply (or rollback) report: a table and a summary line for the
terminal, or the JSON document, chosen in `render_report`. Pure."""

from __future__ import annotations

from enum import StrEnum

from rich.console import Group, RenderableType
from rich.text import Text

from reconciler.model.report import ApplyReport
from reconciler.render.apply.views import (
    render_json,
    render_reasons,
    render_table,
    summary_line,
)


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


def render_report(report: ApplyReport, fmt: ReportFormat, title: str) -> str | RenderableType:
    if fmt is ReportFormat.json:
        return render_json(report)
    if report.results:
        reasons = render_reasons(report, title)
        parts: list[RenderableType] = [render_table(report, title)]
        if reasons is not None:
            parts += [reasons, Text()]
        return Group(*parts, Text(summary_line(report, title)))
    return Text(summary_line(report, title) + "\n")
