"""The manifest format: pydantic models (the single definition, exported to
`schemas/manifest.schema.json`) and the merged, validated `DesiredImage`. No I/O.

Semantics an operator relies on:
- A core attribute left out is not managed: the live value stays as it is.
- `tags` and `members`, when given, are the whole set (compared as sets); `tags: []`
  clears all tags. Left out: not managed.
- `properties`: a string value is set (add or replace); `null` or `false` removes the
  property. Removing a line removes the property on the next apply, but only if the tool
  set it (the management record on the image says so).
- `stores`, when given, is the set of Glance stores the data must be in (or `all`);
  left out: not managed.
- An entry inherits `defaults:`; scalar fields, `tags`/`members` and `stores` given on
  the entry win; `properties` are merged key by key, the entry's value winning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.model.image_view import (
    CATALOG_PATTERN,
    DEFAULT_CATALOG,
    MANAGED_CORE,
    encode_record,
)
from reconciler.model.rotation import DEFAULT_RENAME, Rotation
from reconciler.model.source import DataSource

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

ImageName = Field(
    min_length=1,
    max_length=255,
    description="The image name (matches live images by name unless `id` is given).",
)


class PreviousSpec(BaseModel):
    """Metadata set on builds that are no longer current (`rotation.previous`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    visibility: str | None = Field(
        None,
        description="public, private, shared or community.",
        json_schema_extra={"enum": ["public", "private", "shared", "community"]},
    )
    os_hidden: bool | None = Field(None, description="Hide previous builds from listings.")
    protected: bool | None = Field(None, description="Protect previous builds.")
    properties: dict[str, str | None] | None = Field(
        None,
        description=(
            "Custom properties of previous builds (e.g. os_purpose: oldgeneric); null or "
            "false removes one."
        ),
    )


class RotationSpec(BaseModel):
    """What builds become once a newer build takes the name (`rotation:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    rename: str = Field(
        DEFAULT_RENAME,
        min_length=1,
        max_length=255,
        description=(
            "The name a build gets once a newer one takes the name. Placeholders: {name}, "
            "{version} (the build's source version, else its build date), {build_date} "
            "(YYYYMMDD: image_build_date, else when the image was created)."
        ),
    )
    previous: PreviousSpec | None = Field(
        None, description="Metadata set on every build that is no longer current."
    )
    keep: int | None = Field(
        None,
        ge=1,
        description="Builds kept, the current one included; older ones are retired. "
        "Left out: all are kept.",
    )
    retired: Literal["hide", "deactivate", "delete"] | None = Field(
        None,
        description=(
            "What happens to builds beyond `keep`: hide (os_hidden: true), deactivate, or "
            "delete (never a protected image; instances booted from it keep running, but "
            "cannot be rebuilt from it). Default: hide."
        ),
    )


class ImageFields(BaseModel):
    """The attributes an image entry and the defaults block share."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    visibility: str | None = Field(
        None,
        description="public, private, shared or community (Glance's enum).",
        json_schema_extra={"enum": ["public", "private", "shared", "community"]},
    )
    protected: bool | None = Field(None, description="Protected images cannot be deleted.")
    os_hidden: bool | None = Field(None, description="Hide the image from default listings.")
    min_disk: int | None = Field(None, ge=0, description="Minimum disk size in GB.")
    min_ram: int | None = Field(None, ge=0, description="Minimum RAM in MB.")
    disk_format: str | None = Field(
        None,
        description="Disk format (raw, qcow2, ...); can only change while the image is queued.",
    )
    container_format: str | None = Field(
        None, description="Container format (bare, ovf, ...); only while queued."
    )
    tags: list[str] | None = Field(
        None, description="The whole set of tags; [] clears them; left out: not managed."
    )
    properties: dict[str, str | None] | None = Field(
        None,
        description=(
            "Custom properties. A string sets the value; null or false removes the "
            "property. Unquoted numbers and `true` are kept as their exact source text "
            '(20.10 stays "20.10").'
        ),
    )
    members: list[str] | None = Field(
        None,
        description="Project ids the image is shared with (needs visibility: shared).",
    )
    deactivated: bool | None = Field(
        None,
        description=(
            "true deactivates an active image (its data can no longer be downloaded); "
            "false reactivates it. Left out: not managed."
        ),
    )
    rotation: RotationSpec | None = Field(
        None,
        description=(
            "Builds and rotation of an image with a `source:`: the name, metadata and "
            "retirement of builds that are no longer current. Given on an entry, it "
            "replaces the defaults' block as a whole."
        ),
    )
    stores: list[str] | Literal["all"] | None = Field(
        None,
        description=(
            "The Glance stores (multi-store `enabled_backends`) the image's data must be "
            "in: a list of store names, or `all` (every store Glance lists). A new build "
            "is imported into each at once; an image missing from one gets a copy "
            "(copy-image). Left out: not managed (the default store)."
        ),
    )

    @field_validator("stores", mode="before")
    @classmethod
    def _stores_form(cls, value: Any) -> Any:
        """One clear line instead of one per member of the union."""
        if value is None or value == "all" or isinstance(value, list):
            return value
        raise ValueError(f"a list of store names, or `all` (got {value!r})")


