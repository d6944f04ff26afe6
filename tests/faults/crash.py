"""The crash campaign: SIGKILL `reconciler apply` at a seeded point, then `reconciler
rollback JOURNAL` must bring every image back to its original, and a fresh apply must
reach the desired state.

    .venv/bin/python -m tests.faults.crash --runs 30 [--data 3]

With `--data N` (default 3; 0 for metadata only) each run also has N entries with a
`source:` (tests.faults.builds: a create with data, a rebuild, rotations with 2-3
existing builds seeded by applying first), whose new build is 20-50 MB so that a kill
can land while the bytes move. The kill point is seeded among three ways: after N
journal records; a random moment after a data step began (mostly mid-transfer); a
random moment after start. Right after the kill the data images' statuses are read, to
count the kills that landed mid-transfer (saving, uploading, importing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import Sandbox
from tests.faults import builds, scenario
from tests.sandbox.helpers import run_cli


@dataclass
class CrashFigures:
    runs: int = 0
    killed: int = 0  # runs killed before they ended by themselves
    kill_points: list[int] = field(default_factory=list)
    kill_ways: dict[str, int] = field(default_factory=dict)
    killed_mid_transfer: int = 0  # a data image was saving/uploading/importing at the kill
    statuses_at_kill: dict[str, int] = field(default_factory=dict)
    images_checked: int = 0
    data: builds.DataVerdict = field(default_factory=builds.DataVerdict)
    rollback_statuses: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "killed_mid_run": self.killed,
            "kill_points_journal_records": self.kill_points,
            "kill_ways": dict(sorted(self.kill_ways.items())),
            "killed_mid_transfer": self.killed_mid_transfer,
            "new_build_statuses_at_kill": dict(sorted(self.statuses_at_kill.items())),
            "rollback_statuses": dict(sorted(self.rollback_statuses.items())),
            "images_checked": self.images_checked,
            "data_entries_checked": self.data.checked,
            "data_outcomes_by_kind": dict(sorted(self.data.by_kind.items())),
            "violations": len(self.violations),
            "violation_details": self.violations[:20],
            "images_left_in_status_deleted_by_glance": len(scenario.ZOMBIES),
            "seconds": round(self.seconds, 1),
        }


TRANSFER = {"saving", "uploading", "importing"}
BIG = (20_000_000, 50_000_000)


def _data_begins(journal: Path) -> int:
    if not journal.exists():
        return 0
    return journal.read_bytes().count(b'"kind":"data"')


def kill_when_due(
    proc: subprocess.Popen[bytes],
    journal: Path,
    rng: random.Random,
    data: bool,
    way: str | None = None,
    at: tuple[int, float] | None = None,
) -> tuple[str, int, float]:
    """Wait for the seeded kill point, then SIGKILL. Returns how the point was chosen
    (`way` if given), the journal records (or data step) it waits for, and the delay
    (`at`: that point and delay, not drawn)."""
    # Without data, the draws are those of the metadata-only campaign (same seeds, same
    # kill points as before data came in).
    way = way or (rng.choice(["records", "data", "data", "time"]) if data else "records")
    point = rng.randint(1, 60 if data else 36)
    delay = 0.0
    if way == "data":
        point = rng.randint(1, 2)
        delay = rng.uniform(0.0, 1.0)
    elif way == "time":
        delay = rng.uniform(0.5, 12.0)
    if at is not None:
        point, delay = at
    started = time.monotonic()
    deadline = started + 300
    due: float | None = started + delay if way == "time" else None
    while proc.poll() is None and time.monotonic() < deadline:
        now = time.monotonic()
        if due is None:
            if way == "records" and journal.exists():
                if journal.read_bytes().count(b"\n") >= point:
                    due = now
            elif way == "data" and _data_begins(journal) >= point:
                due = now + delay
        if due is not None and now >= due:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.003)
    return way, point, delay


def crash_run(
    sandbox: Sandbox, seed: int, folder: Path, figures: CrashFigures, data: int = 0
) -> None:
    rng = random.Random(seed)
    batch = scenario.build(sandbox, seed, existing=5, creates=2)
    entries = builds.plan_entries(sandbox, seed, batch.prefix, folder, data, new_size=BIG)
    try:
        _crash_run(sandbox, seed, folder, figures, rng, batch, entries)
    finally:
        scenario.cleanup(sandbox, batch)
        builds.cleanup(sandbox, entries)


def _crash_run(
    sandbox: Sandbox,
    seed: int,
    folder: Path,
    figures: CrashFigures,
    rng: random.Random,
    batch: scenario.Batch,
    entries: list[builds.DataEntry],
) -> None:
    builds.seed_builds(sandbox, entries, folder, batch.prefix)
    manifest = batch.manifest(folder)
    if entries:
        document = json.loads(manifest.read_text())
        document["images"] += [entry.entry(entry.rounds) for entry in entries]
        manifest.write_text(json.dumps(document, indent=1))
    journal = folder / f"{batch.prefix}.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            "--auto-approve",
            "--parallelism",
            "2",
            "--journal",
            str(journal),
            str(manifest),
        ],
        env=sandbox.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    way, point, delay = kill_when_due(proc, journal, rng, bool(entries))
    killed = proc.poll() is None
    proc.wait()
    if killed or proc.returncode == -signal.SIGKILL:
        figures.killed += 1
        if entries:
            at_kill = builds.live_builds(sandbox, entries, set())
            new = [
                image["status"]
                for entry in entries
                for image_id, image in at_kill[entry.name].items()
                if image_id not in entry.before
            ]
            for status in new:
                figures.statuses_at_kill[status] = figures.statuses_at_kill.get(status, 0) + 1
            if TRANSFER & set(new):
                figures.killed_mid_transfer += 1
    figures.kill_ways[way] = figures.kill_ways.get(way, 0) + 1
    figures.kill_points.append(point)
    figures.runs += 1
    where = f"seed {seed} (killed: {way} {point}" + (f" +{delay:.2f}s)" if delay else ")")
    gone_ok: frozenset[str] = frozenset()  # deleted by the run: reported, not restorable
    if journal.exists():
        done = run_cli(sandbox, "rollback", "--format", "json", str(journal))
        results: list[dict[str, Any]] = []
        try:
            results = json.loads(done.stdout)["images"]
        except (ValueError, KeyError, TypeError):
            pass
        for result in results:
            status = result["status"]
            figures.rollback_statuses[status] = figures.rollback_statuses.get(status, 0) + 1
        gone_ok = frozenset(
            r["id"]
            for r in results
            if r["status"] == "rollback_failed"
            and "cannot bring a deleted image back" in (r.get("reason") or "")
            and list(r.get("left_changed") or []) == ["the image is gone"]
        )
        failed = {r["id"] for r in results if r["status"] == "rollback_failed"}
        # As far as Glance allows: exit 3 only for images the run deleted (retired
        # builds, pruned orphans), each said so by the rollback's report.
        if done.returncode != 0 and not (done.returncode == 3 and failed <= gone_ok):
            figures.violations.append(
                f"{where}: rollback exit {done.returncode}: "
                f"{done.stdout[-600:]} {done.stderr[-300:]}"
            )
    live = scenario.live_by_name(sandbox, batch)
    for planned in batch.images:
        figures.images_checked += 1
        copies = live.get(planned.name, [])
        current = copies[0] if len(copies) == 1 else None
        if current is None and planned.image_id in gone_ok:
            continue  # deleted by the run, and the rollback said so
        if len(copies) > 1 or not scenario.is_original(sandbox, planned, current):
            figures.violations.append(
                f"{where}: {planned.name} not back to its original: "
                + scenario.difference(planned, current)
            )
    problems: list[str] = []
    builds.verify(
        sandbox,
        entries,
        None,
        figures.data,
        problems,
        scenario.ZOMBIES,
        must_be="original",
        gone_ok=gone_ok,
    )
    figures.violations += [f"{where}: after rollback: {p}" for p in problems]
    again = run_cli(
        sandbox, "apply", "--auto-approve", "--format", "json", str(manifest), timeout=900
    )
    if again.returncode != 0:
        figures.violations.append(
            f"{where}: fresh apply exit {again.returncode}: {again.stdout[-600:]}"
        )
    live = scenario.live_by_name(sandbox, batch)
    for planned in batch.images:
        copies = live.get(planned.name, [])
        if len(copies) != 1 or not scenario.is_desired(sandbox, planned, copies[0]):
            figures.violations.append(f"{where}: {planned.name} not desired after apply")
    if entries:
        problems = []
        verdict = builds.DataVerdict()  # the outcomes above count the rollback's
        builds.verify(
            sandbox, entries, None, verdict, problems, scenario.ZOMBIES, must_be="desired"
        )
        figures.violations += [f"{where}: after a fresh apply: {p}" for p in problems]


def crash_campaign(
    sandbox: Sandbox, runs: int, first_seed: int, folder: Path, data: int = 0
) -> CrashFigures:
    folder.mkdir(parents=True, exist_ok=True)
    figures = CrashFigures()
    started = time.monotonic()
    for seed in range(first_seed, first_seed + runs):
        crash_run(sandbox, seed, folder, figures, data)
        figures.seconds = time.monotonic() - started
        (folder / "figures.json").write_text(json.dumps(figures.as_dict(), indent=2))
        (folder / "violations.txt").write_text("\n".join(figures.violations) + "\n")
    figures.seconds = time.monotonic() - started
    return figures


def main() -> int:
    from tests.conftest import start_sandbox

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--data", type=int, default=3, help="data entries per run")
    parser.add_argument("--dir", type=Path, default=Path("out/crash-campaign"))
    args = parser.parse_args()
    figures = crash_campaign(start_sandbox(), args.runs, args.first_seed, args.dir, args.data)
    print(json.dumps(figures.as_dict(), indent=2))
    return 1 if figures.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
