"""`reconciler validate` and `reconciler plan`: the read-only commands."""

from __future__ import annotations

from pathlib import Path

import typer

from reconciler import planfile
from reconciler.cli.console import info, stdout_console
from reconciler.cli.options import (
    Format,
    Insecure,
    OsCacert,
    OsCloud,
    OsInterface,
    OsRegion,
    Paths,
    Timeout,
    cloud_options,
    glance_client,
    make_plan,
)
from reconciler.cloud.auth import connect
from reconciler.manifests.glance_schema import ImageSchema
from reconciler.manifests.loader import load, manifest_files
from reconciler.plan import Plan
from reconciler.render.json_view import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text


def validate(
    paths: list[Path] = Paths,
    online: bool = typer.Option(False, "--online", help="Use the target server's image schema."),
    cloud: str | None = OsCloud,
    region: str | None = OsRegion,
    interface: str | None = OsInterface,
    cacert: str | None = OsCacert,
    insecure: bool = Insecure,
    timeout: float = Timeout,
) -> None:
    """Check manifests offline (or against the server's schema with --online)."""
    schema = None
    if online:
        options = cloud_options(cloud, region, interface, cacert, insecure, timeout)
        client = glance_client(connect(options), timeout)
        schema = ImageSchema(client.image_schema())
    images = load(paths, schema)
    files, _ = manifest_files(paths)
    info(
        f"valid: {len(images)} image(s) in {len(files)} file(s)"
        + (" (checked against the server's schema)" if online else "")
    )


def print_plan(plan: Plan, fmt: Format, show_unchanged: bool = False) -> None:
    if fmt is Format.json:
        print(render_json(plan), end="")
    elif fmt is Format.markdown:
        print(render_markdown(plan), end="")
    else:
        stdout_console().print(render_text(plan, show_unchanged=show_unchanged), end="")


def plan(
    paths: list[Path] = Paths,
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Save the plan for `apply`."),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0 no changes, 2 changes, 1 error."
    ),
    prune: bool = typer.Option(False, "--prune", help="Plan deleting orphaned images."),
    show_unchanged: bool = typer.Option(False, "--show-unchanged", help="List noop images."),
    cloud: str | None = OsCloud,
    region: str | None = OsRegion,
    interface: str | None = OsInterface,
    cacert: str | None = OsCacert,
    insecure: bool = Insecure,
    timeout: float = Timeout,
) -> None:
    """Show what apply would change (reads only)."""
    options = cloud_options(cloud, region, interface, cacert, insecure, timeout)
    result, _client = make_plan(paths, options, prune)
    print_plan(result, fmt, show_unchanged)
    if out is not None:
        planfile.save(result, out)
        info(f"plan saved to {out}; apply it with: reconciler apply {out}")
    if result.has_errors:
        raise typer.Exit(1)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)
