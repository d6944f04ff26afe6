"""What an apply (or rollback) run reports: per-image results and the run's report,
and `differences`, the comparison of two views its checks report (with deepdiff).
Value types and pure functions, no I/O: the renderers and the CLI read them without
importing the module that writes to the cloud."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    STALE = "stale"
    DIVERGED = "diverged"
    SKIPPED = "skipped"
    # The entry's new state is in place and verified, but a step after it (deleting a
    # retired build) failed: not undone (what came before is what was asked), the
    # reason names the step left; the next plan shows it again.
    INCOMPLETE = "incomplete"
    # Applied and verified, but the data could not be copied into (or deleted from)
    # every store the plan named (multi-store): the image stays usable where its data
    # is, nothing is undone; the reason names the stores.
    COPY_FAILED = "copy_failed"


@dataclass(frozen=True)
class ImageResult:
    name: str
    id: str | None
    action: str
    status: Status
    reason: str = ""
    request_id: str | None = None
    left_changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is Status.APPLIED


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[ImageResult, ...]
    journal: str | None

    @property
    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts


_ABSENT: Any = object()


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What differs between two comparable views (`image_view`), one line per key that
    differs, sorted: `key: before -> after` (reprs; `(absent)` for a side without the
    key). A value that changed type ends with the types, `(bool -> str)`. A list or a
    dict on both sides ends with what deepdiff finds inside it: the items added and
    removed, the values changed, `(added 'x'; removed 'y')`, `(['k']: 1 -> 2)`. Lists
    are compared ignoring order (the views' lists, tags, are sets), repeats counted;
    two lists that differ only in order say `(same items, in another order)`.

    Equal views return [] at once (this runs for every image an apply verifies), and
    deepdiff is called only for the lists and dicts that differ: for a scalar it would
    say no more than `!=` and `type()`. A key differs when its two values are unequal
    for Python, as in that first test (so 1 and 1.0, or True and 1, are equal)."""
    if before == after:
        return []
    changed: dict[str, tuple[Any, Any]] = {}
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
        if old != new:
            changed[key] = (old, new)
    nested = [
        key
        for key, (old, new) in changed.items()
        if isinstance(old, list | dict) and type(old) is type(new)
    ]
    inside = _inside({k: changed[k][0] for k in nested}, {k: changed[k][1] for k in nested})
    lines = []
    for key, (old, new) in changed.items():
        line = f"{key}: {_shown(old)} -> {_shown(new)}"
        note = "; ".join(inside.get(key, ())) or _type_change(old, new)
        lines.append(f"{line} ({note})" if note else line)
    return lines


def _shown(value: Any) -> str:
    return "(absent)" if value is _ABSENT else repr(value)


def _type_change(old: Any, new: Any) -> str:
    """`bool -> str`, or "" when the types are the same, or a side is absent or None
    (a change from or to nothing is no news of type)."""
    if type(old) is type(new) or _ABSENT in (old, new) or None in (old, new):
        return ""
    return f"{type(old).__name__} -> {type(new).__name__}"


def _inside(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """What deepdiff finds inside each key's list or dict, sorted, by key."""
    if not before:
        return {}
    # Imported on the first mismatch of a list or dict only: report readers and equal
    # views never pay for its import (about 0.1 s).
    from deepdiff import DeepDiff

    tree = DeepDiff(
        before,
        after,
        view="tree",
        ignore_order=True,
        report_repetition=True,
        ignore_numeric_type_changes=True,
        # Every key handed over differs: without this, deepdiff reports dicts whose
        # values mostly differ as replaced whole instead of what changed in them.
        threshold_to_diff_deeper=0,
    )
    found: dict[str, list[str]] = {}
    for report_type, levels in tree.items():
        for level in levels:
            key, *inner = level.path(output_format="list")
            found.setdefault(key, []).append(_finding(report_type, level, inner))
    for key in before.keys() - found.keys():
        if isinstance(before[key], list):
            found[key] = ["same items, in another order"]
    return {key: sorted(items) for key, items in found.items()}


def _finding(report_type: str, level: Any, inner: list[Any]) -> str:
    """One deepdiff result as text; `inner` is its path below the top-level key. A
    list's items are named by value, not by index: the order is ignored."""
    where = "".join(f"[{step!r}]" for step in inner)
    within = "".join(f"[{step!r}]" for step in inner[:-1])
    within += " " if within else ""
    if report_type == "iterable_item_added":
        return f"{within}added {level.t2!r}"
    if report_type == "iterable_item_removed":
        return f"{within}removed {level.t1!r}"
    if report_type == "repetition_change":
        repeats = level.additional["repetition"]
        return f"{within}{level.t1!r} {repeats['old_repeat']} -> {repeats['new_repeat']} times"
    old = "(absent)" if report_type.endswith("_added") else repr(level.t1)
    new = "(absent)" if report_type.endswith("_removed") else repr(level.t2)
    types = _type_change(level.t1, level.t2) if report_type == "type_changes" else ""
    return f"{where}: {old} -> {new}" + (f", {types}" if types else "")
