"""The steps an image's plan is carried out in: one class per kind, each knowing how to
send itself, how to finish itself after a lost answer, and its reverse (alembic's ops
carry their `reverse()` the same way). Pure data plus the small methods that send one
step through the client; only `reconciler.apply` calls them.

Order per image, so that the server accepts each step: reactivate, member removals
(while the image is still shared), the metadata PATCH (one request, all ops), member
additions (once it is shared), deactivate; a create comes first; a delete runs alone
and last. A create's id is chosen here, so a create retried after a lost answer cannot
make a duplicate (Glance answers 409 for a taken id).

Every send after the first is *convergent*: `converge` reads what it needs and sends
only what is still missing, so it is safe after a lost answer, after a partial commit
(Glance on sqlite has answered 500 after committing a PATCH's properties but not its
tags) and after a crash. Undo is the reverse step, converged against the image as it is
now; a delete has no reverse (`reversible = False`), which is why it runs last.

Adding a step kind: a subclass here (send, converge, reverse, payload), registered in
`KINDS`, placed by `steps_for`, with its test in tests/unit/test_steps.py.
"""

from __future__ import annotations

import itertools
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from reconciler.cloud.api import GlanceAPI
from reconciler.cloud.image_data import BLOCK, HashingReader, Progress, open_source, probe
from reconciler.errors import (
    BadRequest,
    ChecksumMismatch,
    ConnectionFailed,
    CopyFailed,
    Forbidden,
    ImportFailed,
    Interrupted,
    NotFound,
    ResponseLost,
    ServerError,
    SourceUnreadable,
)
from reconciler.model.image_view import image_view, live_stores
from reconciler.model.plan import (
    ABSENT,
    Action,
    Activation,
    BuildPlan,
    DataPlan,
    ImagePlan,
    Op,
    PatchOp,
    StorePlan,
    escape_pointer,
)
from reconciler.runtime.interrupts import STOP
from reconciler.runtime.waits import Again, Schedule, Stopped, TimedOut, WaitEnded, poll, retry

Answer = dict[str, Any] | None  # the image as the server answered a create or PATCH


