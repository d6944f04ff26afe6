"""`reconciler validate` and `reconciler plan`: the read-only commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reconciler.app.policies import (
    desired_violations,
    gate_results,
    named_policy,
    print_violations,
    run_policy,
)
from reconciler.cli.console import emit, error, info, warning
from reconciler.cli.options import (
    DEFAULT_CLOUD,
    CatalogOption,
    OnlyTargets,
    Paths,
    PolicyLevel,
    PolicyLevelOption,
    PolicyOption,
    ShowOrphans,
    TakeOver,
    TargetParallelismOption,
    TargetsFileOption,
    cloud_command,
)
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.manifests.glance_schema import ImageSchema
from reconciler.manifests.loader import load_manifests, manifest_files
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.source import disabled_method, enabled_methods
from reconciler.planning.stores import unknown_stores
from reconciler.render.plan import PlanFormat, render_plan

if TYPE_CHECKING:  # the pipeline (keystoneauth, requests) is imported where it is used
    from reconciler.app.pipeline import TargetResult
    from reconciler.cloud.auth import Connection
    from reconciler.model.manifest import DesiredImage
    from reconciler.model.plan import Plan


@cloud_command
def validate(
    paths: list[Path] = Paths,
    online: bool = typer.Option(False, "--online", help="Use the target server's image schema."),
    catalog: str | None = CatalogOption,
    policies: list[str] = PolicyOption,
    policy_level: PolicyLevel = PolicyLevelOption,
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Check manifests offline (or against the server's schema, enabled import
    methods and stores with --online).

    --policy (and the manifests' policy:) also checks each image against policies:
    violations at file:line with the rule id; errors exit 1."""
    schema = None
    enabled: frozenset[str] | None = None
    available: tuple[str, ...] = ()
    connection = None
    if online:
        from reconciler.app.pipeline import glance_client
        from reconciler.cloud.auth import connect

        connection = connect(cloud)
        client = glance_client(connection, cloud.timeout)
        schema = ImageSchema(client.image_schema())
        enabled = enabled_methods(client.import_info())
    manifests = load_manifests(paths, schema, catalog)
    if online:
        from reconciler.app.pipeline import available_stores

        available = available_stores(client, manifests.images)
    for line in manifests.warnings:
        warning(line)
    policy = named_policy(policies, manifests)
    violations = desired_violations(policy, manifests) if policy else []
    failing = print_violations(violations, policy_level)
    if enabled is not None:
        problems = [
            f"{image.source}: {problem}"
            for image in manifests.images
            if image.data is not None
            and (problem := disabled_method(image.data.method, enabled)) is not None
        ]
        problems += [
            f"{image.source}: {problem}"
            for image, problem in unknown_stores(manifests.images, available)
        ]
        if connection is not None:
            problems += _member_problems(manifests.images, connection)
        if problems:
            raise ManifestError(problems)
    if failing:
        raise ReconcilerError(
            f"{failing} policy violation(s) (the error lines above); "
            "--policy-level warning reports them as warnings"
        )
    files, _ = manifest_files(paths)
    checked = ""
    if policy is not None:
        warned = len(violations)
        checked = f", policies {', '.join(policy.names)} ({len(policy.rules)} rules)" + (
            f": {warned} warning(s)" if warned else ""
        )
    info(
        f"valid: {len(manifests.images)} image(s) in {len(files)} file(s), "
        f"catalog {manifests.catalog}"
        + (" (checked against the server's schema)" if online else "")
        + checked
    )


def _member_problems(images: list[DesiredImage], connection: Connection) -> list[str]:
    """Members Keystone says do not exist, at each entry naming them; the ones these
    credentials may not look up are counted in one line, not guessed at."""
    from reconciler.cloud.projects import check_projects

    members = {m for image in images for m in image.members or ()}
    if not members:
        return []
    found = check_projects(connection.session, connection.interface, members)
    if found.unchecked:
        info(
            f"{len(found.unchecked)} member project(s) not checked: these credentials may "
            "not look them up in Keystone (a reader role on the domain or system may)"
        )
    missing = set(found.missing)
    return [
        f"{image.source}: member {member!r}: no such project in Keystone "
        f"(cloud {connection.cloud or '-'})"
        for image in images
        for member in image.members or ()
        if member in missing
    ]


def print_plans(
    plans: list[Plan], fmt: PlanFormat, show_unchanged: bool = False, show_orphans: bool = False
) -> None:
    emit(render_plan(plans, fmt, show_unchanged=show_unchanged, show_orphans=show_orphans))


def report_failed(results: list[TargetResult]) -> bool:
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


@cloud_command
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
    policies: list[str] = PolicyOption,
    policy_level: PolicyLevel = PolicyLevelOption,
    targets_file: Path | None = TargetsFileOption,
    only: list[str] = OnlyTargets,
    target_parallelism: int = TargetParallelismOption,
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Show what apply would change (reads only).

    With policies, an entry that violates an error-level rule is an error of the plan
    (apply skips it), unless --policy-level warning."""
    from reconciler.app.pipeline import Scope, plan_targets
    from reconciler.model import planfile

    policy, manifests = run_policy(paths, policies, catalog)
    violations = desired_violations(policy, manifests) if policy and manifests else []
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
    results = gate_results(results, violations, policy_level)
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
