"""The `# yaml-language-server: $schema=...` line that `reconciler import` writes: the
manifest schema of the repository the manifest goes into, as a path relative to the
written file, so that editors find it offline and it stays right wherever the repository
is cloned. Reads the file system (whether files exist), writes nothing.

There is no hosted copy of the schema to point at (the project owns no domain), so where
no `schemas/manifest.schema.json` is in reach (stdout, a folder outside such a
repository) the line is left out: a header naming a file that is not there would be
worse than none. `python -m reconciler.manifests.schema_export schemas` writes the
schema into a repository that lacks it.
"""

from __future__ import annotations

import os
from pathlib import Path

SCHEMA = Path("schemas") / "manifest.schema.json"


def find_schema(folder: Path) -> Path | None:
    """`schemas/manifest.schema.json` in `folder` or the nearest folder above it, not
    looking past the top of the repository holding it (the folder with `.git`)."""
    start = folder.resolve()
    for candidate in (start, *start.parents):
        if (candidate / SCHEMA).is_file():
            return candidate / SCHEMA
        if (candidate / ".git").exists():
            return None
    return None


def schema_comment(out_dir: Path | None) -> str | None:
    """The comment line (without `# `) for a manifest written into `out_dir`, or None."""
    if out_dir is None:
        return None
    schema = find_schema(out_dir)
    if schema is None:
        return None
    relative = Path(os.path.relpath(schema, out_dir.resolve())).as_posix()
    return f"yaml-language-server: $schema={relative}"


def with_schema_comment(text: str, out_dir: Path) -> str:
    """A manifest's text with the schema line on top, when there is a schema to name."""
    line = schema_comment(out_dir)
    return f"# {line}\n{text}" if line else text
