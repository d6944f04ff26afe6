"""`reconciler apply` and `reconciler rollback`: the commands that write."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text as RichText

from reconciler.app.pipeline import Scope, TargetResult, glance_client, labelled, plan_targets
from reconciler.app.policies import (
    desired_violations,
    gate_results,
    print_violations,
    run_policy,
)
from reconciler.apply import INTERRUPTED, Applier, roll_back_journal, skipped_entries
from reconciler.apply.journal import Journal, default_path, histories
from reconciler.apply.steps import IMPORT_WAIT
from reconciler.cli.console import SETTINGS, emit, error, info, is_tty
from reconciler.cli.options import (
    DEFAULT_CLOUD,
    CatalogOption,
    OnlyTargets,
    PolicyLevel,
    PolicyLevelOption,
    PolicyOption,
    ShowOrphans,
    TakeOver,
    TargetParallelismOption,
    TargetsFileOption,
    cloud_command,
)
from reconciler.cli.plan_cmd import print_plans, report_failed
from reconciler.cloud.auth import connect
from reconciler.errors import PlanFileError, TargetMismatch, UsageError
from reconciler.model import planfile
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.plan import ImagePlan, Plan
from reconciler.model.report import ApplyReport, ImageResult, Status
from reconciler.render.apply import ReportFormat, render_report
from reconciler.render.plan import PlanFormat
from reconciler.render.plan.describe import human_size
from reconciler.runtime.interrupts import STOP, guarded, mapped

EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130
Pace = tuple[int, float]  # images applied at once, seconds an image's data may take


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
    policies: list[str] = PolicyOption,
    policy_level: PolicyLevel = PolicyLevelOption,
    targets_file: Path | None = TargetsFileOption,
    only: list[str] = OnlyTargets,
    target_parallelism: int = TargetParallelismOption,
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Apply a saved plan, or plan manifests and apply them after confirmation.

    From manifests, policies (--policy, the manifests' policy:) gate the plan as in
    `plan`: an entry violating an error-level rule is skipped (exit 3)."""
    if _is_plan_file(paths):
        plan = planfile.read(paths[0])
        if catalog is not None and catalog != plan.catalog:
            raise PlanFileError(
                f"{paths[0]} was planned for catalog {plan.catalog!r}, not {catalog!r}"
            )
        options = replace(
            cloud,
            cloud=cloud.cloud or plan.target.cloud,
            region=cloud.region or plan.target.region,
        )
        connection = connect(options)
        if plan.target.project_id and connection.project_id != plan.target.project_id:
            raise TargetMismatch(
                f"{paths[0]} was planned for project {plan.target.project_id}, but these "
                f"credentials act for {connection.project_id}"
            )
        client = glance_client(connection, options.timeout)
    else:
        if not auto_approve and not is_tty():
            raise UsageError(
                "apply asks for confirmation, but there is no terminal: pass --auto-approve, "
                "or apply a saved plan file"
            )
        scope = Scope(catalog=catalog, prune=prune, take_over=take_over, prune_stores=prune_stores)
        results = plan_targets(
            paths,
            cloud,
            scope=scope,
            targets_file=targets_file,
            only=only,
            parallelism=target_parallelism,
        )
        if len(results) == 1 and results[0].error is not None:
            raise results[0].error
        policy, manifests = run_policy(paths, policies, catalog)
        if policy is not None and manifests is not None:
            violations = desired_violations(policy, manifests)
            print_violations(violations, policy_level)
            results = gate_results(results, violations, policy_level)
        _apply_targets(
            results, auto_approve, journal_path, (parallelism, import_timeout), fmt, show_orphans
        )
        return
    if not plan.has_work:
        _nothing_to_apply(fmt, 1 if plan.has_errors else 0, [plan])
    with guarded():
        report = _run(plan, client, journal_path, (parallelism, import_timeout), fmt)
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
    journals = {r.label: _journal_for(journal_path, r.label if several else None) for r in work}
    with guarded(), ThreadPoolExecutor(len(work)) as pool:
        reports = mapped(
            pool,
            lambda r: _run(r.plan, r.client, journals[r.label], pace, fmt, progress=not several),
            work,
        )
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


