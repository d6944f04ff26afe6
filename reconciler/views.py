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
from collections.abc import Iterable, Mapping
from typing import Any

# Core attributes a manifest may set, in the order reports show them.
MANAGED_CORE: tuple[str, ...] = (
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "min_disk",
    "min_ram",
    "disk_format",
    "container_format",
)

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
# last-applied annotation): a JSON list of the custom property keys the manifests set.
# Removing a key from the YAML removes the property only when it is in this record.
MANAGED_RECORD = "reconciler.managed"


def is_gone(image: Mapping[str, Any] | None) -> bool:
    """Absent, or in status `deleted`: Glance deletes in two database steps (status, then
    the row); when the second fails (seen with sqlite's "database is locked"), the image
    stays listed in status `deleted` and refuses any further DELETE with 400. Glance's
    state machine has no way out of `deleted`, so the tool treats it as gone."""
    return image is None or image.get("status") == "deleted"


def is_custom_property(key: str) -> bool:
    return key not in CORE_ATTRIBUTES


def image_view(image: Mapping[str, Any]) -> dict[str, Any]:
    """The view of a Glance image as the API returns it (properties at top level)."""
    view: dict[str, Any] = {key: image.get(key) for key in MANAGED_CORE}
    view["tags"] = sorted(image.get("tags") or ())
    for key, value in image.items():
        if key not in CORE_ATTRIBUTES:
            view[key] = value
    return view


def parse_record(raw: Any) -> frozenset[str] | None:
    """The keys a management record lists, or None when it is missing or unreadable."""
    if not isinstance(raw, str):
        return None
    try:
        keys = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(keys, list):
        return None
    try:
        # Non-string entries are harmless (they never equal a property key); only
        # unhashable ones make the record unreadable.
        return frozenset(keys)
    except TypeError:
        return None


def managed_keys(view: Mapping[str, Any]) -> frozenset[str]:
    """The keys recorded by the last apply; an unreadable record counts as empty."""
    return parse_record(view.get(MANAGED_RECORD)) or frozenset()


def encode_managed(keys: Iterable[str]) -> str:
    return json.dumps(sorted(set(keys)), separators=(",", ":"), ensure_ascii=False)


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

    __slots__ = ("id", "members", "owner", "status", "view")

    def __init__(
        self,
        id: str,
        owner: str | None,
        status: str | None,
        view: dict[str, Any],
        members: tuple[str, ...] | None = None,
    ) -> None:
        self.id = id
        self.owner = owner
        self.status = status
        self.view = view
        self.members = members

    @classmethod
    def from_api(cls, image: Mapping[str, Any]) -> LiveImage:
        return cls(str(image["id"]), image.get("owner"), image.get("status"), image_view(image))

    @property
    def name(self) -> str | None:
        name = self.view.get("name")
        return name if isinstance(name, str) else None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.view, self.members, self.status)
