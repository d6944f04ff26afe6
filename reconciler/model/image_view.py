"""The comparable view of an image, shared by the diff, the applier's checks and the
reports. Pure.

A view is a flat dict: the core attributes the tool manages, `tags` (a sorted list:
tags are compared as a set), and every custom property (strings). Server-set
attributes (`status`, `size`, `checksum`, `os_hash_*`, `stores`, ...) are left out.
Custom properties set by others (`os_glance_*`, `owner_specified.*`, ...) stay in the
view so the fingerprint sees them, but the tool only touches keys it manages.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The core attributes the tool manages: the field table's (read by views and reports).
from reconciler.model.fields import MANAGED_CORE as MANAGED_CORE

# Every core attribute of Glance's image schema (the committed snapshot has the same
# set) plus what the API reserves; none of them is a custom property.
CORE_ATTRIBUTES: frozenset[str] = frozenset(
    {
        *MANAGED_CORE,
        "tags",
        "id",
        "owner",
        "status",
        "checksum",
        "size",
        "virtual_size",
        "created_at",
        "updated_at",
        "direct_url",
        "self",
        "file",
        "schema",
        "locations",
        "os_hash_algo",
        "os_hash_value",
        "stores",
        "location",
        "deleted",
        "deleted_at",
    }
)

# Keys Glance reserves; a manifest may not name them (the API answers 403).
RESERVED_PREFIXES: tuple[str, ...] = ("os_glance",)

# The tool's management record, kept on the image itself (like kubectl's
# last-applied annotation): which catalog (manifest set) manages the image and which
# custom property keys its manifests set. Removing a key from the YAML removes the
# property only when it is in this record; only images whose record names the run's
# catalog can be orphans (and so deleted by --prune).
MANAGED_RECORD = "reconciler.managed"

# The catalog of manifests that name none, and of records written before catalogs
# existed (a plain JSON list of keys).
DEFAULT_CATALOG = "default"
CATALOG_PATTERN = r"^[a-z0-9._-]{1,63}$"
_CATALOG_RE = re.compile(CATALOG_PATTERN)


@dataclass(frozen=True)
class ManagementRecord:
    """What a management record says: the managing catalog, the keys it set, and for an
    image built from a declared source, that source's checksum and version."""

    catalog: str
    keys: frozenset[str]
    build: str | None = None  # `algorithm:hex` of the data the image was built from
    version: str | None = None
    entry: str | None = None  # the entry (image name) whose build this is, current or not


def is_gone(image: Mapping[str, Any] | None) -> bool:
    """Absent, or in status `deleted`: Glance deletes in two database steps (status, then
    the row); when the second fails (seen with sqlite's "database is locked"), the image
    stays listed in status `deleted` and refuses any further DELETE with 400. Glance's
    state machine has no way out of `deleted`, so the tool treats it as gone."""
    return image is None or image.get("status") == "deleted"


def is_custom_property(key: str) -> bool:
    return key not in CORE_ATTRIBUTES


def live_stores(image: Mapping[str, Any]) -> tuple[str, ...]:
    """The stores Glance says hold the image's data: its `stores` attribute, a
    comma-separated list (absent on a single-store Glance and before data), sorted."""
    raw = image.get("stores")
    if not isinstance(raw, str):
        return ()
    return tuple(sorted({part.strip() for part in raw.split(",") if part.strip()}))


def image_view(image: Mapping[str, Any]) -> dict[str, Any]:
    """The view of a Glance image as the API returns it (properties at top level)."""
    view: dict[str, Any] = {key: image.get(key) for key in MANAGED_CORE}
    view["tags"] = sorted(image.get("tags") or ())
    for key, value in image.items():
        if key not in CORE_ATTRIBUTES:
            view[key] = value
    return view


def parse_record(raw: Any) -> ManagementRecord | None:
    """The record's catalog, keys and build, or None when missing or unreadable.

    Two formats: a JSON list of keys (the default catalog, no build; the only format
    before catalogs, so older records keep their meaning) and a JSON object
    `{"catalog": NAME, "keys": [...], "build": "sha256:...", "version": "..."}`."""
    if not isinstance(raw, str):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    catalog: Any = DEFAULT_CATALOG
    build: Any = None
    version: Any = None
    entry: Any = None
    if isinstance(data, dict):
        catalog, build, version = data.get("catalog"), data.get("build"), data.get("version")
        entry = data.get("entry")
        data = data.get("keys")
        if not isinstance(catalog, str) or not _CATALOG_RE.match(catalog):
            return None
        if not all(isinstance(v, str | None) for v in (build, version, entry)):
            return None
    if not isinstance(data, list):
        return None
    try:
        # Non-string entries are harmless (they never equal a property key); only
        # unhashable ones make the record unreadable.
        return ManagementRecord(catalog, frozenset(data), build, version, entry)
    except TypeError:
        return None