class Step(ABC):
    """One request's worth of change to one image."""

    kind: ClassVar[str]
    reversible: ClassVar[bool] = True  # False: cannot be undone; runs last
    # Member calls leave the image document as it is, so the answer of an earlier
    # create or PATCH still describes it; every other step makes that answer stale.
    keeps_answer: ClassVar[bool] = False

    def payload(self) -> dict[str, Any]:
        """What the journal records (JSON), enough for `from_record` to rebuild it: by
        default the step's fields, which must then be JSON values as they are (a kind
        with others, or with fields not to record, says its own)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    @abstractmethod
    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        """The first attempt. Returns the image as answered (create, PATCH) or None."""

    def converge(self, client: GlanceAPI, image_id: str) -> Answer:
        """After an unknown outcome: send only what is still missing (default: the
        step is idempotent, send it again)."""
        return self.send(client, image_id)

    def reverse(self) -> Step | None:
        """The step that undoes this one (None: it cannot be undone)."""
        return None

    def undo(self, client: GlanceAPI, image_id: str) -> None:
        """Undo, judged against the image as it is now; raises on failure."""
        reverse = self.reverse()
        if reverse is None:
            raise ValueError(f"a {self.kind} step cannot be undone")
        reverse.converge(client, image_id)


def remaining(ops: Iterable[PatchOp], current: Mapping[str, Any]) -> tuple[PatchOp, ...]:
    """The ops still needed to bring every key the ops touch to their value, skipping
    keys already there. Finishing a PATCH uses its ops; undoing it, their inverses. The
    ops returned carry `old` as the image has it now."""
    needed: list[PatchOp] = []
    for op in ops:
        key, path = op.key, op.path
        if op.op is Op.REMOVE:
            if key in current:
                needed.append(PatchOp(Op.REMOVE, path, ABSENT, current[key]))
        elif key not in current:
            needed.append(PatchOp(Op.ADD, path, op.value, ABSENT))
        elif current[key] != op.value:
            needed.append(PatchOp(Op.REPLACE, path, op.value, current[key]))
    return tuple(needed)


def _send_ops(client: GlanceAPI, image_id: str, ops: Iterable[PatchOp]) -> Answer:
    return client.patch_image(image_id, [op.to_json_patch() for op in ops])


@dataclass(frozen=True)
class CreateImage(Step):
    body: Mapping[str, Any]  # the POST body: the view's keys and the chosen `id`

    kind: ClassVar[str] = "create"

    def payload(self) -> dict[str, Any]:
        return {"body": dict(self.body)}

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        return client.create_image(dict(self.body))

    def converge(self, client: GlanceAPI, image_id: str) -> Answer:
        existing = client.find_image(image_id)
        if existing is None:
            return client.create_image(dict(self.body))
        wanted = (
            PatchOp(Op.ADD, escape_pointer(key), value)
            for key, value in self.body.items()
            if key != "id"
        )
        missing = remaining(wanted, image_view(existing))
        return _send_ops(client, image_id, missing) if missing else existing

    def reverse(self) -> Step:
        return DiscardImage()


@dataclass(frozen=True)
class DiscardImage(Step):
    """The reverse of a create: the image the run made is deleted (unprotected first),
    and one already gone counts as done."""

    kind: ClassVar[str] = "discard"

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        image = client.find_image(image_id)
        if image is None:
            return None
        if image.get("protected"):
            client.patch_image(image_id, [{"op": "replace", "path": "/protected", "value": False}])
        try:
            client.delete_image(image_id)
        except NotFound:
            pass
        except BadRequest:
            # "transition from deleted to deleted": an earlier DELETE half-happened.
            if client.find_image(image_id) is not None:
                raise
        return None


@dataclass(frozen=True)
class PatchImage(Step):
    ops: tuple[PatchOp, ...]  # each with its `old`, so the step knows its inverse

    kind: ClassVar[str] = "patch"

    def payload(self) -> dict[str, Any]:
        return {"ops": [op.to_dict() for op in self.ops]}

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        return _send_ops(client, image_id, self.ops)

    def converge(self, client: GlanceAPI, image_id: str) -> Answer:
        if all(op.op is not Op.REMOVE for op in self.ops):
            # Every op sets a value (add overwrites in the v2.1 patch format; replace
            # of a key the image has): sending them all again ends where sending them
            # once does, whatever part of the first attempt was committed, and needs
            # no read first.
            return self.send(client, image_id)
        # A remove already committed would make the resent PATCH fail (409): read first.
        image = client.get_image(image_id)
        missing = remaining(self.ops, image_view(image))
        return _send_ops(client, image_id, missing) if missing else image

    def reverse(self) -> PatchImage:
        # One PATCH touches each key once, so the inverses need no particular order;
        # they keep the ops' (path) order.
        return PatchImage(tuple(op.inverse() for op in self.ops))

    def undo(self, client: GlanceAPI, image_id: str) -> None:
        # Always read first, even when every inverse only sets values: a key removed
        # meanwhile would make a blind `replace` fail (409), and keys already back at
        # their old value need no write.
        current = image_view(client.get_image(image_id))
        missing = remaining(self.reverse().ops, current)
        if missing:
            _send_ops(client, image_id, missing)


def current_members(client: GlanceAPI, image_id: str) -> set[str]:
    """Member project ids; an image that is not shared (403) or gone (404) has none."""
    try:
        return {m["member_id"] for m in client.list_members(image_id)}
    except (Forbidden, NotFound):
        return set()


@dataclass(frozen=True)
class AddMember(Step):
    member: str

    kind: ClassVar[str] = "member_add"
    keeps_answer: ClassVar[bool] = True

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        client.add_member(image_id, self.member)
        return None

    def converge(self, client: GlanceAPI, image_id: str) -> Answer:
        if self.member not in current_members(client, image_id):
            client.add_member(image_id, self.member)
        return None

    def reverse(self) -> Step:
        return RemoveMember(self.member)


@dataclass(frozen=True)
class RemoveMember(Step):
    member: str

    kind: ClassVar[str] = "member_remove"
    keeps_answer: ClassVar[bool] = True

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        try:
            client.remove_member(image_id, self.member)
        except NotFound:
            # The client resends a DELETE whose answer was lost; a 404 then means the
            # first one did it.
            pass
        return None

    def converge(self, client: GlanceAPI, image_id: str) -> Answer:
        if self.member in current_members(client, image_id):
            client.remove_member(image_id, self.member)
        return None

    def reverse(self) -> Step:
        return AddMember(self.member)


@dataclass(frozen=True)
class Deactivate(Step):
    """A no-op on an image already deactivated, so sending it again is safe."""

    kind: ClassVar[str] = "deactivate"

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        client.deactivate_image(image_id)
        return None

    def reverse(self) -> Step:
        return Reactivate()


@dataclass(frozen=True)
class Reactivate(Step):
    """A no-op on an image already active, so sending it again is safe."""

    kind: ClassVar[str] = "reactivate"

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        client.reactivate_image(image_id)
        return None

    def reverse(self) -> Step:
        return Deactivate()


@dataclass(frozen=True)
class DeleteImage(Step):
    """A deleted image cannot be brought back: this step has no reverse, runs alone
    and last, and only for --prune."""

    kind: ClassVar[str] = "delete"
    reversible: ClassVar[bool] = False

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        try:
            client.delete_image(image_id)
        except NotFound:
            # Gone: a resent DELETE (the client resends one whose answer was lost) or a
            # delete by someone else since the stale check; either way, as planned.
            pass
        return None

    def converge(self, client: GlanceAPI, image_id: str) -> Answer:
        if client.find_image(image_id) is not None:
            client.delete_image(image_id)
        return None


# Attempts to send a file source's bytes when the upload fails half way (Glance cannot
# resume: every attempt starts again from the first byte).
UPLOAD_ATTEMPTS = 3
IMPORT_WAIT = 1800.0  # seconds an import may take (--import-timeout)
IN_PROGRESS = frozenset({"saving", "uploading", "importing"})
# How long a failed upload's image may stay `saving` before the tool gives up on it.
SAVING_WAIT = 60.0
SETTLE_POLL = Schedule(0.25, 2.0, 2.0)  # reads while a failed upload's image is `saving`
IMPORT_POLL = Schedule(0.25, 2.0, 5.0)  # reads while Glance imports or saves the data


@dataclass(frozen=True)
class BuildData(Step):
    """Put the declared data into the image the run just created, wait until Glance has
    it (`active`), and check every hash on the way: the bytes read against the declared
    checksum (upload, glance-direct: before the import starts), then Glance's
    `os_hash_value` and `size` against what was sent (web-download: the declared sha512
    against `os_hash_value`). A mismatch fails the step, and the image is rolled back
    with its create. The data dies with the image, so this step's own undo does
    nothing: the create's reverse (discard) removes both."""

    data: DataPlan
    wait: float = IMPORT_WAIT
    # Told (bytes read, length) while the bytes stream (progress bars); not journalled.
    watch: Progress | None = field(default=None, compare=False, repr=False)
    # Told what the report should say of the data's way in (a mirror that failed and
    # was passed over); not journalled.
    notice: Callable[[str], None] | None = field(default=None, compare=False, repr=False)
    # The stores the data goes to (multi-store): an import asks for all of them at once
    # (all must succeed, or the build fails and is rolled back); an upload goes to the
    # first, and the image's store steps copy it into the others.
    stores: tuple[str, ...] = ()

    kind: ClassVar[str] = "data"

    def payload(self) -> dict[str, Any]:
        stores = {"stores": list(self.stores)} if self.stores else {}
        return {"data": asdict(self.data), "wait": self.wait, **stores}

    def _import(self, client: GlanceAPI, image_id: str, method: dict[str, Any]) -> None:
        client.import_image(image_id, method, list(self.stores) or None, True)

    @property
    def _algorithm(self) -> str:
        return self.data.checksum.partition(":")[0]

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        """Send the data; a failed upload or import that left the image `queued` again
        (Glance cannot resume) is started again from the first byte."""

        def attempt(_n: int) -> Answer | Again:
            try:
                return self._attempt(client, image_id)
            except ResponseLost:
                raise  # the import request may have started it: the applier converges
            except (ConnectionFailed, ServerError, SourceUnreadable, ImportFailed) as err:
                if settled_status(client, image_id) != "queued":
                    raise
                return Again(err)

        return retry(
            attempt, attempts=UPLOAD_ATTEMPTS, backoff=client.retry.delay, sleep=client.sleep
        )

    @property
    def _locations(self) -> tuple[str, ...]:
        """Where the bytes may come from, in the order tried: the mirrors, then the
        provenance URL (or file)."""
        return (*self.data.mirrors, self.data.location)

    def _passed_over(self, location: str, reason: str) -> None:
        if self.notice is not None:
            self.notice(f"mirror {location} passed over: {reason}")

    def _attempt(self, client: GlanceAPI, image_id: str) -> Answer:
        if self.data.method == "web-download":
            return self._web_download(client, image_id)
        for location in self._locations:
            last = location == self.data.location
            try:
                reader = self._send_from(client, image_id, location)
            except (SourceUnreadable, ChecksumMismatch) as err:
                # The source's fault (its reader raised): Glance saw a short body. The
                # next mirror, or the provenance, is tried once the image is queued.
                if last or settled_status(client, image_id) != "queued":
                    raise
                self._passed_over(location, err.message)
                continue
            break
        return self._send_rest(client, image_id, reader)

    def _send_from(self, client: GlanceAPI, image_id: str, location: str) -> HashingReader:
        reader = open_source(
            location,
            (GLANCE_HASH,),
            compression=self.data.compression,
            published=(self._algorithm,),
            expect=(self._algorithm, self.data.checksum.partition(":")[2]),
        )
        reader.published.on_read = self.watch
        # A length not known before the end (a decompressed stream, a URL that does not
        # say) goes as chunks: requests sends Transfer-Encoding: chunked for an iterator.
        body = reader if reader.length is not None else iter(lambda: reader.read(BLOCK), b"")
        try:
            target = "file" if self.data.method == "upload" else "stage"
            store = self.stores[0] if self.stores and target == "file" else None
            client.put_data(image_id, target, body, store)
        finally:
            reader.close()
        return reader

    def _web_download(self, client: GlanceAPI, image_id: str) -> Answer:
        """Glance fetches each mirror in turn, then the provenance: a failed import puts
        the image back to queued (os_glance_failed_import), so the next can be asked."""
        for location in self._locations:
            self._import(client, image_id, {"name": "web-download", "uri": location})
            try:
                return self._finish(client, image_id, None)
            except ImportFailed as err:
                reason = _with_source_state(str(err), location)
                if location == self.data.location or settled_status(client, image_id) != "queued":
                    raise ImportFailed(reason) from None
                self._passed_over(location, reason)
        raise AssertionError("unreachable: the provenance is tried last")

    def _send_rest(self, client: GlanceAPI, image_id: str, reader: HashingReader) -> Answer:
        self._check_declared(reader)
        if self.data.method == "glance-direct":
            try:
                self._import(client, image_id, {"name": "glance-direct"})
            except ResponseLost:
                # Settled here, where the bytes' hashes are known: an import that did
                # not start (still staged, no task) is asked for once more.
                staged = client.get_image(image_id).get("status") == "uploading"
                if staged and not client.image_tasks(image_id):
                    self._import(client, image_id, {"name": "glance-direct"})
        return self._finish(client, image_id, reader)

    def converge(self, client: GlanceAPI, image_id: str) -> Answer:
        """After a lost answer to the import request: wait for an import that started,
        start the one that did not."""
        status = settled_status(client, image_id)
        if status == "active":
            return self._finish(client, image_id, None)
        if status == "importing" or client.image_tasks(image_id):
            return self._finish(client, image_id, None)
        if status == "uploading" and self.data.method == "glance-direct":
            self._import(client, image_id, {"name": "glance-direct"})
            return self._finish(client, image_id, None)
        return self.send(client, image_id)

    def undo(self, client: GlanceAPI, image_id: str) -> None:
        """Nothing of its own: see the class docstring."""

    def _check_declared(self, reader: HashingReader) -> None:
        actual = reader.published.hexdigest(self._algorithm)
        if f"{self._algorithm}:{actual}" != self.data.checksum:
            raise ChecksumMismatch(
                f"{self.data.location}: checksum mismatch: expected {self.data.checksum}, "
                f"got {self._algorithm}:{actual} ({reader.published.read_bytes} bytes)"
            )

    def _finish(self, client: GlanceAPI, image_id: str, sent: HashingReader | None) -> Answer:
        imported = self.data.method != "upload"  # a PUT to /file starts no task
        image = wait_until_active(client, image_id, self.wait, imported)
        algo, value, size = image.get("os_hash_algo"), image.get("os_hash_value"), image.get("size")
        if sent is not None:
            if size != sent.read_bytes:
                raise ChecksumMismatch(
                    f"Glance stored {size} bytes of {self.data.location}, "
                    f"{sent.read_bytes} were sent"
                )
            expected = sent.hexdigest(algo) if algo in sent.algorithms else None
        else:
            declared_algo, _sep, declared = self.data.checksum.partition(":")
            expected = declared if algo == declared_algo else None
        if expected is None:
            raise ChecksumMismatch(
                f"Glance hashed the data with {algo!r}, which cannot be compared with "
                f"{self.data.checksum.partition(':')[0]}"
            )
        if value != expected:
            raise ChecksumMismatch(
                f"{self.data.location}: Glance's {algo} of the stored data is {value}, "
                f"expected {expected}"
            )
        return image


