"""desired x live -> Plan. Pure: no I/O, no clock, deterministic output.

Choosing the op is set arithmetic on the views: keys wanted and absent are `add`,
present and different are `replace`, present and no longer wanted are `remove`. Core
attributes always exist on a Glance image, so they are only ever replaced. Custom
properties are removed only when the manifest says `null`/`false`, or when the key is in
the image's management record and no manifest sets it any more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.model.image_view import (
    DEFAULT_CATALOG,
    MANAGED_RECORD,
    LiveCatalog,
    LiveImage,
    ManagementRecord,
    Ownership,
    encode_record,
    managed_keys,
    ownership,
    parse_record,
)
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import (
    Action,
    Activation,
    BuildPlan,
    DataPlan,
    ImagePlan,
    MemberChanges,
    PatchOp,
    Plan,
    Target,
    escape_pointer,
    patch_ops,
)
from reconciler.model.source import DataSource
from reconciler.oim import conventions as oim
from reconciler.planning.builds import Adopted, entry_builds, newest_first, plan_builds
from reconciler.planning.stores import with_stores
from reconciler.runtime import gcpause


def _record_matches(raw: Any, desired: DesiredImage) -> bool:
    """The live management record already names this catalog and exactly these keys
    (and, for an entry without a source, any build: see `_record_text`)."""
    live = parse_record(raw)
    if desired.data is None and live is not None:
        return (live.catalog, live.keys) == (desired.catalog, desired.set_keys)
    return live == ManagementRecord(desired.catalog, desired.set_keys)


def _record_text(desired: DesiredImage, raw: Any) -> str:
    """The record to write. An entry without `source:` does not manage the data (as a
    core attribute left out): the build the live record names (written by a run that
    declared one, issue 26: imported, then applied) is kept, so the manifest with the
    source plans no rebuild for the same checksum. Only this catalog's own record: an
    image taken over from another catalog starts without that catalog's build."""
    if desired.data is None:
        live = parse_record(raw)
        if live is not None and live.build is not None and live.catalog == desired.catalog:
            return encode_record(
                desired.set_keys, desired.catalog, live.build, live.version, live.entry
            )
    return desired.record_text


def desired_view(
    desired: DesiredImage, live_view: Mapping[str, Any], *, record: bool, take_over: bool = False
) -> dict[str, Any]:
    """The view the image should have once the plan is applied: the live view with what
    the entry sets, less what it removes and what this catalog's record lists but no
    entry names any more. Taking an image over from another catalog removes none of the
    keys that catalog recorded: this one never set them."""
    view = dict(live_view)
    view.update(desired.sets)
    stale = frozenset() if take_over else managed_keys(live_view) - desired.declared_keys
    for key in stale | desired.removes:
        view.pop(key, None)
    raw = live_view.get(MANAGED_RECORD)
    if record and not _record_matches(raw, desired):
        view[MANAGED_RECORD] = _record_text(desired, raw)
    return view


def is_unchanged(desired: DesiredImage, live_view: Mapping[str, Any], *, record: bool) -> bool:
    """The fast path: True exactly when desired_view() would equal live_view, found
    without copying the view (most images of a catalog are unchanged). Values must be
    equal and of the same type, as in patch_ops; the items views compare in C."""
    if not desired.sets.items() <= live_view.items():
        return False
    get = live_view.get
    for key, kind in desired.exact:
        if type(get(key)) is not kind:
            return False
    if desired.removes and not desired.removes.isdisjoint(live_view.keys()):
        return False
    raw = get(MANAGED_RECORD)
    if raw == desired.record_text:
        # The common case: the record lists exactly the keys the entry sets, all of
        # them declared, so nothing it lists is stale. No JSON parsing.
        return True
    listed = parse_record(raw)
    if listed and any(key in live_view for key in listed.keys - desired.declared_keys):
        return False
    return not record or _record_matches(raw, desired)