def _journal_for(journal_path: Path | None, label: str | None) -> Path:
    path = journal_path or default_path()
    return path if label is None else labelled(path, label)


def _confirm() -> None:
    if not typer.confirm("Apply these changes?", default=False):
        raise typer.Exit(1)


def _run(
    plan: Plan | None,
    client: Any,
    journal_path: Path | None,
    pace: Pace,
    fmt: ReportFormat,
    *,
    progress: bool = True,
) -> ApplyReport:
    assert plan is not None
    journal = Journal(journal_path or default_path())
    STOP.watch(journal)
    total = sum(1 for image in plan.images if image.has_work)
    show_progress = progress and fmt is ReportFormat.text and is_tty() and not SETTINGS.quiet
    bar = Progress(
        TextColumn("{task.fields[label]}"),
        BarColumn(),
        AmountColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        transient=True,
    )
    task = bar.add_task("", total=total, label="applying", data=False)
    sizes = [image.data.size for image in plan.images if image.has_work and image.data]
    overall = None
    if sizes:  # one bar for all the data (its total once every size is known), one each
        known = None if None in sizes else sum(s for s in sizes if s is not None)
        overall = bar.add_task("", total=known, label="data", data=True)
    per_image: dict[str, tuple[TaskID, int]] = {}

    def advance(result: Any) -> None:
        bar.update(task, advance=1, description=f"{result.name}: {result.status}")
        ended = per_image.pop(result.name, None)
        if ended is not None:
            bar.remove_task(ended[0])

    def on_data(image: ImagePlan, done: int, length: int | None) -> None:
        entry = per_image.get(image.name)
        if entry is None or done < entry[1]:  # first block, or an upload sent again
            if entry is not None:
                bar.remove_task(entry[0])
            entry = (bar.add_task("", total=length, label=f"  {image.name}", data=True), 0)
        bar.update(entry[0], completed=done)
        if overall is not None:
            bar.update(overall, advance=done - entry[1])
        per_image[image.name] = (entry[0], done)

    try:
        with bar if show_progress else nullcontext():
            parallelism, import_wait = pace
            applier = Applier(
                client,
                journal,
                parallelism=parallelism,
                import_wait=import_wait,
                on_done=advance if show_progress else (lambda _r: None),
                on_data=on_data if show_progress else None,
            )
            return applier.run(plan)
    finally:
        journal.close()


class AmountColumn(ProgressColumn):
    """`3/10` for the image count; bytes, and the rate, for data bars."""

    def render(self, task: Task) -> RichText:
        if not task.fields.get("data"):
            return RichText(f"{task.completed:.0f}/{task.total or 0:.0f}")
        done = human_size(int(task.completed))
        total = f"/{human_size(int(task.total))}" if task.total else ""
        speed = f" {human_size(int(task.speed))}/s" if task.speed else ""
        return RichText(f"{done}{total}{speed}")


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
    records = histories(journal_file)
    run = records[0] or {}
    target = run.get("target") or {}
    options = replace(
        cloud,
        cloud=cloud.cloud or target.get("cloud"),
        region=cloud.region or target.get("region"),
    )
    connection = connect(options)
    if target.get("project_id") and connection.project_id != target.get("project_id"):
        raise TargetMismatch(
            f"{journal_file} was written for project {target.get('project_id')}, but these "
            f"credentials act for {connection.project_id}"
        )
    client = glance_client(connection, options.timeout)
    journal = Journal(journal_file)
    try:
        report = roll_back_journal(client, journal, records)
    finally:
        journal.close()
    _print_report(report, fmt, "Rollback")
    if any(r.status is Status.ROLLBACK_FAILED for r in report.results):
        raise typer.Exit(EXIT_PARTIAL)
