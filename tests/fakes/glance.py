"""An in-memory Glance v2 behind `reconciler.cloud.api.GlanceAPI`, so that the applier's
decisions (order, undo, resends after a lost answer, stale checks) can be unit-tested in
milliseconds instead of against the sandbox (two minutes to start).

It stands for the real client and server together, at the boundary the applier sees:
what Glance 33 accepts and answers, and what `GlanceClient` raises for it. Its rules
come from what the sandbox showed (tests/sandbox/test_apply.py, tests/faults/,
../shared/notes, Glance 33's own source), and `tests/sandbox/test_fake_parity.py` runs
one scenario through both to keep it honest. Errors are built the way the client builds
them (`error_from_response` on an HTML body like Glance's, with a request id), so
reasons read exactly as the sandbox's.

Modelled:
- images as the API returns them, core attributes and custom properties side by side;
  `created_at`/`updated_at` from a fake clock that moves one second per change (the
  real one has one-second resolution); `updated_at` moves on every image change, not on
  member changes or no-op actions;
- create with a client-chosen id (409 when taken, deleted ids included), Glance's
  defaults (visibility `shared`, status `queued`), read-only keys (403), reserved and
  `os_glance*` keys (403), values checked against the committed image schema (400);
- PATCH in the v2.1 media type: every op is checked first (400 for unknown ops and deep
  paths, 403 for read-only and reserved keys, 400 for values the schema refuses), then
  applied in order to a copy that is saved once (all or nothing): `add` overwrites,
  `replace`/`remove` of a missing key 409, `remove` of a core attribute 403, formats
  only while queued, tags replaced as a whole list (duplicates dropped);
- policy as a project member meets it: another project's image cannot be changed or
  deleted (403; 404 when the project cannot see it), `visibility: public` needs
  publicize_image (403); property protections per key pattern (`protect`): 403
  "Attribute 'k' is reserved." on create, add, replace and remove;
- members only on the project's shared images (403 otherwise), duplicate 409, removing
  a missing one 404; members survive a change of visibility, as in Glance;
- deactivate/reactivate between active and deactivated only, no-ops when already
  there, 403 from other statuses; deleting a protected image 403;
- listings: `limit`/`marker` paging with `next` (a full page always has one), newest
  first (`created_at`, then `id`); filters `id`, `name`, `owner`, `status` (with `in:`
  lists), `visibility` (`all` too), `tag`, `protected`, custom properties, and
  `os_hidden` (hidden images are left out unless `os_hidden=true` is asked, which lists
  only hidden ones).

Not modelled: image data (seed an active image instead), imports, tasks, locations,
quotas (413), member status changes, admin users, other sorting, listing filters by
range or date, sqlite's partial commits and lock errors (inject faults instead). Calls
it does not model fail with `AssertionError` rather than answer something made up.
"""

from __future__ import annotations

import copy
import hashlib
import html
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache, partial
from typing import Any, TypeVar, cast

import jsonschema

from reconciler.cloud.glance import ResponseLost
from reconciler.cloud.http_errors import error_from_response
from reconciler.errors import CloudError
from reconciler.manifests.glance_schema import snapshot

T = TypeVar("T")

PROJECT = "p-demo"
PAGE_MAX = 1000  # api_limit_max
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# The HTTP method behind each call: it decides what the real client does with a fault.
VERBS: dict[str, str] = {
    "list_images": "GET",
    "get_image": "GET",
    "find_image": "GET",
    "list_members": "GET",
    "create_image": "POST",
    "patch_image": "PATCH",
    "add_member": "POST",
    "remove_member": "DELETE",
    "deactivate_image": "POST",
    "reactivate_image": "POST",
    "delete_image": "DELETE",
    "put_data": "PUT",
    "import_image": "POST",
    "image_tasks": "GET",
    "store_info": "GET",
    "delete_from_store": "DELETE",
}
# The client resends these after a lost answer; POST and PATCH it reports as ResponseLost.
RESENT = frozenset({"GET", "DELETE"})

# Glance 33's lists (glance/api/v2/images.py, glance/domain/__init__.py).
PATCH_READ_ONLY = frozenset(
    {
        "created_at",
        "updated_at",
        "status",
        "checksum",
        "size",
        "virtual_size",
        "direct_url",
        "self",
        "file",
        "schema",
        "id",
        "os_hash_algo",
        "os_hash_value",
    }
)
CREATE_DISALLOWED = ("direct_url", "self", "file", "schema", "stores")
CREATE_READ_ONLY = (
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
)
RESERVED = frozenset({"location", "deleted", "deleted_at"})
RESERVED_PREFIX = "os_glance"
BASE = frozenset(
    {
        "checksum",
        "created_at",
        "container_format",
        "disk_format",
        "id",
        "min_disk",
        "min_ram",
        "name",
        "size",
        "virtual_size",
        "status",
        "tags",
        "owner",
        "updated_at",
        "visibility",
        "protected",
        "os_hidden",
    }
)
# Attributes of Glance's domain image: `remove` of one answers 403.
CORE = frozenset(
    {
        "name",
        "visibility",
        "os_hidden",
        "min_disk",
        "min_ram",
        "protected",
        "owner",
        "disk_format",
        "container_format",
        "tags",
    }
)
DENIED = "Access was denied to this resource. "  # webob's text when Glance adds a detail
CONFLICT = "There was a conflict when trying to complete your request. "
TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}
NO_IMAGE = "No image found with ID {id}"


