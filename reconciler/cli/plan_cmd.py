"""`reconciler plan`: what apply would change, read-only."""

from __future__ import annotations

from pathlib import Path

import typer

from reconciler.cli.console import info
from reconciler.cli.options import (
    DEFAULT_CLOUD,
    DEFAULT_RUN,
    CatalogOption,
    Paths,
    RunOptions,
    ShowOrphans,
    TakeOver,
    cloud_command,
    run_options,
)
from reconciler.cli.outcome import (
    out_path,
    print_plans,
    report_failed,
)
from reconciler.model.cloud_options import CloudOptions
from reconciler.render.plan import PlanFormat

# The loader, the diff and the cloud client are imported inside the command: the
# listing starts before they load (reconciler.app.pipeline).


@cloud_command
@run_options
def plan(
    paths: list[Path] = Paths,
    fmt: PlanFormat = typer.Option(PlanFormat.text, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(
        None, "--out", "-o", metavar="FILE", help="Save the plan for `apply FILE`."
    ),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0 no changes, 2 changes, 1 error."
    ),
    prune: bool = typer.Option(False, "--prune", help="Plan deleting orphaned images."),
    prune_stores: bool = typer.Option(
        False,
        "--prune-stores",
        help="Plan deleting an image's data from stores its entry does not declare "
        "(never the last copy).",
    ),
    show_unchanged: bool = typer.Option(False, "--show-unchanged", help="List noop images."),
    show_orphans: bool = ShowOrphans,
    catalog: str | None = CatalogOption,
    take_over: bool = TakeOver,
    run: RunOptions = DEFAULT_RUN,
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Show what apply would change (reads only).

    With policies, an entry that violates an error-level rule is an error of the plan
    (apply skips it), unless --policy-level warning."""
    from reconciler.app.pipeline import Scope, plan_run
    from reconciler.model import planfile

    scope = Scope(catalog=catalog, prune=prune, take_over=take_over, prune_stores=prune_stores)
    done = plan_run(run.request(paths, cloud, scope))
    done.raise_lone_error()
    results = done.results
    plans = [r.plan for r in results if r.plan is not None]
    print_plans(plans, fmt, show_unchanged, show_orphans)
    failed = report_failed(results)
    if out is not None:
        for result in results:
            if result.plan is not None:
                path = out_path(out, result, len(results) > 1)
                planfile.save(result.plan, path)
                info(f"plan saved to {path}; apply it with: reconciler apply {path}")
    if failed or any(p.has_errors for p in plans):
        raise typer.Exit(1)
    if detailed_exitcode and any(p.has_changes for p in plans):
        raise typer.Exit(2)