def create_view(desired: DesiredImage) -> dict[str, Any]:
    """What a new image is created with (the POST body, in view form)."""
    view: dict[str, Any] = dict(desired.sets)
    if desired.data is not None and desired.data.algorithm == "sha256":
        # openstacksdk's convention, so its create_image recognises the build; only
        # when the declared checksum is a sha256 (no hash is computed to make one).
        view[SDK_SHA256] = desired.data.digest
        view[SDK_OBJECT] = f"images/{desired.name}"
    view[MANAGED_RECORD] = desired.record_text
    return view


SDK_SHA256 = "owner_specified.openstack.sha256"
SDK_OBJECT = "owner_specified.openstack.object"


def _warnings(
    desired: DesiredImage, live: LiveImage | None, project_id: str | None, changing: bool
) -> tuple[str, ...]:
    notes: list[str] = []
    core = desired.core_dict
    if live is not None and changing and project_id and live.owner and live.owner != project_id:
        notes.append(
            f"owned by project {live.owner}, not this one: the change will likely be refused (403)"
        )
    visibility = core.get("visibility", live.view.get("visibility") if live else None)
    if desired.members and visibility != "shared":
        notes.append(
            "members are only accepted while visibility is 'shared' "
            f"(it will be {visibility!r}): expect 403"
        )
    if (
        changing
        and core.get("visibility") == "public"
        and (live is None or live.view.get("visibility") != "public")
    ):
        notes.append("making an image public needs the publicize_image policy (admin by default)")
    if desired.deactivated and (live is None or live.status not in ("active", "deactivated")):
        notes.append("only an active image (one with data) can be deactivated: not planned")
    if live is not None and live.status not in (None, "queued"):
        for attr in ("disk_format", "container_format"):
            if attr in core and core[attr] != live.view.get(attr):
                notes.append(f"{attr} can only change while the image is queued: expect 403")
    return tuple(notes)


def plan_image(
    desired: DesiredImage,
    live: LiveImage | None,
    project_id: str | None,
    take_over_from: str | None = None,
    taken: Mapping[str, object] | None = None,
    others: Sequence[LiveImage] = (),
    adopted: Adopted | None = None,
) -> ImagePlan:
    """The plan of one desired image against its matched live image (None: create);
    `take_over_from`: the other catalog the image is moved from (--take-over);
    `others`: the entry's other builds (see `reconciler.planning.builds`), `taken`: the live
    images by name (renamed builds get names of their own); `adopted`: the builds
    without a record the entry adopts (OIM's, see `reconciler.oim.conventions`)."""
    builds: tuple[BuildPlan, ...] = ()
    if desired.rotation is not None and others:
        builds = plan_builds(desired, None, others, taken or {}, adopted)
    if live is None:
        return _create(desired, project_id, builds)
    oim_current = oim.adoptable_current(desired, live)
    notes = oim.recognised(
        desired,
        live if oim_current else None,
        [b for b in others if adopted and b.id in adopted and b.id != live.id],
    )
    if desired.data is not None and not data_is_current(desired.data, live) and not oim_current:
        rebuild = plan_rebuild(desired, live, project_id, taken, others, adopted)
        return replace(rebuild, warnings=(*notes, *rebuild.warnings)) if notes else rebuild
    ours = project_id is None or live.owner in (None, project_id)
    unchanged = take_over_from is None and is_unchanged(desired, live.view, record=ours)
    rotating = any(build.has_work for build in builds)
    if unchanged and desired.members is None and desired.deactivated is None and not builds:
        # The common case of a large catalog, kept cheap: nothing to do and nothing to
        # warn about (every warning needs a change, members or `deactivated`).
        return ImagePlan(
            name=desired.name,
            action=Action.NOOP,
            id=live.id,
            source=desired.origin,
            owner=live.owner,
            status=live.status,
            protected=bool(live.view.get("protected")),
        )
    ops: tuple[PatchOp, ...] = ()
    if not unchanged:
        target = desired_view(desired, live.view, record=ours, take_over=take_over_from is not None)
        ops = patch_ops(live.view, target)
    members = MemberChanges()
    if desired.members is not None and live.members is not None:
        wanted, present = set(desired.members), set(live.members)
        members = MemberChanges(
            add=tuple(sorted(wanted - present)), remove=tuple(sorted(present - wanted))
        )
    activation = _activation(desired.deactivated, live.status)
    changing = bool(ops) or bool(members) or activation is not None
    action = Action.UPDATE if changing else Action.NOOP
    if changing and not members and activation is None and _record_only(ops):
        action = Action.ADOPT
    if rotating and action in (Action.NOOP, Action.ADOPT):
        # Builds that only get their record (adopted) leave the entry an adoption.
        moving = any(b.has_work and not _adopts_only(b) for b in builds)
        action = Action.ROTATE if moving else Action.ADOPT
    return ImagePlan(
        name=desired.name,
        action=action,
        id=live.id,
        source=desired.origin,
        owner=live.owner,
        patch=ops,
        members=members,
        members_managed=desired.members is not None,
        activation=activation,
        status=live.status,
        protected=bool(live.view.get("protected")),
        warnings=(*notes, *_warnings(desired, live, project_id, changing)),
        take_over_from=take_over_from if changing else None,
        # Only a change needs the stale check; unchanged images skip the digest.
        fingerprint=live.fingerprint if changing or rotating else None,
        builds=builds,
    )


