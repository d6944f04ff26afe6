"""`reconciler import --from oim FILES_OR_DIRS...`: openstack-image-manager's image files
converted into manifests (`reconciler.oim.convert` does the mapping). Reads files only: nothing
is sent to any cloud; writes the manifests to stdout or `--out-dir`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.cli.console import info, warning
from reconciler.errors import ManifestError, UsageError
from reconciler.manifests.yaml_nodes import Document, YamlProblem, parse_documents
from reconciler.oim.convert import RETIRE_FLAGS, Conversion, Entry, Note, Options, convert
from reconciler.planning.importer import manifest_for

SUFFIXES = (".yml", ".yaml")


def oim_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, and the *.yml / *.yaml files of the folders named (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    if not found:
        raise UsageError("no OIM image file (*.yml, *.yaml) in " + ", ".join(map(str, paths)))
    return found


def read_documents(files: Sequence[Path]) -> list[tuple[str, Document]]:
    """Every document of every file, parsed with positions (YAML 1.2 core: OIM's own
    YAML 1.1 reading differs only for `yes`/`no`-like words, which its schema has not)."""
    documents: list[tuple[str, Document]] = []
    problems: list[str] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            problems.append(f"{path}: cannot be read: {err}")
            continue
        try:
            parsed = parse_documents(text, text_paths=())
        except YamlProblem as err:
            problems.append(f"{path}:{err.position.line}:{err.position.col}: {err.message}")
            continue
        documents += [(str(path), document) for document in parsed]
    if problems:
        raise ManifestError(problems)
    return documents


def _node(value: Any) -> Any:
    """Plain values as ruamel nodes: short lists of scalars in flow style."""
    if isinstance(value, dict):
        return CommentedMap((key, _node(item)) for key, item in value.items())
    if isinstance(value, list):
        seq = CommentedSeq(_node(item) for item in value)
        if all(_flow_safe(item) for item in value) and sum(len(str(i)) for i in value) < 80:
            seq.fa.set_flow_style()
        return seq
    return value


def _flow_safe(item: Any) -> bool:
    """A scalar that reads back the same in a flow list (`os:ubuntu` does not: its `:`
    ends a plain key there, so such lists are written one item a line)."""
    return isinstance(item, str) and not any(ch in item for ch in ":,[]{}#&*!|>'\"%@`")


def render(entries: Sequence[Entry], header: str, catalog: str | None) -> str:
    from reconciler.cli.import_cmd import _yaml

    images = CommentedSeq(_node(entry.entry) for entry in entries)
    for number, entry in enumerate(entries):
        images.yaml_set_comment_before_after_key(number, before=f"from {entry.origin}", indent=2)
    document = CommentedMap(manifest_for([], catalog))
    document["images"] = images
    document.yaml_set_start_comment(header)
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def _place(note: Note) -> tuple[str, int]:
    """File, then line: the order a reader goes through the files."""
    path, _sep, line = note.where.rpartition(":")
    return path, int(line) if line.isdigit() else 0


def run_oim_import(
    paths: Sequence[Path],
    out_dir: Path | None,
    per_image: bool,
    catalog: str | None,
    force: bool,
    include_disabled: bool,
    retire: Sequence[str],
) -> Conversion:
    """Convert, report every note (file:line), and write the manifests; the conversion's
    errors are raised together (nothing is written then)."""
    from reconciler.cli.import_cmd import write_manifests

    unknown = sorted(set(retire) - set(RETIRE_FLAGS))
    if unknown:
        raise UsageError(
            f"--retire {unknown[0]!r}: use {', '.join(RETIRE_FLAGS)} (OIM's --hide, "
            "--deactivate, --delete)"
        )
    files = oim_files(paths)
    conversion = convert(
        read_documents(files),
        Options(include_disabled=include_disabled, retire=frozenset(retire)),
    )
    for note in sorted(conversion.warnings, key=_place):
        warning(f"{note.where}: {note.message} [{note.kind}]")
    if conversion.errors:
        errors = sorted(conversion.errors, key=_place)
        raise ManifestError([f"{n.where}: {n.message} [{n.kind}]" for n in errors])
    if not conversion.entries:
        raise UsageError(
            f"no image to convert: {conversion.left_out} of {conversion.definitions} "
            "definition(s) have enable: false (--include-disabled converts them)"
        )
    flags = " ".join(f"--{flag}" for flag in sorted(retire)) or "no retirement flag"
    header = (
        f"Converted by `reconciler import --from oim` from openstack-image-manager's "
        f"{', '.join(p.name for p in files)} (its job's flags: {flags})."
    )
    entries = conversion.entries
    write_manifests(
        out_dir,
        per_image,
        force,
        lambda chunk: render(chunk, header, catalog),
        [(entry, str(entry.entry["name"]), f"{n:08d}") for n, entry in enumerate(entries)],
    )
    info(
        f"{conversion.definitions} OIM definition(s): {len(entries)} manifest entries, "
        f"{conversion.left_out} left out (enable: false), {len(conversion.warnings)} warning(s)"
    )
    info("the first plan adopts OIM's images (current and previous builds): apply writes records")
    return conversion
