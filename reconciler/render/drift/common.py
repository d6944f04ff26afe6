"""What every drift view shares: how a field's difference reads, the states' symbols
and labels, and a target's title. Pure."""

from __future__ import annotations

from typing import Any

from reconciler.model.image_view import DEFAULT_CATALOG
from reconciler.planning.drift import FieldDrift, Kind, PolicyViolation, State, TargetDrift
from reconciler.render.plan.describe import show

SYMBOLS = {
    State.IN_SYNC: " ",
    State.DRIFTED: "~",
    State.MISSING: "+",
    State.ORPHAN: "?",
    State.UNMANAGED: "?",
    State.ERROR: "!",
    State.VIOLATION: "!",
}
LABELS = {
    State.IN_SYNC: "in sync",
    State.DRIFTED: "drifted",
    State.MISSING: "missing from the cloud",
    State.ORPHAN: "orphaned",
    State.UNMANAGED: "unmanaged",
    State.ERROR: "error",
    State.VIOLATION: "violates a policy",
}


def value(data: Any) -> str:
    return "(absent)" if data is None else show(data)


def explain(field: FieldDrift) -> str:
    """`os_version: cloud "23.10", git "24.04"`; sets as the items each side lacks."""
    if field.kind in (Kind.TAGS, Kind.MEMBERS, Kind.STORES):
        parts = []
        if field.only_in_git:
            parts.append("missing in the cloud: " + ", ".join(field.only_in_git))
        if field.only_in_cloud:
            parts.append("extra in the cloud: " + ", ".join(field.only_in_cloud))
        return f"{field.field}: " + "; ".join(parts)
    return f"{field.field}: cloud {value(field.live)}, git {value(field.git)}"


def explain_violation(violation: PolicyViolation) -> str:
    """`scs-0102/architecture: architecture is not set` (`[warning]` for warnings)."""
    level = " [warning]" if violation.level == "warning" else ""
    return f"{violation.rule}{level}: {violation.detail}"


def title(report: TargetDrift) -> str:
    t = report.target
    parts = [f"target {t.name}"] if t.name else []
    parts += [f"cloud {t.cloud or '-'}", f"region {t.region or '-'}"]
    if t.project_id:
        parts.append(f"project {t.project_id}")
    if report.catalog != DEFAULT_CATALOG:
        parts.append(f"catalog {report.catalog}")
    return ", ".join(parts)


def summary_line(report: TargetDrift) -> str:
    summary = report.summary
    line = (
        f"Drift: {summary['drifted']} drifted, {summary['missing']} missing from the cloud, "
        f"{summary['orphan']} orphaned, {summary['in_sync']} in sync."
    )
    if summary.get("unmanaged"):
        line += f" {summary['unmanaged']} unmanaged."
    if summary.get("error"):
        line += f" {summary['error']} with errors."
    if report.policies:
        violating = sum(1 for image in report.images if image.violations)
        line += f" {violating} violating policies ({', '.join(report.policies)})."
    if report.other_catalogs:
        counts = ", ".join(f"{name}: {n}" for name, n in sorted(report.other_catalogs.items()))
        line += (
            f" {sum(report.other_catalogs.values())} managed by other catalogs ({counts}), "
            "not compared."
        )
    return line
