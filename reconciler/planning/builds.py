"""Builds and rotation: what an entry's other builds become. Pure: no I/O, no clock.

The builds of an entry are this catalog's images whose management record names the
entry (`entry` in the record), whatever they are called now. The one the entry matches
carries the plain name (the current build); the others are previous builds, ordered
newest first by creation (a build is created when its source changes, so creation order
is the order they became current). With a declared `rotation:` (see
`reconciler.model.rotation`) each previous build is kept in its rotated state (the
rename template's name and the `previous` metadata), and builds beyond `keep` are
retired. Without one, only a rebuild's outgoing build is renamed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.model.image_view import (
    MANAGED_RECORD,
    LiveImage,
    Ownership,
    ownership,
    parse_record,
    with_entry,
)
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Activation, BuildPlan, BuildRole, patch_ops
from reconciler.model.rotation import DEFAULT_ROTATION, Rotation, render


def entry_builds(
    images: Iterable[LiveImage], catalog: str, project_id: str | None
) -> dict[str, list[LiveImage]]:
    """This catalog's images of the project per entry their record names, newest first."""
    index: dict[str, list[LiveImage]] = defaultdict(list)
    for image in images:
        if MANAGED_RECORD not in image.view:
            continue
        if project_id is not None and image.owner != project_id:
            continue
        record = parse_record(image.view.get(MANAGED_RECORD))
        if record is None or record.entry is None:
            continue
        if ownership(image.view, catalog)[0] is Ownership.OURS:
            index[record.entry].append(image)
    for builds in index.values():
        builds.sort(key=newest_first)
    return index


def newest_first(image: LiveImage) -> tuple[str, str]:
    """A sort key putting the latest created first (ISO 8601 times sort as text)."""
    return _inverted(image.created_at or ""), _inverted(image.id)


def _inverted(text: str) -> str:
    return "".join(chr(0x10FFFF - ord(ch)) for ch in text)


def build_date(image: LiveImage) -> str:
    """The build's date as YYYYMMDD: `image_build_date`, else when it was created; the
    id's start when neither reads as a date."""
    stamp = str(image.view.get("image_build_date") or image.created_at or "")
    digits = "".join(ch for ch in stamp[:10] if ch.isdigit())
    return digits if len(digits) == 8 else image.id[:8]


def build_version(image: LiveImage) -> str | None:
    record = parse_record(image.view.get(MANAGED_RECORD))
    return record.version if record is not None and record.version else None


def rotated_name(
    template: str,
    name: str,
    image: LiveImage,
    taken: set[str] | Mapping[str, Any],
    version: str | None = None,
) -> str:
    """The template filled in for this build (`{version}`: its recorded version, else
    `version`, else the build date); the id's start is added when another image has
    that name already."""
    date = build_date(image)
    renamed = render(template, name, build_version(image) or version or date, date)
    if renamed in taken:
        renamed = f"{renamed} ({image.id[:8]})"[:255]
    return renamed


# Builds without a record that the entry adopts (another tool's, recognised by the
# diff: see `reconciler.oim.conventions`): image id -> (version, the record they are given).
Adopted = Mapping[str, tuple[str, str]]


def _rotated_view(
    desired: DesiredImage,
    rotation: Rotation,
    image: LiveImage,
    name: str,
    retired: bool,
    adopted: Adopted,
) -> dict[str, Any]:
    view = dict(image.view)
    view["name"] = name
    if rotation.declared:
        view.update(rotation.previous_core)
        for key, value in rotation.previous_properties:
            if value is None:
                view.pop(key, None)
            else:
                view[key] = value
        if retired and rotation.retired == "hide":
            view["os_hidden"] = True
    raw = image.view.get(MANAGED_RECORD)
    if isinstance(raw, str):
        rewritten = with_entry(raw, desired.name)
        if rewritten is not None:
            view[MANAGED_RECORD] = rewritten
    elif image.id in adopted:
        view[MANAGED_RECORD] = adopted[image.id][1]
    return view


def plan_builds(
    desired: DesiredImage,
    outgoing: LiveImage | None,
    others: Sequence[LiveImage],
    taken: Mapping[str, Any],
    adopted: Adopted | None = None,
) -> tuple[BuildPlan, ...]:
    """The changes to the entry's builds other than the one carrying the name: the
    `outgoing` build (a rebuild's current one, about to lose the name) first, then the
    `others` (its previous builds, newest first). Builds already in their rotated state
    are left out, protected ones that should be deleted are kept with a note. The
    `adopted` builds have no record yet: their version is the one given, and their
    record is written (a build already in its rotated state changes only by that)."""
    adopted = adopted or {}
    rotation = desired.rotation or DEFAULT_ROTATION
    previous = [outgoing] if outgoing is not None else []
    if rotation.declared:
        previous += [image for image in others if outgoing is None or image.id != outgoing.id]
    own = {image.id for image in previous}
    # Names the renames must not take: every other image's, then those given out here.
    names: set[str] = {name for name, holders in taken.items() if not _only_builds(holders, own)}
    names.add(desired.name)
    kept = len(previous) if rotation.keep is None else max(rotation.keep - 1, 0)
    plans: list[BuildPlan] = []
    for index, image in enumerate(previous):
        retired = index >= kept
        role = BuildRole.RETIRED if retired else BuildRole.PREVIOUS
        common: dict[str, Any] = {
            "id": image.id,
            "name": image.name or image.id,
            "role": role,
            "status": image.status,
            "protected": bool(image.view.get("protected")),
            "version": build_version(image) or adopted.get(image.id, (None, ""))[0],
            "fingerprint": image.fingerprint,
        }
        # A build adopted in this plan has no record naming this catalog yet: it is
        # never deleted by the run that adopts it (nothing is deleted that the run cannot
        # prove is its own); it gets its record now, and the next plan deletes it.
        unrecorded = image.id in adopted
        if retired and rotation.retired == "delete" and not common["protected"] and not unrecorded:
            plans.append(BuildPlan(delete=True, **common))
            continue
        name = rotated_name(rotation.rename, desired.name, image, names, common["version"])
        names.add(name)
        ops = patch_ops(image.view, _rotated_view(desired, rotation, image, name, retired, adopted))
        activation = None
        if retired and rotation.retired == "deactivate" and image.status == "active":
            activation = Activation.DEACTIVATE
        note = None
        if retired and rotation.retired == "delete" and common["protected"]:
            note = "protected: never deleted by rotation; unprotect it to retire it"
        elif retired and rotation.retired == "delete":
            note = (
                "adopted now (no record yet): deleted by the next run, once its record "
                "names this catalog"
            )
        build = BuildPlan(patch=ops, activation=activation, note=note, **common)
        if build.has_work or note is not None:
            plans.append(build)
    return tuple(plans)


def _only_builds(holders: Any, own: set[str]) -> bool:
    """The images holding a name are all builds being renamed here (so the name is
    free to give out again)."""
    if not isinstance(holders, list):
        return False
    return all(getattr(holder, "id", None) in own for holder in holders)
