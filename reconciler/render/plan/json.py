"""The JSON view of a plan: the same document as the plan file. Pure."""

from __future__ import annotations

from reconciler.plan import Plan
from reconciler.planfile import dumps


def render_json(plan: Plan) -> str:
    return dumps(plan)
