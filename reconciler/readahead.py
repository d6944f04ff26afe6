"""Read the images an apply is about to change a few at a time, one listing request per
chunk (`GET /v2/images?id=in:ID,ID,...`), for the stale check. Network I/O (reads only).

Glance has no ETag or conditional PATCH, so apply compares each image with the plan right
before writing it. One GET per image cost a fifth of a PATCH on the sandbox; a listing
of 20 ids costs about a third of 20 GETs (Glance's cost is mostly serialising each
image). A chunk is read when the first of its images is due, so the check is at most
one chunk's worth of writes older than the write it guards (about 2 s at 10 writes a
second), instead of one request older.

An image the listing does not return (hidden images are not listed by default, a gone
image, a failed listing) is read on its own, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from reconciler.cloud.api import GlanceAPI
from reconciler.errors import CloudError
from reconciler.views import is_gone

CHUNK = 20


class ReadAhead:
    """The images of `ids`, read chunk by chunk on first use; each image is handed out
    once (`take`), so a later read of the same image goes to the server again."""

    def __init__(self, client: GlanceAPI, ids: Sequence[str], size: int = CHUNK) -> None:
        self.client = client
        self._chunks = [list(ids[start : start + size]) for start in range(0, len(ids), size)]
        self._chunk_of = {
            image_id: number for number, chunk in enumerate(self._chunks) for image_id in chunk
        }
        self._locks = [threading.Lock() for _ in self._chunks]
        self._read: dict[int, dict[str, dict[str, Any]]] = {}

    def take(self, image_id: str) -> dict[str, Any] | None:
        """The image as its chunk's listing returned it, or None when the listing did
        not (the caller then reads the image itself)."""
        number = self._chunk_of.get(image_id)
        if number is None:
            return None
        with self._locks[number]:
            if number not in self._read:
                self._read[number] = self._list(self._chunks[number])
            return self._read[number].pop(image_id, None)

    def _list(self, chunk: list[str]) -> dict[str, dict[str, Any]]:
        try:
            listed = self.client.list_images(id="in:" + ",".join(chunk))
            return {raw["id"]: raw for raw in listed if not is_gone(raw)}
        except CloudError:
            return {}  # each image of the chunk is then read on its own
