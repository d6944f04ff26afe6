"""The Markdown view of a drift report, for an issue or a pull-request comment. Pure."""

from __future__ import annotations

from reconciler.planning.drift import DriftDocument, State
from reconciler.render.common import cell
from reconciler.render.drift.common import (
    LABELS,
    explain,
    explain_violation,
    summary_line,
    title,
)


def render_drift_markdown(document: DriftDocument) -> str:
    lines = ["### reconciler drift", ""]
    for report in document.targets:
        lines += [f"#### {cell(title(report))}", ""]
        if report.error is not None:
            lines += [f"**Target not read:** {cell(report.error)}", ""]
            continue
        lines += [f"**{summary_line(report)}**", ""]
        shown = [image for image in report.images if image.state is not State.IN_SYNC]
        if not shown:
            lines += ["No drift: the cloud matches Git.", ""]
            continue
        lines += ["| image | state | fields | source |", "|---|---|---|---|"]
        for image in shown:
            fields = ", ".join(
                [f"`{cell(f.field)}`" for f in image.fields]
                + [f"policy `{cell(v.rule)}`" for v in image.violations]
            )
            lines.append(
                f"| `{cell(image.name)}` | {LABELS[image.state]} | {fields} | "
                f"{cell(image.source or '')} |"
            )
        lines.append("")
        for image in shown:
            if not image.fields and not image.violations:
                continue
            lines += [
                "<details>",
                f"<summary><code>{cell(image.name)}</code>"
                + (f" ({image.id})" if image.id else "")
                + "</summary>",
                "",
                "```",
                *(explain(field) for field in image.fields),
                *(explain_violation(violation) for violation in image.violations),
                "```",
                "",
                "</details>",
                "",
            ]
    return "\n".join(lines) + "\n"
