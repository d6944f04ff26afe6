"""What a read-only run (`reconciler.app.pipeline.Run`) shows on the terminal, the same
way for plan, apply and drift: the manifests' warnings, the policy violations, the
targets that could not be planned, the plans themselves. Terminal I/O only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli.console import emit, error, warning
from reconciler.policy.refs import PolicyLevel

if TYPE_CHECKING:
    from reconciler.app.pipeline import TargetResult
    from reconciler.model.plan import Plan
    from reconciler.policy.models import Violation
    from reconciler.render.plan import PlanFormat


def print_warnings(lines: Sequence[str]) -> None:
    """The manifests' warnings (`Request.on_warnings`), one `warning:` line each."""
    for line in lines:
        warning(line)


def print_violations(violations: Sequence[Violation], level: PolicyLevel) -> int:
    """Each violation as `error:` or `warning:` line; the number of errors."""
    if not violations:
        return 0
    from reconciler.policy.models import Level

    errors = 0
    for violation in violations:
        if violation.level is Level.error and level is PolicyLevel.error:
            error(str(violation))
            errors += 1
        else:
            warning(str(violation))
    return errors


def print_plans(
    plans: list[Plan], fmt: PlanFormat, show_unchanged: bool = False, show_orphans: bool = False
) -> None:
    from reconciler.render.plan import render_plan

    emit(render_plan(plans, fmt, show_unchanged=show_unchanged, show_orphans=show_orphans))


def report_failed(results: Sequence[TargetResult]) -> bool:
    """Print one line per target that could not be planned; True if any."""
    failed = [r for r in results if r.error is not None]
    for result in failed:
        error(f"target {result.label}: {result.error}")
    return bool(failed)


def out_path(out: Path, result: TargetResult, several: bool) -> Path:
    """`plan.json` for one target; `plan.<target>.json` for each of several."""
    from reconciler.app.pipeline import labelled

    if not several:
        return out
    return labelled(out if out.suffix else out.with_name(out.name + ".json"), result.label)
