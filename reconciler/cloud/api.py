"""What the tool needs from an image service: the `GlanceAPI` protocol. Pure typing, no
I/O.

It names exactly the calls that carry out and check a plan (`reconciler.apply`,
`reconciler.apply.steps`, `reconciler.cloud.readahead`, `reconciler.cloud.live`) make on
`reconciler.cloud.glance.GlanceClient`, so that they can be handed anything shaped like
it: the real HTTP client, or the in-memory Glance of the unit tests
(`tests/fakes/glance.py`), which makes the applier's decisions (order, undo, resends
after a lost answer, stale checks) testable in milliseconds instead of against the
sandbox. `GlanceClient` satisfies it structurally (checked by mypy below); nothing has
to inherit from it.

Errors are part of the contract too, though a Protocol cannot say so: a refused call
raises the `reconciler.errors.CloudError` subclass for its HTTP status (`NotFound`,
`Forbidden`, `Conflict`, ...), and a write whose outcome is unknown raises
`reconciler.cloud.glance.ResponseLost`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol


class Backoff(Protocol):
    """How long to wait before attempt `attempt + 1` (`RetryPolicy` is one)."""

    def delay(self, attempt: int) -> float: ...


class GlanceAPI(Protocol):
    """One image endpoint, as the applier and the live readers use it. Images are the
    API's JSON objects: core attributes and custom properties side by side."""

    @property
    def retry(self) -> Backoff:
        """The backoff between the applier's own resends and undo attempts."""
        ...

    def sleep(self, seconds: float, /) -> None:
        """Wait (tests record instead of waiting)."""

    # -- reads -------------------------------------------------------------------

    def list_images(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every image matching the filters (`id="in:a,b"`, `os_hidden="true"`, ...),
        all pages followed. Hidden images only with `os_hidden="true"`."""
        ...

    def get_image(self, image_id: str) -> dict[str, Any]:
        """The image; `NotFound` when there is none."""
        ...

    def find_image(self, image_id: str) -> dict[str, Any] | None:
        """The image, or None when it does not exist or is gone (`views.is_gone`)."""
        ...

    def list_members(self, image_id: str) -> list[dict[str, Any]]:
        """The member records (`member_id`, `status`, ...); `Forbidden` unless shared."""
        ...

    # -- writes ------------------------------------------------------------------

    def create_image(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an image (the body may choose its `id`); answers the stored image."""
        ...

    def patch_image(self, image_id: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """One v2.1 JSON-patch request, all ops or none; answers the stored image."""
        ...

    def add_member(self, image_id: str, member: str) -> None: ...

    def remove_member(self, image_id: str, member: str) -> None: ...

    def deactivate_image(self, image_id: str) -> None: ...

    def reactivate_image(self, image_id: str) -> None: ...

    def delete_image(self, image_id: str) -> None: ...

    # -- data --------------------------------------------------------------------

    def put_data(self, image_id: str, target: str, stream: Any, store: str | None = None) -> None:
        """Stream bytes to the image's `file` (upload; into `store` when given) or
        `stage` (glance-direct), once."""
        ...

    def import_image(
        self,
        image_id: str,
        method: dict[str, Any],
        stores: list[str] | None = None,
        all_stores_must_succeed: bool = True,
    ) -> None:
        """Start an import (glance-direct, web-download, copy-image), into `stores`
        when given (multi-store); Glance works on after 202."""
        ...

    def delete_from_store(self, image_id: str, store: str) -> None:
        """Delete the image's data from one store."""
        ...

    def image_tasks(self, image_id: str) -> list[dict[str, Any]]:
        """The image's import tasks, newest first."""
        ...


if TYPE_CHECKING:
    # mypy proves here, without an instance, that the real client has this shape.
    from reconciler.cloud.glance import GlanceClient

    _REAL_CLIENT: type[GlanceAPI] = GlanceClient


__all__ = ["Backoff", "GlanceAPI"]