_RECORD_PATH = escape_pointer(MANAGED_RECORD)


def data_plan(data: DataSource) -> DataPlan:
    return DataPlan(
        data.location,
        data.method,
        data.checksum,
        data.version,
        compression=data.compression,
        mirrors=data.mirrors,
    )


def data_is_current(data: DataSource, live: LiveImage) -> bool:
    """The live image holds the declared data: its record names the same build, or it
    has no recorded build but Glance's own hash is the declared one (an image uploaded
    by other means, adopted with its data)."""
    record = parse_record(live.view.get(MANAGED_RECORD))
    if record is not None and record.build is not None:
        return record.build == data.checksum
    return live.data_hash == data.checksum and live.status in ("active", "deactivated")


def plan_rebuild(
    desired: DesiredImage,
    live: LiveImage,
    project_id: str | None,
    taken: Mapping[str, object] | None = None,
    others: Sequence[LiveImage] = (),
    adopted: Adopted | None = None,
) -> ImagePlan:
    """The source changed: Glance data is immutable once active, so a new image is built
    from it and takes the name once active and verified; the current build (`id`) is
    renamed (`"{name} {version}"`: its version, or its build date as YYYYMMDD) and,
    under a declared rotation, handled like the entry's other previous builds."""
    assert desired.data is not None
    return replace(
        _create(desired, project_id, plan_builds(desired, live, others, taken or {}, adopted)),
        action=Action.REBUILD,
        id=live.id,
        owner=live.owner,
        status=live.status,
        protected=bool(live.view.get("protected")),
        fingerprint=live.fingerprint,
    )


def _create(
    desired: DesiredImage, project_id: str | None, builds: tuple[BuildPlan, ...]
) -> ImagePlan:
    """A new image: created with the create view and its members (a rebuild is the new
    build's creation, with the current build's identity)."""
    return ImagePlan(
        name=desired.name,
        action=Action.CREATE,
        source=desired.origin,
        owner=project_id,
        patch=patch_ops({}, create_view(desired)),
        members=MemberChanges(add=desired.members or ()),
        members_managed=desired.members is not None,
        warnings=_warnings(desired, None, project_id, True),
        data=data_plan(desired.data) if desired.data is not None else None,
        builds=builds,
    )


def _record_only(ops: Sequence[PatchOp]) -> bool:
    """The image already is as desired; only the management record is to be written
    (an image made by hand or by `import`, adopted on its first apply)."""
    return all(op.path == _RECORD_PATH for op in ops)


def _adopts_only(build: BuildPlan) -> bool:
    """A build whose only change is its record: adopted as it is."""
    return not build.delete and build.activation is None and _record_only(build.patch)


def _activation(deactivated: bool | None, status: str | None) -> Activation | None:
    """Deactivate only an active image, reactivate only a deactivated one; Glance
    refuses both for images in other states (queued images have no data)."""
    if deactivated is True and status == "active":
        return Activation.DEACTIVATE
    if deactivated is False and status == "deactivated":
        return Activation.REACTIVATE
    return None


