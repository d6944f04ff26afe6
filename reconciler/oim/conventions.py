"""openstack-image-manager's marks on the images it made, as the diff recognises them:
its management tag, `internal_version` (the version it imported) and its name form for
previous builds, `NAME<separator>(VERSION)`. Pure.

An entry that keeps OIM's tag adopts, while they have no management record yet, the
image OIM made of its source (with its data: OIM's web-download stores what it
fetched, which the tool cannot hash against OIM's sha256) and OIM's previous builds of
it (as builds of the entry: their record is written, nothing else changes). Once the
records exist they decide, and these marks are no longer read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.model.image_view import MANAGED_RECORD, LiveImage, encode_record
from reconciler.model.manifest import DesiredImage

OIM_TAG = "managed_by_osism"  # OIM's `--tag` default: the tag it recognises its images by


def declares_oim(tags: Iterable[str] | None, tag: str = OIM_TAG) -> bool:
    """The entry keeps OIM's management tag: its live images may be OIM's."""
    return tags is not None and tag in tags


def is_oim_current(live: LiveImage, version: str | None, tag: str = OIM_TAG) -> bool:
    """The live image is the build OIM made of `version`: its tag, and its
    `internal_version` (OIM's record of the version it imported) the declared one."""
    return (
        version is not None
        and tag in (live.view.get("tags") or ())
        and live.view.get("internal_version") == version
        and live.status in ("active", "deactivated")
    )


def oim_previous_version(live: LiveImage, name: str, rename: str, tag: str = OIM_TAG) -> str | None:
    """The version of an OIM previous build of entry `name`: an image with OIM's tag
    named by `rename` (the rotation's template) from a version, which must be its
    `internal_version` when it has one; else None. A template with `{build_date}` is
    not OIM's form."""
    if live.name is None or tag not in (live.view.get("tags") or ()):
        return None
    parts = rename.split("{version}")
    if len(parts) != 2 or any("{build_date}" in part for part in parts):
        return None
    prefix, suffix = (_filled(part, name) for part in parts)
    text = live.name
    if len(text) <= len(prefix) + len(suffix):
        return None
    if not (text.startswith(prefix) and text.endswith(suffix)):
        return None
    found = text[len(prefix) : len(text) - len(suffix)]
    recorded = live.view.get("internal_version")
    if isinstance(recorded, str):
        return recorded if recorded == found else None
    return found


def _filled(piece: str, name: str) -> str:
    """A piece of a rename template with `{name}` filled in and `{{`/`}}` unescaped."""
    held = piece.replace("{{", "\0").replace("}}", "\1").replace("{name}", name)
    return held.replace("\0", "{").replace("\1", "}")


def adoptable_current(desired: DesiredImage, live: LiveImage) -> bool:
    """The entry's live image is the build OIM made of the declared source: no record
    yet, the entry keeps OIM's tag and declares `internal_version` as its source's
    version (as `import --from oim` writes it), and the image's `internal_version` is
    that version. Its data is then adopted as the source's (OIM's web-download stores
    what it fetched, which the tool cannot hash: Glance's hash is sha512, OIM's
    checksums mostly sha256)."""
    data = desired.data
    return (
        data is not None
        and MANAGED_RECORD not in live.view
        and declares_oim(desired.tags)
        and desired.set_properties.get("internal_version") == data.version
        and is_oim_current(live, data.version)
    )


def adoptions(
    desired: DesiredImage, candidates: Iterable[LiveImage], current: LiveImage | None
) -> tuple[list[LiveImage], dict[str, tuple[str, str]]]:
    """OIM's builds of an entry that have no record yet: its previous builds (among
    `candidates`: the project's unrecorded images with OIM's tag), each named by the
    entry's rename template from its `internal_version`, and the current build when it
    is OIM's (so a rebuild renames it by its version and keeps it a build of the
    entry). Only for an entry with a source and a rotation that keeps OIM's tag. Each
    with (its version, the record it gets: this catalog, the entry, Glance's hash)."""
    rotation, data = desired.rotation, desired.data
    if rotation is None or data is None or not declares_oim(desired.tags):
        return [], {}
    previous: list[LiveImage] = []
    adopted: dict[str, tuple[str, str]] = {}
    for image in candidates:
        if current is not None and image.id == current.id:
            continue
        version = oim_previous_version(image, desired.name, rotation.rename)
        if version is not None:
            previous.append(image)
            adopted[image.id] = (version, _build_record(desired, image, version))
    if current is not None and MANAGED_RECORD not in current.view:
        version = current.view.get("internal_version")
        if isinstance(version, str) and OIM_TAG in (current.view.get("tags") or ()):
            adopted[current.id] = (version, _build_record(desired, current, version))
    return previous, adopted


def _build_record(desired: DesiredImage, image: LiveImage, version: str) -> str:
    keys = (key for key in desired.set_keys if key in image.view)
    return encode_record(keys, desired.catalog, image.data_hash or "", version, desired.name)


def recognised(
    desired: DesiredImage, current: LiveImage | None, previous: Sequence[LiveImage]
) -> tuple[str, ...]:
    """What the plan says of the OIM conventions it recognised for this entry."""
    notes: list[str] = []
    if current is not None:
        notes.append(
            f"openstack-image-manager's build recognised (tag {OIM_TAG}, internal_version "
            f"{current.view.get('internal_version')}): adopted with its data, as it is"
        )
    for image in previous:
        notes.append(
            f"openstack-image-manager's previous build {image.name!r} (internal_version "
            f"{image.view.get('internal_version')}) adopted as a build of this entry"
        )
    return tuple(notes)
