"""The image fields of a manifest entry and of `defaults:`, each declared once. Pure.

A field is one annotated attribute of `ImageFields`: the pydantic field is its JSON
Schema (`make schemas` exports it), and the `Row` its annotation carries says the rest:
- its merge rule with `defaults:` (`Merge`): the entry's value wins whole, or key by key;
- what it sets or removes in the desired view (`Kind`): a core attribute of the same
  name, the tag set, the custom properties (a string sets, null removes), a typed custom
  property of the same name, or nothing (members, activation, rotation and stores have
  plans of their own);
- how it compares with the live view: core attributes by value and type, tags as a
  sorted list (a set), properties as strings (`DesiredImage.sets` / `.exact`);
- how `reconciler import` reads it back from a live image (`imported`);
- the policy fact it is (`fact_key`): `attribute:NAME`, `tags`, `property:KEY`.

The modules that need a field's meaning read the table (`ROWS`) instead of naming
fields: `model.manifest` (merge, `DesiredImage`), `model.image_view` (`MANAGED_CORE`),
`planning.diff` (set arithmetic over `DesiredImage.sets`/`.removes`),
`planning.importer`, `policy.facts` and `policy.positions`.
A new field is a new attribute here (and its tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from reconciler.model.rotation import RotationSpec


class Kind(StrEnum):
    """Where a field lands in `DesiredImage`, and so in the desired view."""

    CORE = "core"  # a core attribute of the same name (`DesiredImage.core`)
    TAGS = "tags"  # the whole tag set (`DesiredImage.tags`), `tags` in the view
    PROPERTIES = "properties"  # the free map of custom properties (`.properties`)
    PROPERTY = "property"  # a typed custom property of the same name (`.properties`)
    MEMBERS = "members"  # `DesiredImage.members`: member changes, not the view
    ACTIVATION = "activation"  # `DesiredImage.deactivated`: (de)activation, not the view
    ROTATION = "rotation"  # the builds' rotation (`planning.builds`), not the view
    STORES = "stores"  # the stores plan (`planning.stores`), not the view


class Merge(StrEnum):
    """How an entry's value and its defaults' combine."""

    ENTRY = "entry"  # the entry's value if given, else the defaults'
    BY_KEY = "by key"  # a mapping merged key by key, the entry's value winning


@dataclass(frozen=True)
class Row:
    """A field's meaning beside its schema; `name` is filled in from the attribute."""

    kind: Kind
    merge: Merge = Merge.ENTRY
    name: str = ""

    @property
    def fact_key(self) -> str | None:
        """The key of the policy fact's position (`policy.facts.ImageFacts.where`);
        the free properties map has one per key (`property:KEY`)."""
        if self.kind is Kind.CORE:
            return f"attribute:{self.name}"
        if self.kind is Kind.TAGS:
            return "tags"
        if self.kind is Kind.PROPERTY:
            return f"property:{self.name}"
        return None


