"""`reconciler import`: manifests from live images (read-only towards the cloud), and
`--update FILE`: live values merged into an existing manifest, in place."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import typer
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.app.pipeline import PolicyUse, Request, Scope, glance_client, plan_run
from reconciler.cli.console import info
from reconciler.cli.options import (
    DEFAULT_CLOUD,
    OnlyTargets,
    TargetsFileOption,
    catalog_name,
    cloud_command,
)
from reconciler.cli.outcome import print_warnings
from reconciler.cloud.auth import connect
from reconciler.cloud.live import list_images, read_members
from reconciler.errors import UsageError
from reconciler.manifests import update as manifest_update
from reconciler.manifests.glance_schema import snapshot
from reconciler.manifests.schema_ref import with_schema_comment
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.image_view import DEFAULT_CATALOG
from reconciler.model.plan import Action
from reconciler.planning.importer import (
    Selection,
    entry_for,
    manifest_for,
    needs_id,
    others_managed,
    select,
)

# import reads no manifests (except with --update): its catalog is the one it writes.
ImportCatalogOption = typer.Option(
    None,
    "--catalog",
    metavar="NAME",
    callback=catalog_name,
    help=(
        "The catalog the written manifests name (catalog:); images another catalog "
        "manages are skipped (see --include-other-catalogs). With --update, the run's "
        "catalog, as --catalog of plan. Default: 'default'."
    ),
)


class Visibility(StrEnum):
    """Glance's image visibilities (`--visibility`): another value matches no image."""

    public = "public"
    private = "private"
    shared = "shared"
    community = "community"


class Layout(StrEnum):
    single = "single"  # one file, images.yaml
    per_image = "per-image"  # one file per image, named after it


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def _commented(entry: dict[str, Any]) -> CommentedMap:
    node = CommentedMap()
    for key, value in entry.items():
        if isinstance(value, list):
            seq = CommentedSeq(value)
            seq.fa.set_flow_style()
            node[key] = seq
        elif isinstance(value, dict):
            node[key] = CommentedMap(value)
        else:
            node[key] = value
    return node


