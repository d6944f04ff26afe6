"""SIGKILL at seeded points during apply, then rollback and a fresh apply.

CI runs RECONCILER_CRASH_RUNS (default 4) of metadata entries, and one kill during a
20 MB upload of a rebuild; `python -m tests.faults.crash --runs 30` is the full campaign
(with creates with data, rebuilds and rotations, killed at random moments)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import SUMMARY, Sandbox
from tests.faults import builds, scenario
from tests.faults.crash import TRANSFER, crash_campaign, kill_when_due
from tests.sandbox.helpers import create_image, run_cli, write_manifest

RUNS = int(os.environ.get("RECONCILER_CRASH_RUNS", "4"))


def test_crash_campaign(sandbox: Sandbox, tmp_path: Path) -> None:
    figures = crash_campaign(sandbox, RUNS, first_seed=500, folder=tmp_path)
    result = figures.as_dict()
    SUMMARY.append(
        "crash campaign: "
        + json.dumps({k: v for k, v in result.items() if k != "violation_details"})
    )
    assert result["violations"] == 0, result["violation_details"]
    assert result["runs"] == RUNS and result["images_checked"] == RUNS * 7
    assert result["killed_mid_run"] >= RUNS // 2  # most runs really were cut short


def test_kill_mid_upload_of_a_rebuild_then_rollback(
    sandbox: Sandbox, unique: str, tmp_path: Path
) -> None:
    """SIGKILL while a rebuild's 20 MB go to Glance: `rollback JOURNAL` leaves the
    entry exactly as before (no new build, the current build's fields untouched)."""
    size = 20_000_000
    (entry,) = builds.plan_entries(
        sandbox, 3, unique, tmp_path, specs=[("upload", 1, None)], new_size=(size, size)
    )
    try:
        builds.seed_builds(sandbox, [entry], tmp_path, unique)
        manifest = tmp_path / "images.yaml"
        manifest.write_text(json.dumps({"version": 1, "images": [entry.entry(2)]}))
        journal = tmp_path / "j.jsonl"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "apply",
                "--auto-approve",
                "--journal",
                str(journal),
                str(manifest),
            ],
            env=sandbox.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        kill_when_due(proc, journal, random.Random(0), True, "data", (1, 0.05))
        proc.wait()
        statuses = [
            image["status"]
            for image_id, image in builds.live_builds(sandbox, [entry], set())[entry.name].items()
            if image_id not in entry.before
        ]
        assert proc.returncode == -signal.SIGKILL, "the apply ended before the kill"
        done = run_cli(sandbox, "rollback", "--format", "json", str(journal))
        assert done.returncode == 0, done.stdout + done.stderr
        violations: list[str] = []
        builds.verify(
            sandbox, [entry], None, builds.DataVerdict(), violations, scenario.ZOMBIES, "original"
        )
        assert violations == [], (violations, statuses)
        SUMMARY.append(f"crash mid-upload: new build was {statuses} at the kill; rolled back")
        assert set(statuses) & (TRANSFER | {"queued"}), statuses
    finally:
        builds.cleanup(sandbox, [entry])


def test_image_left_in_status_deleted_counts_as_gone(
    sandbox: Sandbox, unique: str, tmp_path: Path
) -> None:
    """Glance deletes in two database steps (status, then the row); the crash campaign
    saw the second fail under sqlite's lock, leaving the image listed in status
    `deleted` and refusing every further DELETE with 400. Here that state is made
    directly in Glance's database; the tool's rollback and plan must treat it as gone."""
    image_id = create_image(sandbox, {"name": f"{unique}-z", "visibility": "private"})
    with sqlite3.connect(sandbox.root / "glance" / "glance.db") as db:
        db.execute("UPDATE images SET status = 'deleted' WHERE id = ?", (image_id,))
    answer = sandbox.session().delete(f"{sandbox.glance_url}/v2/images/{image_id}", raise_exc=False)
    assert answer.status_code == 400 and "deleted to deleted" in answer.text
    journal = tmp_path / "j.jsonl"
    journal.write_text(
        '{"type":"run","run_id":"r","target":{}}\n'
        f'{{"type":"original","image":"{image_id}","name":"{unique}-z","view":null,'
        '"members":null}\n'
        f'{{"type":"begin","seq":1,"image":"{image_id}","kind":"create","step":{{"body":{{}}}}}}\n'
        '{"type":"done","seq":1}\n'
    )
    done = run_cli(sandbox, "rollback", "--format", "json", str(journal))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["images"][0]["status"] == "rolled_back"
    manifest = write_manifest(tmp_path, f"version: 1\nimages:\n  - name: {unique}-z\n")
    plan = run_cli(sandbox, "plan", "--format", "json", str(manifest))
    assert json.loads(plan.stdout)["images"][0]["action"] == "create"
