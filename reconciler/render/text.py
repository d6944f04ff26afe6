"""The terminal view of a plan, Terraform-like: `+` create, `~` update, `-` delete,
per attribute old -> new, a summary line. Returns a rich Text; colours appear only when
the console writes to a terminal (and NO_COLOR is unset). Pure."""

from __future__ import annotations

from rich.text import Text

from reconciler.plan import Action, Plan
from reconciler.render.describe import SYMBOLS, describe, summary_line

STYLES = {
    "+": "green",
    "~": "yellow",
    "-": "red",
    "!": "bold magenta",
    "#": "dim",
    "?": "cyan",
    " ": "",
}


def render_text(plan: Plan, *, show_unchanged: bool = False) -> Text:
    out = Text()
    target = plan.target
    if target.image_endpoint:
        named = f"{target.name}: " if target.name else ""
        out.append(
            f"Target: {named}cloud {target.cloud or '-'}, region {target.region or '-'}, "
            f"project {target.project_id or '-'}\n\n",
            style="dim",
        )
    for image in plan.images:
        if image.action is Action.NOOP and not show_unchanged:
            continue
        symbol = SYMBOLS[str(image.action)]
        ident = f" ({image.id})" if image.id else ""
        where = f"  {image.source}" if image.source else ""
        out.append(f"{symbol} ", style=STYLES[symbol])
        out.append(f"{image.action} image {image.name!r}{ident}", style="bold")
        out.append(f"{where}\n", style="dim")
        for line in describe(image):
            out.append(f"    {line.sign} {line.text}\n", style=STYLES[line.sign])
        out.append("\n")
    out.append(summary_line(plan.summary) + "\n", style="bold")
    return out
