"""The writing half of the application layer, what `apply` and `rollback` run without
their arguments or their views: connect for a saved plan or a journal (refused when the
credentials act for another project than the one it was written for), run one plan
with its journal, run several targets' plans at once, undo a journal. Network and file
I/O (through `reconciler.apply`); prints nothing: progress goes to an `Observer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.app.pipeline import TargetResult, glance_client, labelled
from reconciler.apply import Applier, roll_back_journal
from reconciler.apply.journal import Journal, default_path, histories
from reconciler.cloud.auth import connect
from reconciler.errors import TargetMismatch
from reconciler.runtime.interrupts import STOP, guarded, mapped

if TYPE_CHECKING:
    from reconciler.cloud.glance import GlanceClient
    from reconciler.model.cloud_options import CloudOptions
    from reconciler.model.plan import ImagePlan, Plan
    from reconciler.model.report import ApplyReport, ImageResult


@dataclass(frozen=True)
class Pace:
    """How fast a plan is applied: images at once, and the seconds an image's data may
    take to become active."""

    parallelism: int
    import_wait: float


class Observer:
    """What an apply tells the view while it runs (nothing, by default); entered for the
    run (a progress view shows itself then)."""

    def __enter__(self) -> Observer:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def image_done(self, result: ImageResult) -> None:
        return None

    def data(self, image: ImagePlan, done: int, length: int | None) -> None:
        return None

    @property
    def wants_data(self) -> bool:
        return False


def connect_as(options: CloudOptions, project_id: str | None, written: str) -> GlanceClient:
    """A client for `options`; refused (TargetMismatch) when `project_id` is known and
    the credentials act for another project (`written`: what names it, for the message:
    "PLAN was planned", "JOURNAL was written")."""
    connection = connect(options)
    if project_id and connection.project_id != project_id:
        raise TargetMismatch(
            f"{written} for project {project_id}, but these credentials act for "
            f"{connection.project_id}"
        )
    return glance_client(connection, options.timeout)


def target_options(cloud: CloudOptions, target: Mapping[str, Any]) -> CloudOptions:
    """The command line's cloud options, the recorded target's where it gives none."""
    return replace(
        cloud,
        cloud=cloud.cloud or target.get("cloud"),
        region=cloud.region or target.get("region"),
    )


def journal_for(journal_path: Path | None, label: str | None) -> Path:
    """The journal of a run (`--journal`, else a new one under .reconciler/journals/);
    `apply-x.<target>.jsonl` for each target of several."""
    path = journal_path or default_path()
    return path if label is None else labelled(path, label)


def apply_plan(
    plan: Plan,
    client: Any,
    journal_path: Path | None,
    pace: Pace,
    observer: Observer | None = None,
) -> ApplyReport:
    """One plan applied with its journal, Ctrl-C handled as reconciler.runtime.interrupts
    says (in the main thread; a target's thread leaves that to `apply_targets`)."""
    observer = observer or Observer()
    with guarded():
        journal = Journal(journal_path or default_path())
        STOP.watch(journal)  # after guarded(): it starts the run's list of journals
        try:
            with observer:
                applier = Applier(
                    client,
                    journal,
                    parallelism=pace.parallelism,
                    import_wait=pace.import_wait,
                    on_done=observer.image_done,
                    on_data=observer.data if observer.wants_data else None,
                )
                return applier.run(plan)
        finally:
            journal.close()


def apply_targets(
    work: Sequence[TargetResult],
    journal_path: Path | None,
    pace: Pace,
    observer: Callable[[TargetResult], Observer],
    several: bool,
) -> list[ApplyReport]:
    """Every target's plan applied at once, each with its own journal (labelled by the
    target when the run has `several` targets, whether or not each has work); the
    reports in the order of `work`."""
    journals = {r.label: journal_for(journal_path, r.label if several else None) for r in work}

    def one(result: TargetResult) -> ApplyReport:
        assert result.plan is not None
        return apply_plan(
            result.plan, result.client, journals[result.label], pace, observer(result)
        )

    with guarded(), ThreadPoolExecutor(max(1, len(work))) as pool:
        return mapped(pool, one, work)


def roll_back(journal_file: Path, cloud: CloudOptions) -> ApplyReport:
    """Undo what an apply run recorded in `journal_file`, newest first."""
    records = histories(journal_file)
    target = (records[0] or {}).get("target") or {}
    client = connect_as(
        target_options(cloud, target), target.get("project_id"), f"{journal_file} was written"
    )
    journal = Journal(journal_file)
    try:
        return roll_back_journal(client, journal, records)
    finally:
        journal.close()