class Fault(StrEnum):
    """What goes wrong on one call, and so what the real client raises."""

    FORBIDDEN = "403"  # refused, nothing happens: Forbidden
    CONFLICT = "409"  # refused, nothing happens: Conflict
    # Nothing happens. GET/DELETE: ServerError (the client's retries ran out);
    # POST/PATCH: ResponseLost with status 500 (the client cannot tell what happened).
    SERVER_ERROR = "500"
    # The request is lost on the way, nothing happens. POST/PATCH: ResponseLost;
    # GET/DELETE are resent by the client, so the call simply happens.
    LOST = "lost"
    # The write happens, its answer is lost. POST/PATCH: ResponseLost; DELETE is resent
    # by the client and meets the new state (404 usually).
    LOST_AFTER = "lost_after"
    # Answered as if done, nothing stored (a server that drops a change): a create or
    # PATCH answers the image as it would be, or as it is stored.
    IGNORED = "ignored"
    CRASH = "crash"  # the tool's process dies before sending: Crash, every call after too
    CRASH_AFTER = "crash_after"  # the write happens, then the process dies


class Crash(BaseException):
    """The tool's process died here (a SIGKILL, a power cut): not an error it can handle,
    so it is not an Exception. Every later call raises it too, until `revive()`."""


class _Refused(Exception):
    """Glance's answer to a request it refuses: the status and its one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Backoff:
    """The retry policy's shape (`delay`), deterministic: tests read `FakeGlance.slept`."""

    base: float = 0.2
    cap: float = 5.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return retry_after
        return min(self.cap, self.base * float(2**attempt))


@dataclass
class _Rule:
    method: str
    fault: Fault
    first: int  # the method's call numbers (1-based) it applies to
    last: int


@cache
def _validator() -> Any:
    """A validator of the committed image schema (the one Glance 33 serves)."""
    schema = snapshot().raw
    return jsonschema.validators.validator_for(schema)(schema)


def _check_schema(partial_image: Mapping[str, Any]) -> None:
    error = jsonschema.exceptions.best_match(_validator().iter_errors(dict(partial_image)))
    if error is not None:
        raise _Refused(400, f"Provided object does not match schema 'image': {error.message}")


