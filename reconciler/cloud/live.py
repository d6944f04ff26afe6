"""The live images in scope, read from Glance. Network I/O (reads only).

Requests: one paginated listing of the default view (`limit` at the server maximum,
following `next`), one of the hidden images (`os_hidden=true` is left out of default
listings; started when the first default page is in), a GET only for images pinned by
id that neither listing returned, and the member list only of matched images whose
manifest entry declares `members`. No per-image GET for listed images.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import TYPE_CHECKING, Any

from reconciler.cloud.api import GlanceAPI
from reconciler.model.image_view import LiveCatalog, LiveImage, is_gone

if TYPE_CHECKING:  # the listing starts before the manifest models are imported (app/)
    from reconciler.model.manifest import DesiredImage


def list_images(client: GlanceAPI) -> dict[str, LiveImage]:
    """Both listings (default and hidden), by image id. The hidden listing starts once
    the first page of the default one is in: by then Glance has validated the new token
    with Keystone and cached it, so the two requests do not both pay for that."""

    def views(raws: Iterable[dict[str, Any]]) -> list[LiveImage]:
        # Each page's raw JSON is turned into views and dropped before the next page:
        # holding every raw page as well raised the plan's peak memory at 10,000 images.
        # Images stuck in status `deleted` (see views.is_gone) are not part of the catalog.
        return [LiveImage.from_api(raw) for raw in raws if not is_gone(raw)]

    raws = client.list_images()
    first = next(raws, None)  # the generator has fetched the first page
    with ThreadPoolExecutor(1) as pool:
        hidden = pool.submit(lambda: views(client.list_images(os_hidden="true")))
        listed = views(chain((first,), raws) if first is not None else ())
        listed += hidden.result()
    return {image.id: image for image in listed}


def complete_catalog(
    client: GlanceAPI, images: dict[str, LiveImage], desired: Sequence[DesiredImage]
) -> LiveCatalog:
    """Add what the listings cannot give: images pinned by id that were not listed, and
    the members of images whose entry declares `members`."""
    for entry in desired:
        if entry.id is not None and entry.id not in images:
            pinned = client.find_image(entry.id)
            if pinned is not None:
                images[entry.id] = LiveImage.from_api(pinned)
    catalog = LiveCatalog(tuple(images.values()))
    wants_members = [entry for entry in desired if entry.members is not None]
    if wants_members:
        from reconciler.planning.diff import match

        by_id, by_name = catalog.by_id(), catalog.by_name()
        for entry in wants_members:
            found = match(entry, by_id, by_name)
            if isinstance(found, LiveImage) and found.members is None:
                found.members = read_members(client, found)
    return catalog


def read_catalog(client: GlanceAPI, desired: Sequence[DesiredImage]) -> LiveCatalog:
    return complete_catalog(client, list_images(client), desired)


def read_members(client: GlanceAPI, image: LiveImage) -> tuple[str, ...]:
    """The image's member project ids. Only shared images have members (Glance refuses
    member calls on the rest), so other images cost no request."""
    if image.view.get("visibility") != "shared":
        return ()
    return tuple(sorted(m["member_id"] for m in client.list_members(image.id)))
