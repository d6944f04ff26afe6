"""The Markdown view of a plan, for a pull-request comment: a summary table and one
collapsible section per changed image. Pure."""

from __future__ import annotations

from reconciler.model.image_view import DEFAULT_CATALOG
from reconciler.model.plan import Plan
from reconciler.render.common import cell
from reconciler.render.plan.describe import SYMBOLS, describe, summary_line


def render_markdown(plan: Plan) -> str:
    summary = plan.summary
    name = plan.target.name
    lines = [
        "### reconciler plan"
        + (f": target `{cell(name)}`" if name else "")
        + (f", catalog `{cell(plan.catalog)}`" if plan.catalog != DEFAULT_CATALOG else ""),
        "",
        f"**{summary_line(summary, plan.others)}**",
        "",
        "| | image | action | changes | source |",
        "|---|---|---|---|---|",
    ]
    for image in plan.images:
        if not image.shown:
            continue
        changes = len(image.patch) + len(image.members.add) + len(image.members.remove)
        changes += 1 if image.activation else 0
        changes += 1 if image.data else 0
        changes += sum(1 for build in image.builds if build.has_work)
        changes += len(image.stores.missing) + len(image.stores.prune) if image.stores else 0
        flag = " ⚠️" if image.warnings or image.error else ""
        lines.append(
            f"| {SYMBOLS[str(image.action)].strip() or '·'} | `{cell(image.name)}`{flag} | "
            f"{image.action} | {changes} | {cell(image.source or '')} |"
        )
    lines.append("")
    for image in plan.images:
        if not image.shown:
            continue
        lines += [
            "<details>",
            f"<summary>{image.action} <code>{cell(image.name)}</code>"
            + (f" ({image.id})" if image.id else "")
            + "</summary>",
            "",
            "```diff",
        ]
        for line in describe(image):
            sign = {"~": "!", "#": "#", "!": "!"}.get(line.sign, line.sign)
            lines.append(f"{sign} {line.text}")
        lines += ["```", "", "</details>", ""]
    return "\n".join(lines) + "\n"
