"""Carry out a plan: the interpreter of units, the only code that writes to the cloud.

Per image, the plan runs as a small transaction (see `reconciler.apply.steps` for the order):
1. re-read the image and compare its fingerprint with the plan's; a changed image is
   skipped as `stale` (Glance has no ETag or conditional PATCH, so this re-read shortly
   before writing is the only guard; images are re-read in small chunks, see
   `reconciler.cloud.readahead`);
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

from reconciler.apply.journal import ImageHistory, Journal
from reconciler.apply.steps import (
    IMPORT_WAIT,
    DeleteImage,
    Step,
    from_record,
    store_steps,
)
from reconciler.apply.units import Phase, Unit, compile_unit
from reconciler.cloud.api import GlanceAPI
from reconciler.cloud.live import read_members
from reconciler.cloud.readahead import ReadAhead
from reconciler.errors import CloudError, ResponseLost
from reconciler.model.image_view import LiveImage
from reconciler.model.plan import Action, BuildPlan, BuildRole, ImagePlan, Plan, unescape_pointer
from reconciler.model.report import ApplyReport, ImageResult, Status, differences
from reconciler.runtime.interrupts import STOP, mapped
from reconciler.runtime.waits import Again, retry

# Glance on sqlite answers concurrent writes with bursts of 500 "database is locked"
# (MySQL deadlocks do the same on real clouds): at parallelism 4 one image's PATCH was
# seen failing 9 times in 11 s while the others won the lock. With backoff capped at
# RetryPolicy.max_delay (5 s), 16 resends wait up to about a minute before giving up.
LOST_ANSWER_RETRIES = 16
TAIL_ATTEMPTS = 3  # sends of a step after the commit point before it is reported left
INTERRUPTED = "interrupted: not started"
UNDO_ATTEMPTS = 12


def undo_until_done(client: GlanceAPI, image_id: str, step: Step) -> None:
    """Undo one step, again after any failure: undo is computed against the image as
    it is now, so sending it again is safe, and giving up would leave the image half
    changed. Even a refusal (403, 409, 413) is tried again: undoing restores what this
    run itself changed moments ago, so a refusal is more likely transient (a proxy, a
    policy reload, lock contention) than final; only the last attempt's error stands."""

    def attempt(_n: int) -> Again | None:
        try:
            step.undo(client, image_id)
        except CloudError as err:
            return Again(err)
        return None

    retry(attempt, attempts=UNDO_ATTEMPTS, backoff=client.retry.delay, sleep=client.sleep)


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
        on_data: Callable[[ImagePlan, int, int | None], None] | None = None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.parallelism = max(1, parallelism)
        self.import_wait = import_wait
        self.on_done = on_done
        self.on_data = on_data  # (image, bytes read, length) while data streams
        self._notes: dict[str, list[str]] = {}  # per image name: see _notice
        self._ahead = ReadAhead(client, ())

    def run(self, plan: Plan) -> ApplyReport:
        self.journal.write("run", run_id=str(uuid.uuid4()), target=plan.target.__dict__)
        work = [image for image in plan.images if image.has_work]
        skipped = skipped_entries(plan)
        self._ahead = ReadAhead(
            self.client, [i.id for i in work if i.action is not Action.CREATE and i.id]
        )
        with ThreadPoolExecutor(self.parallelism) as pool:
            results = mapped(pool, self._one, work)
        return ApplyReport(tuple(results + skipped), str(self.journal.path))

    def _one(self, image: ImagePlan) -> ImageResult:
        if STOP.requested:  # Ctrl-C: nothing new starts (see reconciler.runtime.interrupts)
            result = self._result(image, Status.SKIPPED, INTERRUPTED)
            self.on_done(result)
            return result
        try:
            result = self._with_stores(image, self._apply_image(image))
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
        """Stale check, journal, run, verify: the one path of every entry (a unit)."""
        live: LiveImage | None = None
        if image.action is not Action.CREATE:
            assert image.id is not None
            fresh = self._fresh(image)
            if isinstance(fresh, ImageResult):
                return fresh
            live = fresh
            if image.action is Action.DELETE and live.view.get("protected"):
                return self._result(image, Status.SKIPPED, "protected images are never pruned")
        originals = self._fresh_builds(image, live)
        if isinstance(originals, ImageResult):
            return originals
        building = image.action in (Action.CREATE, Action.REBUILD)
        main_id = str(uuid.uuid4()) if building else image.id
        assert main_id is not None
        unit = compile_unit(
            image, main_id, self.import_wait, self._watch(image), self._notice(image)
        )
        if live is not None:
            self._original(image, live)
        for build in originals.values():
            if live is None or build.id != live.id:
                self._original(image, build, build.name)
        if building:
            self.journal.write("original", image=main_id, name=image.name, view=None, members=None)
        return self._run_unit(unit, live, originals)

    def _run_unit(
        self, unit: Unit, live: LiveImage | None, originals: dict[str, LiveImage]
    ) -> ImageResult:
        """The unit's phases in order; a failure before the commit point undoes them all
        (`_roll_back_unit`, newest first across the unit's images). Then the entry is
        verified; only then does the tail run (`_run_tail`): never after a failure."""
        image, main_id = unit.image, unit.main_id
        done: list[tuple[str, int, Step]] = []
        answer: dict[str, Any] | None = None
        for phase in unit.phases:
            outcome = self._run_steps(phase.image_id, list(phase.steps))
            done += [(phase.image_id, seq, step) for seq, step in outcome.done]
            if outcome.error is not None:
                return self._roll_back_unit(unit, live, originals, done, outcome.error)
            if phase.image_id == main_id:
                answer = outcome.answer
        if image.action is Action.DELETE:
            gone = self.client.find_image(main_id) is None
            status = Status.APPLIED if gone else Status.DIVERGED
            return self._end(image, main_id, status, "" if gone else "still there after delete")
        status, reason = self._check(image, main_id, None if unit.building else live, answer)
        problems = [
            problem
            for _id, problem in self._verify_each_build(
                [p.build for p in unit.phases if p.build], originals
            )
        ]
        if status is not Status.APPLIED or problems:
            # The tail never follows a failed verification: retired builds stay as they
            # are until the entry is as asked (the next plan retires them then).
            held = [f"retired build {p.image_id} not {_retirement(p)}" for p in unit.tail]
            detail = "; ".join(part for part in (reason, *problems, *held) if part)
            return self._end(image, main_id, Status.DIVERGED, detail)
        if not image.builds:
            return self._end(image, main_id, status, reason)
        left = self._run_tail(unit, originals)
        if left:
            note = _builds_note(image, main_id, kept=frozenset(left))
            detail = "; ".join([note, *left.values()])
            return self._end(image, main_id, Status.INCOMPLETE, detail + " (plan again)")
        return self._end(image, main_id, Status.APPLIED, _builds_note(image, main_id))

    def _run_tail(self, unit: Unit, originals: dict[str, LiveImage]) -> dict[str, str]:
        """The steps after the commit point (retirements, deletes last), each phase sent
        up to TAIL_ATTEMPTS times, never undone; what is left undone, by build id."""
        left: dict[str, str] = {}
        for phase in unit.tail:
            error = self._run_tail_phase(phase)
            what = _retirement(phase)
            if error is not None:
                left[phase.image_id] = f"retired build {phase.image_id} not {what}: {error.brief}"
            elif what == "deleted" and self.client.find_image(phase.image_id) is not None:
                left[phase.image_id] = f"retired build {phase.image_id} still there after delete"
        kept = [p.build for p in unit.tail if p.build and not p.build.delete]
        for problem_id, problem in self._verify_each_build(
            [b for b in kept if b.id not in left], originals
        ):
            left[problem_id] = problem
        return left

    def _run_tail_phase(self, phase: Phase) -> CloudError | None:
        """One phase of the tail, sent up to TAIL_ATTEMPTS times; its last error."""

        def attempt(_n: int) -> Again | None:
            error = self._run_steps(phase.image_id, list(phase.steps)).error
            return None if error is None else Again(error)

        try:
            retry(
                attempt,
                attempts=TAIL_ATTEMPTS,
                backoff=self.client.retry.delay,
                sleep=self.client.sleep,
            )
        except CloudError as error:
            return error
        return None

    def _with_stores(self, image: ImagePlan, result: ImageResult) -> ImageResult:
        """An applied image's store changes (multi-store), after everything else: the
        copies, then the prunes. A failure is `copy_failed` and undoes nothing: the
        image is as applied, usable where its data is (the journal's `end` for the
        image is written again with that status)."""
        stores = image.stores
        if stores is None or not stores.has_work or result.status is not Status.APPLIED:
            return result
        image_id = result.id
        assert image_id is not None
        outcome = self._run_steps(image_id, store_steps(stores, self.import_wait))
        done = [f"in store(s) {', '.join(stores.wanted)}"] if stores.missing else []
        done += [f"deleted from store {store}" for store in stores.prune]
        if outcome.error is None:
            reason = "; ".join(part for part in (result.reason, *done) if part)
            return replace(result, reason=reason)
        reason = "; ".join(part for part in (result.reason, outcome.error.brief) if part)
        self.journal.write("end", image=image_id, status=str(Status.COPY_FAILED), reason=reason)
        return replace(
            result,
            status=Status.COPY_FAILED,
            reason=reason,
            request_id=outcome.error.request_id,
        )

    def _notice(self, image: ImagePlan) -> Callable[[str], None]:
        """Where this image's data step tells what its report should add (a mirror
        passed over); `_end` adds it to the result's reason."""
        return self._notes.setdefault(image.name, []).append

    def _watch(self, image: ImagePlan) -> Callable[[int, int | None], None] | None:
        """The progress callback of this image's data, if anyone listens."""
        on_data = self.on_data
        if on_data is None or image.data is None:
            return None
        return lambda done, length: on_data(image, done, length)

    def _fresh_builds(
        self, image: ImagePlan, live: LiveImage | None
    ) -> dict[str, LiveImage] | ImageResult:
        """Each build the plan changes, as it is now, or the result that skips the
        entry: a build gone or changed since the plan (the outgoing current build,
        `live`, was just checked)."""
        found: dict[str, LiveImage] = {}
        for build in image.builds:
            if live is not None and build.id == live.id:
                found[build.id] = live
                continue
            current = self._current(build.id, False)
            if current is None:
                return self._result(
                    image, Status.STALE, f"build {build.id} was deleted since the plan"
                )
            if current.fingerprint != build.fingerprint:
                return self._result(
                    image,
                    Status.STALE,
                    f"build {build.id} ({build.name!r}) changed since the plan; run plan again",
                )
            found[build.id] = current
        return found

    def _verify_each_build(
        self, builds: list[BuildPlan], originals: dict[str, LiveImage]
    ) -> list[tuple[str, str]]:
        """What differs between each changed build and its planned state, by build id."""
        problems: list[tuple[str, str]] = []
        for build in builds:
            if build.delete or not build.has_work:
                continue
            current = self._current(build.id, False)
            if current is None:
                problems.append((build.id, f"build {build.id} is gone after apply"))
                continue
            ops = [op.to_json_patch() for op in build.patch]
            expected = jsonpatch.apply_patch(copy.deepcopy(originals[build.id].view), ops)
            diverged = differences(expected, current.view)
            if build.activation is not None and current.status != build.activation.status:
                diverged.append(f"status: want {build.activation.status!r}")
            if diverged:
                problems.append((build.id, f"build {build.id}: " + "; ".join(diverged[:3])))
        return problems

    def _roll_back_unit(
        self,
        unit: Unit,
        live: LiveImage | None,
        originals: dict[str, LiveImage],
        done: list[tuple[str, int, Step]],
        err: CloudError,
    ) -> ImageResult:
        """The one rollback after a failure: every step done, newest first across the
        unit's images; then each image compared with its original."""
        image, main_id = unit.image, unit.main_id
        labelled = bool(image.builds) or image.action is Action.REBUILD
        problems = undo_steps(self.client, self.journal, reversed(done))
        left: list[str] = []
        befores: list[tuple[str, str, Original]] = [
            (f"build {b.id}", b.id, Original.of(b, False))
            for b in originals.values()
            if live is None or b.id != live.id
        ]
        if live is not None:
            befores.insert(0, ("", live.id, Original.of(live, image.members_managed)))
        if main_id not in originals and (live is None or main_id != live.id):
            befores.append(("new build" if labelled else "", main_id, Original(None)))
        for label, image_id, before in befores:
            try:
                changed = left_changed(self.client, image_id, before)
            except CloudError as read_err:
                problems.append(f"read back of {image_id} failed: {read_err.message}")
                continue
            left += [f"{label}: {line}" if label else line for line in changed]
        shown_id = live.id if live is not None else main_id
        if problems or left:
            detail = "; ".join(problems) or "see left_changed"
            return self._end(
                image,
                shown_id,
                Status.ROLLBACK_FAILED,
                f"{err.brief}; rollback incomplete: {detail}",
                err.request_id,
                tuple(left),
            )
        return self._end(image, shown_id, Status.ROLLED_BACK, err.brief, err.request_id)

    def _original(self, image: ImagePlan, live: LiveImage, name: str | None = None) -> None:
        self.journal.write(
            "original",
            image=live.id,
            name=name or image.name,
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

        def attempt(n: int) -> dict[str, Any] | Again | None:
            try:
                if n == 0:
                    return step.send(self.client, image_id)
                return step.converge(self.client, image_id)
            except ResponseLost as lost:
                return Again(lost)

        return retry(
            attempt,
            attempts=LOST_ANSWER_RETRIES + 1,
            backoff=self.client.retry.delay,
            sleep=self.client.sleep,
        )

    def _verify(
        self,
        image: ImagePlan,
        image_id: str,
        original: LiveImage | None,
        answer: dict[str, Any] | None,
    ) -> ImageResult:
        """Compare the image (as answered, or read back) with the desired view; the
        image's one `end` record."""
        status, reason = self._check(image, image_id, original, answer)
        return self._end(image, image_id, status, reason)

    def _check(
        self,
        image: ImagePlan,
        image_id: str,
        original: LiveImage | None,
        answer: dict[str, Any] | None,
    ) -> tuple[Status, str]:
        """`applied`, or `diverged` with what differs (the image as answered, or read
        back, against the desired view). Writes nothing."""
        current = self._current(image_id, image.members_managed, answer)
        if current is None:
            return Status.DIVERGED, "the image is gone after apply"
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
            return Status.DIVERGED, "read back differs: " + "; ".join(diverged[:5])
        return Status.APPLIED, ""

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
        notes = self._notes.pop(image.name, [])
        reason = "; ".join(part for part in (reason, *notes) if part)
        self.journal.write("end", image=image_id, status=str(status), reason=reason)
        return ImageResult(
            image.name, image_id, str(image.action), status, reason, request_id, left
        )


def skipped_entries(plan: Plan) -> list[ImageResult]:
    """The plan's entries that could not be planned, as apply reports them (skipped)."""
    return [
        ImageResult(i.name, i.id, str(i.action), Status.SKIPPED, i.error or "")
        for i in plan.images
        if i.action is Action.ERROR
    ]


def _retirement(phase: Phase) -> str:
    """What a tail phase does to its build, as the report says it."""
    if any(isinstance(step, DeleteImage) for step in phase.steps):
        return "deleted"
    if phase.build is not None and phase.build.activation is not None:
        return "deactivated"
    return "retired"


def _builds_note(image: ImagePlan, main_id: str, kept: frozenset[str] = frozenset()) -> str:
    """`new build ID; previous build ID now 'NAME'; 1 retired (hide)`; `kept`: retired
    builds whose delete failed (said elsewhere)."""
    parts = [f"new build {main_id}"] if image.action in (Action.CREATE, Action.REBUILD) else []
    for build in image.builds:
        if build.id in kept:
            continue
        if build.delete:
            parts.append(f"retired build {build.id} deleted")
        elif build.role is BuildRole.RETIRED:
            how = "deactivated" if build.activation is not None else "retired"
            parts.append(f"build {build.id} {how}" + (f" ({build.note})" if build.note else ""))
        elif build.new_name is not None and build.new_name != build.name:
            what = "previous build" if build.id == image.id else "build"
            parts.append(f"{what} {build.id} now {build.new_name!r}")
    return "; ".join(parts)


__all__ = ["Applier", "ApplyReport", "ImageResult", "Status", "roll_back_journal"]


def roll_back_journal(
    client: GlanceAPI,
    journal: Journal,
    records: tuple[dict[str, Any] | None, dict[str, ImageHistory]],
) -> ApplyReport:
    """Undo what a run recorded in its journal (a run killed half-way, say): every step
    that may have happened and was not undone, newest first across the whole run (by
    the journal's seq, so a unit's images are undone in the reverse of the order they
    were changed: a rebuild's new build gives the name back before the old build takes
    it again, and no two images hold the plain name); then compare each image with its
    original. Undone steps are appended to the journal, so a second rollback is a
    no-op."""
    _run, images = records
    pending = sorted(
        (
            (record["seq"], image_id, from_record(record["kind"], record.get("step") or {}))
            for image_id, history in images.items()
            for record in history.to_undo()
        ),
        key=lambda item: item[0],
        reverse=True,
    )
    problems: dict[str, list[str]] = {image_id: [] for image_id in images}
    for seq, image_id, step in pending:
        problems[image_id] += undo_steps(client, journal, [(image_id, seq, step)])
    results = []
    for image_id, history in images.items():
        members = history.original_members
        before = Original(
            history.original,
            history.original_status,
            tuple(members) if members is not None else None,
        )
        found = problems[image_id]
        try:
            left = left_changed(client, image_id, before)
        except CloudError as err:
            found.append(f"read back failed: {err.message}")
            left = []
        deleted = any(step["kind"] == DeleteImage.kind for step in history.steps)
        if deleted and left == ["the image is gone"]:
            found.append(
                "deleted by the run (a retired build or a pruned image): Glance cannot "
                "bring a deleted image back"
            )
        status = Status.ROLLBACK_FAILED if found or left else Status.ROLLED_BACK
        results.append(
            ImageResult(
                history.name or image_id,
                image_id,
                "rollback",
                status,
                "; ".join(found),
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
        left += differences({"members": sorted(original.members)}, {"members": sorted(members)})
    return left
