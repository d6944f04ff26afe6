"""`reconciler targets`: the targets a manifest set declares, for a CI matrix (one job
per target, each running `plan --target NAME`). Reads files only; never the cloud.

The list is what `plan`, `apply` and `drift` would run (`targets.resolve`): a
`--targets` file's targets, else the manifests' `targets:` in order of first mention.
With none declared a run has one implicit target (the command line's cloud and region),
which `--target` cannot name: the list is then empty, and a note says so on stderr.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from reconciler.cli.console import info
from reconciler.cli.options import CatalogOption, TargetsFileOption
from reconciler.errors import UsageError
from reconciler.manifests.loader import load_manifests, load_targets
from reconciler.model.cloud_options import CloudOptions
from reconciler.planning.targets import TargetRun, resolve


class TargetsFormat(StrEnum):
    text = "text"
    json = "json"


def target_rows(runs: list[TargetRun], counted: bool) -> list[dict[str, Any]]:
    """One row per declared target: name, cloud and region as declared (null: taken
    from --os-cloud / --os-region-name), and how many images go there (null without
    manifests)."""
    return [
        {
            "name": run.name,
            "cloud": run.options.cloud,
            "region": run.options.region,
            "images": len(run.images) if counted else None,
        }
        for run in runs
        if run.name is not None
    ]


def render_text(rows: list[dict[str, Any]]) -> str:
    width = max((len(str(row["name"])) for row in rows), default=0)
    lines = []
    for row in rows:
        cloud = row["cloud"] or "(--os-cloud)"
        region = row["region"] or "(--os-region-name)"
        images = "" if row["images"] is None else f"  {row['images']} images"
        lines.append(f"{row['name']:<{width}}  cloud {cloud}  region {region}{images}")
    return "\n".join(lines)


def targets(
    paths: list[Path] = typer.Argument(
        None, metavar="PATHS", help="Manifest files or folders (optional with --targets)."
    ),
    targets_file: Path | None = TargetsFileOption,
    output: TargetsFormat = typer.Option(
        TargetsFormat.text,
        "--format",
        help="text: one line per target; json: one line, a list of {name, cloud, region, "
        "images} (a GitHub Actions matrix's include).",
    ),
    catalog: str | None = CatalogOption,
) -> None:
    """List the targets a manifest set declares (reads files only), for a CI matrix
    with one job per target."""
    if not paths and targets_file is None:
        raise UsageError("give manifest paths, a --targets file, or both")
    images = load_manifests(paths, catalog=catalog).images if paths else ()
    file_targets = load_targets(targets_file) if targets_file is not None else None
    rows = target_rows(resolve(images, CloudOptions(), file_targets), counted=bool(paths))
    if not rows:
        info(
            "no targets declared: a run goes to --os-cloud / --os-region-name "
            "(OS_CLOUD / OS_REGION_NAME) only"
        )
    if output == TargetsFormat.json:
        print(json.dumps(rows, separators=(",", ":")))
    elif rows:
        print(render_text(rows))
