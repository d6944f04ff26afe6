"""The neutral shape policy rules read: `ImageFacts`, built from a desired image (an
entry merged with its defaults, with the file:line:col of each field) or from a live
image. Pure.

Both sides say the same things the same way: core attributes by name (missing: not
set; a desired image sets only what its entry or defaults give), tags as a set, custom
properties as strings (a desired removal is no value), the data's hash algorithm (a
desired image's `source:` checksum, a live image's `os_hash_algo`) and, for a live
image, the entry it is a previous build of (its management record names another entry
than its own name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model.fields import MANAGED_CORE, custom_properties
from reconciler.model.image_view import MANAGED_RECORD, LiveImage, parse_record
from reconciler.model.manifest import DesiredImage

ENTRY = ""  # the key of `positions` for the entry itself


@dataclass(frozen=True)
class ImageFacts:
    name: str
    attributes: Mapping[str, Any]
    properties: Mapping[str, str]
    tags: frozenset[str] = frozenset()
    hash_algorithm: str | None = None
    previous_build_of: str | None = None
    id: str | None = None
    entry: str | None = None  # a desired image's `file:line` (as `DesiredImage.origin`)
    # `file:line:col` by field: ENTRY, `attribute:NAME`, `property:KEY`, `tags`, `source`.
    positions: Mapping[str, str] = field(default_factory=dict)
    live: bool = False
    size: int | None = None  # bytes stored (live images with data)
    created_at: str | None = None  # ISO 8601, as Glance says (live images)
    # The stores the data is in (live) or is declared in (desired; None: not declared);
    # `all_stores`: a desired image declares `stores: all`.
    stores: frozenset[str] | None = None
    all_stores: bool = False

    @property
    def hidden(self) -> bool:
        return self.attributes.get("os_hidden") is True

    def where(self, key: str | None) -> str | None:
        """Where a field is written (or the entry, for a field it leaves out)."""
        if key is not None and key in self.positions:
            return self.positions[key]
        return self.positions.get(ENTRY)


def desired_facts(image: DesiredImage, positions: Mapping[str, str] | None = None) -> ImageFacts:
    """The facts of a desired image; `positions` from `policy.positions` (I/O)."""
    return ImageFacts(
        name=image.name,
        attributes=image.core_dict,
        properties=dict(image.set_properties),
        tags=frozenset(image.tags or ()),
        hash_algorithm=image.data.algorithm if image.data is not None else None,
        id=image.id,
        entry=image.origin,
        positions=dict(positions) if positions else {ENTRY: image.origin},
        stores=frozenset(image.stores) if image.stores is not None else None,
        all_stores=image.all_stores,
    )


def live_facts(image: LiveImage) -> ImageFacts:
    view = image.view
    name = image.name or image.id
    record = parse_record(view.get(MANAGED_RECORD))
    previous = None
    if record is not None and record.entry is not None and record.entry != name:
        previous = record.entry
    algorithm = image.data_hash.partition(":")[0] if image.data_hash else None
    return ImageFacts(
        name=name,
        attributes={key: view[key] for key in MANAGED_CORE if view.get(key) is not None},
        properties=custom_properties(view),
        tags=frozenset(view.get("tags") or ()),
        hash_algorithm=algorithm,
        previous_build_of=previous,
        id=image.id,
        live=True,
        size=image.size,
        created_at=image.created_at,
        stores=frozenset(image.stores),
    )
