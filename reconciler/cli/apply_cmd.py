"""`reconciler apply` and `reconciler rollback`: the commands that write."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer

from reconciler.app.pipeline import Scope, TargetResult, plan_run
from reconciler.app.writes import (
    Observer,
    Pace,
    apply_plan,
    apply_targets,
    connect_as,
    roll_back,
    target_options,
)
from reconciler.apply import INTERRUPTED, skipped_entries
from reconciler.apply.steps import IMPORT_WAIT
from reconciler.cli.console import SETTINGS, emit, error, info, is_tty
from reconciler.cli.options import (
    DEFAULT_CLOUD,
    DEFAULT_RUN,
    CatalogOption,
    RunOptions,
    ShowOrphans,
    TakeOver,
    cloud_command,
    run_options,
)
from reconciler.cli.outcome import print_plans, print_violations, report_failed
from reconciler.errors import PlanFileError, UsageError
from reconciler.model import planfile
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.plan import Plan
from reconciler.model.report import ApplyReport, ImageResult, Status
from reconciler.render.apply import ReportFormat, render_report
from reconciler.render.plan import PlanFormat
from reconciler.runtime.interrupts import STOP

EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


def _is_plan_file(paths: list[Path]) -> bool:
    if len(paths) != 1 or not paths[0].is_file() or paths[0].suffix != ".json":
        return False
    try:
        data: Any = json.loads(paths[0].read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format_version" in data


def _print_report(report: ApplyReport, fmt: ReportFormat, title: str) -> None:
    emit(render_report(report, fmt, title))
    if report.journal and fmt is ReportFormat.text:
        info(f"journal: {report.journal}")


def _interrupted(results: Sequence[ImageResult]) -> int:
    """The run was interrupted (reconciler.runtime.interrupts): say what was not started."""
    left = sum(1 for r in results if r.status is Status.SKIPPED and r.reason == INTERRUPTED)
    error(
        f"interrupted: {left} image(s) not started; each image in flight finished or was "
        "rolled back"
    )
    return EXIT_INTERRUPTED


def _exit_code(report: ApplyReport) -> int:
    bad = {
        Status.ROLLED_BACK,
        Status.ROLLBACK_FAILED,
        Status.STALE,
        Status.DIVERGED,
        Status.INCOMPLETE,
        Status.COPY_FAILED,
    }
    if any(r.status in bad for r in report.results):
        return EXIT_PARTIAL
    if any(r.status is Status.SKIPPED for r in report.results):
        return EXIT_PARTIAL
    return 0


@cloud_command
@run_options
def apply(
    paths: list[Path] = typer.Argument(
        ...,
        metavar="PLAN_FILE|PATHS",
        help="A plan file (plan --out FILE) or manifest files or folders.",
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask."),
    parallelism: int = typer.Option(
        4, "--parallelism", "-p", min=1, max=64, help="Images applied at once."
    ),
    prune: bool = typer.Option(False, "--prune", help="Delete orphaned images (from manifests)."),
    prune_stores: bool = typer.Option(
        False,
        "--prune-stores",
        help="Delete an image's data from stores its entry does not declare (from "
        "manifests; never the last copy).",
    ),
    import_timeout: float = typer.Option(
        IMPORT_WAIT,
        "--import-timeout",
        min=1,
        metavar="SECONDS",
        help="Seconds an image's data may take to become active (imports are polled).",
    ),
    fmt: ReportFormat = typer.Option(
        ReportFormat.text,
        "--format",
        "-f",
        help="The report of what was done: a table (text) or a JSON document.",
    ),
    journal_path: Path | None = typer.Option(
        None,
        "--journal",
        metavar="FILE",
        help="Journal file to write (default: .reconciler/journals/apply-<time>.jsonl).",
    ),
    catalog: str | None = CatalogOption,
    take_over: bool = TakeOver,
    show_orphans: bool = ShowOrphans,
    run: RunOptions = DEFAULT_RUN,
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Apply a saved plan, or plan manifests and apply them after confirmation.

    From manifests, policies (--policy, the manifests' policy:) gate the plan as in
    `plan`: an entry violating an error-level rule is skipped (exit 3)."""
    pace = Pace(parallelism, import_timeout)
    if not _is_plan_file(paths):
        if not auto_approve and not is_tty():
            raise UsageError(
                "apply asks for confirmation, but there is no terminal: pass --auto-approve, "
                "or apply a saved plan file"
            )
        scope = Scope(catalog=catalog, prune=prune, take_over=take_over, prune_stores=prune_stores)
        planned = plan_run(run.request(paths, cloud, scope))
        planned.raise_lone_error()
        print_violations(planned.violations, run.policy_level)
        _apply_targets(planned.results, auto_approve, journal_path, pace, fmt, show_orphans)
        return
    plan = planfile.read(paths[0])
    if catalog is not None and catalog != plan.catalog:
        raise PlanFileError(f"{paths[0]} was planned for catalog {plan.catalog!r}, not {catalog!r}")
    client = connect_as(
        target_options(cloud, {"cloud": plan.target.cloud, "region": plan.target.region}),
        plan.target.project_id,
        f"{paths[0]} was planned",
    )
    if not plan.has_work:
        _nothing_to_apply(fmt, 1 if plan.has_errors else 0, [plan])
    report = apply_plan(plan, client, journal_path, pace, _observer(plan, fmt))
    _print_report(report, fmt, "Apply")
    code = _interrupted(report.results) if STOP.requested else _exit_code(report)
    if code:
        raise typer.Exit(code)


