"""Faults injected by a real proxy (mitmproxy) between the tool and Glance: every image
ends exactly desired or exactly original, and the report says which.

Image data and rotation, kept small here: a body cut mid-upload (PUT file, PUT stage)
and a lost answer to an import, each on an entry whose builds were seeded before (a
rotation deleting its retired build, a rebuild, a rotation hiding one), each entry
checked as a whole (tests.faults.builds.verify). The randomized runs here are metadata
only.

CI runs RECONCILER_FAULT_RUNS seeded runs (default 8); the full campaign
(`python -m tests.faults.campaign --runs 100`, with 4 data entries a run: creates with
data, rebuilds, rotations) runs on demand."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SUMMARY, Sandbox
from tests.faults import builds, campaign, scenario
from tests.faults import proxy as fault_proxy

RUNS = int(os.environ.get("RECONCILER_FAULT_RUNS", "8"))


@pytest.fixture(scope="module")
def proxy(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("faults")
    running = fault_proxy.start(sandbox.glance_url, folder / "mitmdump.log")
    yield running, campaign.faulty_clouds(sandbox, running.url, folder)
    running.stop()


def _apply(sandbox: Sandbox, clouds: Path, manifest: Path) -> tuple[int, dict[str, Any], str]:
    done = campaign.apply_through_proxy(sandbox, clouds, manifest, "--timeout", "2")
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


@pytest.mark.parametrize(
    ("rule", "expect"),
    [
        # The create's answer is lost after Glance made the image: no duplicate.
        ({"method": "POST", "path": r"^/v2/images$", "kind": "reset_after"}, "applied"),
        # A member add answered by a cut connection after it was recorded: read first,
        # not a 409 on a blind resend.
        ({"method": "POST", "path": r"/members$", "kind": "reset_after"}, "applied"),
        # PATCH applied, then answered 500 (sqlite's partial commits look like this).
        ({"method": "PATCH", "path": r"^/v2/images/", "kind": "500_after"}, "applied"),
        # The answer comes after the client's timeout, the write having happened.
        ({"method": "PATCH", "path": r"^/v2/images/", "kind": "slow"}, "applied"),
        # 429 with Retry-After, then fine.
        ({"method": "PATCH", "path": r"^/v2/images/", "kind": "429"}, "applied"),
        # Refused: the image goes back to exactly where it was (members included).
        ({"method": "PATCH", "path": r"^/v2/images/", "kind": "403"}, "rolled_back"),
        ({"method": "PATCH", "path": r"^/v2/images/", "kind": "413"}, "rolled_back"),
        ({"method": "DELETE", "path": r"/members/", "kind": "409"}, "rolled_back"),
    ],
    ids=lambda value: (
        value.get("kind", "") + " " + value.get("method", "") if isinstance(value, dict) else value
    ),
)
def test_one_fault_by_rule(
    sandbox: Sandbox, proxy: Any, tmp_path: Path, rule: dict[str, Any], expect: str
) -> None:
    running, clouds = proxy
    # The rule's own digest (hash() is salted per process: a failure could not be replayed).
    seed = int(hashlib.sha256(json.dumps(rule, sort_keys=True).encode()).hexdigest(), 16) % 10_000
    print(f"fault rule seed {seed}")
    batch = scenario.build(sandbox, seed)
    # Make sure the rule's request happens: the shared image loses or gains its member.
    try:
        running.reset()
        running.configure(rules=[{**rule, "nth": 1}], slow_seconds=3)
        code, report, stderr = _apply(sandbox, clouds, batch.manifest(tmp_path))
        running.calm()
        stats = running.stats()
        verdict = scenario.Verdict()
        scenario.verify(sandbox, batch, report, verdict)
        assert verdict.violations == [], (verdict.violations, stats["log"], stderr)
        if stats["counts"]:  # the request the rule names happened: its effect shows
            statuses = {r["status"] for r in report["images"]}
            assert expect in statuses, (report, stats["log"])
            assert code == (0 if expect == "applied" else 3), stderr
        else:
            assert rule["path"] == r"/members/", stats  # only the member delete may not occur
    finally:
        running.calm()
        scenario.cleanup(sandbox, batch)


def test_randomized_fault_campaign(sandbox: Sandbox, tmp_path: Path) -> None:
    figures = campaign.campaign(sandbox, RUNS, first_seed=1000, rate=0.2, folder=tmp_path)
    result = figures.as_dict()
    SUMMARY.append(
        "fault campaign: "
        + json.dumps({k: v for k, v in result.items() if k != "violation_details"})
    )
    assert result["violations"] == 0, result["violation_details"]
    assert result["runs"] == RUNS
    assert result["images_checked"] == RUNS * 6
    assert result["faults_total"] >= RUNS  # about one in five requests
    assert len(result["faults_injected"]) >= 6  # many kinds, not one


# One entry per data rule, seeded together (one apply per build round for all of them);
# the full campaign draws these and more (500 after the write, held answers, 5xx) at
# random. Kept to three: each costs an apply in `make test`.
# The expected outcome: "desired", or None when both are right (a cut staging upload
# may leave the image `uploading`, which the tool rolls back rather than resend).
DATA_RULES: list[tuple[str, builds.Spec, dict[str, Any], str | None]] = [
    # Cut after part of the body: Glance puts the image back to queued; sent again whole,
    # then the rotation (rename, previous metadata, the retired build deleted).
    ("cut_body file", ("upload", 2, "delete"), {"path": r"/file$", "kind": "cut_body"}, "desired"),
    ("cut_body stage", ("glance-direct", 1, None), {"path": r"/stage$", "kind": "cut_body"}, None),
    # The import's answer is lost after Glance started it: no second import, no leftover.
    (
        "reset_after import",
        ("web-download", 2, "hide"),
        {"path": r"/import$", "kind": "reset_after"},
        "desired",
    ),
]


@pytest.fixture(scope="module")
def data_entries(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, list[builds.DataEntry]]]:
    folder = tmp_path_factory.mktemp("data-faults")
    prefix = f"fd{os.getpid()}x{int(hashlib.sha256(str(folder).encode()).hexdigest(), 16) % 10_000}"
    entries = builds.plan_entries(
        sandbox, 7, prefix, folder, specs=[rule[1] for rule in DATA_RULES]
    )
    try:
        builds.seed_builds(sandbox, entries, folder, prefix)
        yield folder, entries
    finally:
        builds.cleanup(sandbox, entries)


@pytest.mark.parametrize("index", range(len(DATA_RULES)), ids=[r[0] for r in DATA_RULES])
def test_one_data_fault_by_rule(
    sandbox: Sandbox, proxy: Any, data_entries: Any, index: int
) -> None:
    running, clouds = proxy
    folder, entries = data_entries
    entry, (_, _, rule, expect) = entries[index], DATA_RULES[index]
    manifest = folder / f"{entry.name}.yaml"
    manifest.write_text(json.dumps({"version": 1, "images": [entry.entry(entry.rounds)]}))
    try:
        running.reset()
        running.configure(rules=[{**rule, "nth": 1}], slow_seconds=3)
        code, report, stderr = _apply(sandbox, clouds, manifest)
    finally:
        running.calm()
    stats = running.stats()
    assert stats["counts"] == {rule["kind"]: 1}, stats  # the fault happened
    violations: list[str] = []
    outcome = builds.verify(
        sandbox, [entry], report, builds.DataVerdict(), violations, scenario.ZOMBIES, expect
    )
    assert violations == [], (violations, report, stats["log"], stderr)
    assert code == (0 if outcome[entry.name] == "desired" else 3), (report, stderr)