def render_manifest(entries: list[dict[str, Any]], source: str, catalog: str | None = None) -> str:
    document = CommentedMap(manifest_for([_commented(e) for e in entries], catalog))
    document.yaml_set_start_comment(source)
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def _file_name(name: str, image_id: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "image"
    if stem in taken:
        stem = f"{stem}-{image_id[:8]}"
    taken.add(stem)
    return stem + ".yaml"


E = TypeVar("E")  # an entry as the command renders it


def write_manifests(
    out_dir: Path | None,
    per_image: bool,
    force: bool,
    render: Callable[[list[E]], str],
    entries: Sequence[tuple[E, str, str]],
) -> None:
    """The manifests `import` writes (`entries`: each entry, its name, a fallback for
    its file name): one document on stdout without `out_dir`, else `DIR/images.yaml`,
    or with `per_image` a file per entry named after it."""
    chunk = [entry for entry, _name, _fallback in entries]
    if out_dir is None:
        print(render(chunk), end="")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    if not per_image:
        _write(out_dir / "images.yaml", render(chunk), force)
        info(f"wrote {len(chunk)} image(s) to {out_dir / 'images.yaml'}")
        return
    taken: set[str] = set()
    for entry, name, fallback in entries:
        _write(out_dir / _file_name(name, fallback, taken), render([entry]), force)
    info(f"wrote {len(chunk)} file(s) to {out_dir}")


def _write(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    _replace(path, with_schema_comment(text, path.parent))


def _replace(path: Path, text: str) -> None:
    """Write the file whole or not at all (a temporary file renamed over it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@cloud_command
def import_images(
    names: list[str] = typer.Option(
        [], "--name", metavar="GLOB", help="Name glob (repeatable), e.g. 'ubuntu-*'."
    ),
    tags: list[str] = typer.Option(
        [], "--tag", metavar="TAG", help="Images with this tag (repeatable)."
    ),
    owners: list[str] = typer.Option(
        [], "--owner", metavar="PROJECT_ID", help="Owner project id (repeatable)."
    ),
    visibilities: list[Visibility] = typer.Option(
        [], "--visibility", help="Images with this visibility (repeatable)."
    ),
    ids: list[str] = typer.Option([], "--id", metavar="ID", help="Image id (repeatable)."),
    mine: bool = typer.Option(False, "--mine", help="Only images this project owns."),
    members: bool = typer.Option(
        True, "--members/--no-members", help="Include the members of shared images."
    ),
    out_dir: Path | None = typer.Option(
        None, "--out-dir", "-o", metavar="DIR", help="Write into this folder (default: stdout)."
    ),
    layout: Layout = typer.Option(
        Layout.single,
        "--layout",
        help="single: one images.yaml; per-image: one file per image, named after it.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
    update: Path | None = typer.Option(
        None, "--update", metavar="FILE", help="Merge live values into this manifest, in place."
    ),
    catalog: str | None = ImportCatalogOption,
    other_catalogs: bool = typer.Option(
        False,
        "--include-other-catalogs",
        help="Also import images another catalog manages (apply then needs --take-over).",
    ),
    targets_file: Path | None = TargetsFileOption,
    only: list[str] = OnlyTargets,
    from_: str | None = typer.Option(
        None,
        "--from",
        help="oim: convert openstack-image-manager image files (FILES_OR_DIRS) instead; "
        "reads files only.",
    ),
    oim_paths: list[Path] = typer.Argument(
        None, metavar="FILES_OR_DIRS", help="With --from oim: OIM image files or folders."
    ),
    include_disabled: bool = typer.Option(
        False, "--include-disabled", help="With --from oim: also images with enable: false."
    ),
    retire: list[str] = typer.Option(
        [],
        "--retire",
        help="With --from oim: the flags the OIM job runs with (hide, deactivate, delete; "
        "repeatable): how builds beyond uuid_validity's last-N retire.",
    ),
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Write manifests describing live images (reads only; never writes to the cloud)."""
    if from_ is not None or oim_paths:
        if names or tags or owners or visibilities or ids or mine or update or other_catalogs:
            raise UsageError("--from reads files: it takes no live selection and no --update")
        _from_files(from_, oim_paths, out_dir, layout, catalog, force, include_disabled, retire)
        return
    if update is not None:
        if names or tags or owners or visibilities or ids or mine or out_dir:
            raise UsageError("--update takes no selection or --out-dir: it updates FILE's images")
        _update(update, cloud, targets_file, only, catalog)
        return
    connection = connect(cloud)
    client = glance_client(connection, cloud.timeout)
    live = list(list_images(client).values())
    owner_filter = (*owners, connection.project_id) if mine and connection.project_id else owners
    selection = Selection(
        tuple(names), tuple(tags), tuple(owner_filter), tuple(map(str, visibilities)), tuple(ids)
    )
    chosen = select(live, selection)
    theirs = others_managed(chosen, catalog or DEFAULT_CATALOG)
    if theirs and not other_catalogs:
        skipped = {image.id for image in theirs}
        chosen = [image for image in chosen if image.id not in skipped]
        info(
            f"skipped {len(theirs)} image(s) managed by other catalogs "
            "(--include-other-catalogs imports them; apply then needs --take-over)"
        )
    if not chosen:
        raise UsageError("no image matches the selection")
    pinned = needs_id(chosen, live)
    schema = snapshot()
    entries = []
    for image in chosen:
        if members and image.owner == connection.project_id:
            image.members = read_members(client, image)
        entries.append(entry_for(image, schema, pin_id=image.id in pinned))
    source = (
        f"Imported by `reconciler import` on {datetime.now(UTC):%Y-%m-%d} from cloud "
        f"{connection.cloud or '-'}, region {connection.region or '-'}."
    )
    write_manifests(
        out_dir,
        layout is not Layout.single,
        force,
        lambda chunk: render_manifest(chunk, source, catalog),
        [(entry, entry["name"], image.id) for image, entry in zip(chosen, entries, strict=True)],
    )
    info("import writes nothing to the cloud; the first apply adopts these images")


def _update(
    path: Path,
    options: CloudOptions,
    targets_file: Path | None,
    only: list[str],
    catalog: str | None,
) -> None:
    # No policy step: --update writes the cloud's values back, whatever a policy says.
    request = Request([path], options, Scope(catalog=catalog), targets_file, only)
    run = plan_run(replace(request, use=PolicyUse.NONE, on_warnings=print_warnings))
    result = run.single(
        lambda n: UsageError(
            f"{path} goes to {n} targets; choose the one that is right with --target"
        )
    )
    assert result.plan is not None
    desired = result.run.images
    text = path.read_text(encoding="utf-8")
    yaml, documents = manifest_update.load_documents(text)
    pairs = manifest_update.entries(documents)
    if len(pairs) != len(desired):
        raise UsageError(f"{path}: could not match its entries to the images it describes")
    changed = 0
    for (entry, defaults), wanted, planned in zip(pairs, desired, result.plan.images, strict=False):
        fields = manifest_update.update_entry(entry, defaults, wanted, planned)
        if fields:
            changed += 1
            info(f"{wanted.origin}: {wanted.name}: {', '.join(fields)} taken from the cloud")
        elif planned.action is Action.CREATE:
            info(f"{wanted.origin}: {wanted.name}: not in the cloud; left as it is")
    if not changed:
        info(f"{path}: already matches the cloud; nothing to update")
        return
    new_text = manifest_update.dump_documents(yaml, documents)
    _replace(path, new_text)
    info(f"{path}: updated {changed} image(s)")


def _from_files(
    kind: str | None,
    paths: list[Path] | None,
    out_dir: Path | None,
    layout: Layout,
    catalog: str | None,
    force: bool,
    include_disabled: bool,
    retire: list[str],
) -> None:
    """`--from oim FILES_OR_DIRS...` (see `reconciler.cli.oim_import`)."""
    if kind != "oim":
        raise UsageError(
            f"--from {kind!r}: the only other source is oim" if kind else "FILES need --from oim"
        )
    if not paths:
        raise UsageError("--from oim needs OIM image files or folders (e.g. etc/images)")
    from reconciler.cli.oim_import import run_oim_import

    run_oim_import(
        paths, out_dir, layout is Layout.per_image, catalog, force, include_disabled, retire
    )
