"""Read the images an apply is about to change a few at a time, one listing request per
chunk (`GET /v2/images?id=in:ID,ID,...`), for the stale check. Network I/O (reads only).

Glance has no ETag or conditional PATCH, so apply compares each image with the plan right
before writing it. One GET per image cost a fifth of a PATCH on the sandbox; a listing
of 10 ids costs far less than 10 GETs (Glance's cost is mostly serialising each image).

When the first image of chunk k is due, chunk k is read (if it is not yet) and chunk
k+1 is read in the background, so the workers do not all stop for a chunk's listing
(on MariaDB with 2 Glance workers, waiting cost an apply of 1,000 images at
parallelism 4 a third more than the bare PATCH loop: 50 stalls of every worker). The
check is then at most two chunks' worth of writes (20) older than the write it guards,
the same bound as one chunk of 20 read on demand (about 2 s at 10 writes a second).

An image the listing does not return (hidden images are not listed by default, a gone
image, a failed listing) is read on its own, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from reconciler.cloud.api import GlanceAPI
from reconciler.errors import CloudError
from reconciler.model.image_view import is_gone

CHUNK = 10


class _Chunk:
    """One listing request's ids and, once `ready` is set, what it returned."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.started = False
        self.ready = threading.Event()
        self.images: dict[str, dict[str, Any]] = {}


class ReadAhead:
    """The images of `ids`, read chunk by chunk (the next chunk in the background when
    one is first used); each image is handed out once (`take`), so a later read of the
    same image goes to the server again. `ahead=0` reads each chunk only when due."""

    def __init__(
        self, client: GlanceAPI, ids: Sequence[str], size: int = CHUNK, ahead: int = 1
    ) -> None:
        self.client = client
        self.ahead = ahead
        self._chunks = [
            _Chunk(list(ids[start : start + size])) for start in range(0, len(ids), size)
        ]
        self._chunk_of = {
            image_id: number for number, chunk in enumerate(self._chunks) for image_id in chunk.ids
        }
        self._lock = threading.Lock()

    def take(self, image_id: str) -> dict[str, Any] | None:
        """The image as its chunk's listing returned it, or None when the listing did
        not (the caller then reads the image itself)."""
        number = self._chunk_of.get(image_id)
        if number is None:
            return None
        chunk = self._chunks[number]
        mine = self._claim(number)
        for later in range(number + 1, min(number + 1 + self.ahead, len(self._chunks))):
            if self._claim(later):
                threading.Thread(
                    target=self._read, args=(self._chunks[later],), daemon=True
                ).start()
        if mine:
            self._read(chunk)
        chunk.ready.wait()
        with self._lock:
            return chunk.images.pop(image_id, None)

    def wait(self) -> None:
        """Until every read that was started has ended (for tests)."""
        for chunk in self._chunks:
            if chunk.started:
                chunk.ready.wait()

    def _claim(self, number: int) -> bool:
        """True for the one caller that is to read chunk `number`."""
        with self._lock:
            chunk = self._chunks[number]
            if chunk.started:
                return False
            chunk.started = True
            return True

    def _read(self, chunk: _Chunk) -> None:
        images: dict[str, dict[str, Any]] = {}
        try:
            listed = self.client.list_images(id="in:" + ",".join(chunk.ids))
            images = {raw["id"]: raw for raw in listed if not is_gone(raw)}
        except CloudError:
            pass  # each image of the chunk is then read on its own
        finally:  # set even on an unexpected error: no worker is left waiting
            with self._lock:
                chunk.images = images
            chunk.ready.set()