def _apply_targets(
    results: list[TargetResult],
    auto_approve: bool,
    journal_path: Path | None,
    pace: Pace,
    fmt: ReportFormat,
    show_orphans: bool = False,
) -> None:
    """Plan shown, confirmed once, then every target applied concurrently with its own
    journal; a target that could not be planned is reported and skipped."""
    plans = [r.plan for r in results if r.plan is not None]
    if fmt is ReportFormat.text:
        print_plans(plans, PlanFormat.text, show_orphans=show_orphans)
    failed = report_failed(results)
    work = [r for r in results if r.plan is not None and r.plan.has_work]
    if work and not auto_approve:
        _confirm()
    if not work:
        _nothing_to_apply(fmt, 1 if failed or any(p.has_errors for p in plans) else 0, plans)
    several = len(results) > 1

    def observer(result: TargetResult) -> Observer:
        assert result.plan is not None
        return _observer(result.plan, fmt, progress=not several)

    reports = apply_targets(work, journal_path, pace, observer, several)
    codes = []
    for result, report in zip(work, reports, strict=True):
        _print_report(report, fmt, f"Apply: target {result.label}" if several else "Apply")
        codes.append(_exit_code(report))
    code = max(codes)
    if failed:
        code = max(code, EXIT_PARTIAL)
    if STOP.requested:
        code = _interrupted([r for report in reports for r in report.results])
    if code:
        raise typer.Exit(code)


def _nothing_to_apply(fmt: ReportFormat, code: int, plans: Sequence[Plan] = ()) -> NoReturn:
    """Exit with `code`; the JSON report lists the entries skipped as errors."""
    if fmt is ReportFormat.json:
        skipped = tuple(result for plan in plans for result in skipped_entries(plan))
        emit(render_report(ApplyReport(skipped, None), fmt, "Apply"))
    else:
        info("No changes. Nothing to apply.")
    raise typer.Exit(code)


def _confirm() -> None:
    if not typer.confirm("Apply these changes?", default=False):
        raise typer.Exit(1)


def _observer(plan: Plan, fmt: ReportFormat, progress: bool = True) -> Observer:
    """The progress bars on a terminal (text report, not --quiet), else nothing."""
    if progress and fmt is ReportFormat.text and is_tty() and not SETTINGS.quiet:
        from reconciler.cli.progress import ProgressView

        return ProgressView(plan)
    return Observer()


@cloud_command
def rollback(
    journal_file: Path = typer.Argument(
        ..., metavar="JOURNAL", help="The journal of an apply run."
    ),
    fmt: ReportFormat = typer.Option(
        ReportFormat.text,
        "--format",
        "-f",
        help="The report of what was undone: a table (text) or a JSON document.",
    ),
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Undo what an apply run recorded in its journal (after a crash, say)."""
    report = roll_back(journal_file, cloud)
    _print_report(report, fmt, "Rollback")
    if any(r.status is Status.ROLLBACK_FAILED for r in report.results):
        raise typer.Exit(EXIT_PARTIAL)
