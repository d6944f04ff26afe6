"""Human descriptions of a plan's changes, shared by the text and Markdown views. Pure.

A change of tags is told as the tags added and removed (set arithmetic: Glance keeps
tags as a set) instead of two whole lists; the management record is described by the
keys it lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.model.image_view import DEFAULT_CATALOG, MANAGED_RECORD, parse_record
from reconciler.model.plan import Action, BuildPlan, DataPlan, ImagePlan, Op, PatchOp, StorePlan


@dataclass(frozen=True)
class Line:
    sign: str  # "+", "~", "-", "!" (warning), "#" (note)
    text: str


def show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _tags(op: PatchOp) -> str:
    old, new = sorted(op.old or []), sorted(op.value or [])
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    parts = [f"+{t}" for t in added] + [f"-{t}" for t in removed]
    return "tags: " + (" ".join(parts) if parts else f"{show(old)} -> {show(new)}")


def describe_op(op: PatchOp) -> Line:
    key = op.key
    if key == MANAGED_RECORD:
        record = parse_record(op.value)
        if record is None:
            return Line("#", "management record removed")
        keys = ", ".join(sorted(k for k in record.keys if isinstance(k, str)))
        where = "" if record.catalog == DEFAULT_CATALOG else f"catalog {record.catalog}, "
        return Line("#", f"management record: {where}{keys or '(no properties)'}")
    if key == "tags" and op.op is Op.REPLACE:
        return Line("~", _tags(op))
    if op.op is Op.ADD:
        return Line("+", f"{key}: {show(op.value)}")
    if op.op is Op.REMOVE:
        return Line("-", f"{key}: {show(op.old)}")
    return Line("~", f"{key}: {show(op.old)} -> {show(op.value)}")


def describe_data(data: DataPlan) -> str:
    """`data: 1.2 GiB by upload from URL (sha256:8f1e4c2a…), version 20261101`."""
    size = f"{human_size(data.size)} " if data.size is not None else ""
    version = f", version {data.version}" if data.version else ""
    packed = f", {data.compression}-compressed" if data.compression else ""
    mirror = ""
    if data.answered is not None and data.answered != data.location:
        number = data.mirrors.index(data.answered) + 1 if data.answered in data.mirrors else 0
        mirror = f", read from mirror {number} of {len(data.mirrors)}: {data.answered}"
    elif data.mirrors and data.answered == data.location:
        mirror = f", no mirror answered ({len(data.mirrors)} tried)"
    return (
        f"data: {size}by {data.method} from {data.location} ({data.checksum[:20]}…)"
        f"{version}{packed}{mirror}"
    )


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def describe(image: ImagePlan) -> list[Line]:
    lines = []
    if image.take_over_from is not None:
        lines.append(
            Line("~", f"catalog: {show(image.take_over_from)} -> taken over (--take-over)")
        )
    if image.data is not None:
        lines.append(Line("+", describe_data(image.data)))
    if image.stores is not None:
        lines += describe_stores(image.stores, new=image.action in (Action.CREATE, Action.REBUILD))
    lines += [describe_op(op) for op in image.patch]
    lines += [Line("+", f"member {member}") for member in image.members.add]
    lines += [Line("-", f"member {member}") for member in image.members.remove]
    if image.activation is not None:
        target = image.activation.status
        lines.append(
            Line("~", f"status: {show(image.status)} -> {show(target)} ({image.activation})")
        )
    for build in image.builds:
        lines += describe_build(image, build)
    if image.build_of is not None:
        lines.append(Line("#", f"a build of {show(image.build_of)}, which left the manifests"))
    lines += [Line("!", warning) for warning in image.warnings]
    if image.error:
        lines.append(Line("!", image.error))
    return lines


def describe_stores(stores: StorePlan, *, new: bool) -> list[Line]:
    """A line per store that changes or is not declared; a new build's stores in one
    line (its import goes to all of them at once)."""
    if new:
        every = " (all)" if stores.all_stores else ""
        return [Line("+", f"stores: {', '.join(stores.missing)}{every} (the new build's data)")]
    lines = [Line("+", f"store {name}: copy (copy-image)") for name in stores.missing]
    for name in stores.extra:
        if name in stores.prune:
            lines.append(Line("-", f"store {name}: delete the copy (--prune-stores)"))
        elif stores.prune or not (set(stores.live) - set(stores.extra)):
            lines.append(Line("#", f"store {name}: not declared; kept (the only copy yet)"))
        else:
            lines.append(Line("#", f"store {name}: not declared (--prune-stores deletes the copy)"))
    return lines


def describe_build(image: ImagePlan, build: BuildPlan) -> list[Line]:
    """One of the entry's other builds: a heading line, then its changes."""
    if build.id == image.id:
        what = "current build (once the new one is active and verified)"
    else:
        what = f"{build.role} build"
    label = f"{what} {build.id} {show(build.name)}"
    if build.version:
        label += f", version {build.version}"
    if build.delete:
        return [Line("-", f"{label}: delete (retired; never undone, runs last)")]
    lines = [Line("~", label + ":")]
    for op in build.patch:
        line = describe_op(op)
        if op.path == "/name":
            line = Line("~", f"renamed {show(op.old)} -> {show(op.value)}")
        lines.append(Line(line.sign, "    " + line.text))
    if build.activation is not None:
        lines.append(Line("~", f"    status: {show(build.status)} -> deactivated (retired)"))
    if build.note:
        lines.append(Line("!", f"    {build.note}"))
    return lines


SYMBOLS = {
    "create": "+",
    "update": "~",
    "rebuild": "±",
    "rotate": "~",
    "adopt": "#",
    "delete": "-",
    "noop": " ",
    "orphan": "?",
    "error": "!",
}


def summary_line(summary: dict[str, int], others: tuple[tuple[str, int], ...] = ()) -> str:
    line = (
        f"Plan: {summary['create']} to create, {summary['update']} to update, "
        + (f"{summary['rebuild']} to rebuild, " if summary.get("rebuild") else "")
        + (f"{summary['rotate']} to rotate, " if summary.get("rotate") else "")
        + f"{summary['delete']} to delete, {summary['unchanged']} unchanged."
    )
    if summary.get("adopt"):
        line += (
            f" {summary['adopt']} to adopt (metadata already as desired; apply records "
            "that the tool manages them)."
        )
    if summary.get("orphaned"):
        line += f" {summary['orphaned']} orphaned (not in any manifest; --prune deletes them)."
    if summary.get("extra_stores"):
        line += (
            f" {summary['extra_stores']} in stores their entries do not declare "
            "(--prune-stores deletes those copies)."
        )
    if summary.get("take_over"):
        line += f" {summary['take_over']} taken over from other catalogs."
    if summary.get("errors"):
        line += f" {summary['errors']} with errors."
    if others:
        counts = ", ".join(f"{name}: {count}" for name, count in others)
        total = sum(count for _name, count in others)
        line += f" {total} managed by other catalogs ({counts}), not touched."
    return line
