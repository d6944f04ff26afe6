"""Carry out a plan: the one module that writes to the cloud.

Per image, the plan runs as a small transaction (see `reconciler.steps` for the order):
1. re-read the image and compare its fingerprint with the plan's; a changed image is
   skipped as `stale` (Glance has no ETag or conditional PATCH, so this re-read shortly
   before writing is the only guard; images are re-read in small chunks, see
   `reconciler.readahead`);
2. journal the original state, then each step before sending it (on disk before the
   write) and its outcome after;
3. on a refused or failed step (403, or 409/413/5xx left after retries), undo the steps
   already done, newest first, read the image back and compare it with the original:
   `rolled_back` when equal, `rollback_failed` (with what is left changed) when not;
4. on success, compare the image with the desired view: `applied`, or `diverged` when
   the server normalised or ignored a value. When the last step that changes the image
   is its create or PATCH, the image compared is the server's answer to it (Glance
   answers both with the image as stored; after a lost answer, the read that decided
   what was left to send, or the answer to that); otherwise (activation changes, a
   delete) the image is read back.
Images run in parallel (`parallelism`), one image's steps in order; one image's failure
never stops the others. The plan is carried out as given: no report option changes it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import jsonpatch

from reconciler.cloud.api import GlanceAPI
from reconciler.errors import CloudError, ResponseLost
from reconciler.journal import ImageHistory, Journal
from reconciler.live import read_members
from reconciler.plan import Action, ImagePlan, Plan, unescape_pointer
from reconciler.readahead import ReadAhead
from reconciler.report import ApplyReport, ImageResult, Status, differences
from reconciler.steps import (
    IMPORT_WAIT,
    Step,
    from_record,
    rename_previous,
    steps_for,
    take_name,
)
from reconciler.views import LiveImage

# Glance on sqlite answers concurrent writes with bursts of 500 "database is locked"
# (MySQL deadlocks do the same on real clouds): at parallelism 4 one image's PATCH was
# seen failing 9 times in 11 s while the others won the lock. With backoff capped at
# RetryPolicy.max_delay (5 s), 16 resends wait up to about a minute before giving up.
LOST_ANSWER_RETRIES = 16
UNDO_ATTEMPTS = 12


def undo_until_done(client: GlanceAPI, image_id: str, step: Step) -> None:
    """Undo one step, again after any failure: undo is computed against the image as
    it is now, so sending it again is safe, and giving up would leave the image half
    changed. Even a refusal (403, 409, 413) is tried again: undoing restores what this
    run itself changed moments ago, so a refusal is more likely transient (a proxy, a
    policy reload, lock contention) than final; only the last attempt's error stands."""
    for attempt in range(UNDO_ATTEMPTS):
        try:
            step.undo(client, image_id)
            return
        except CloudError:
            if attempt == UNDO_ATTEMPTS - 1:
                raise
            client.sleep(client.retry.delay(attempt))


@dataclass(frozen=True)
class StepsOutcome:
    """What running an image's steps left: the steps sent (a failed one included), the
    error that stopped them, and the image as the server last answered it (None when
    the last step that changes the image answered nothing to verify against)."""

    done: tuple[tuple[int, Step], ...]
    error: CloudError | None = None
    answer: dict[str, Any] | None = None


