"""Where each field of a desired image is written: the entry's and its defaults' keys
located in the documents the loader parsed, so a violation points at `file:line:col`.
No I/O: the positions come from the same parse as the images (a file changed between
two reads cannot make a policy check see other contents than the plan).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.manifests.yaml_nodes import Document
from reconciler.model.fields import ROWS
from reconciler.model.manifest import DesiredImage
from reconciler.policy.facts import ENTRY, ImageFacts, desired_facts


def _entries(documents: Sequence[Document]) -> dict[int, list[tuple[Document, int]]]:
    """Each image entry of a file's documents by its start line: (document, index)."""
    found: dict[int, list[tuple[Document, int]]] = {}
    for document in documents:
        images = document.value.get("images") if isinstance(document.value, dict) else None
        for index in range(len(images) if isinstance(images, list) else 0):
            line = document.where(("images", index)).line
            found.setdefault(line, []).append((document, index))
    return found


def _has(block: Any, *path: str) -> bool:
    for part in path:
        if not isinstance(block, dict) or part not in block:
            return False
        block = block[part]
    return True


def field_positions(file: str, document: Document, index: int) -> dict[str, str]:
    """`file:line:col` of the entry and of every field it (or its defaults) writes."""

    def at(path: tuple[str | int, ...]) -> str:
        where = document.where(path, key=True)
        return f"{file}:{where.line}:{where.col}"

    value = document.value
    entry = value["images"][index]
    defaults = value.get("defaults")
    start = document.where(("images", index))
    positions = {ENTRY: f"{file}:{start.line}:{start.col}"}

    def locate(key: str, *path: str) -> None:
        if _has(entry, *path):
            positions[key] = at(("images", index, *path))
        elif _has(defaults, *path):
            positions[key] = at(("defaults", *path))

    for block in (defaults, entry):
        properties = block.get("properties") if isinstance(block, dict) else None
        for key in properties if isinstance(properties, dict) else ():
            locate(f"property:{key}", "properties", key)
    # After the properties: a typed property's own key, wherever it is given, wins over
    # a `properties:` entry of the same name (as `fields.desired_properties` decides).
    locate("attribute:name", "name")
    for row in ROWS:
        if row.fact_key is not None:
            locate(row.fact_key, row.name)
    if _has(entry, "source", "checksum"):
        positions["source"] = at(("images", index, "source", "checksum"))
    return positions


def desired_image_facts(
    images: Sequence[DesiredImage], documents: Mapping[str, Sequence[Document]]
) -> list[ImageFacts]:
    """The facts of each desired image, with the position of each of its fields
    (`documents`: the loader's parse of each file, `Manifests.documents`)."""
    by_file: dict[str, dict[int, list[tuple[Document, int]]]] = {}
    facts = []
    for image in images:
        file, _sep, line = image.origin.rpartition(":")
        if file not in by_file:
            by_file[file] = _entries(documents.get(file, ()))
        candidates = by_file[file].get(int(line) if line.isdigit() else -1, [])
        match = [
            (document, index)
            for document, index in candidates
            if document.value["images"][index].get("name") == image.name
        ] or candidates
        positions = field_positions(file, *match[0]) if match else None
        facts.append(desired_facts(image, positions))
    return facts