def _error(desired: DesiredImage, message: str) -> ImagePlan:
    return ImagePlan(
        name=desired.name,
        action=Action.ERROR,
        id=desired.id,
        source=desired.origin,
        error=message,
    )


def match(
    desired: DesiredImage, by_id: Mapping[str, LiveImage], by_name: Mapping[str, list[LiveImage]]
) -> LiveImage | str | None:
    """The live image an entry refers to, None (to create), or an error message."""
    if desired.id is not None:
        found = by_id.get(desired.id)
        if found is None:
            return f"image id {desired.id} not found (or not visible to this project)"
        return found
    candidates = by_name.get(desired.name, [])
    if desired.data is not None:
        # An entry with a source is (catalog, name): another catalog's image of that
        # name is that catalog's build, not this entry's (each catalog rotates its own).
        candidates = [
            i for i in candidates if ownership(i.view, desired.catalog)[0] is not Ownership.OTHER
        ]
    if len(candidates) > 1:
        # The catalog scopes the name: another catalog's image of the same name (its
        # own entry, say, or a build it keeps) is not this entry's.
        mine = [i for i in candidates if ownership(i.view, desired.catalog)[0] is Ownership.OURS]
        if len(mine) > 1 and desired.data is not None:
            # A previous build given the plain name back by hand: the current build is
            # the one holding the declared data (the other is planned back to its name).
            mine = [i for i in mine if data_is_current(desired.data, i)] or mine
        if len(mine) == 1:
            return mine[0]
    if len(candidates) > 1:
        ids = ", ".join(sorted(image.id for image in candidates))
        return (
            f"name {desired.name!r} matches {len(candidates)} live images ({ids}); "
            "pin one with `id:`"
        )
    return candidates[0] if candidates else None


def diff(
    desired: Sequence[DesiredImage],
    live: LiveCatalog,
    target: Target,
    *,
    prune: bool = False,
    catalog: str | None = None,
    take_over: bool = False,
    stores: Sequence[str] = (),
    prune_stores: bool = False,
) -> Plan:
    """The plan: one ImagePlan per desired image, then the orphans (sorted by name).

    `catalog` is the run's (default: the entries', else `default`): only images whose
    record names it can be orphans. An entry matching another catalog's image is an
    error unless `take_over` moves the image into this catalog. `stores`: the stores
    Glance lists (what `stores: all` means); `prune_stores` deletes an image's data
    from stores its entry does not declare (see `reconciler.planning.stores`)."""
    chosen = catalog or (desired[0].catalog if desired else DEFAULT_CATALOG)
    # Acyclic values only: see reconciler.runtime.gcpause (about 30% of the CPU at 100k images).
    with gcpause.paused():
        return _diff(desired, live, target, prune, chosen, take_over, stores, prune_stores)


def _diff(
    desired: Sequence[DesiredImage],
    live: LiveCatalog,
    target: Target,
    prune: bool,
    catalog: str,
    take_over: bool,
    stores: Sequence[str] = (),
    prune_stores: bool = False,
) -> Plan:
    by_id, by_name = live.by_id(), live.by_name()
    rotating = any(entry.rotation is not None for entry in desired)
    builds = entry_builds(live.images, catalog, target.project_id) if rotating else {}
    # Unrecorded images carrying OIM's tag: builds OIM made, adopted by entries that keep
    # its tag (`reconciler.oim.conventions`); looked for only when an entry keeps that tag.
    oim_images = (
        [
            image
            for image in live.images
            if MANAGED_RECORD not in image.view
            and oim.OIM_TAG in (image.view.get("tags") or ())
            and (target.project_id is None or image.owner == target.project_id)
        ]
        if any(entry.rotation is not None and oim.declares_oim(entry.tags) for entry in desired)
        else []
    )
    images: list[ImagePlan] = []
    matched: set[str] = set()
    for entry in desired:
        found = match(entry, by_id, by_name)
        if isinstance(found, str):
            images.append(_error(entry, found))
            continue
        other = None
        if found is not None:
            matched.add(found.id)
            whose, other = ownership(found.view, catalog)
            if whose is not Ownership.OTHER:
                other = None
            elif not take_over:
                images.append(_error(entry, _conflict(found, catalog, other)))
                continue
        others = [b for b in builds.get(entry.name, ()) if found is None or b.id != found.id]
        adopted = None
        if oim_images and entry.rotation is not None:
            previous, adopted = oim.adoptions(
                entry, (i for i in oim_images if i.id not in matched), found
            )
            if previous:
                others = sorted([*others, *previous], key=newest_first)
        if entry.rotation is not None:
            matched.update(b.id for b in others)
        planned = plan_image(entry, found, target.project_id, other, by_name, others, adopted)
        if entry.stores is not None or entry.all_stores:
            # Data is deleted from a store only of an image whose record names this
            # catalog already: one adopted or taken over in this run is pruned by the next.
            ours = found is not None and ownership(found.view, catalog)[0] is Ownership.OURS
            planned = with_stores(planned, entry, found, stores, prune=prune_stores and ours)
        images.append(planned)
    entries = {entry.name for entry in desired}
    images.extend(orphans(live.images, matched, target.project_id, prune, catalog, entries))
    return Plan(
        target=target,
        images=tuple(images),
        catalog=catalog,
        others=other_catalogs(live.images, matched, target.project_id, catalog),
    )


