"""What policy violations do to a plan: a desired image that breaks an error-level rule
becomes an error entry (apply skips it, plan exits 1), unless the run asked for
violations as warnings; warning-level violations are the entry's warnings. Pure.

Entries are matched to violations by their manifest position (`file:line`) and name,
so two entries of the same name in different files are told apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from reconciler.model.plan import Action, ImagePlan, Plan
from reconciler.policy.models import Level, Violation

# What an entry that apply must skip keeps of its plan: which image it is, what was
# found live, and its warnings. A new value, not a copy: nothing of what the entry would
# have done (patch, members, data, builds, stores, a take-over) is carried into it.
KEPT_WHEN_GATED = (
    "name",
    "id",
    "source",
    "owner",
    "status",
    "protected",
    "warnings",
    "fingerprint",
)


def describe(violation: Violation) -> str:
    """`scs-0102/min-disk: min_disk is not set (at images.yaml:7:5)`."""
    at = f" (at {violation.where})" if violation.where else ""
    return f"{violation.rule_id}: {violation.detail}{at}"


def gate_image(image: ImagePlan, found: Sequence[Violation], as_warnings: bool) -> ImagePlan:
    errors = [v for v in found if v.level is Level.error and not as_warnings]
    warnings = [f"policy {describe(v)}" for v in found if v not in errors]
    image = replace(image, warnings=(*image.warnings, *warnings))
    if not errors or image.action is Action.ERROR:
        return image
    kept = {field: getattr(image, field) for field in KEPT_WHEN_GATED}
    error = "violates policy: " + "; ".join(describe(v) for v in errors)
    return ImagePlan(**kept, action=Action.ERROR, error=error)


def gate_plan(plan: Plan, violations: Sequence[Violation], as_warnings: bool = False) -> Plan:
    """The plan with each violating entry gated (see the module docstring)."""
    if not violations:
        return plan
    by_entry: dict[tuple[str | None, str], list[Violation]] = defaultdict(list)
    for violation in violations:
        by_entry[(violation.entry, violation.image)].append(violation)
    images = tuple(
        gate_image(image, by_entry[(image.source, image.name)], as_warnings)
        if (image.source, image.name) in by_entry
        else image
        for image in plan.images
    )
    return replace(plan, images=images)
