"""`reconciler drift`: compare Git with the cloud, read-only, for scheduled CI jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer

from reconciler.cli.console import info, stdout_console
from reconciler.cli.options import (
    DEFAULT_CLOUD,
    CatalogOption,
    OnlyTargets,
    Paths,
    TargetsFileOption,
    cloud_command,
)
from reconciler.cli.pipeline import Scope, TargetResult, plan_targets
from reconciler.cli.plan_cmd import report_failed
from reconciler.cloud.auth import CloudOptions
from reconciler.drift import (
    DriftDocument,
    FailOn,
    TargetDrift,
    TargetInfo,
    failed_target,
    has_errors,
    is_failing,
    target_drift,
)
from reconciler.errors import UsageError
from reconciler.render.drift_html import render_drift_html
from reconciler.render.drift_junit import render_drift_junit
from reconciler.render.drift_markdown import render_drift_markdown
from reconciler.render.drift_text import render_drift_text

EXIT_DRIFT = 2


class DriftFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    junit = "junit"
    html = "html"


def render(document: DriftDocument, fmt: DriftFormat, show_in_sync: bool = False) -> str:
    if fmt is DriftFormat.json:
        return document.model_dump_json(indent=2) + "\n"
    if fmt is DriftFormat.markdown:
        return render_drift_markdown(document)
    if fmt is DriftFormat.junit:
        return render_drift_junit(document)
    if fmt is DriftFormat.html:
        return render_drift_html(document)
    return render_drift_text(document, show_in_sync=show_in_sync).plain


def _report_of(result: TargetResult, unmanaged: bool) -> TargetDrift:
    if result.plan is None or result.catalog is None:
        options = result.run.options
        info_ = TargetInfo(name=result.run.name, cloud=options.cloud, region=options.region)
        return failed_target(info_, str(result.error), result.manifest_catalog)
    return target_drift(result.plan, result.catalog.images if unmanaged else None)


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


@cloud_command
def drift(
    paths: list[Path] = Paths,
    fmt: DriftFormat = typer.Option(DriftFormat.text, "--format", "-f", help="Output format."),
    reports: list[str] = typer.Option(
        [],
        "--report",
        help="Also write FORMAT=PATH (repeatable), e.g. --report junit=drift.xml.",
    ),
    fail_on: FailOn = typer.Option(
        FailOn.any,
        "--fail-on",
        help="Exit 2 on: drift (drifted or missing images), orphans, or any.",
    ),
    unmanaged: bool = typer.Option(
        False, "--unmanaged", help="Also report the project's images no manifest names."
    ),
    show_in_sync: bool = typer.Option(False, "--show-in-sync", help="List in-sync images."),
    catalog: str | None = CatalogOption,
    targets_file: Path | None = TargetsFileOption,
    only: list[str] = OnlyTargets,
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Report drift between the manifests and the cloud (reads only). Exit 0 no drift,
    2 drift found, 1 error."""
    extra = _parse_reports(reports)
    results = plan_targets(
        paths, cloud, scope=Scope(catalog=catalog), targets_file=targets_file, only=only
    )
    if len(results) == 1 and results[0].error is not None:
        raise results[0].error
    document = DriftDocument(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        targets=[_report_of(result, unmanaged) for result in results],
    )
    if fmt is DriftFormat.text:
        stdout_console().print(render_drift_text(document, show_in_sync=show_in_sync), end="")
    else:
        print(render(document, fmt), end="")
    for extra_fmt, path in extra:
        path.write_text(render(document, extra_fmt, show_in_sync))
        info(f"{extra_fmt} drift report written to {path}")
    report_failed(results)
    if has_errors(document):
        raise typer.Exit(1)
    if is_failing(document, fail_on):
        raise typer.Exit(EXIT_DRIFT)