def _conflict(found: LiveImage, catalog: str, other: str | None) -> str:
    return (
        f"image {found.id} is managed by catalog {other!r}, not {catalog!r}: "
        "nothing is written to it; --take-over moves it into this catalog"
    )


def _project_images(
    images: Iterable[LiveImage], matched: set[str], project_id: str | None
) -> Iterable[LiveImage]:
    """The project's images no entry matched."""
    return (
        image
        for image in images
        if image.id not in matched and (project_id is None or image.owner == project_id)
    )


def _entry_of(image: LiveImage) -> str | None:
    record = parse_record(image.view.get(MANAGED_RECORD))
    return record.entry if record is not None else None


def other_catalogs(
    images: Iterable[LiveImage], matched: set[str], project_id: str | None, catalog: str
) -> tuple[tuple[str, int], ...]:
    """How many of the project's unmatched images each other catalog manages (sorted
    by catalog; `?` counts records that cannot be read). Someone else's, not drift."""
    counts: dict[str, int] = defaultdict(int)
    for image in _project_images(images, matched, project_id):
        whose, name = ownership(image.view, catalog)
        if whose is Ownership.OTHER:
            counts[name or "?"] += 1
        elif whose is Ownership.UNREADABLE:
            counts["?"] += 1
    return tuple(sorted(counts.items()))


def orphans(
    images: Iterable[LiveImage],
    matched: set[str],
    project_id: str | None,
    prune: bool,
    catalog: str = DEFAULT_CATALOG,
    entries: frozenset[str] | set[str] = frozenset(),
) -> list[ImagePlan]:
    """Images of this project whose management record names this catalog and that no
    manifest mentions. Another catalog's images, and records that cannot be read, are
    never orphans: nothing is deleted that the run cannot prove is its own. A previous
    build belongs to its entry (its record names it) while the entry is in the
    manifests."""
    found = [
        image
        for image in _project_images(images, matched, project_id)
        if MANAGED_RECORD in image.view
        and ownership(image.view, catalog)[0] is Ownership.OURS
        and _entry_of(image) not in entries
    ]
    # The builds of a departed entry are listed together, under the entry's name.
    found.sort(key=lambda image: (_entry_of(image) or image.name or "", image.name or "", image.id))
    plans = []
    for image in found:
        protected = bool(image.view.get("protected"))
        entry = _entry_of(image)
        plans.append(
            ImagePlan(
                name=image.name or image.id,
                action=Action.DELETE if prune and not protected else Action.ORPHAN,
                id=image.id,
                owner=image.owner,
                protected=protected,
                warnings=(
                    ("protected: never deleted by --prune; unprotect it first",)
                    if prune and protected
                    else ()
                ),
                fingerprint=image.fingerprint,
                build_of=entry if entry is not None and entry != image.name else None,
            )
        )
    return plans
