"""`reconciler bump`: the newest upstream builds written into the manifests. Reads
upstreams and files, rewrites manifests; never the cloud, needs no credentials."""

from __future__ import annotations

from pathlib import Path

import typer

from reconciler.errors import UsageError
from reconciler.render.bump import BumpFormat, render_bump

DEFAULT_FOLDER = Path("manifests")


def bump(
    paths: list[Path] = typer.Argument(
        None,
        help="Manifest files or folders (default: ./manifests).",
        show_default=False,
    ),
    names: list[str] = typer.Option(
        [],
        "--name",
        metavar="GLOB",
        help="Only entries whose name matches this glob (repeat for several).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report what would change; write nothing (exit 2 all the same)."
    ),
    output: BumpFormat = typer.Option(
        BumpFormat.text,
        "--format",
        help="text; json; markdown: a pull request's body (a row per updated entry).",
    ),
    timeout: float = typer.Option(
        30.0, "--timeout", metavar="SECONDS", help="Seconds per upstream request."
    ),
) -> None:
    """Move each entry with a source.watch to its newest upstream build.

    For each entry whose source has a watch: block, finds the newest build upstream
    (index links or checksum-file names, natural version order, signature checked with
    gpgv when asked) and, where it differs, rewrites source.url, source.checksum,
    source.version, image_build_date and image_source in place (comments and layout
    kept). Exit 0: all current; 2: something was updated (or would be, with --dry-run);
    1: an error (that entry is left as it is, the others are still written).

    Example: reconciler bump manifests/ --format markdown > pr-body.md"""
    from reconciler.upstream.bump import run  # requests is imported when used
    from reconciler.upstream.fetch import Fetcher

    if not paths:
        if not DEFAULT_FOLDER.is_dir():
            raise UsageError("give manifest paths (there is no ./manifests folder)")
        paths = [DEFAULT_FOLDER]
    report = run(paths, names, dry_run, Fetcher(timeout=timeout))
    if names and not report.results:
        raise UsageError(f"no entry with a source.watch matches --name {' '.join(names)}")
    typer.echo(render_bump(report, output), nl=False)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