GLANCE_HASH = "sha512"  # Glance's default hashing_algorithm, hashed while streaming


def _with_source_state(reason: str, location: str) -> str:
    """A failed web-download's reason, with what the URL answers the tool (Glance's task
    messages rarely say; a HEAD from here often does: 404, refused, unreachable). The
    tool's view is not Glance's: a URL may answer here and not there, so it is only
    added when it fails."""
    try:
        probe(location)
    except SourceUnreadable as err:
        return f"{reason}; the source fails from here too: {err}"
    return reason


def settled_status(client: GlanceAPI, image_id: str, wait: float = SAVING_WAIT) -> Any:
    """The image's status once Glance is done with a failed upload to /file: Glance
    marks the image `saving` when the PUT begins and puts it back to `queued` only when
    its worker notices the short body (glance/api/v2/image_data.py, `_restore`), which
    on a loaded server comes after the tool saw its connection cut (a CI run rolled back
    an image still `saving`). Polled (SETTLE_POLL) while `saving`, for at most `wait`
    seconds."""
    try:
        return poll(
            lambda: client.get_image(image_id).get("status"),
            lambda status: status != "saving",
            SETTLE_POLL.within(wait),
            sleep=client.sleep,
        )
    except TimedOut as still:
        return still.last


def wait_until_active(
    client: GlanceAPI, image_id: str, wait: float, imported: bool = True
) -> dict[str, Any]:
    """Poll the image (IMPORT_POLL) until `active` and its import task, if any,
    finished (Glance marks the image active 0.1-0.3 s before the task ends and releases
    its lock); ImportFailed when the task failed (a format mismatch leaves a
    glance-direct image `importing` for good, with a failed task) or `wait` seconds
    pass; Interrupted once the interrupt grace is over. A `queued` image with no failed
    task is waited for: Glance starts an import's task after answering the request. Not
    `imported` (a PUT to /file, which Glance answers once the image is active): the
    image alone is read, no task list."""
    reads = itertools.count()

    def read() -> tuple[dict[str, Any], str | None]:
        image = client.get_image(image_id)
        status = image.get("status")
        # The first reads of an active image ask for its tasks too (those while the
        # delay after them is under a second): the task ends just after the status.
        later = IMPORT_POLL.delay(next(reads))
        asks = imported and (status != "active" or later < 1)
        tasks = client.image_tasks(image_id) if asks else []
        newest = tasks[0].get("status") if tasks else None
        if newest == "failure" and status != "active":
            message = " ".join(str(tasks[0].get("message") or "no message").split())
            raise ImportFailed(f"the import failed (Glance's task: {message[:200]})")
        if status not in IN_PROGRESS and status not in ("queued", "active"):
            raise ImportFailed(f"the image is {status!r}, not active, after its data was sent")
        return image, newest

    try:
        return poll(
            read,
            lambda answer: answer[0].get("status") == "active" and answer[1] != "processing",
            IMPORT_POLL.within(wait),
            sleep=client.sleep,
            stop=STOP.transfer_expired,
        )[0]
    except WaitEnded as ended:
        status = ended.last[0].get("status")
        cut = isinstance(ended, Stopped)
    if cut:
        raise Interrupted(
            f"the run was interrupted while Glance imported the data (status {status!r})"
        )
    raise ImportFailed(f"not active after {wait:.0f} s (status {status!r})")


