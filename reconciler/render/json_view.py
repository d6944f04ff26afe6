"""The JSON view of a plan: the same document as the plan file. Pure."""

from __future__ import annotations

import json

from reconciler.plan import Plan
from reconciler.planfile import plan_to_dict


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"
