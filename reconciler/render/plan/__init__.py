"""Views of a plan: text (terminal), JSON (the plan file's document) and Markdown (a
pull-request comment), chosen in `render_plan`. Pure."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from reconciler.model.plan import Plan

if TYPE_CHECKING:  # the views (rich) load when a plan is rendered, not before
    from rich.text import Text


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def render_plan(
    plans: list[Plan],
    fmt: PlanFormat,
    *,
    show_unchanged: bool = False,
    show_orphans: bool = False,
) -> str | Text:
    """One plan; several (one per target) one after the other, or as a JSON array of
    plan documents. Display options never change what the plan holds."""
    from rich.text import Text

    from reconciler.render.plan.json import render_json
    from reconciler.render.plan.markdown import render_markdown
    from reconciler.render.plan.text import render_text

    if fmt is PlanFormat.json:
        if len(plans) == 1 and plans[0].target.name is None:
            return render_json(plans[0])
        return "[\n" + ",\n".join(render_json(p).rstrip("\n") for p in plans) + "\n]\n"
    if fmt is PlanFormat.markdown:
        return "\n".join(render_markdown(plan) for plan in plans)
    return Text("\n").join(
        render_text(plan, show_unchanged=show_unchanged, show_orphans=show_orphans)
        for plan in plans
    )