KINDS: dict[str, type[Step]] = {
    kind.kind: kind
    for kind in (
        CreateImage,
        DiscardImage,
        PatchImage,
        AddMember,
        RemoveMember,
        Deactivate,
        Reactivate,
        DeleteImage,
        BuildData,
    )
}


def from_record(kind: str, payload: Mapping[str, Any]) -> Step:
    """The step a journal's `begin` record describes (journals of earlier versions
    included: the payloads are unchanged)."""
    cls = KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown step kind {kind!r}")
    if cls is CreateImage:
        return CreateImage(dict(payload["body"]))
    if cls is PatchImage:
        return PatchImage(tuple(PatchOp.from_dict(op) for op in payload["ops"]))
    if cls is AddMember:
        return AddMember(payload["member"])
    if cls is RemoveMember:
        return RemoveMember(payload["member"])
    if cls is BuildData:
        return BuildData(
            DataPlan(**payload["data"]),
            float(payload.get("wait", IMPORT_WAIT)),
            stores=tuple(payload.get("stores", ())),
        )
    if cls is CopyToStores:
        return CopyToStores(tuple(payload["stores"]), float(payload.get("wait", IMPORT_WAIT)))
    if cls is DeleteFromStore:
        return DeleteFromStore(payload["store"])
    return cls()