class FakeGlance:
    """One project's view of an in-memory Glance. Thread-safe (the applier runs images
    in parallel). `calls` counts calls per method, `slept` records the delays asked
    for; `seed`, `edit`, `stored`, `member_ids` are the test's own back door (not
    counted, never faulted)."""

    def __init__(
        self,
        project_id: str = PROJECT,
        *,
        page_size: int = PAGE_MAX,
        endpoint: str = "http://glance.fake",
        stores: tuple[str, ...] = ("fs",),
    ) -> None:
        self.project_id = project_id
        self.page_size = page_size
        self.endpoint = endpoint
        self.retry = Backoff()
        self.calls: Counter[str] = Counter()
        self._numbers: Counter[str] = Counter()  # like calls, never cleared: for faults
        self.slept: list[float] = []
        self.crashed = False
        self._images: dict[str, dict[str, Any]] = {}
        self._members: dict[str, dict[str, dict[str, Any]]] = {}
        self._deleted: set[str] = set()
        self._rules: list[_Rule] = []
        self._protected: list[re.Pattern[str]] = []
        self._clock = 0
        self._lock = threading.RLock()
        self._web: dict[str, bytes | None] = {}
        self._staged: dict[str, bytes] = {}
        self._tasks: dict[str, list[dict[str, Any]]] = {}
        self.corrupt_hash: str | None = None  # what os_hash_value says instead of the truth
        # Multi-store (`enabled_backends`): the stores, the first the default; a store
        # in `broken_stores` fails every write to it (a store made unwritable).
        self.store_ids = stores
        self.broken_stores: set[str] = set()

    # -- the test's controls ---------------------------------------------------------

    def inject(self, method: str, fault: Fault, *, nth: int = 1, times: int = 1) -> None:
        """Make the `nth` next call of `method` (and the `times - 1` after it) fail."""
        if method not in VERBS:
            raise ValueError(f"no such call: {method}")
        with self._lock:
            first = self._numbers[method] + nth
            self._rules.append(_Rule(method, fault, first, first + times - 1))

    def protect(self, *patterns: str) -> None:
        """Property protections: keys matching a pattern (`re.match`) can be read but
        not created, changed or removed by this project (403), like the sandbox's
        `x_billing_.*`."""
        self._protected += [re.compile(pattern) for pattern in patterns]

    def revive(self) -> None:
        """A new process after a crash: calls work again (injected faults are kept)."""
        self.crashed = False

    def seed(
        self,
        attrs: Mapping[str, Any] | None = None,
        /,
        *,
        owner: str | None = None,
        status: str = "queued",
        members: Iterable[str] = (),
        **more: Any,
    ) -> str:
        """Put an image straight into the store (an `id` may be given), as if made
        earlier by someone; an active or deactivated image gets data's attributes."""
        with self._lock:
            given = {**(attrs or {}), **more}
            image_id = str(given.pop("id", None) or uuid.uuid4())
            stamp = self._tick()
            image = self._blank(image_id, owner or self.project_id, stamp)
            if status in ("active", "deactivated"):
                image.update(_data_attributes(image_id), stores=self.store_ids[0])
            image.update(given, status=status)
            self._images[image_id] = image
            for member in members:
                self._members.setdefault(image_id, {})[member] = self._member(image_id, member)
            return image_id

    def edit(self, image_id: str, **changes: Any) -> None:
        """Change an image behind the tool's back (None removes a custom property)."""
        self.edit_keys(image_id, changes)

    def edit_keys(self, image_id: str, changes: Mapping[str, Any]) -> None:
        with self._lock:
            image = self._images[image_id]
            for key, value in changes.items():
                if value is None and key not in CORE:
                    image.pop(key, None)
                else:
                    image[key] = value
            image["updated_at"] = self._tick()

    def stored(self, image_id: str) -> dict[str, Any] | None:
        """The image as stored (a copy), or None."""
        with self._lock:
            image = self._images.get(image_id)
            return copy.deepcopy(image) if image is not None else None

    def member_ids(self, image_id: str) -> list[str]:
        with self._lock:
            return sorted(self._members.get(image_id, {}))

    def images(self) -> list[dict[str, Any]]:
        """Every stored image (copies), oldest first."""
        with self._lock:
            return [copy.deepcopy(i) for i in sorted(self._images.values(), key=_age)]

    @property
    def writes(self) -> int:
        """Calls of the write methods so far."""
        return sum(n for m, n in self.calls.items() if VERBS[m] not in ("GET",))

    # -- GlanceAPI: waiting ------------------------------------------------------------

    def sleep(self, seconds: float, /) -> None:
        self.slept.append(seconds)

    # -- GlanceAPI: reads --------------------------------------------------------------

    def list_images(self, **filters: Any) -> Iterator[dict[str, Any]]:
        params = dict(filters)
        limit = min(int(params.pop("limit", self.page_size)), PAGE_MAX)
        marker: str | None = params.pop("marker", None)
        while True:
            page = self._call(
                "list_images", "/v2/images", partial(self._page, params, limit, marker)
            )
            yield from page["images"]
            if "next" not in page:
                return
            marker = page["images"][-1]["id"]

    def get_image(self, image_id: str) -> dict[str, Any]:
        return self._call(
            "get_image",
            f"/v2/images/{image_id}",
            lambda: self._render(self._lookup(image_id, NO_IMAGE)),
        )

    def find_image(self, image_id: str) -> dict[str, Any] | None:
        def find() -> dict[str, Any] | None:
            image = self._images.get(image_id)
            return self._render(image) if image is not None and self._visible(image) else None

        return self._call("find_image", f"/v2/images/{image_id}", find)

    def list_members(self, image_id: str) -> list[dict[str, Any]]:
        def members() -> list[dict[str, Any]]:
            image = self._lookup(image_id, "Image {id} not found.")
            if image["visibility"] != "shared":
                raise _Refused(
                    403,
                    f"Not allowed to list members for image {image_id}: "
                    "Only shared images have members.",
                )
            found = self._members.get(image_id, {})
            return [copy.deepcopy(found[m]) for m in sorted(found)]

        return self._call("list_members", f"/v2/images/{image_id}/members", members)

    # -- GlanceAPI: writes -------------------------------------------------------------

    def create_image(self, body: dict[str, Any]) -> dict[str, Any]:
        wanted = copy.deepcopy(body)
        return self._call(
            "create_image",
            "/v2/images",
            lambda: self._create(wanted),
            ignored=lambda: self._render(self._new(wanted)),
        )

    def patch_image(self, image_id: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        changes = copy.deepcopy(ops)
        return self._call(
            "patch_image",
            f"/v2/images/{image_id}",
            lambda: self._patch(image_id, changes),
            ignored=lambda: self._render(self._lookup(image_id, NO_IMAGE)),
        )

    def add_member(self, image_id: str, member: str) -> None:
        self._call(
            "add_member", f"/v2/images/{image_id}/members", lambda: self._add(image_id, member)
        )

    def remove_member(self, image_id: str, member: str) -> None:
        self._call(
            "remove_member",
            f"/v2/images/{image_id}/members/{member}",
            lambda: self._remove(image_id, member),
        )

    def deactivate_image(self, image_id: str) -> None:
        self._call(
            "deactivate_image",
            f"/v2/images/{image_id}/actions/deactivate",
            lambda: self._activation(image_id, "deactivate"),
        )

    def reactivate_image(self, image_id: str) -> None:
        self._call(
            "reactivate_image",
            f"/v2/images/{image_id}/actions/reactivate",
            lambda: self._activation(image_id, "reactivate"),
        )

    def delete_image(self, image_id: str) -> None:
        self._call("delete_image", f"/v2/images/{image_id}", lambda: self._delete(image_id))

    # -- data (upload, glance-direct, web-download), as tests/sandbox showed -------

    def serve(self, url: str, data: bytes | None) -> None:
        """What web-download finds at `url` (None: a 404)."""
        self._web[url] = data

    def put_data(self, image_id: str, target: str, stream: Any, store: str | None = None) -> None:
        self._call(
            "put_data",
            f"/v2/images/{image_id}/{target}",
            lambda: self._put(image_id, target, stream, store),
        )

    def import_image(
        self,
        image_id: str,
        method: dict[str, Any],
        stores: list[str] | None = None,
        all_stores_must_succeed: bool = True,
    ) -> None:
        self._call(
            "import_image",
            f"/v2/images/{image_id}/import",
            lambda: self._import(image_id, dict(method), stores, all_stores_must_succeed),
        )

    def store_info(self) -> list[dict[str, Any]]:
        """As Glance 33: 404 (here: none) without `enabled_backends`; the sandbox's
        single-store Glance has one, `fs`."""
        return self._call(
            "store_info",
            "/v2/info/stores",
            lambda: [
                {"id": store, **({"default": "true"} if n == 0 else {})}
                for n, store in enumerate(self.store_ids)
            ],
        )

    def delete_from_store(self, image_id: str, store: str) -> None:
        self._call(
            "delete_from_store",
            f"/v2/stores/{store}/{image_id}",
            lambda: self._unstore(image_id, store),
        )

    def _unstore(self, image_id: str, store: str) -> None:
        """As Glance 33: the only copy is refused (403, whatever store is named), a
        store without a copy is 404."""
        image = self._lookup(image_id, NO_IMAGE)
        present = _store_list(image)
        if len(present) <= 1:
            raise _Refused(
                403,
                "Cannot delete image data from the only store containing it. Consider "
                "deleting the image instead.",
            )
        if store not in present:
            raise _Refused(404, f"Image {image_id} is not stored in store {store}.")
        image["stores"] = ",".join(s for s in present if s != store)
        image["updated_at"] = self._tick()

    def image_tasks(self, image_id: str) -> list[dict[str, Any]]:
        return self._call(
            "image_tasks",
            f"/v2/images/{image_id}/tasks",
            lambda: [dict(t) for t in reversed(self._tasks.get(image_id, []))],
        )

    def _put(self, image_id: str, target: str, stream: Any, store: str | None = None) -> None:
        image = self._lookup(image_id, NO_IMAGE)
        if image["status"] != "queued":
            wanted = "saving" if target == "file" else "uploading"
            raise _Refused(
                409, f"Image status transition from {image['status']} to {wanted} is not allowed"
            )
        if not image.get("disk_format") or not image.get("container_format"):
            raise _Refused(
                400, "Properties disk_format, container_format must be set prior to saving data."
            )
        chunks = []
        if hasattr(stream, "read"):  # a body of known length
            while block := stream.read(65536):
                chunks.append(block)
        else:  # chunked (Transfer-Encoding: chunked), as the real Glance takes it
            chunks.extend(stream)
        data = b"".join(chunks)
        if target == "file":
            self._store(image, data, [store] if store is not None else None)
        else:
            self._staged[image_id] = data
            image["status"] = "uploading"
            image["updated_at"] = self._tick()

    def _import(
        self,
        image_id: str,
        method: dict[str, Any],
        stores: list[str] | None = None,
        all_must: bool = True,
    ) -> None:
        image = self._lookup(image_id, NO_IMAGE)
        name = method.get("name")
        tasks = self._tasks.setdefault(image_id, [])
        unknown = [store for store in stores or () if store not in self.store_ids]
        if unknown:
            raise _Refused(409, f"Store for identifier {unknown[0]} not found")
        if name == "copy-image":
            self._copy(image, stores or [], all_must)
            return
        if name == "glance-direct":
            if image["status"] != "uploading":
                raise _Refused(
                    409, "Image needs to be staged before 'glance-direct' method can be used"
                )
            if stores and all_must and set(stores) & self.broken_stores:
                image["os_glance_failed_import"] = ",".join(
                    sorted(set(stores) & self.broken_stores)
                )
                tasks.append({"status": "failure", "message": "Task failed due to Internal Error"})
                return
            self._store(image, self._staged.pop(image_id), stores)
            self._imported(image, failed=False)
            tasks.append({"status": "success", "message": ""})
            return
        if name != "web-download":
            raise _Refused(400, f"Import method {name} is not valid")
        if image["status"] != "queued":
            raise _Refused(409, f"Image with status {image['status']} cannot be target for import")
        data = self._web.get(str(method.get("uri")))
        if data is None:
            # As Glance 33 (test_fake_parity, the data path): the task's message says
            # no more than this, and the image stays queued.
            self._imported(image, failed=True)
            tasks.append({"status": "failure", "message": "Task failed due to Internal Error"})
            return
        self._store(image, data, stores)
        self._imported(image, failed=False)
        tasks.append({"status": "success", "message": ""})

    def _copy(self, image: dict[str, Any], stores: list[str], all_must: bool) -> None:
        """copy-image as Glance 33 does it (seen on the sandbox): only an active image;
        the stores copied into join `stores`, a store that fails is listed in
        `os_glance_failed_import` and the task still succeeds (all_stores_must_succeed
        false); the image stays active either way."""
        if image["status"] != "active":
            raise _Refused(409, "Only images with status active can be targeted for copying")
        if not stores:
            raise _Refused(400, "Stores parameter is required for copy-image")
        present = _store_list(image)
        failed = [s for s in stores if s in self.broken_stores]
        if failed and all_must:
            image["os_glance_failed_import"] = ",".join(failed)
            self._tasks[image["id"]].append({"status": "failure", "message": "copy failed"})
            return
        copied = [s for s in stores if s not in failed and s not in present]
        image["stores"] = ",".join([*present, *copied])
        image["os_glance_importing_to_stores"] = ""
        image["os_glance_failed_import"] = ",".join(failed)
        image["updated_at"] = self._tick()
        self._tasks[image["id"]].append({"status": "success", "message": "Copied 0 MiB"})

    @staticmethod
    def _imported(image: dict[str, Any], failed: bool) -> None:
        """What an import leaves on the image (Glance's single file store `fs`): the
        stores still to import to (none), and the stores it failed on."""
        image["os_glance_importing_to_stores"] = ""
        image["os_glance_failed_import"] = "fs" if failed else ""

    def _store(self, image: dict[str, Any], data: bytes, stores: list[str] | None = None) -> None:
        where = [s for s in stores or [self.store_ids[0]] if s not in self.broken_stores]
        image.update(
            status="active",
            size=len(data),
            virtual_size=len(data),
            checksum=hashlib.md5(data).hexdigest(),
            os_hash_algo="sha512",
            os_hash_value=self.corrupt_hash or hashlib.sha512(data).hexdigest(),
            stores=",".join(where),
            updated_at=self._tick(),
        )

    # -- one call: counting, faults, errors --------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        action: Callable[[], T],
        ignored: Callable[[], T] | None = None,
    ) -> T:
        verb = VERBS[method]
        with self._lock:
            self.calls[method] += 1
            self._numbers[method] += 1
            if self.crashed:
                raise Crash(f"{method}: the process is gone")
            fault = self._fault(method)
            if fault is None:
                return self._answer(verb, path, action)
            if fault is Fault.CRASH:
                self.crashed = True
                raise Crash(f"killed before {verb} {path}")
            if fault in (Fault.FORBIDDEN, Fault.CONFLICT):
                raise self._error(int(fault), verb, path, f"Injected fault {fault}")
            if fault is Fault.SERVER_ERROR:
                error = self._error(500, verb, path, "Injected fault 500")
                if verb in RESENT:
                    raise error
                raise self._lost(verb, path, error)
            if fault is Fault.LOST:
                if verb in RESENT:
                    return self._answer(verb, path, action)
                raise self._lost(verb, path)
            if fault is Fault.IGNORED:
                return self._answer(verb, path, ignored or (lambda: cast(T, None)))
            self._answer(verb, path, action)  # LOST_AFTER, CRASH_AFTER: it happened
            if fault is Fault.CRASH_AFTER:
                self.crashed = True
                raise Crash(f"killed after {verb} {path}")
            if verb in RESENT:
                return self._answer(verb, path, action)
            raise self._lost(verb, path)

    def _fault(self, method: str) -> Fault | None:
        number = self._numbers[method]
        for rule in self._rules:
            if rule.method == method and rule.first <= number <= rule.last:
                return rule.fault
        return None

    def _answer(self, verb: str, path: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except _Refused as refused:
            raise self._error(refused.status, verb, path, refused.message) from None

    def _error(self, status: int, verb: str, path: str, message: str) -> CloudError:
        """The exception the client raises for Glance's HTML error page."""
        title = f"{status} {TITLES.get(status, 'Error')}"
        body = (
            f"<html>\n <head>\n  <title>{title}</title>\n </head>\n <body>\n"
            f"  <h1>{title}</h1>\n  {html.escape(message)}<br /><br />\n\n\n\n </body>\n</html>"
        )
        headers = {
            "Content-Type": "text/html; charset=UTF-8",
            "x-openstack-request-id": f"req-{uuid.uuid4()}",
        }
        return error_from_response(status, body, headers, verb, self.endpoint + path)

    def _lost(self, verb: str, path: str, error: CloudError | None = None) -> ResponseLost:
        """What the client raises when a POST or PATCH may or may not have happened."""
        url = self.endpoint + path
        if error is None:
            return ResponseLost(
                f"no answer to {verb} {path} (the request may have been applied)",
                method=verb,
                url=url,
            )
        return ResponseLost(
            f"{error.message} (the {verb} may have been applied)",
            status=error.status,
            method=verb,
            url=url,
            request_id=error.request_id,
        )

    # -- the model -------------------------------------------------------------------

    def _tick(self) -> str:
        self._clock += 1
        return (EPOCH + timedelta(seconds=self._clock)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _blank(self, image_id: str, owner: str, stamp: str) -> dict[str, Any]:
        """A new image with Glance's defaults."""
        return {
            "name": None,
            "disk_format": None,
            "container_format": None,
            "visibility": "shared",
            "size": None,
            "virtual_size": None,
            "status": "queued",
            "checksum": None,
            "protected": False,
            "min_ram": 0,
            "min_disk": 0,
            "owner": owner,
            "os_hidden": False,
            "os_hash_algo": None,
            "os_hash_value": None,
            "id": image_id,
            "created_at": stamp,
            "updated_at": stamp,
            "tags": [],
            "self": f"/v2/images/{image_id}",
            "file": f"/v2/images/{image_id}/file",
            "schema": "/v2/schemas/image",
        }

    def _member(self, image_id: str, member: str) -> dict[str, Any]:
        stamp = self._tick()
        return {
            "member_id": member,
            "image_id": image_id,
            "status": "pending",
            "created_at": stamp,
            "updated_at": stamp,
            "schema": "/v2/schemas/member",
        }

    def _render(self, image: Mapping[str, Any]) -> dict[str, Any]:
        """The image as the API answers it: a copy; a deactivated image's `stores` is
        not shown to a non-admin (seen on the sandbox)."""
        answer = copy.deepcopy(dict(image))
        if answer["status"] == "deactivated":
            answer.pop("stores", None)
        return answer

    def _visible(self, image: Mapping[str, Any]) -> bool:
        return (
            image["owner"] == self.project_id
            or image["visibility"] in ("public", "community")
            or self.project_id in self._members.get(image["id"], {})
        )

    def _lookup(self, image_id: str, missing: str) -> dict[str, Any]:
        image = self._images.get(image_id)
        if image is None or not self._visible(image):
            raise _Refused(404, missing.format(id=image_id))
        return image

    def _protection(self, key: str) -> None:
        if any(pattern.match(key) for pattern in self._protected):
            raise _Refused(403, f"Attribute '{key}' is reserved.")

    # create

    def _new(self, body: dict[str, Any]) -> dict[str, Any]:
        """The image a create body makes, checked as Glance checks it; not stored."""
        for key in CREATE_DISALLOWED:
            if key in body:
                raise _Refused(403, f"Attribute '{key}' is read-only.")
        _check_schema(body)
        for key in body.keys() - BASE:
            if len(key) > 255:
                raise _Refused(400, "Custom property should not be greater than 255 characters.")
            if key in RESERVED or key.startswith(RESERVED_PREFIX):
                raise _Refused(403, f"{DENIED}Attribute '{key}' is reserved.")
        if body.get("owner", self.project_id) != self.project_id:
            raise _Refused(403, "You are not authorized to complete add_image action.")
        if body.get("visibility") == "public":
            raise _Refused(403, "You are not authorized to complete publicize_image action.")
        for key in CREATE_READ_ONLY:
            if key in body:
                raise _Refused(403, f"Attribute '{key}' is read-only.")
        for key in body.keys() - BASE:
            self._protection(key)
        image_id = str(body.pop("id", None) or uuid.uuid4())
        image = self._blank(image_id, self.project_id, self._tick())
        image.update(body)
        image["tags"] = list(dict.fromkeys(image["tags"]))
        return image

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        image = self._new(body)
        if image["id"] in self._images or image["id"] in self._deleted:
            raise _Refused(409, f"Image ID {image['id']} already exists!")
        self._images[image["id"]] = image
        return self._render(image)

    # patch

    def _patch(self, image_id: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        changes = [_parse_op(raw) for raw in ops]
        image = self._lookup(image_id, NO_IMAGE)
        draft = copy.deepcopy(image)
        for op, key, value in changes:
            self._apply(draft, op, key, value)
        if changes:  # Glance saves only when there is a change to save
            draft["updated_at"] = self._tick()
            self._images[image_id] = draft
        return self._render(draft)

    def _apply(self, image: dict[str, Any], op: str, key: str, value: Any) -> None:
        """One op on the draft, with Glance's checks in Glance's order."""
        if key == "owner":
            raise _Refused(403, f"{DENIED}Owner can't be updated by non admin.")
        if key == "visibility" and value == "public":
            raise _Refused(403, "You are not authorized to complete publicize_image action.")
        if image["owner"] != self.project_id:
            raise _Refused(403, "You are not authorized to complete modify_image action.")
        if op == "remove":
            if key in CORE:
                raise _Refused(403, f"{DENIED}Property {key} may not be removed.")
            if key not in image:
                raise _Refused(409, f"{CONFLICT}Property {key} does not exist.")
            self._protection(key)
            del image[key]
        elif key in CORE:
            _set_core(image, key, value)
        elif op == "replace" and key not in image:
            raise _Refused(409, f"{CONFLICT}Property {key} does not exist.")
        else:
            self._protection(key)
            image[key] = value

    # members

    def _add(self, image_id: str, member: str) -> None:
        image = self._lookup(image_id, "Image {id} not found.")
        if image["visibility"] != "shared" or image["owner"] != self.project_id:
            raise _Refused(403, f"Not allowed to create members for image {image_id}.")
        members = self._members.setdefault(image_id, {})
        if member in members:
            raise _Refused(409, f"Member {member} is duplicated for image {image_id}")
        members[member] = self._member(image_id, member)

    def _remove(self, image_id: str, member: str) -> None:
        image = self._lookup(image_id, "Image {id} not found.")
        if image["visibility"] != "shared" or image["owner"] != self.project_id:
            raise _Refused(403, f"Not allowed to delete members for image {image_id}.")
        members = self._members.get(image_id, {})
        if member not in members:
            raise _Refused(404, f"{member} not found in the member list of the image {image_id}.")
        del members[member]

    # actions, delete

    def _activation(self, image_id: str, action: str) -> None:
        image = self._lookup(image_id, NO_IMAGE)
        if image["owner"] != self.project_id:
            raise _Refused(403, f"You are not authorized to complete {action} action.")
        source, target = (
            ("active", "deactivated") if action == "deactivate" else ("deactivated", "active")
        )
        if image["status"] == target:
            return  # a no-op, as in Glance
        if image["status"] != source:
            raise _Refused(403, f"Not allowed to {action} image in status '{image['status']}'")
        image["status"] = target
        image["updated_at"] = self._tick()

    def _delete(self, image_id: str) -> None:
        image = self._lookup(image_id, "Failed to find image {id} to delete")
        if image["owner"] != self.project_id:
            raise _Refused(403, "You are not authorized to complete delete_image action.")
        if image["protected"]:
            raise _Refused(403, f"Image {image_id} is protected and cannot be deleted.")
        del self._images[image_id]
        self._members.pop(image_id, None)
        self._deleted.add(image_id)

    # listing

    def _page(self, params: dict[str, Any], limit: int, marker: str | None) -> dict[str, Any]:
        hidden = str(params.get("os_hidden", "false")).lower()
        if hidden not in ("true", "false"):
            raise _Refused(
                400,
                f"Invalid value '{hidden}' for 'os_hidden' filter. "
                "Valid values are 'true' or 'false'.",
            )
        if "changes-since" in params:
            raise _Refused(400, 'The "changes-since" filter is no longer available on v2.')
        found = [
            image
            for image in self._images.values()
            if image["os_hidden"] == (hidden == "true")
            and self._listed(image, params.get("visibility"))
            and _matches(image, params)
        ]
        found.sort(key=_age, reverse=True)
        if marker is not None:
            if marker not in self._images:
                raise _Refused(400, f"Invalid marker. Image {marker} could not be found.")
            found = [image for image in found if _age(image) < _age(self._images[marker])]
        page = found[:limit]
        answer: dict[str, Any] = {
            "images": [self._render(image) for image in page],
            "first": f"/v2/images?limit={limit}",
            "schema": "/v2/schemas/images",
        }
        if page and len(page) == limit:
            answer["next"] = f"/v2/images?limit={limit}&marker={page[-1]['id']}"
        return answer

    def _listed(self, image: Mapping[str, Any], visibility: str | None) -> bool:
        """Which images a member's listing shows: its project's, public ones, and (not
        modelled further) none shared by others, since membership starts `pending`."""
        if visibility in (None, "all"):
            mine = image["owner"] == self.project_id
            return (
                mine
                or image["visibility"] == "public"
                or (visibility == "all" and self._visible(image))
            )
        return image["visibility"] == visibility and self._visible(image)


def _store_list(image: Mapping[str, Any]) -> list[str]:
    return [s for s in str(image.get("stores") or "").split(",") if s]


def _age(image: Mapping[str, Any]) -> tuple[str, str]:
    return (image["created_at"], image["id"])


def _data_attributes(image_id: str) -> dict[str, Any]:
    """What an upload sets (made up, stable per image)."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, image_id).hex
    return {
        "disk_format": "raw",
        "container_format": "bare",
        "size": 1024,
        "virtual_size": 1024,
        "checksum": digest,
        "os_hash_algo": "sha512",
        "os_hash_value": digest * 4,
    }


def _parse_op(raw: Any) -> tuple[str, str, Any]:
    """One JSON-patch op as Glance's deserializer checks it (before any is applied)."""
    if not isinstance(raw, dict):
        raise _Refused(400, "Operations must be JSON objects.")
    op = raw.get("op")
    if op not in ("add", "remove", "replace"):
        raise _Refused(
            400,
            f"Invalid operation: `{op}`. It must be one of the following: add, remove, replace.",
        )
    pointer = raw.get("path")
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise _Refused(400, f'Pointer `{pointer}` does not start with "/".')
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise _Refused(
            400, f'Pointer `{pointer}` contains "~" not part of a recognized escape sequence.'
        )
    parts = [p.replace("~1", "/").replace("~0", "~").strip() for p in pointer[1:].split("/")]
    if parts[0] == "locations":
        raise AssertionError("the fake Glance does not model locations")
    if len(parts) != 1:
        raise _Refused(400, f"Invalid JSON pointer for this resource: '/{'/'.join(parts)}'")
    key = parts[0]
    if op != "remove" and "value" not in raw:
        raise _Refused(400, f'Operation "{op}" requires a member named "value".')
    if key in PATCH_READ_ONLY:
        raise _Refused(403, f"Attribute '{key}' is read-only.")
    if key in RESERVED or key.startswith(RESERVED_PREFIX):
        raise _Refused(403, f"Attribute '{key}' is reserved.")
    value = raw.get("value")
    if op != "remove":
        _check_schema({key: value})
    return op, key, value


def _set_core(image: dict[str, Any], key: str, value: Any) -> None:
    """Glance's domain setters: formats only while queued, no negative sizes, tags as a
    set (its order is Glance's; the fake keeps the first of each)."""
    if key in ("disk_format", "container_format") and image["status"] not in (
        "queued",
        "importing",
    ):
        raise _Refused(403, f"Attribute {key} can be only replaced for a queued image.")
    if key in ("min_disk", "min_ram") and value < 0:
        raise _Refused(
            400, f"Invalid value '{value}' for parameter '{key}': Cannot be a negative value."
        )
    image[key] = list(dict.fromkeys(value)) if key == "tags" else value


def _matches(image: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """The listing filters other than os_hidden and visibility."""
    for key, wanted in params.items():
        if key in ("os_hidden", "visibility", "member_status"):
            continue
        if key == "tag":
            tags = wanted if isinstance(wanted, list | tuple) else [wanted]
            if not set(tags) <= set(image["tags"]):
                return False
        elif key == "protected":
            if image["protected"] != (str(wanted).lower() == "true"):
                return False
        elif key in ("sort", "sort_key", "sort_dir") or key.endswith(("_min", "_max")):
            raise AssertionError(f"the fake Glance does not model the {key!r} parameter")
        elif key in ("created_at", "updated_at"):
            raise AssertionError("the fake Glance does not model date filters")
        else:
            text = str(wanted)
            allowed = text[3:].split(",") if text.startswith("in:") else [text]
            value = image.get(key)
            if value is None or str(value) not in allowed:
                return False
    return True


__all__ = ["PROJECT", "Backoff", "Crash", "FakeGlance", "Fault"]
