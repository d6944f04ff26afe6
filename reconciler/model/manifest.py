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

from pydantic import BaseModel, ConfigDict, Field

from reconciler.model.fields import (
    CORE_FIELDS,
    ImageFields,
    desired_properties,
    merged,
    view_changes,
)
from reconciler.model.image_view import CATALOG_PATTERN, DEFAULT_CATALOG, encode_record
from reconciler.model.rotation import PreviousSpec, Rotation, RotationSpec
from reconciler.model.source import DataSource

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

ImageName = Field(
    min_length=1,
    max_length=255,
    description="The image name (matches live images by name unless `id` is given).",
)


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
    origin: str  # file:line of the entry
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

    # Derived when the value is built, so the diff's hot path only compares: what the
    # image sets in the view (`sets`, see `fields.view_changes`) and removes from it,
    # the keys of the values compared by type too (bool and int: True == 1), every
    # custom property the entry names (removals included), the ones it sets (what the
    # management record lists), and that record as the tool writes it.
    sets: dict[str, Any] = field(init=False, repr=False, compare=False)
    removes: frozenset[str] = field(init=False, repr=False, compare=False)
    exact: tuple[tuple[str, type], ...] = field(init=False, repr=False, compare=False)
    declared_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    set_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    record_text: str = field(init=False, repr=False, compare=False)
    set_properties: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sets, removes = view_changes(self.core, self.tags, self.properties)
        set_properties = {k: v for k, v in self.properties if v is not None}
        set_keys = frozenset(set_properties)
        object.__setattr__(self, "sets", sets)
        object.__setattr__(self, "removes", removes)
        exact = tuple((k, type(v)) for k, v in sets.items() if not isinstance(v, str | list))
        object.__setattr__(self, "exact", exact)
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
        object.__setattr__(self, "set_properties", set_properties)

    @property
    def core_dict(self) -> dict[str, Any]:
        return dict(self.core)

    @property
    def properties_dict(self) -> dict[str, str | None]:
        return dict(self.properties)


def merge(
    entry: ImageEntry,
    defaults: Defaults | None,
    origin: str,
    targets: tuple[TargetSpec, ...] | None = None,
    catalog: str = DEFAULT_CATALOG,
    data: DataSource | None = None,
) -> DesiredImage:
    """Apply the defaults block to one entry (the rules: `reconciler.model.fields`)."""
    values = merged(entry, defaults)
    core = [(name, values[name]) for name in CORE_FIELDS if values[name] is not None]
    tags, members = values["tags"], values["members"]
    rotation, stores = values["rotation"], values["stores"]
    return DesiredImage(
        name=entry.name,
        origin=origin,
        id=entry.id,
        core=(("name", entry.name), *core),
        tags=tuple(sorted(set(tags))) if tags is not None else None,
        properties=tuple(sorted(desired_properties(values).items())),
        members=tuple(sorted(set(members))) if members is not None else None,
        deactivated=values["deactivated"],
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