def build_steps(build: BuildPlan) -> list[Step]:
    """One of an entry's other builds brought to its rotated state: its rename and
    metadata in one PATCH (its record made to name the entry), then a deactivation
    (retired builds); a delete is the applier's, last."""
    steps: list[Step] = [PatchImage(build.patch)] if build.patch else []
    if build.activation is Activation.DEACTIVATE:
        steps.append(Deactivate())
    return steps


def take_name(name: str, temporary: str) -> PatchImage:
    """The new build's last step in a rebuild: from its temporary name to the name."""
    return PatchImage((PatchOp(Op.REPLACE, "/name", name, temporary),))


def create_body(image: ImagePlan, image_id: str) -> dict[str, Any]:
    body = {op.key: op.value for op in image.patch if op.op is Op.ADD}
    body["id"] = image_id
    return body


# Visibilities that show an image outside its project before any member is added.
SEEN_OUTSIDE = frozenset({"public", "community"})


def temporary_name(name: str) -> str:
    """The name a new build is made, filled and verified under: no one looks for it."""
    return f"{name} (new build)"[:255]


def unpublished(body: dict[str, Any], name: str) -> tuple[dict[str, Any], tuple[PatchOp, ...]]:
    """Verify before publish: a new build with data is created private under its
    temporary name, and only once its data is verified given its visibility (then its
    members) and, when no other build holds it, its name; a build that fails
    verification is never seen outside the project nor found by its name. The body to
    create, and the PATCH that publishes it (each op with its old value)."""
    hidden = dict(body)
    ops: list[PatchOp] = []
    if hidden.get("visibility") in SEEN_OUTSIDE:
        ops.append(PatchOp(Op.REPLACE, "/visibility", hidden["visibility"], "private"))
        hidden["visibility"] = "private"
    if hidden.get("name") == name:
        hidden["name"] = temporary_name(name)
        ops.append(PatchOp(Op.REPLACE, "/name", name, hidden["name"]))
    return hidden, tuple(sorted(ops, key=lambda op: op.path))


