"""`bump`: a new upstream build written into a manifest entry, in place, keeping the
file's comments, key order, quoting and layout (the ruamel.yaml round trip of
`import --update`). Parsing and dumping YAML text only; reading and writing the file is
the caller's.

What changes in the entry (`source:` and the properties that described the old build):
- `source.url`, `source.checksum`, `source.version` (added after `checksum` when the
  entry had none);
- each of `source.mirrors` holding the old file: its old file name (and the old version
  inside it) replaced as in the URL, so a mirror keeps pointing at the same build as
  the provenance; one that does not follow the pattern is left as it is (apply holds
  every mirror to the checksum and passes over one that differs);
- `properties.image_build_date` when the entry has one (the new build's date);
- `properties.image_source` when it named the old URL.
A new value takes the old one's quoting; a value YAML would read as another type
(`20261101`, `2026-11-01`) is double-quoted, so it stays a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

from reconciler.manifests.update import _append, dump_documents, load_documents

STRING_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class NewBuild:
    """What one entry is bumped to."""

    document: int  # the YAML document's index in its file
    index: int  # the entry's index in that document's `images:`
    url: str
    checksum: str
    version: str
    build_date: str | None  # YYYY-MM-DD, for image_build_date
    old_version: str | None = None  # the build it replaces (source.version, else its URL's)


def watched_entries(text: str) -> list[tuple[int, int, CommentedMap]]:
    """(document, index, entry) of each entry whose source has a `watch:` block."""
    _yaml, documents = load_documents(text)
    found = []
    for number, document in enumerate(documents):
        images = document.get("images") if isinstance(document, dict) else None
        for index, entry in enumerate(images or ()):
            source = entry.get("source") if isinstance(entry, CommentedMap) else None
            if isinstance(source, CommentedMap) and isinstance(source.get("watch"), dict):
                found.append((number, index, entry))
    return found


def apply_builds(text: str, builds: list[NewBuild]) -> tuple[str, dict[tuple[int, int], list[str]]]:
    """The text with each build written into its entry, and what changed per entry."""
    yaml, documents = load_documents(text)
    changes: dict[tuple[int, int], list[str]] = {}
    for build in builds:
        entry = documents[build.document]["images"][build.index]
        changes[(build.document, build.index)] = _bump_entry(yaml, entry, build)
    return dump_documents(yaml, documents), changes


def _bump_entry(yaml: Any, entry: CommentedMap, build: NewBuild) -> list[str]:
    source: CommentedMap = entry["source"]
    old_url = str(source["url"])
    old_version = build.old_version
    changed: list[str] = []

    def put(
        mapping: CommentedMap, key: str, value: str, label: str, after: str | None = None
    ) -> None:
        if key in mapping and str(mapping[key]) == value:
            return
        scalar = _styled(yaml, mapping.get(key), value)
        if key in mapping:
            mapping[key] = scalar
        elif after is not None and after in mapping:
            mapping.insert(list(mapping).index(after) + 1, key, scalar)
        else:
            _append(mapping, key, scalar)
        changed.append(label)

    put(source, "url", build.url, "source.url")
    put(source, "checksum", build.checksum, "source.checksum")
    put(source, "version", build.version, "source.version", after="checksum")
    mirrors = source.get("mirrors")
    if isinstance(mirrors, CommentedSeq):
        for number, mirror in enumerate(list(mirrors)):
            moved = _moved(str(mirror), old_url, build.url, old_version, build.version)
            if moved != str(mirror):
                mirrors[number] = _styled(yaml, mirror, moved)
                changed.append(f"source.mirrors[{number}]")
    properties = entry.get("properties")
    if isinstance(properties, CommentedMap):
        if build.build_date is not None and properties.get("image_build_date") not in (None, False):
            put(properties, "image_build_date", build.build_date, "properties.image_build_date")
        if (
            properties.get("image_source") is not None
            and str(properties["image_source"]) == old_url
        ):
            put(properties, "image_source", build.url, "properties.image_source")
    return changed


def _moved(mirror: str, old_url: str, new_url: str, old_version: str | None, new: str) -> str:
    """A mirror URL following the provenance from the old build to the new one."""
    old_name, new_name = _name(old_url), _name(new_url)
    moved = mirror
    if old_version and old_version in moved:
        moved = moved.replace(old_version, new)
    if old_name and old_name != new_name and moved.endswith("/" + old_name):
        moved = moved[: -len(old_name)] + new_name
    return moved


def _name(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _styled(yaml: Any, old: Any, value: str) -> Any:
    """`value` in the old scalar's quoting, or double-quoted when YAML would read the
    plain text as something other than a string."""
    if isinstance(old, ScalarString):
        return type(old)(value)
    tag = yaml.resolver.resolve(ScalarNode, value, (True, False))
    return DoubleQuotedScalarString(value) if tag != STRING_TAG else value
