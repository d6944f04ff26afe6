"""The JSON view of a plan: the same document as the plan file. Pure."""

from __future__ import annotations

from reconciler.model.plan import Plan
from reconciler.model.planfile import dumps


def render_json(plan: Plan) -> str:
    return dumps(plan)
