"""Live images -> manifest entries (`reconciler import`). Pure: no I/O.

An entry holds what an operator may manage: the managed core attributes, the tags, the
custom properties, the members of shared images, and `deactivated: true` for a
deactivated image. Left out: server-set and read-only attributes (status, checksum,
size, `os_hash_*`, ...), keys Glance reserves (`os_glance*`) and the tool's own
management record. The entry pins `id` only when its name alone would not find the
image (no name, or a name several images share), so manifests stay portable between
regions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from reconciler.manifests.glance_schema import ImageSchema, property_key_problem
from reconciler.model.fields import imported
from reconciler.model.image_view import LiveImage, Ownership, ownership


@dataclass(frozen=True)
class Selection:
    """Which live images to import; empty criteria select everything. Criteria of
    different kinds must all hold; several values of one kind are alternatives."""

    names: tuple[str, ...] = ()  # globs (fnmatch, case-sensitive)
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    visibilities: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    def matches(self, image: LiveImage) -> bool:
        name = image.name or ""
        tags = set(image.view.get("tags") or ())
        return (
            (not self.names or any(fnmatchcase(name, glob) for glob in self.names))
            and (not self.tags or bool(tags & set(self.tags)))
            and (not self.owners or image.owner in self.owners)
            and (not self.visibilities or image.view.get("visibility") in self.visibilities)
            and (not self.ids or image.id in self.ids)
        )


def select(images: Iterable[LiveImage], selection: Selection) -> list[LiveImage]:
    """The selected images, sorted by name then id (a stable, reviewable order)."""
    chosen = [image for image in images if selection.matches(image)]
    chosen.sort(key=lambda image: (image.name or "", image.id))
    return chosen


def others_managed(images: Iterable[LiveImage], catalog: str) -> list[LiveImage]:
    """The images whose management record names another catalog than `catalog`:
    someone else's, left out of an import unless asked for."""
    return [image for image in images if ownership(image.view, catalog)[0] is Ownership.OTHER]


# Properties other tools own: openstacksdk's `owner_specified.openstack.*` (the build's
# sha256 and object name, which the tool itself writes on a build for sdk users) are
# never the manifests' to manage; imported, a later apply would record them as managed.
NOT_IMPORTED_PREFIXES = ("owner_specified.",)


def importable_property(key: str, value: Any, schema: ImageSchema) -> bool:
    """A string property a manifest may name (the validator's own rule) and should:
    not one another tool owns."""
    return (
        isinstance(value, str)
        and not key.startswith(NOT_IMPORTED_PREFIXES)
        and property_key_problem(key, schema) is None
    )


def entry_for(image: LiveImage, schema: ImageSchema, *, pin_id: bool) -> dict[str, Any]:
    """The manifest entry that describes the image as it is."""
    entry: dict[str, Any] = {"name": image.name or image.id}
    if pin_id:
        entry["id"] = image.id
    entry.update(
        imported(
            image.view,
            image.status,
            image.members,
            lambda key, value: importable_property(key, value, schema),
        )
    )
    return entry


def needs_id(images: Sequence[LiveImage], catalog: Iterable[LiveImage]) -> set[str]:
    """Ids of the images whose name does not identify them in the whole catalog."""
    counts = Counter(image.name for image in catalog)
    return {image.id for image in images if image.name is None or counts[image.name] > 1}


def manifest_for(entries: Sequence[dict[str, Any]], catalog: str | None = None) -> dict[str, Any]:
    """The manifest document; `catalog:` only when one was asked for."""
    document: dict[str, Any] = {"version": 1}
    if catalog is not None:
        document["catalog"] = catalog
    document["images"] = list(entries)
    return document