class ImageFields(BaseModel):
    """The attributes an image entry and the defaults block share."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    visibility: Annotated[str | None, Row(Kind.CORE)] = Field(
        None,
        description="public, private, shared or community (Glance's enum).",
        json_schema_extra={"enum": ["public", "private", "shared", "community"]},
    )
    protected: Annotated[bool | None, Row(Kind.CORE)] = Field(
        None, description="Protected images cannot be deleted."
    )
    os_hidden: Annotated[bool | None, Row(Kind.CORE)] = Field(
        None, description="Hide the image from default listings."
    )
    min_disk: Annotated[int | None, Row(Kind.CORE)] = Field(
        None, ge=0, description="Minimum disk size in GB."
    )
    min_ram: Annotated[int | None, Row(Kind.CORE)] = Field(
        None, ge=0, description="Minimum RAM in MB."
    )
    disk_format: Annotated[str | None, Row(Kind.CORE)] = Field(
        None,
        description="Disk format (raw, qcow2, ...); can only change while the image is queued.",
    )
    container_format: Annotated[str | None, Row(Kind.CORE)] = Field(
        None, description="Container format (bare, ovf, ...); only while queued."
    )
    tags: Annotated[list[str] | None, Row(Kind.TAGS)] = Field(
        None, description="The whole set of tags; [] clears them; left out: not managed."
    )
    properties: Annotated[dict[str, str | None] | None, Row(Kind.PROPERTIES, Merge.BY_KEY)] = Field(
        None,
        description=(
            "Custom properties. A string sets the value; null or false removes the "
            "property. Unquoted numbers and `true` are kept as their exact source text "
            '(20.10 stays "20.10").'
        ),
    )
    members: Annotated[list[str] | None, Row(Kind.MEMBERS)] = Field(
        None,
        description="Project ids the image is shared with (needs visibility: shared).",
    )
    deactivated: Annotated[bool | None, Row(Kind.ACTIVATION)] = Field(
        None,
        description=(
            "true deactivates an active image (its data can no longer be downloaded); "
            "false reactivates it. Left out: not managed."
        ),
    )
    rotation: Annotated[RotationSpec | None, Row(Kind.ROTATION)] = Field(
        None,
        description=(
            "Builds and rotation of an image with a `source:`: the name, metadata and "
            "retirement of builds that are no longer current. Given on an entry, it "
            "replaces the defaults' block as a whole."
        ),
    )
    stores: Annotated[list[str] | Literal["all"] | None, Row(Kind.STORES)] = Field(
        None,
        description=(
            "The Glance stores (multi-store `enabled_backends`) the image's data must be "
            "in: a list of store names, or `all` (every store Glance lists). A new build "
            "is imported into each at once; an image missing from one gets a copy "
            "(copy-image). Left out: not managed (the default store)."
        ),
    )

    hw_firmware_type: Annotated[Literal["bios", "uefi"] | None, Row(Kind.PROPERTY)] = Field(
        None,
        description=(
            "The firmware Nova boots the image with (the custom property of that name): "
            "bios or uefi. Left out: not managed (Nova's default, bios)."
        ),
    )

    @field_validator("stores", mode="before")
    @classmethod
    def _stores_form(cls, value: Any) -> Any:
        """One clear line instead of one per member of the union."""
        if value is None or value == "all" or isinstance(value, list):
            return value
        raise ValueError(f"a list of store names, or `all` (got {value!r})")

    @model_validator(mode="after")
    def _typed_once(self) -> ImageFields:
        """A typed property is given as its key or in `properties:`, not both."""
        both = [key for key in TYPED_PROPERTIES if key in (self.properties or {})]
        if both and any(getattr(self, key) is not None for key in both):
            raise ValueError(f"{both[0]} is given both as a key and in properties")
        return self


def _string_valued(annotation: Any) -> bool:
    """str, a Literal of strings, or a union of those with None: what Glance stores as a
    custom property without a conversion (it keeps strings only)."""
    if annotation is str or annotation is type(None):
        return True
    args = get_args(annotation)
    if get_origin(annotation) is Literal:
        return all(isinstance(arg, str) for arg in args)
    return bool(args) and all(_string_valued(arg) for arg in args)


def _rows() -> Iterator[Row]:
    for name, info in ImageFields.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, Row):
                if meta.kind is Kind.PROPERTY and not _string_valued(info.annotation):
                    # an int or bool would be planned against Glance's string forever
                    raise TypeError(f"typed property {name!r} must be string-valued")
                yield replace(meta, name=name)


ROWS: tuple[Row, ...] = tuple(_rows())


def _names(kind: Kind) -> tuple[str, ...]:
    return tuple(row.name for row in ROWS if row.kind is kind)


# The core attributes an entry may give, `name` aside (it is required), in the order
# reports show them; with `name`, every core attribute the tool manages.
CORE_FIELDS: tuple[str, ...] = _names(Kind.CORE)
MANAGED_CORE: tuple[str, ...] = ("name", *CORE_FIELDS)
# Custom properties an entry gives as keys of their own, with a type.
TYPED_PROPERTIES: tuple[str, ...] = _names(Kind.PROPERTY)
_NOT_PROPERTIES: frozenset[str] = frozenset({*MANAGED_CORE, "tags"})


def merged(entry: ImageFields, defaults: ImageFields | None) -> dict[str, Any]:
    """Every field's value once the defaults are applied (None: not managed)."""
    out: dict[str, Any] = {}
    for row in ROWS:
        value = getattr(entry, row.name)
        base = getattr(defaults, row.name) if defaults is not None else None
        if row.merge is Merge.BY_KEY and (value is not None or base is not None):
            value = {**(base or {}), **(value or {})}
        elif value is None:
            value = base
        out[row.name] = value
    return out


