"""Views of a drift report: text, JSON (`schemas/drift.schema.json`), Markdown, JUnit XML,
one HTML page and OpenMetrics text, chosen in `render_drift`. Pure."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from rich.text import Text

from reconciler.planning.drift import DriftDocument
from reconciler.render.drift.html import render_drift_html
from reconciler.render.drift.junit import render_drift_junit
from reconciler.render.drift.markdown import render_drift_markdown
from reconciler.render.drift.openmetrics import render_drift_openmetrics
from reconciler.render.drift.text import render_drift_text


class DriftFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    junit = "junit"
    html = "html"
    openmetrics = "openmetrics"


def _json(document: DriftDocument) -> str:
    return document.model_dump_json(indent=2) + "\n"


VIEWS: dict[DriftFormat, Callable[[DriftDocument], str]] = {
    DriftFormat.json: _json,
    DriftFormat.markdown: render_drift_markdown,
    DriftFormat.junit: render_drift_junit,
    DriftFormat.html: render_drift_html,
    DriftFormat.openmetrics: render_drift_openmetrics,
}


def render_drift(
    document: DriftDocument, fmt: DriftFormat, *, show_in_sync: bool = False
) -> str | Text:
    """The report in one format; text is a rich Text (styled on a terminal)."""
    if fmt is DriftFormat.text:
        return render_drift_text(document, show_in_sync=show_in_sync)
    return VIEWS[fmt](document)
