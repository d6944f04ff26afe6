"""The randomized fault campaign: seeded runs of `reconciler apply` through the fault
proxy, each checked image by image (see scenario.verify). Used by the CI test at a small
size and on demand at full size:

    .venv/bin/python -m tests.faults.campaign --runs 300 [--first-seed 1] [--rate 0.2]
        [--data 4] [--data-rate 0.3]

prints the figures as JSON: runs, faults injected by kind, images checked, how many
ended desired / original, violations (must be 0).

With `--data N` (default 4; 0 for metadata only) each run also has N entries with a
`source:` (see tests.faults.builds: a create with data, a rebuild, rotations with 2-3
existing builds, seeded by applying without faults first). Their data requests (PUT
file, PUT stage, POST import) draw faults with `--data-rate` among the data kinds (a
body cut mid-upload, 500 after the write, a held answer, a lost answer, resets, 5xx);
every entry is checked as a whole (tests.faults.builds.verify).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.conftest import Sandbox, start_sandbox
from tests.faults import builds, scenario
from tests.faults import proxy as fault_proxy
from tests.sandbox.helpers import reconciler

FAULTY = "sandbox-faulty"


def faulty_clouds(sandbox: Sandbox, proxy_url: str, folder: Path) -> Path:
    """A clouds.yaml with one more entry: the demo member, Glance through the proxy."""
    yaml = YAML(typ="safe")
    clouds = yaml.load(sandbox.clouds_file.read_text())
    entry = dict(clouds["clouds"]["sandbox"])
    entry["image_endpoint_override"] = proxy_url
    clouds["clouds"][FAULTY] = entry
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clouds-faulty.yaml"
    with path.open("w") as out:
        yaml.dump(clouds, out)
    path.chmod(0o600)
    return path


def apply_through_proxy(
    sandbox: Sandbox, clouds: Path, manifest: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    """`reconciler apply --format json` of a manifest as the demo member, Glance reached
    through the fault proxy (the `FAULTY` entry of `clouds`); journal beside it."""
    env = {**sandbox.env(), "OS_CLIENT_CONFIG_FILE": str(clouds), "OS_CLOUD": FAULTY}
    return reconciler(
        env,
        "apply",
        "--auto-approve",
        "--format",
        "json",
        *options,
        "--journal",
        str(manifest.with_suffix(".jsonl")),
        str(manifest),
        timeout=600,
    )


@dataclass
class Figures:
    runs: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    exit_codes: Counter[int] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    verdict: scenario.Verdict = field(default_factory=scenario.Verdict)
    data_faults: Counter[str] = field(default_factory=Counter)
    data: builds.DataVerdict = field(default_factory=builds.DataVerdict)
    seed_failures: list[str] = field(default_factory=list)  # applies without faults
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "requests_through_proxy": self.requests,
            "faults_injected": dict(sorted(self.faults.items())),
            "faults_total": sum(self.faults.values()),
            "exit_codes": {str(k): v for k, v in sorted(self.exit_codes.items())},
            "report_statuses": dict(sorted(self.statuses.items())),
            "images_checked": self.verdict.checked,
            "ended_desired": self.verdict.desired,
            "ended_original": self.verdict.original,
            "violations": len(self.verdict.violations),
            "violation_details": self.verdict.violations[:20],
            "data_entries_checked": self.data.checked,
            "data_ended_desired": self.data.desired,
            "data_ended_original": self.data.original,
            "data_outcomes_by_kind": dict(sorted(self.data.by_kind.items())),
            "faults_on_data_requests": dict(sorted(self.data_faults.items())),
            "seeding_failures_without_faults": self.seed_failures[:10],
            "images_left_in_status_deleted_by_glance": len(scenario.ZOMBIES),
            "seconds": round(self.seconds, 1),
        }


def one_run(
    sandbox: Sandbox,
    proxy: fault_proxy.FaultProxy,
    clouds: Path,
    seed: int,
    rate: float,
    folder: Path,
    figures: Figures,
    data: int = 0,
    data_rate: float = 0.3,
) -> None:
    batch = scenario.build(sandbox, seed)
    entries = builds.plan_entries(sandbox, seed, batch.prefix, folder, data)
    try:
        try:
            builds.seed_builds(sandbox, entries, folder, batch.prefix)
        except (RuntimeError, AssertionError) as err:  # no faults yet: the tool's failure
            figures.seed_failures.append(f"seed {seed}: {err}")
            return
        manifest = batch.manifest(folder)
        if entries:
            document = json.loads(manifest.read_text())
            document["images"] += [entry.entry(entry.rounds) for entry in entries]
            manifest.write_text(json.dumps(document, indent=1))
        _faulty_run(
            sandbox, proxy, clouds, seed, rate, data_rate, batch, entries, manifest, figures
        )
    finally:
        scenario.cleanup(sandbox, batch)
        builds.cleanup(sandbox, entries)


def _faulty_run(
    sandbox: Sandbox,
    proxy: fault_proxy.FaultProxy,
    clouds: Path,
    seed: int,
    rate: float,
    data_rate: float,
    batch: scenario.Batch,
    entries: list[builds.DataEntry],
    manifest: Path,
    figures: Figures,
) -> None:
    proxy.reset()
    config: dict[str, Any] = {"seed": seed, "rate": rate, "slow_seconds": 3}
    if entries:
        config |= {"data_rate": data_rate, "data_kinds": builds_data_kinds()}
    proxy.configure(**config)
    try:
        done = apply_through_proxy(
            sandbox,
            clouds,
            manifest,
            "--parallelism",
            "2",
            "--timeout",
            "3",
            "--import-timeout",
            "90",
        )
    finally:
        proxy.calm()
    stats = proxy.stats()
    figures.runs += 1
    figures.requests += stats["requests"]
    figures.faults.update(stats["counts"])
    figures.data_faults.update(stats.get("data_counts", {}))
    figures.exit_codes[done.returncode] += 1
    problems = figures.verdict.violations
    where = f"seed {seed}"
    if "Traceback" in done.stderr or "internal error" in done.stderr:
        problems.append(f"{where}: unhandled exception: {done.stderr.strip()[-500:]}")
    report = None
    if done.returncode in (0, 3):
        try:
            report = json.loads(done.stdout)
        except ValueError:
            problems.append(f"{where}: exit {done.returncode} without a JSON report")
        else:
            figures.statuses.update(r["status"] for r in report["images"])
    elif done.returncode != 1:
        problems.append(f"{where}: exit code {done.returncode}: {done.stderr.strip()[-300:]}")
    before = len(problems)
    outcome = scenario.verify(sandbox, batch, report, figures.verdict)
    for index in range(before, len(problems)):
        problems[index] = f"{where}: {problems[index]} (faults: {stats['log']})"
    before = len(problems)
    data_outcome = builds.verify(sandbox, entries, report, figures.data, problems, scenario.ZOMBIES)
    for index in range(before, len(problems)):
        problems[index] = f"{where}: {problems[index]} (faults: {stats['log']})"
    outcome |= data_outcome
    if done.returncode == 1 and any(state != "original" for state in outcome.values()):
        problems.append(f"{where}: exit 1 (error before writing) but images changed")


def builds_data_kinds() -> list[str]:
    """The kinds drawn for image data requests (the addon's DATA_KINDS; the addon runs
    in mitmproxy's venv and is not imported here)."""
    return ["cut_body", "500_after", "slow", "reset_after", "reset_before", "500", "503"]


def campaign(
    sandbox: Sandbox,
    runs: int,
    first_seed: int,
    rate: float,
    folder: Path,
    data: int = 0,
    data_rate: float = 0.3,
    data_runs: set[int] | None = None,
) -> Figures:
    """`runs` seeded runs; with `data`, the runs whose index is in `data_runs` (every
    run when None) have that many data entries."""
    folder.mkdir(parents=True, exist_ok=True)
    proxy = fault_proxy.start(sandbox.glance_url, folder / "mitmdump.log")
    figures = Figures()
    started = time.monotonic()
    try:
        clouds = faulty_clouds(sandbox, proxy.url, folder)
        for seed in range(first_seed, first_seed + runs):
            index = seed - first_seed
            with_data = data if data_runs is None or index in data_runs else 0
            one_run(sandbox, proxy, clouds, seed, rate, folder, figures, with_data, data_rate)
            figures.seconds = time.monotonic() - started
            (folder / "figures.json").write_text(json.dumps(figures.as_dict(), indent=2))
            (folder / "violations.txt").write_text("\n".join(figures.verdict.violations) + "\n")
    finally:
        proxy.stop()
        figures.seconds = time.monotonic() - started
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--data", type=int, default=4, help="data entries per run")
    parser.add_argument("--data-rate", type=float, default=0.3)
    parser.add_argument("--dir", type=Path, default=Path("out/fault-campaign"))
    args = parser.parse_args()
    figures = campaign(
        start_sandbox(),
        args.runs,
        args.first_seed,
        args.rate,
        args.dir,
        data=args.data,
        data_rate=args.data_rate,
    )
    print(json.dumps(figures.as_dict(), indent=2))
    return 1 if figures.verdict.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
