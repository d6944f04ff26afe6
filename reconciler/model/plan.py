"""The plan: immutable value types only, no logic beyond small derived properties.

A `Plan` holds one `ImagePlan` per desired (or orphaned) image. An image's metadata
changes are RFC 6902 operations (`PatchOp`) in the form Glance's
`application/openstack-images-v2.1-json-patch` accepts, each carrying the value it
replaces (`old`) so that its inverse is known when the plan is made. No I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.model.image_view import DEFAULT_CATALOG


class Op(StrEnum):
    ADD = "add"
    REPLACE = "replace"
    REMOVE = "remove"


class Activation(StrEnum):
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"

    @property
    def status(self) -> str:
        """The image status the action leads to."""
        return "deactivated" if self is Activation.DEACTIVATE else "active"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REBUILD = "rebuild"  # a new build from the changed source takes the name; the old is renamed
    ROTATE = "rotate"  # only the entry's previous builds change (rename, metadata, retirement)
    ADOPT = "adopt"  # metadata already as desired; apply only writes the management record
    NOOP = "noop"
    DELETE = "delete"  # an orphan, only with --prune
    ORPHAN = "orphan"  # managed by the tool, in no manifest; reported, not touched
    ERROR = "error"  # the entry could not be planned (ambiguous name, missing id, ...)


ABSENT: Any = None  # `old` of an add and `value` of a remove


def escape_pointer(key: str) -> str:
    """RFC 6901: `~` -> `~0`, `/` -> `~1`, so a key `a/b` is the path `/a~1b`."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def unescape_pointer(path: str) -> str:
    if not path.startswith("/") or "/" in path[1:]:
        raise ValueError(f"not a one-level JSON pointer: {path!r}")
    return path[1:].replace("~1", "/").replace("~0", "~")


@dataclass(frozen=True)
class PatchOp:
    """One change to one top-level key of the image; `old` is its value before."""

    op: Op
    path: str
    value: Any = ABSENT
    old: Any = ABSENT

    @property
    def key(self) -> str:
        return unescape_pointer(self.path)

    def inverse(self) -> PatchOp:
        """The op that undoes this one: add <-> remove, replace -> replace(old)."""
        if self.op is Op.ADD:
            return PatchOp(Op.REMOVE, self.path, ABSENT, self.value)
        if self.op is Op.REMOVE:
            return PatchOp(Op.ADD, self.path, self.old, ABSENT)
        return PatchOp(Op.REPLACE, self.path, self.old, self.value)

    def to_dict(self) -> dict[str, Any]:
        """The op as plan files and journals keep it (with `old`)."""
        return {"op": str(self.op), "path": self.path, "value": self.value, "old": self.old}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PatchOp:
        return cls(Op(data["op"]), data["path"], data.get("value"), data.get("old"))

    def to_json_patch(self) -> dict[str, Any]:
        """The op as Glance receives it (no `old`)."""
        if self.op is Op.REMOVE:
            return {"op": "remove", "path": self.path}
        return {"op": str(self.op), "path": self.path, "value": self.value}


def patch_ops(live_view: Mapping[str, Any], target: Mapping[str, Any]) -> tuple[PatchOp, ...]:
    """RFC 6902 ops turning live_view into target, sorted by path (as openstacksdk does)."""
    ops: list[PatchOp] = []
    for key in live_view.keys() | target.keys():
        path = escape_pointer(key)
        if key not in target:
            ops.append(PatchOp(Op.REMOVE, path, ABSENT, live_view[key]))
        elif key not in live_view:
            ops.append(PatchOp(Op.ADD, path, target[key], ABSENT))
        elif live_view[key] != target[key] or type(live_view[key]) is not type(target[key]):
            ops.append(PatchOp(Op.REPLACE, path, target[key], live_view[key]))
    ops.sort(key=lambda op: op.path)
    return tuple(ops)