def steps_for(
    image: ImagePlan,
    new_id: str | None = None,
    import_wait: float = IMPORT_WAIT,
    temporary: str | None = None,
    watch: Progress | None = None,
    notice: Callable[[str], None] | None = None,
) -> list[Step]:
    """The ordered steps of one image's plan; for a rebuild, those of its new build
    (created under `temporary`; the builds' `build_steps` and `take_name` follow). A
    new build with data is published only once verified (`unpublished`)."""
    if image.action in (Action.CREATE, Action.REBUILD):
        body = create_body(image, new_id or str(uuid.uuid4()))
        if temporary is not None:
            body["name"] = temporary
        if image.data is None:  # nothing to verify: created as declared
            return [CreateImage(body), *(AddMember(m) for m in image.members.add)]
        body, publish = unpublished(body, image.name)
        return [
            CreateImage(body),
            BuildData(
                image.data,
                import_wait,
                watch,
                notice,
                stores=image.stores.missing if image.stores is not None else (),
            ),
            *([PatchImage(publish)] if publish else []),
            *(AddMember(m) for m in image.members.add),
        ]
    if image.action is Action.DELETE:
        return [DeleteImage()]
    steps: list[Step] = []
    if image.activation is Activation.REACTIVATE:
        steps.append(Reactivate())
    steps += [RemoveMember(m) for m in image.members.remove]
    if image.patch:
        steps.append(PatchImage(image.patch))
    steps += [AddMember(m) for m in image.members.add]
    if image.activation is Activation.DEACTIVATE:
        steps.append(Deactivate())
    return steps


