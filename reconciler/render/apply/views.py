"""Views of an apply (or rollback) report: a per-image table for the terminal and a
JSON document. Pure."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from reconciler.report import ApplyReport, Status

STATUS_STYLE = {
    Status.APPLIED: "green",
    Status.ROLLED_BACK: "yellow",
    Status.ROLLBACK_FAILED: "bold red",
    Status.STALE: "magenta",
    Status.DIVERGED: "red",
    Status.INCOMPLETE: "yellow",
    Status.SKIPPED: "dim",
}


def render_table(report: ApplyReport, title: str = "Apply") -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("image")
    table.add_column("id", overflow="fold")
    table.add_column("action")
    table.add_column("status")
    table.add_column("reason", overflow="fold")
    table.add_column("request id", overflow="fold")
    for result in report.results:
        reason = result.reason
        if result.left_changed:
            reason += (" | left changed: " if reason else "left changed: ") + "; ".join(
                result.left_changed
            )
        table.add_row(
            result.name,
            result.id or "",
            result.action,
            f"[{STATUS_STYLE[result.status]}]{result.status}[/]",
            reason,
            result.request_id or "",
        )
    return table


def summary_line(report: ApplyReport) -> str:
    counts = report.counts
    parts = [f"{n} {status}" for status, n in counts.items() if n]
    return "Apply: " + (", ".join(parts) if parts else "nothing to do") + "."


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
