"""Glance stores (multi-store, `enabled_backends`): which stores an image's data must be
in, and what to do about the difference with where Glance says it is. Pure: no I/O.

The live side is the image's `stores` attribute, a comma-separated list of store ids
that Glance keeps; the available side is `GET /v2/info/stores`. Choosing is set
arithmetic: declared minus live is copied (copy-image), live minus declared is
reported, and deleted from its store only with `--prune-stores` and never the last
copy (at least one declared store must hold the data once the copies are done, or, if
the image is in none of them yet, the extra stores are kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.model.image_view import LiveImage
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action, ImagePlan, StorePlan


def store_ids(info: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The ids `GET /v2/info/stores` lists, in its order."""
    return tuple(str(store["id"]) for store in info if store.get("id"))


def wanted_stores(desired: DesiredImage, available: Iterable[str]) -> tuple[str, ...] | None:
    """The stores the entry declares (`all`: every available one), sorted; None when
    the entry does not manage stores."""
    if desired.all_stores:
        return tuple(sorted(available))
    return desired.stores


def unknown_stores(
    images: Iterable[DesiredImage], available: Sequence[str]
) -> list[tuple[DesiredImage, str]]:
    """`validate --online`: each entry's problem with the server's stores (a store name
    Glance does not list, or stores declared on a Glance without multi-store)."""
    found: list[tuple[DesiredImage, str]] = []
    listed = ", ".join(available)
    for image in images:
        if image.stores is None and not image.all_stores:
            continue
        if not available:
            reason = "stores: this Glance lists no stores (no enabled_backends)"
            found.append((image, reason))
            continue
        for name in image.stores or ():
            if name not in available:
                found.append((image, f"store {name!r} is not one of Glance's stores ({listed})"))
    return found


def plan_stores(
    desired: DesiredImage,
    live: LiveImage | None,
    available: Sequence[str],
    *,
    prune: bool = False,
) -> StorePlan | None:
    """The store changes of one image (live None: a new image, imported into every
    wanted store at once); None when the entry does not manage stores."""
    wanted = wanted_stores(desired, available)
    if wanted is None:
        return None
    present = live.stores if live is not None else ()
    # copy-image copies an active image's data: a queued or deactivated one has none
    # to copy (the store is reported missing by drift, not planned).
    copyable = live is None or live.status == "active"
    missing = tuple(name for name in wanted if name not in present) if copyable else ()
    extra = tuple(name for name in present if name not in wanted)
    kept = [name for name in present if name in wanted]
    prune_from = extra if prune and kept else ()
    return StorePlan(
        wanted=wanted,
        live=present,
        missing=missing,
        extra=extra,
        prune=prune_from,
        all_stores=desired.all_stores,
    )


def with_stores(
    plan: ImagePlan,
    desired: DesiredImage,
    live: LiveImage | None,
    available: Sequence[str],
    *,
    prune: bool = False,
) -> ImagePlan:
    """The image's plan with its store changes. An image that is otherwise unchanged
    but needs a copy or a prune becomes an update (with the stale check's
    fingerprint); an error or a rebuild's old build is left as it is (a rebuild's new
    build is imported into the wanted stores: `missing` is every wanted store)."""
    if plan.action is Action.ERROR:
        return plan
    if not available:
        # A Glance without multi-store: nothing to copy into (validate --online says so).
        note = "stores: this Glance lists no stores (no enabled_backends): not planned"
        return replace(plan, warnings=(*plan.warnings, note))
    rebuilding = plan.action is Action.REBUILD
    stores = plan_stores(desired, None if rebuilding else live, available, prune=prune)
    if stores is None:
        return plan
    if rebuilding and live is not None:
        stores = replace(stores, live=live.stores)
    action = plan.action
    fingerprint = plan.fingerprint
    if stores.has_work and action in (Action.NOOP, Action.ADOPT):
        action = Action.UPDATE
        fingerprint = live.fingerprint if live is not None else fingerprint
    notes = []
    if stores.missing and action not in (Action.CREATE, Action.REBUILD):
        notes.append("copy-image needs Glance's copy_image policy (admin by default)")
    if stores.prune:
        notes.append(
            "deleting from a store needs Glance's delete_image_location policy (admin by default)"
        )
    warnings = (*plan.warnings, *notes)
    return replace(plan, stores=stores, action=action, fingerprint=fingerprint, warnings=warnings)
