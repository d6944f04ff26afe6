"""Views of an apply (or rollback) report: a per-image table for the terminal and a
JSON document. Pure."""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from reconciler.model.report import ApplyReport, ImageResult, Status

STATUS_STYLE = {
    Status.APPLIED: "green",
    Status.ROLLED_BACK: "yellow",
    Status.ROLLBACK_FAILED: "bold red",
    Status.STALE: "magenta",
    Status.DIVERGED: "red",
    Status.INCOMPLETE: "yellow",
    Status.COPY_FAILED: "yellow",
    Status.SKIPPED: "dim",
}


# How a status reads in the summary line: an apply's and a rollback's words.
APPLY_WORDS = {
    Status.APPLIED: "applied",
    Status.ROLLED_BACK: "rolled back",
    Status.ROLLBACK_FAILED: "failed to roll back",
    Status.STALE: "stale",
    Status.DIVERGED: "diverged",
    Status.SKIPPED: "skipped",
}
ROLLBACK_WORDS = {
    **APPLY_WORDS,
    Status.ROLLED_BACK: "restored",
    Status.ROLLBACK_FAILED: "not restored",
}


def render_table(report: ApplyReport, title: str = "Apply") -> Table:
    """One row per image: name, id, action, status. Fits 100 columns (a CI log's page,
    `console.stdout_console`): a light box, the id never folded, a long name folded;
    the reasons follow the table (`render_reasons`), where a line may be as long as it
    needs."""
    table = Table(title=title, title_justify="left", expand=False, box=box.SIMPLE_HEAD)
    table.add_column("image", overflow="fold")
    table.add_column("id", no_wrap=True, min_width=36)
    table.add_column("action", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for result in report.results:
        table.add_row(
            Text(result.name),
            result.id or "",
            result.action,
            Text(str(result.status), style=STATUS_STYLE[result.status]),
        )
    return table


def reason_of(result: ImageResult) -> str:
    """Why an image was not applied, what it left changed, and the request id to quote."""
    reason = result.reason
    if result.left_changed:
        reason += (" | left changed: " if reason else "left changed: ") + "; ".join(
            result.left_changed
        )
    if result.request_id:
        reason += f" [{result.request_id}]" if reason else f"[{result.request_id}]"
    return reason


def render_reasons(report: ApplyReport, title: str = "Apply") -> Table | None:
    """Each image that has a reason: `name (status):`, then the reason indented below,
    wrapped at the page's width (a grid wraps its cells; printed Text would not)."""
    words = ROLLBACK_WORDS if title.startswith("Rollback") else APPLY_WORDS
    grid = Table.grid()
    grid.add_column(overflow="fold")
    for result in report.results:
        reason = reason_of(result)
        if reason:
            head = Text(f"{result.name} ({words[result.status]}):")
            head.stylize(STATUS_STYLE[result.status])
            grid.add_row(Padding(head, (0, 0, 0, 2)))
            grid.add_row(Padding(Text(reason), (0, 0, 0, 4)))
    return grid if grid.row_count else None


def summary_line(report: ApplyReport, title: str = "Apply") -> str:
    """`Apply: 3 applied, 1 rolled back.`; a rollback's: `Rollback: 20 restored.`"""
    words = ROLLBACK_WORDS if title.startswith("Rollback") else APPLY_WORDS
    parts = [f"{n} {words[Status(status)]}" for status, n in report.counts.items() if n]
    return f"{title}: " + (", ".join(parts) if parts else "nothing to do") + "."


def report_to_dict(report: ApplyReport) -> dict[str, Any]:
    return {
        "format_version": 1,
        "journal": report.journal,
        "summary": report.counts,
        "images": [
            {
                "name": r.name,
                "id": r.id,
                "action": r.action,
                "status": str(r.status),
                "reason": r.reason,
                "request_id": r.request_id,
                "left_changed": list(r.left_changed),
            }
            for r in report.results
        ],
    }


def render_json(report: ApplyReport) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"