# -- stores (Glance multi-store, issue 25) ------------------------------------------

COPY_ATTEMPTS = 3  # a copy into a store that failed is asked for again, then reported
COPY_POLL_MAX = 1.0  # seconds between reads while Glance copies (at most 1 s late)
COPY_POLL = Schedule(0.1, 2.0, COPY_POLL_MAX)


@dataclass(frozen=True)
class CopyToStores(Step):
    """copy-image: the image's data into the stores it is not in yet (read first, so
    after a lost answer or for a new build that is already in some of them, only what
    is missing is asked for), with `all_stores_must_succeed` false: a store that fails
    is listed in `os_glance_failed_import` and the others keep their copy. Each failed
    store is asked for again (COPY_ATTEMPTS in all), then CopyFailed. A copy is never
    undone (`reversible = False`): the image stays usable where its data is, and
    `--prune-stores` removes a copy the manifests no longer declare."""

    stores: tuple[str, ...]
    wait: float = IMPORT_WAIT

    kind: ClassVar[str] = "copy-stores"
    reversible: ClassVar[bool] = False

    def payload(self) -> dict[str, Any]:
        return {"stores": list(self.stores), "wait": self.wait}

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        def attempt(_n: int) -> Answer | Again:
            image = wait_for_import_lock(client, image_id, self.wait)
            missing = [s for s in self.stores if s not in live_stores(image)]
            if not missing:
                return None
            client.import_image(image_id, {"name": "copy-image"}, missing, False)
            image = wait_for_import_lock(client, image_id, self.wait, started=True)
            failed = [s for s in missing if s not in live_stores(image)]
            if not failed:
                return None
            reason = _copy_reason(client, image_id, image)
            return Again(
                CopyFailed(
                    f"copy into store(s) {', '.join(failed)} failed {COPY_ATTEMPTS} times"
                    f"{reason}; the image is intact in "
                    + (", ".join(live_stores(image)) or "no store")
                )
            )

        return retry(
            attempt, attempts=COPY_ATTEMPTS, backoff=client.retry.delay, sleep=client.sleep
        )


