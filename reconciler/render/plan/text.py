"""The terminal view of a plan, Terraform-like: `+` create, `~` update, `-` delete,
per attribute old -> new, a summary line. Returns a rich Text; colours appear only when
the console writes to a terminal (and NO_COLOR is unset). Pure."""

from __future__ import annotations

from rich.text import Text

from reconciler.model.plan import Action, ImagePlan, Plan
from reconciler.render.common import STYLES
from reconciler.render.plan.describe import SYMBOLS, describe, summary_line

# Orphans listed in full up to this many; past it, a count and the first names.
ORPHANS_SHOWN = 20


def render_text(plan: Plan, *, show_unchanged: bool = False, show_orphans: bool = False) -> Text:
    out = Text()
    target = plan.target
    if target.image_endpoint:
        named = f"{target.name}: " if target.name else ""
        out.append(
            f"Target: {named}cloud {target.cloud or '-'}, region {target.region or '-'}, "
            f"project {target.project_id or '-'}, catalog {plan.catalog}\n\n",
            style="dim",
        )
    orphans = [image for image in plan.images if image.action is Action.ORPHAN]
    for image in plan.images:
        if not image.shown and not show_unchanged:
            continue
        if image.action is Action.ORPHAN:
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
    _orphans(out, orphans, show_orphans)
    out.append(summary_line(plan.summary, plan.others) + "\n", style="bold")
    return out


def _orphans(out: Text, orphans: list[ImagePlan], show_all: bool) -> None:
    """One line each; past ORPHANS_SHOWN, the first names and a count (a project with
    hundreds of them would bury the changes)."""
    if not orphans:
        return
    out.append(
        f"Orphans: {len(orphans)} image(s) of this catalog in no manifest "
        "(--prune deletes them):\n",
        style="bold",
    )
    shown = orphans if show_all or len(orphans) <= ORPHANS_SHOWN else orphans[:ORPHANS_SHOWN]
    for image in shown:
        out.append("? ", style=STYLES["?"])
        of = f", a build of {image.build_of!r}" if image.build_of else ""
        out.append(f"{image.name!r} ({image.id}{of})\n")
    if len(shown) < len(orphans):
        out.append(
            f"  ... and {len(orphans) - len(shown)} more (--show-orphans lists them all)\n",
            style="dim",
        )
    out.append("\n")