def desired_properties(values: Mapping[str, Any]) -> dict[str, str | None]:
    """The custom properties merged values set (a string) or remove (None): the free
    map, then the typed properties given (a key wins over its defaults' `properties:`)."""
    properties: dict[str, str | None] = dict(values.get("properties") or {})
    for key in TYPED_PROPERTIES:
        if values.get(key) is not None:
            properties[key] = values[key]
    return properties


def view_changes(
    core: tuple[tuple[str, Any], ...],
    tags: tuple[str, ...] | None,
    properties: tuple[tuple[str, str | None], ...],
) -> tuple[dict[str, Any], frozenset[str]]:
    """What a desired image sets in the view (in report order: core attributes, tags,
    properties sorted) and the keys it removes. Tags are compared as a set, so they
    are set as a sorted list, as a live view holds them."""
    sets: dict[str, Any] = dict(core)
    if tags is not None:
        sets["tags"] = sorted(tags)
    sets.update((key, value) for key, value in properties if value is not None)
    return sets, frozenset(key for key, value in properties if value is None)


def custom_properties(view: Mapping[str, Any]) -> dict[str, str]:
    """A live view's custom properties: its string values that are not core attributes
    or tags."""
    return {
        key: value
        for key, value in view.items()
        if key not in _NOT_PROPERTIES and isinstance(value, str)
    }


_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(ImageFields.model_fields[name].annotation or Any) for name in TYPED_PROPERTIES
}


def _valid(name: str, value: Any) -> bool:
    try:
        _ADAPTERS[name].validate_python(value, strict=True)
    except ValueError:
        return False
    return True


def imported(
    view: Mapping[str, Any],
    status: str | None,
    members: tuple[str, ...] | None,
    importable: Callable[[str, Any], bool],
) -> dict[str, Any]:
    """The fields of the entry that describes a live image as it is (`import`), in the
    table's order: the managed core attributes set, every tag, a typed property whose
    value its type accepts, the other `importable` custom properties, the members of a
    shared image, `deactivated: true` for a deactivated one. Rotation and stores are
    not read back."""
    typed = {
        key: view[key]
        for key in TYPED_PROPERTIES
        if view.get(key) is not None and _valid(key, view[key])
    }
    entry: dict[str, Any] = {}
    for row in ROWS:
        value: Any = None
        if row.kind is Kind.CORE:
            value = view.get(row.name)
        elif row.kind is Kind.TAGS:
            value = sorted(view.get("tags") or ())
        elif row.kind is Kind.PROPERTIES:
            value = {
                key: text
                for key, text in sorted(view.items())
                if key not in _NOT_PROPERTIES and key not in typed and importable(key, text)
            } or None
        elif row.kind is Kind.PROPERTY:
            value = typed.get(row.name)
        elif row.kind is Kind.MEMBERS and members is not None:
            value = sorted(members) if view.get("visibility") == "shared" else None
        elif row.kind is Kind.ACTIVATION:
            value = True if status == "deactivated" else None
        if value is not None:
            entry[row.name] = value
    return entry