@dataclass(frozen=True)
class DeleteFromStore(Step):
    """`--prune-stores`: the image's data deleted from one store it is not declared in;
    never the last copy (checked against the image as it is now, and Glance refuses it
    too). Cannot be undone: runs after the copies, and only when they succeeded."""

    store: str

    kind: ClassVar[str] = "delete-from-store"
    reversible: ClassVar[bool] = False

    def send(self, client: GlanceAPI, image_id: str) -> Answer:
        present = live_stores(client.get_image(image_id))
        if self.store not in present:
            return None  # gone already (a resend after a lost answer)
        if len(present) <= 1:
            raise CopyFailed(f"not deleted from store {self.store}: it holds the only copy")
        try:
            client.delete_from_store(image_id, self.store)
        except NotFound:
            return None
        return None


def wait_for_import_lock(
    client: GlanceAPI, image_id: str, wait: float, *, started: bool = False
) -> dict[str, Any]:
    """The image once no import task holds it (`os_glance_import_task`, the lock Glance
    sets before answering 202 and clears when the task ends) and, after a copy was
    `started`, its newest task is finished: right after the answer
    `os_glance_importing_to_stores` may still be empty (seen on Glance 33), so it alone
    cannot say the copy is over. Polled with backoff up to COPY_POLL_MAX seconds
    (COPY_POLL)."""

    def read() -> tuple[dict[str, Any], bool]:
        image = client.get_image(image_id)
        busy = bool(image.get("os_glance_import_task")) or bool(
            image.get("os_glance_importing_to_stores")
        )
        if not busy and started:
            tasks = client.image_tasks(image_id)
            busy = bool(tasks) and tasks[0].get("status") in ("pending", "processing")
        return image, busy

    try:
        return poll(
            read,
            lambda answer: not answer[1],
            COPY_POLL.within(wait),
            sleep=client.sleep,
            stop=STOP.transfer_expired,
        )[0]
    except TimedOut:
        cut = False
    except Stopped:
        cut = True
    if cut:
        raise Interrupted("the run was interrupted while Glance copied the data")
    raise CopyFailed(f"Glance still copies the data after {wait:.0f} s")


def _copy_reason(client: GlanceAPI, image_id: str, image: Mapping[str, Any]) -> str:
    """What Glance says of a failed copy: the stores it lists as failed, its task's
    message."""
    failed = image.get("os_glance_failed_import") or ""
    tasks = client.image_tasks(image_id)
    message = " ".join(str(tasks[0].get("message") or "").split())[:200] if tasks else ""
    parts = [f"os_glance_failed_import {failed!r}" if failed else "", message]
    shown = "; ".join(part for part in parts if part)
    return f" (Glance: {shown})" if shown else ""


def store_steps(stores: StorePlan, wait: float = IMPORT_WAIT) -> list[Step]:
    """An image's store changes, after its other steps: the copies, then the prunes
    (so that a prune never leaves an image whose copies failed with fewer copies)."""
    steps: list[Step] = [CopyToStores(stores.missing, wait)] if stores.missing else []
    return steps + [DeleteFromStore(store) for store in stores.prune]


KINDS.update({CopyToStores.kind: CopyToStores, DeleteFromStore.kind: DeleteFromStore})
