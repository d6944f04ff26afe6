"""The crash campaign: SIGKILL `reconciler apply` at a seeded point (after the journal
has N records), then `reconciler rollback JOURNAL` must bring every image back to its
original, and a fresh apply must reach the desired state.

    .venv/bin/python -m tests.faults.crash --runs 30
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
from tests.faults import scenario
from tests.sandbox.helpers import run_cli


@dataclass
class CrashFigures:
    runs: int = 0
    killed: int = 0  # runs killed before they ended by themselves
    kill_points: list[int] = field(default_factory=list)
    images_checked: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "killed_mid_run": self.killed,
            "kill_points_journal_records": self.kill_points,
            "images_checked": self.images_checked,
            "violations": len(self.violations),
            "violation_details": self.violations[:20],
            "images_left_in_status_deleted_by_glance": len(scenario.ZOMBIES),
            "seconds": round(self.seconds, 1),
        }


def crash_run(sandbox: Sandbox, seed: int, folder: Path, figures: CrashFigures) -> None:
    rng = random.Random(seed)
    batch = scenario.build(sandbox, seed, existing=5, creates=2)
    manifest = batch.manifest(folder)
    journal = folder / f"{batch.prefix}.jsonl"
    point = rng.randint(1, 36)
    figures.kill_points.append(point)
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
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= point:
            os.kill(proc.pid, signal.SIGKILL)
            figures.killed += 1
            break
        time.sleep(0.003)
    proc.wait()
    figures.runs += 1
    where = f"seed {seed} (killed after {point} records)"
    try:
        if journal.exists():
            done = run_cli(sandbox, "rollback", "--format", "json", str(journal))
            if done.returncode != 0:
                figures.violations.append(
                    f"{where}: rollback exit {done.returncode}: "
                    f"{done.stdout[-300:]} {done.stderr[-300:]}"
                )
        live = scenario.live_by_name(sandbox, batch)
        for planned in batch.images:
            figures.images_checked += 1
            copies = live.get(planned.name, [])
            current = copies[0] if len(copies) == 1 else None
            if len(copies) > 1 or not scenario.is_original(sandbox, planned, current):
                figures.violations.append(
                    f"{where}: {planned.name} not back to its original: "
                    + scenario.difference(planned, current)
                )
        again = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(manifest))
        if again.returncode != 0:
            figures.violations.append(f"{where}: fresh apply exit {again.returncode}")
        live = scenario.live_by_name(sandbox, batch)
        for planned in batch.images:
            copies = live.get(planned.name, [])
            if len(copies) != 1 or not scenario.is_desired(sandbox, planned, copies[0]):
                figures.violations.append(f"{where}: {planned.name} not desired after apply")
    finally:
        scenario.cleanup(sandbox, batch)


def crash_campaign(sandbox: Sandbox, runs: int, first_seed: int, folder: Path) -> CrashFigures:
    folder.mkdir(parents=True, exist_ok=True)
    figures = CrashFigures()
    started = time.monotonic()
    for seed in range(first_seed, first_seed + runs):
        crash_run(sandbox, seed, folder, figures)
    figures.seconds = time.monotonic() - started
    return figures


def main() -> int:
    from tests.conftest import start_sandbox

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("out/crash-campaign"))
    args = parser.parse_args()
    figures = crash_campaign(start_sandbox(), args.runs, args.first_seed, args.dir)
    print(json.dumps(figures.as_dict(), indent=2))
    return 1 if figures.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
