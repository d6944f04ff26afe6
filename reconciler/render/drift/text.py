"""The terminal view of a drift report (rich Text; colours only on a terminal). Pure."""

from __future__ import annotations

from rich.text import Text

from reconciler.planning.drift import DriftDocument, State
from reconciler.render.common import STYLES
from reconciler.render.drift.common import (
    LABELS,
    SYMBOLS,
    explain,
    explain_violation,
    summary_line,
    title,
)


def render_drift_text(document: DriftDocument, *, show_in_sync: bool = False) -> Text:
    out = Text()
    for report in document.targets:
        out.append(f"Drift of {title(report)}\n\n", style="dim")
        if report.error is not None:
            out.append(f"! target not read: {report.error}\n\n", style="bold magenta")
            continue
        for image in report.images:
            if image.state is State.IN_SYNC and not show_in_sync:
                continue
            symbol = SYMBOLS[image.state]
            ident = f" ({image.id})" if image.id else ""
            out.append(f"{symbol} ", style=STYLES[symbol])
            out.append(f"{image.name!r}{ident}: {LABELS[image.state]}", style="bold")
            out.append(f"  {image.source}\n" if image.source else "\n", style="dim")
            for field in image.fields:
                out.append(f"    ~ {explain(field)}\n", style="yellow")
            for violation in image.violations:
                style = "magenta" if violation.level == "error" else "yellow"
                out.append(f"    ! {explain_violation(violation)}\n", style=style)
            if image.message and image.state is not State.MISSING:
                out.append(f"    # {image.message}\n", style="dim")
        out.append(summary_line(report) + "\n\n", style="bold")
    return out