class Defaults(ImageFields):
    """Values every image entry in the same document inherits."""


class WatchSpec(BaseModel):
    """Where the newest upstream build of an image is published (`source.watch`), read
    by `reconciler bump` (never by plan or apply)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    url: str = Field(
        min_length=1,
        description=(
            "The image's URL template: {version} stands for a build's version. Without "
            "{version} it is a fixed 'latest' URL, and the version is the file's "
            "Last-Modified date (YYYYMMDD)."
        ),
    )
    checksums: str = Field(
        min_length=1,
        description=(
            "URL template of the checksum file listing the image (GNU or BSD lines, "
            "sha256 or sha512, comments, CRLF, PGP clear-signed); the algorithm follows "
            "the file."
        ),
    )
    index: str | None = Field(
        None,
        min_length=1,
        description=(
            "URL of a directory listing (HTML or plain text) whose links name the "
            "candidate versions (20261101/, v1.11.3/) or are the image files named like "
            "url's file name. Left out: the candidates are the names in the checksum "
            "file that match url's file name as a whole."
        ),
    )
    version: str | None = Field(
        None,
        min_length=1,
        description=(
            "The regular expression {version} matches; default v?[0-9]+([._-][0-9]+)* "
            "(20261101, 20261101-1234, 9.5-20241120, v1.11.3). Candidates are compared "
            "in natural version order."
        ),
    )
    signature: str | None = Field(
        None,
        min_length=1,
        description=(
            "URL template of a detached signature of the checksum file "
            "(SHA256SUMS.gpg), or `clearsigned`; verified with gpgv against `keyring`."
        ),
    )
    keyring: str | None = Field(
        None,
        min_length=1,
        description=(
            "The public key(s) the signature must verify against (a path relative to "
            "the manifest, committed beside it; binary or ASCII-armored)."
        ),
    )


class SourceSpec(BaseModel):
    """Where the image's data comes from (`source:` of an entry)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    url: str = Field(
        min_length=1,
        description="An http(s) URL, or a file path (relative to the manifest file).",
    )
    checksum: str = Field(
        min_length=1,
        description=(
            "ALGORITHM:HEX of the data: sha256 or sha512 (md5 only with a warning). "
            "web-download needs sha512: Glance hashes with sha512 and the tool never sees "
            "the bytes."
        ),
    )
    method: Literal["upload", "glance-direct", "web-download"] = Field(
        "upload",
        description=(
            "upload: the tool streams the bytes (PUT /file); glance-direct: stage, then "
            "import; web-download: Glance fetches the URL itself."
        ),
    )
    version: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="A label of this build, shown in plans (and used to name old builds).",
    )
    compression: Literal["xz", "bz2", "gz", "zst", "none"] | None = Field(
        None,
        description=(
            "How the file is compressed; default: from the URL's suffix (.xz, .bz2, .gz, "
            ".zst). The checksum is of the file as published; Glance receives the "
            "decompressed bytes. Not with web-download (Glance would store the "
            "compressed bytes)."
        ),
    )
    mirrors: list[str] | None = Field(
        None,
        description=(
            "URLs holding the same file, tried in order before `url` (which stays the "
            "provenance): each is held to the one checksum; one that fails is a warning "
            "and the next is tried."
        ),
    )
    watch: WatchSpec | None = Field(
        None,
        description=(
            "Where the newest upstream build is published: `reconciler bump` rewrites "
            "url, checksum, version (and image_build_date, image_source) when it changes."
        ),
    )


