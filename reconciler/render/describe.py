"""Human descriptions of a plan's changes, shared by the text and Markdown views. Pure.

deepdiff explains list changes (tags) as additions and removals instead of two whole
lists; the management record is described by the keys it lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from reconciler.plan import ImagePlan, Op, PatchOp
from reconciler.views import MANAGED_RECORD


@dataclass(frozen=True)
class Line:
    sign: str  # "+", "~", "-", "!" (warning), "#" (note)
    text: str


def show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _set_items(paths: Any) -> list[str]:
    """deepdiff names set items `root['x']`; give back the tags."""
    return [str(path)[6:-2] for path in paths]


def _tags(op: PatchOp) -> str:
    old, new = sorted(op.old or []), sorted(op.value or [])
    delta = DeepDiff(set(old), set(new))
    added = sorted(_set_items(delta.get("set_item_added", ())))
    removed = sorted(_set_items(delta.get("set_item_removed", ())))
    parts = [f"+{t}" for t in added] + [f"-{t}" for t in removed]
    return "tags: " + (" ".join(parts) if parts else f"{show(old)} -> {show(new)}")


def describe_op(op: PatchOp) -> Line:
    key = op.key
    if key == MANAGED_RECORD:
        keys = ", ".join(json.loads(op.value)) if isinstance(op.value, str) else ""
        return Line("#", f"management record: {keys or '(no properties)'}")
    if key == "tags" and op.op is Op.REPLACE:
        return Line("~", _tags(op))
    if op.op is Op.ADD:
        return Line("+", f"{key}: {show(op.value)}")
    if op.op is Op.REMOVE:
        return Line("-", f"{key}: {show(op.old)}")
    return Line("~", f"{key}: {show(op.old)} -> {show(op.value)}")


def describe(image: ImagePlan) -> list[Line]:
    lines = [describe_op(op) for op in image.patch]
    lines += [Line("+", f"member {member}") for member in image.members.add]
    lines += [Line("-", f"member {member}") for member in image.members.remove]
    if image.activation is not None:
        target = "deactivated" if image.activation == "deactivate" else "active"
        lines.append(
            Line("~", f"status: {show(image.status)} -> {show(target)} ({image.activation})")
        )
    lines += [Line("!", warning) for warning in image.warnings]
    if image.error:
        lines.append(Line("!", image.error))
    return lines


SYMBOLS = {
    "create": "+",
    "update": "~",
    "adopt": "#",
    "delete": "-",
    "noop": " ",
    "orphan": "?",
    "error": "!",
}


def summary_line(summary: dict[str, int]) -> str:
    line = (
        f"Plan: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['delete']} to delete, {summary['unchanged']} unchanged."
    )
    if summary.get("adopt"):
        line += (
            f" {summary['adopt']} to adopt (metadata already as desired; apply records "
            "that the tool manages them)."
        )
    if summary.get("orphaned"):
        line += f" {summary['orphaned']} orphaned (not in any manifest; --prune deletes them)."
    if summary.get("errors"):
        line += f" {summary['errors']} with errors."
    return line
