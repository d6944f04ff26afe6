"""SIGKILL at seeded points during apply, then rollback and a fresh apply.

CI runs RECONCILER_CRASH_RUNS (default 6); `python -m tests.faults.crash --runs 30` is
the full campaign."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import SUMMARY, Sandbox
from tests.faults.crash import crash_campaign

RUNS = int(os.environ.get("RECONCILER_CRASH_RUNS", "6"))


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
