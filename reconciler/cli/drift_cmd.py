"""`reconciler drift`: compare Git with the cloud, read-only, for scheduled CI jobs."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import typer

from reconciler.app.pipeline import PolicyUse, Scope, TargetResult, plan_run
from reconciler.cli.console import emit, info
from reconciler.cli.options import (
    DEFAULT_CLOUD,
    DEFAULT_RUN,
    CatalogOption,
    Paths,
    RunOptions,
    cloud_command,
    run_options,
)
from reconciler.cli.outcome import report_failed
from reconciler.errors import UsageError
from reconciler.model.cloud_options import CloudOptions
from reconciler.planning.drift import (
    DriftDocument,
    FailOn,
    TargetDrift,
    TargetInfo,
    catalog_images,
    failed_target,
    has_errors,
    is_failing,
    target_drift,
)
from reconciler.policy.check import check
from reconciler.policy.facts import live_facts
from reconciler.policy.models import Level, Policy
from reconciler.policy.refs import PolicyLevel
from reconciler.render.drift import DriftFormat, render_drift

EXIT_DRIFT = 2


def _report_of(
    result: TargetResult, unmanaged: bool, policy: Policy | None, as_warnings: bool
) -> TargetDrift:
    if result.plan is None or result.catalog is None:
        options = result.run.options
        info_ = TargetInfo(name=result.run.name, cloud=options.cloud, region=options.region)
        return failed_target(info_, str(result.error), result.manifest_catalog)
    violations = []
    if policy is not None:
        mine = catalog_images(result.plan, result.catalog.images)
        facts = [live_facts(image) for image in mine]
        violations = check(policy, facts, datetime.now(UTC))
        if as_warnings:
            violations = [replace(v, level=Level.warning) for v in violations]
    return target_drift(
        result.plan,
        result.catalog.images if unmanaged else None,
        violations,
        policy.names if policy is not None else (),
    )


def _parse_reports(reports: list[str]) -> list[tuple[DriftFormat, Path]]:
    parsed = []
    for item in reports:
        fmt, sep, path = item.partition("=")
        if not sep or not path or fmt not in DriftFormat.__members__:
            raise UsageError(
                f"--report {item!r}: expected FORMAT=PATH with FORMAT one of "
                + ", ".join(DriftFormat.__members__)
            )
        parsed.append((DriftFormat(fmt), Path(path)))
    return parsed


def write_report(path: Path, text: str) -> None:
    """Write the file whole or not at all (a temporary file renamed over it): the
    textfile collector may read it at any moment, and a half-written file is a scrape
    error."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write the report to {path}: {err.strerror}") from None


@cloud_command
@run_options
def drift(
    paths: list[Path] = Paths,
    fmt: DriftFormat = typer.Option(DriftFormat.text, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        metavar="FILE",
        help="Write the report (in --format) to this file instead of stdout.",
    ),
    reports: list[str] = typer.Option(
        [],
        "--report",
        metavar="FORMAT=FILE",
        help=(
            "Also write the report in FORMAT to FILE (repeatable), e.g. --report "
            "junit=drift.xml or --report openmetrics=drift.prom."
        ),
    ),
    fail_on: FailOn = typer.Option(
        FailOn.any,
        "--fail-on",
        help=(
            "Exit 2 on: drift (drifted or missing images), orphans, policy (violations "
            "of error-level rules), or any."
        ),
    ),
    unmanaged: bool = typer.Option(
        False, "--unmanaged", help="Also report the project's images no manifest names."
    ),
    show_in_sync: bool = typer.Option(False, "--show-in-sync", help="List in-sync images."),
    catalog: str | None = CatalogOption,
    run: RunOptions = DEFAULT_RUN,
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Report drift between the manifests and the cloud (reads only). Exit 0 no drift,
    2 drift found, 1 error."""
    started = time.monotonic()
    extra = _parse_reports(reports)
    if out is not None:
        extra.insert(0, (fmt, out))
    as_warnings = run.policy_level is PolicyLevel.warning
    # drift checks the live images against the policy, not the plans
    done = plan_run(run.request(paths, cloud, Scope(catalog=catalog), PolicyUse.LIVE))
    done.raise_lone_error()
    policy, results = done.policy, done.results
    document = DriftDocument(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_seconds=round(time.monotonic() - started, 3),
        targets=[_report_of(r, unmanaged, policy, as_warnings) for r in results],
    )
    if out is None:
        emit(render_drift(document, fmt, show_in_sync=show_in_sync))
    for extra_fmt, path in extra:
        view = render_drift(document, extra_fmt, show_in_sync=show_in_sync)
        write_report(path, view if isinstance(view, str) else view.plain)
        info(f"{extra_fmt} drift report written to {path}")
    report_failed(results)
    if has_errors(document):
        raise typer.Exit(1)
    if is_failing(document, fail_on):
        raise typer.Exit(EXIT_DRIFT)