@dataclass(frozen=True)
class MemberChanges:
    """Project ids to share the image with, or to stop sharing it with (sets)."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


NO_MEMBER_CHANGES = MemberChanges()  # shared: the value is immutable


@dataclass(frozen=True)
class DataPlan:
    """The data a new image is built from: where it comes from, by which method, what it
    must hash to, and its size as the source reported it when planned."""

    location: str  # an http(s) URL or an absolute file path
    method: str  # upload | glance-direct | web-download
    checksum: str  # algorithm:hex
    version: str | None = None
    size: int | None = None  # bytes (HEAD / stat at plan time); None: not known
    compression: str | None = None  # xz | bz2 | gz | zst: Glance gets the decompressed bytes
    mirrors: tuple[str, ...] = ()  # tried in order before `location`, held to the checksum
    answered: str | None = None  # which of mirrors + location answered the plan's probe


@dataclass(frozen=True)
class StorePlan:
    """Where the image's data must be (Glance multi-store) against where it is: the
    stores to copy it into (copy-image; for a new image, the stores its import goes
    to), the stores it is in but not declared in (reported), and those of them its data
    is deleted from (`--prune-stores`; never the last copy)."""

    wanted: tuple[str, ...]  # the declared stores (`all` resolved), sorted
    live: tuple[str, ...] = ()  # where Glance says the data is when planned
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    prune: tuple[str, ...] = ()
    all_stores: bool = False  # declared as `all`

    @property
    def has_work(self) -> bool:
        return bool(self.missing or self.prune)

    @property
    def reported(self) -> bool:
        """Something to show even when nothing changes: a store not declared."""
        return self.has_work or bool(self.extra)


class BuildRole(StrEnum):
    PREVIOUS = "previous"  # kept: renamed, with the previous builds' metadata
    RETIRED = "retired"  # beyond `keep`: hidden, deactivated or deleted


@dataclass(frozen=True)
class BuildPlan:
    """A change to one of an entry's other builds (not the one carrying the name): its
    rename and metadata (`patch`), a deactivation, or its deletion (retired builds with
    `retired: delete`, never a protected one)."""

    id: str
    name: str  # its name when planned
    role: BuildRole
    patch: tuple[PatchOp, ...] = ()
    activation: Activation | None = None
    delete: bool = False
    status: str | None = None
    protected: bool = False
    version: str | None = None  # the build's recorded source version
    fingerprint: str | None = None  # of the build when planned
    note: str | None = None  # why a planned retirement is not carried out (protected)

    @property
    def new_name(self) -> str | None:
        for op in self.patch:
            if op.path == "/name":
                return str(op.value)
        return None

    @property
    def has_work(self) -> bool:
        return bool(self.patch) or self.activation is not None or self.delete


@dataclass(frozen=True)
class ImagePlan:
    name: str
    action: Action
    id: str | None = None
    source: str | None = None  # file:line of the manifest entry
    owner: str | None = None
    patch: tuple[PatchOp, ...] = ()
    members: MemberChanges = NO_MEMBER_CHANGES
    members_managed: bool = False
    activation: Activation | None = None  # deactivate or reactivate the image
    status: str | None = None  # live status when planned
    protected: bool = False  # live `protected`, relevant to delete
    warnings: tuple[str, ...] = ()
    error: str | None = None
    fingerprint: str | None = None  # of the live image when planned
    take_over_from: str | None = None  # the catalog the image is moved from (--take-over)
    data: DataPlan | None = None  # data to build the new image from (create, rebuild)
    # The entry's other builds that change: in a rebuild the current build (`id`) first,
    # then previous builds newest first, then retired ones.
    builds: tuple[BuildPlan, ...] = ()
    build_of: str | None = None  # an orphan that is a build of this (departed) entry
    stores: StorePlan | None = None  # None: the entry does not manage stores

    @property
    def rename_previous(self) -> str | None:
        """Rebuild: the name the current build (`id`) gets once the new one is active."""
        for build in self.builds:
            if build.id == self.id:
                return build.new_name
        return None

    @property
    def has_changes(self) -> bool:
        """Changes the image's metadata or its catalog (what `--detailed-exitcode`
        reports)."""
        return (
            self.action
            in (Action.CREATE, Action.UPDATE, Action.REBUILD, Action.ROTATE, Action.DELETE)
            or self.take_over_from is not None
            or (self.stores is not None and self.stores.has_work)
        )

    @property
    def shown(self) -> bool:
        """Views list it even without --show-unchanged (a change, or a store report)."""
        return self.action is not Action.NOOP or (self.stores is not None and self.stores.reported)

    @property
    def has_work(self) -> bool:
        """`apply` writes something: a change, or adopting an image (its record)."""
        return self.has_changes or self.action is Action.ADOPT


@dataclass(frozen=True)
class Target:
    """Where the plan applies. Never holds credentials."""

    cloud: str | None
    region: str | None
    project_id: str | None
    image_endpoint: str | None
    name: str | None = None  # the target's name when the manifests declare targets


@dataclass(frozen=True)
class Plan:
    target: Target
    images: tuple[ImagePlan, ...]
    catalog: str = DEFAULT_CATALOG  # the manifest set the plan is for
    # The project's images other catalogs manage, counted per catalog: someone else's,
    # neither orphans nor drift.
    others: tuple[tuple[str, int], ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(image.action for image in self.images)
        return {
            "create": counts[Action.CREATE],
            "update": counts[Action.UPDATE],
            "rebuild": counts[Action.REBUILD],
            "rotate": counts[Action.ROTATE],
            "delete": counts[Action.DELETE],
            "unchanged": counts[Action.NOOP] + counts[Action.ADOPT],
            "adopt": counts[Action.ADOPT],
            "orphaned": counts[Action.ORPHAN],
            "errors": counts[Action.ERROR],
            "take_over": sum(1 for image in self.images if image.take_over_from is not None),
            # Images in stores not declared whose copies this plan keeps (reported).
            "extra_stores": sum(
                1
                for image in self.images
                if image.stores is not None and set(image.stores.extra) - set(image.stores.prune)
            ),
            "other_catalogs": sum(count for _catalog, count in self.others),
        }

    @property
    def has_changes(self) -> bool:
        return any(image.has_changes for image in self.images)

    @property
    def has_work(self) -> bool:
        return any(image.has_work for image in self.images)

    @property
    def has_errors(self) -> bool:
        return any(image.action is Action.ERROR for image in self.images)