class ImageEntry(ImageFields):
    """One desired image."""

    name: str = ImageName
    id: str | None = Field(None, pattern=UUID_PATTERN, description="Pin the live image by id.")
    source: SourceSpec | None = Field(
        None,
        description=(
            "The image's data (needs disk_format and container_format). Same checksum as "
            "the live build: no data action; another checksum: a new build."
        ),
    )


class TargetSpec(BaseModel):
    """A cloud and region the images go to (a clouds.yaml entry and a region name).
    Left out, `cloud` and `region` come from the command line or OS_CLOUD and
    OS_REGION_NAME."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="What reports and --target call it; default: the region, else the cloud.",
    )
    cloud: str | None = Field(None, min_length=1, description="clouds.yaml entry.")
    region: str | None = Field(None, min_length=1, description="Region name.")

    @property
    def label(self) -> str:
        return self.name or self.region or self.cloud or "default"


class TargetsFile(BaseModel):
    """A `--targets` file: the targets every manifest without its own goes to."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    version: Literal[1] = Field(description="The targets file format version.")
    targets: list[TargetSpec] = Field(min_length=1)


class ManifestDocument(BaseModel):
    """One YAML document of a manifest file."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        title="reconciler manifest",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
        },
    )

    version: Literal[1] = Field(description="The manifest format version.")
    catalog: str | None = Field(
        None,
        pattern=CATALOG_PATTERN,
        description=(
            "The catalog (manifest set) this document belongs to: lower-case letters, "
            "digits, '.', '_', '-', 1-63 characters. Every document of a run names the same "
            "catalog or none; none anywhere means the catalog 'default'. Only images whose "
            "management record names the run's catalog can be orphans or be pruned."
        ),
    )
    policy: list[str] | None = Field(
        None,
        description=(
            "Policies every image of the run is checked against by validate, plan and "
            "drift (with --policy's): built-in names (scs-0102) or policy files (paths "
            "relative to this file). Policies of every document of a run add up."
        ),
    )
    targets: list[TargetSpec] | None = Field(
        None,
        min_length=1,
        description=(
            "The clouds/regions this document's images go to. Left out: every target "
            "(those of other documents or --targets), or the command line's cloud."
        ),
    )
    defaults: Defaults | None = None
    images: list[ImageEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class DesiredImage:
    """An image entry merged with its defaults; `None` means "not managed"."""

    name: str
    source: str  # file:line of the entry
    id: str | None = None
    core: tuple[tuple[str, Any], ...] = ()  # managed core attributes given, in order
    tags: tuple[str, ...] | None = None
    properties: tuple[tuple[str, str | None], ...] = ()  # None = remove
    members: tuple[str, ...] | None = None
    deactivated: bool | None = None
    targets: tuple[TargetSpec, ...] | None = None  # None: every target
    catalog: str = DEFAULT_CATALOG  # the run's catalog, named in the management record
    data: DataSource | None = None  # the declared data source (manifest key `source:`)
    rotation: Rotation | None = None  # declared rotation of its builds (needs `data`)
    # The stores the data must be in (sorted), or every store Glance lists (`all`);
    # None: not managed.
    stores: tuple[str, ...] | None = None
    all_stores: bool = False

    # Derived when the value is built, so the diff's hot path only compares.
    declared_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    set_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    record_text: str = field(init=False, repr=False, compare=False)
    set_properties: dict[str, str] = field(init=False, repr=False, compare=False)
    removed_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    tags_list: list[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every custom property the entry names (removals included), the ones it sets
        # (what the management record lists), and that record as the tool writes it.
        set_keys = frozenset(key for key, value in self.properties if value is not None)
        object.__setattr__(self, "declared_keys", frozenset(k for k, _v in self.properties))
        object.__setattr__(self, "set_keys", set_keys)
        object.__setattr__(
            self,
            "record_text",
            encode_record(
                set_keys,
                self.catalog,
                self.data.checksum if self.data else None,
                self.data.version if self.data else None,
                self.name if self.data else None,
            ),
        )
        object.__setattr__(
            self, "set_properties", {k: v for k, v in self.properties if v is not None}
        )
        object.__setattr__(
            self, "removed_keys", frozenset(k for k, v in self.properties if v is None)
        )
        # As a live view holds tags: a sorted list.
        object.__setattr__(self, "tags_list", sorted(self.tags) if self.tags is not None else None)

    @property
    def core_dict(self) -> dict[str, Any]:
        return dict(self.core)

    @property
    def properties_dict(self) -> dict[str, str | None]:
        return dict(self.properties)


# The managed core attributes an entry may give, `name` aside (it is required).
CORE_FIELDS: tuple[str, ...] = tuple(f for f in MANAGED_CORE if f != "name")


def merge(
    entry: ImageEntry,
    defaults: Defaults | None,
    source: str,
    targets: tuple[TargetSpec, ...] | None = None,
    catalog: str = DEFAULT_CATALOG,
    data: DataSource | None = None,
) -> DesiredImage:
    """Apply the defaults block to one entry (see the module docstring for the rules)."""
    base = defaults or Defaults()
    core: list[tuple[str, Any]] = [("name", entry.name)]
    for name in CORE_FIELDS:
        value = getattr(entry, name)
        if value is None:
            value = getattr(base, name)
        if value is not None:
            core.append((name, value))
    properties = dict(base.properties or {})
    properties.update(entry.properties or {})
    tags = entry.tags if entry.tags is not None else base.tags
    members = entry.members if entry.members is not None else base.members
    deactivated = entry.deactivated if entry.deactivated is not None else base.deactivated
    rotation = entry.rotation if entry.rotation is not None else base.rotation
    stores = entry.stores if entry.stores is not None else base.stores
    return DesiredImage(
        name=entry.name,
        source=source,
        id=entry.id,
        core=tuple(core),
        tags=tuple(sorted(set(tags))) if tags is not None else None,
        properties=tuple(sorted(properties.items())),
        members=tuple(sorted(set(members))) if members is not None else None,
        deactivated=deactivated,
        targets=targets,
        catalog=catalog,
        data=data,
        rotation=rotation_of(rotation) if rotation is not None and data is not None else None,
        stores=None if stores is None or stores == "all" else tuple(sorted(set(stores))),
        all_stores=stores == "all",
    )


def rotation_of(spec: RotationSpec) -> Rotation:
    """The declared block as the diff uses it (previous metadata in `DesiredImage`'s
    form: managed core attributes in order, properties sorted, None = remove)."""
    previous = spec.previous or PreviousSpec()
    core = tuple(
        (name, getattr(previous, name))
        for name in ("visibility", "protected", "os_hidden")
        if getattr(previous, name) is not None
    )
    return Rotation(
        rename=spec.rename,
        previous_core=core,
        previous_properties=tuple(sorted((previous.properties or {}).items())),
        keep=spec.keep,
        retired=spec.retired or "hide",
    )