def managed_keys(view: Mapping[str, Any]) -> frozenset[str]:
    """The keys recorded by the last apply; an unreadable record counts as empty."""
    record = parse_record(view.get(MANAGED_RECORD))
    return record.keys if record is not None else frozenset()


def with_entry(raw: str, entry: str) -> str | None:
    """The record rewritten to name the entry its image is a build of (None: it cannot
    be read). A previous build keeps its record this way and is never an orphan while
    its entry is in the manifests."""
    record = parse_record(raw)
    if record is None:
        return None
    return encode_record(record.keys, record.catalog, record.build or "", record.version, entry)


def encode_record(
    keys: Iterable[str],
    catalog: str = DEFAULT_CATALOG,
    build: str | None = None,
    version: str | None = None,
    entry: str | None = None,
) -> str:
    """The record as the tool writes it: compact, keys sorted, so equal records are
    equal strings. The default catalog without a build keeps the plain list (records
    written before catalogs existed stay byte-for-byte current)."""
    listed = sorted(set(keys))
    if catalog == DEFAULT_CATALOG and build is None:
        return json.dumps(listed, separators=(",", ":"), ensure_ascii=False)
    record: dict[str, Any] = {"catalog": catalog, "keys": listed}
    if build is not None:
        record["build"] = build
        if version is not None:
            record["version"] = version
        if entry is not None:
            record["entry"] = entry
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


class Ownership(StrEnum):
    """Whose an image is, as far as this run's catalog can tell from the record."""

    UNMANAGED = "unmanaged"  # no record: nobody's (import or adopt may take it)
    OURS = "ours"  # the record names this run's catalog
    OTHER = "other"  # the record names another catalog: never touched without --take-over
    UNREADABLE = "unreadable"  # a record that cannot be read proves nothing: never pruned


def ownership(view: Mapping[str, Any], catalog: str) -> tuple[Ownership, str | None]:
    """The image's ownership for `catalog`, and the catalog its record names (if any)."""
    raw = view.get(MANAGED_RECORD)
    if raw is None:
        return Ownership.UNMANAGED, None
    record = parse_record(raw)
    if record is None:
        return Ownership.UNREADABLE, None
    if record.catalog == catalog:
        return Ownership.OURS, record.catalog
    return Ownership.OTHER, record.catalog


def fingerprint(
    view: Mapping[str, Any], members: Iterable[str] | None = None, status: str | None = None
) -> str:
    """A stable digest of what the plan was computed from: view, status and, if read,
    members."""
    payload = {
        "view": view,
        "members": sorted(members) if members is not None else None,
        "status": status,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


class LiveImage:
    """One image as read from Glance: its id, owner, view, and members when read."""

    __slots__ = (
        "created_at",
        "data_hash",
        "id",
        "members",
        "owner",
        "size",
        "status",
        "stores",
        "view",
    )

    def __init__(
        self,
        id: str,
        owner: str | None,
        status: str | None,
        view: dict[str, Any],
        members: tuple[str, ...] | None = None,
        data_hash: str | None = None,
        size: int | None = None,
        created_at: str | None = None,
        stores: tuple[str, ...] = (),
    ) -> None:
        self.id = id
        self.owner = owner
        self.status = status
        self.view = view
        self.members = members
        self.data_hash = data_hash  # Glance's `os_hash_algo:os_hash_value`, once it has data
        self.size = size
        self.created_at = created_at
        self.stores = stores  # where Glance says the data is (multi-store), sorted

    @classmethod
    def from_api(cls, image: Mapping[str, Any]) -> LiveImage:
        algo, value = image.get("os_hash_algo"), image.get("os_hash_value")
        return cls(
            str(image["id"]),
            image.get("owner"),
            image.get("status"),
            image_view(image),
            data_hash=f"{algo}:{value}" if algo and value else None,
            size=image.get("size"),
            created_at=image.get("created_at"),
            stores=live_stores(image),
        )

    @property
    def name(self) -> str | None:
        name = self.view.get("name")
        return name if isinstance(name, str) else None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.view, self.members, self.status)


@dataclass(frozen=True)
class LiveCatalog:
    """The live images in scope, indexed for matching."""

    images: tuple[LiveImage, ...]

    def by_id(self) -> dict[str, LiveImage]:
        return {image.id: image for image in self.images}

    def by_name(self) -> dict[str, list[LiveImage]]:
        index: dict[str, list[LiveImage]] = defaultdict(list)
        for image in self.images:
            if image.name is not None:
                index[image.name].append(image)
        return index