class Applier:
    def __init__(
        self,
        client: GlanceAPI,
        journal: Journal,
        *,
        parallelism: int = 4,
        import_wait: float = IMPORT_WAIT,
        on_done: Callable[[ImageResult], None] = lambda _r: None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.parallelism = max(1, parallelism)
        self.import_wait = import_wait
        self.on_done = on_done
        self._ahead = ReadAhead(client, ())

    def run(self, plan: Plan) -> ApplyReport:
        self.journal.write("run", run_id=str(uuid.uuid4()), target=plan.target.__dict__)
        work = [image for image in plan.images if image.has_work]
        skipped = [
            ImageResult(i.name, i.id, str(i.action), Status.SKIPPED, i.error or "")
            for i in plan.images
            if i.action is Action.ERROR
        ]
        self._ahead = ReadAhead(
            self.client, [i.id for i in work if i.action is not Action.CREATE and i.id]
        )
        with ThreadPoolExecutor(self.parallelism) as pool:
            results = list(pool.map(self._one, work))
        return ApplyReport(tuple(results + skipped), str(self.journal.path))

    def _one(self, image: ImagePlan) -> ImageResult:
        try:
            result = self._apply_image(image)
        except CloudError as err:  # reading before any write failed
            result = ImageResult(
                image.name,
                image.id,
                str(image.action),
                Status.SKIPPED,
                f"not started: {err.brief}",
                err.request_id,
            )
        self.on_done(result)
        return result

    # -- one image ---------------------------------------------------------------

    def _current(
        self, image_id: str, members_managed: bool, raw: dict[str, Any] | None = None
    ) -> LiveImage | None:
        """The image now (or as `raw`, just read), with its members when managed."""
        raw = raw if raw is not None else self.client.find_image(image_id)
        if raw is None:
            return None
        live = LiveImage.from_api(raw)
        live.members = read_members(self.client, live) if members_managed else None
        return live

    def _fresh(self, image: ImagePlan) -> LiveImage | ImageResult:
        """The image as it is now, or the result that skips it: gone or changed since
        the plan (`stale`)."""
        assert image.id is not None
        live = self._current(image.id, image.members_managed, self._ahead.take(image.id))
        if live is None:
            return self._result(image, Status.STALE, "the image was deleted since the plan")
        if live.fingerprint != image.fingerprint:
            return self._result(
                image, Status.STALE, self._what_changed(image, live) + "; run plan again"
            )
        return live

    def _apply_image(self, image: ImagePlan) -> ImageResult:
        if image.action is Action.CREATE:
            return self._create(image)
        assert image.id is not None
        live = self._fresh(image)
        if isinstance(live, ImageResult):
            return live
        if image.action is Action.REBUILD:
            return self._rebuild(image, live)
        if image.action is Action.DELETE and live.view.get("protected"):
            return self._result(image, Status.SKIPPED, "protected images are never pruned")
        self._original(image, live)
        outcome = self._run_steps(image.id, steps_for(image))
        if outcome.error is not None:
            return self._roll_back(image, image.id, outcome, live)
        if image.action is Action.DELETE:
            gone = self.client.find_image(image.id) is None
            status = Status.APPLIED if gone else Status.DIVERGED
            return self._end(image, image.id, status, "" if gone else "still there after delete")
        return self._verify(image, image.id, live, outcome.answer)

    def _create(self, image: ImagePlan) -> ImageResult:
        new_id = str(uuid.uuid4())
        self.journal.write("original", image=new_id, name=image.name, view=None, members=None)
        outcome = self._run_steps(new_id, steps_for(image, new_id, self.import_wait))
        if outcome.error is not None:
            return self._roll_back(image, new_id, outcome, None)
        return self._verify(image, new_id, None, outcome.answer)

    def _rebuild(self, image: ImagePlan, live: LiveImage) -> ImageResult:
        """A new build takes the name: it is created under a temporary name, filled and
        verified; then the current build is renamed, and the new one takes the name.
        At no moment do two images carry the plain name; a failure anywhere undoes
        every step, newest first, across both images."""
        old_id, new_id = live.id, str(uuid.uuid4())
        assert image.rename_previous is not None
        temporary = f"{image.name} (new build)"[:255]
        self._original(image, live)
        self.journal.write("original", image=new_id, name=image.name, view=None, members=None)
        rename: list[Step] = [rename_previous(live, image.name, image.rename_previous)]
        named: list[Step] = [take_name(image.name, temporary)]
        phases = (
            (new_id, steps_for(image, new_id, self.import_wait, temporary)),
            (old_id, rename),
            (new_id, named),
        )
        done: list[tuple[str, int, Step]] = []
        answer: dict[str, Any] | None = None
        for image_id, steps in phases:
            outcome = self._run_steps(image_id, steps)
            done += [(image_id, seq, step) for seq, step in outcome.done]
            if outcome.error is not None:
                return self._roll_back_rebuild(image, live, new_id, done, outcome.error)
            answer = outcome.answer
        result = self._verify(image, new_id, None, answer)
        renamed = self.client.find_image(old_id)
        if renamed is None or renamed.get("name") != image.rename_previous:
            have = renamed.get("name") if renamed else "(gone)"
            return self._end(
                image, new_id, Status.DIVERGED, f"previous build {old_id} is named {have!r}"
            )
        if result.status is Status.APPLIED:
            note = f"new build {new_id}; previous build {old_id} now {image.rename_previous!r}"
            return replace(result, reason=note)
        return result

    def _roll_back_rebuild(
        self,
        image: ImagePlan,
        live: LiveImage,
        new_id: str,
        done: list[tuple[str, int, Step]],
        err: CloudError,
    ) -> ImageResult:
        problems = undo_steps(self.client, self.journal, reversed(done))
        left = [f"previous build: {line}" for line in self._left(live, image)]
        try:
            left += left_changed(self.client, new_id, Original(None))
        except CloudError as read_err:
            problems.append(f"read back failed: {read_err.message}")
        if problems or left:
            detail = "; ".join(problems) or "see left_changed"
            return self._end(
                image,
                live.id,
                Status.ROLLBACK_FAILED,
                f"{err.brief}; rollback incomplete: {detail}",
                err.request_id,
                tuple(left),
            )
        return self._end(image, live.id, Status.ROLLED_BACK, err.brief, err.request_id)

    def _left(self, live: LiveImage, image: ImagePlan) -> list[str]:
        try:
            return left_changed(self.client, live.id, Original.of(live, image.members_managed))
        except CloudError as err:
            return [f"read back failed: {err.message}"]

    def _original(self, image: ImagePlan, live: LiveImage) -> None:
        self.journal.write(
            "original",
            image=live.id,
            name=image.name,
            view=live.view,
            status=live.status,
            members=list(live.members) if live.members is not None else None,
        )

    def _run_steps(self, image_id: str, steps: list[Step]) -> StepsOutcome:
        """Send the steps in order, stopping at the first failure."""
        done: list[tuple[int, Step]] = []
        answer: dict[str, Any] | None = None
        for step in steps:
            seq = self.journal.begin(image_id, step.kind, step.payload())
            try:
                answered = self._send(image_id, step)
            except CloudError as err:
                self.journal.write("failed", seq=seq, reason=err.message)
                # A failed step may still have half-happened (a lost answer, a 500 after
                # a partial commit); its undo is judged against the image as it is, so
                # undoing it too is safe and costs one read when nothing happened.
                done.append((seq, step))
                return StepsOutcome(tuple(done), err)
            self.journal.write("done", seq=seq)
            done.append((seq, step))
            if not step.keeps_answer:
                answer = answered
        return StepsOutcome(tuple(done), None, answer)

    def _send(self, image_id: str, step: Step) -> dict[str, Any] | None:
        """Send one step; after an unknown outcome, read the image and send only what is
        still missing (Step.converge). Returns the image answered, if any."""
        for attempt in range(LOST_ANSWER_RETRIES + 1):
            try:
                if attempt == 0:
                    return step.send(self.client, image_id)
                return step.converge(self.client, image_id)
            except ResponseLost:
                if attempt == LOST_ANSWER_RETRIES:
                    raise
                self.client.sleep(self.client.retry.delay(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _roll_back(
        self,
        image: ImagePlan,
        image_id: str,
        outcome: StepsOutcome,
        original: LiveImage | None,
    ) -> ImageResult:
        err = outcome.error
        assert err is not None
        before = Original.of(original, image.members_managed)
        problems, left = roll_back_image(
            self.client, self.journal, image_id, reversed(outcome.done), before
        )
        if problems or left:
            detail = "; ".join(problems) or "see left_changed"
            return self._end(
                image,
                image_id,
                Status.ROLLBACK_FAILED,
                f"{err.brief}; rollback incomplete: {detail}",
                err.request_id,
                tuple(left),
            )
        return self._end(image, image_id, Status.ROLLED_BACK, err.brief, err.request_id)

    def _verify(
        self,
        image: ImagePlan,
        image_id: str,
        original: LiveImage | None,
        answer: dict[str, Any] | None,
    ) -> ImageResult:
        """Compare the image (as answered, or read back) with the desired view."""
        current = self._current(image_id, image.members_managed, answer)
        if current is None:
            return self._end(image, image_id, Status.DIVERGED, "the image is gone after apply")
        ops = [op.to_json_patch() for op in image.patch]
        if original is None:
            expected = {unescape_pointer(op.path): op.value for op in image.patch}
            actual = {key: current.view.get(key) for key in expected}
        else:
            expected = jsonpatch.apply_patch(copy.deepcopy(original.view), ops)
            actual = current.view
        diverged = differences(expected, actual)
        if image.activation is not None:
            want = image.activation.status
            if current.status != want:
                diverged.append(f"status: want {want!r}, have {current.status!r}")
        if image.members_managed and current.members is not None:
            wanted = set(original.members or ()) if original else set()
            wanted = (wanted | set(image.members.add)) - set(image.members.remove)
            if set(current.members) != wanted:
                diverged.append(f"members: want {sorted(wanted)}, have {list(current.members)}")
        if diverged:
            return self._end(
                image, image_id, Status.DIVERGED, "read back differs: " + "; ".join(diverged[:5])
            )
        return self._end(image, image_id, Status.APPLIED)

    @staticmethod
    def _what_changed(image: ImagePlan, live: LiveImage) -> str:
        changed = []
        for op in image.patch:
            key = op.key
            now = live.view.get(key)
            was = op.old
            if (op.op.value == "add" and key in live.view) or (op.op.value != "add" and now != was):
                changed.append(f"{key} was {was!r} at plan time, now {now!r}")
        detail = "; ".join(changed[:3]) or "other attributes or members changed"
        return f"changed since the plan: {detail}"

    def _result(self, image: ImagePlan, status: Status, reason: str) -> ImageResult:
        return ImageResult(image.name, image.id, str(image.action), status, reason)

    def _end(
        self,
        image: ImagePlan,
        image_id: str,
        status: Status,
        reason: str = "",
        request_id: str | None = None,
        left: tuple[str, ...] = (),
    ) -> ImageResult:
        self.journal.write("end", image=image_id, status=str(status), reason=reason)
        return ImageResult(
            image.name, image_id, str(image.action), status, reason, request_id, left
        )


__all__ = ["Applier", "ApplyReport", "ImageResult", "Status", "roll_back_journal"]


def roll_back_journal(
    client: GlanceAPI,
    journal: Journal,
    records: tuple[dict[str, Any] | None, dict[str, ImageHistory]],
) -> ApplyReport:
    """Undo what a run recorded in its journal (a run killed half-way, say): every step
    that may have happened and was not undone, newest first per image; then compare each
    image with its original. Undone steps are appended to the journal, so a second
    rollback is a no-op."""
    _run, images = records
    results = []
    for image_id, history in images.items():
        done = [
            (record["seq"], from_record(record["kind"], record.get("step") or {}))
            for record in history.to_undo()
        ]
        members = history.original_members
        before = Original(
            history.original,
            history.original_status,
            tuple(members) if members is not None else None,
        )
        problems, left = roll_back_image(client, journal, image_id, done, before)
        status = Status.ROLLBACK_FAILED if problems or left else Status.ROLLED_BACK
        results.append(
            ImageResult(
                history.name or image_id,
                image_id,
                "rollback",
                status,
                "; ".join(problems),
                None,
                tuple(left),
            )
        )
    return ApplyReport(tuple(results), str(journal.path))


@dataclass(frozen=True)
class Original:
    """An image as it was before the run's first write to it: its view (None: the run
    created it), status, and members (None: not managed, so not compared)."""

    view: dict[str, Any] | None
    status: str | None = None
    members: tuple[str, ...] | None = None

    @classmethod
    def of(cls, live: LiveImage | None, members_managed: bool) -> Original:
        if live is None:
            return cls(None)
        return cls(live.view, live.status, live.members if members_managed else None)


def roll_back_image(
    client: GlanceAPI,
    journal: Journal,
    image_id: str,
    done: Iterable[tuple[int, Step]],
    original: Original,
) -> tuple[list[str], list[str]]:
    """The one rollback path (after a failed step, and from a journal): undo the steps
    given (newest first), each until done, journalling each undo; then read the image
    back and compare it with its original. Returns the problems met and what is left
    changed. A step that cannot be undone (a delete) is not attempted: the comparison
    says whether it changed anything."""
    problems = undo_steps(client, journal, ((image_id, seq, step) for seq, step in done))
    try:
        left = left_changed(client, image_id, original)
    except CloudError as err:
        problems.append(f"read back failed: {err.message}")
        left = []
    return problems, left


def undo_steps(
    client: GlanceAPI, journal: Journal, done: Iterable[tuple[str, int, Step]]
) -> list[str]:
    """Undo each step given (newest first: the caller's order), each until done,
    journalling each undo; the problems met. A step that cannot be undone (a delete)
    is not attempted: the comparison that follows says whether it changed anything."""
    problems: list[str] = []
    for image_id, seq, step in done:
        if not step.reversible:
            continue
        try:
            undo_until_done(client, image_id, step)
            journal.write("undone", seq=seq)
        except CloudError as err:
            problems.append(f"undo of {step.kind} failed: {err}")
    return problems


def left_changed(client: GlanceAPI, image_id: str, original: Original) -> list[str]:
    """What differs between the image now and its original ([] when restored)."""
    raw = client.find_image(image_id)
    if original.view is None:
        return [] if raw is None else [f"image {image_id} (created by the run) still exists"]
    if raw is None:
        return ["the image is gone"]
    current = LiveImage.from_api(raw)
    left = differences(original.view, current.view)
    if original.status is not None and original.status != current.status:
        left.append(f"status: {original.status!r} -> {current.status!r}")
    if original.members is not None:
        members = read_members(client, current)
        if sorted(members) != sorted(original.members):
            left.append(f"members: {list(original.members)} -> {list(members)}")
    return left
