"""`python -m benchmarks.startup`: how long the CLI takes to start (issue 16), as whole
processes: `reconciler --version`, `--help`, and `validate` of one small manifest, next
to a bare `python -c pass`. Best and mean of N runs with hyperfine when it is installed
(`apt-get install hyperfine`), else with a loop here; the mean CPU time (user + system,
steadier than wall time on a busy machine); peak RSS with /usr/bin/time (the process's
own: a child forked from this one would report this one's size). Prints a Markdown
table with the load average before and after. No sandbox needed.

The package's bytecode is compiled first: an installed wheel has it, and with
PYTHONDONTWRITEBYTECODE set (as in some containers) a stale `.pyc` would be recompiled
by every run and counted.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "manifests/examples/base-images.yaml"
TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    target_s: float | None


@dataclass(frozen=True)
class Timing:
    best_s: float
    mean_s: float
    cpu_s: float  # user + system, mean: steadier than wall time on a busy machine
    peak_rss_mb: float | None


def reconciler_command() -> list[str]:
    """The installed `reconciler` script next to this interpreter, else `-m`."""
    script = Path(sys.executable).with_name("reconciler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def cases() -> list[Case]:
    tool = reconciler_command()
    return [
        Case("python -c pass (the floor)", [sys.executable, "-c", "pass"], None),
        Case("reconciler --version", [*tool, "--version"], 0.15),
        Case("reconciler --help", [*tool, "--help"], 0.15),
        Case(f"reconciler validate {MANIFEST}", [*tool, "validate", MANIFEST], 0.3),
    ]


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr!r}")
    return elapsed, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb(argv: list[str]) -> float | None:
    """The process's peak RSS, from /usr/bin/time (None without it)."""
    if not Path(TIME).exists():
        return None
    done = subprocess.run(
        [TIME, "-f", "%M", *argv], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def loop(argv: list[str], runs: int, warmup: int) -> tuple[float, float, float]:
    for _ in range(warmup):
        run_once(argv)
    walls, cpus = zip(*(run_once(argv) for _ in range(runs)), strict=True)
    return min(walls), statistics.fmean(walls), statistics.fmean(cpus)


def hyperfine(argv: list[str], runs: int, warmup: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run(
            [
                "hyperfine",
                "--shell=none",
                f"--warmup={warmup}",
                f"--runs={runs}",
                "--style=none",
                f"--export-json={out}",
                "--",
                subprocess.list2cmdline(argv),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        result = json.loads(out.read_text())["results"][0]
    return float(result["min"]), float(result["mean"]), result["user"] + result["system"]


def measure(case: Case, runs: int, warmup: int, use_hyperfine: bool) -> Timing:
    timer = hyperfine if use_hyperfine else loop
    best, mean, cpu = timer(case.argv, runs, warmup)
    return Timing(best, mean, cpu, peak_rss_mb(case.argv))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup")
    parser.add_argument("--runs", type=int, default=20, help="measured runs per command")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--no-hyperfine", action="store_true", help="time with the loop here even if installed"
    )
    args = parser.parse_args()
    use_hyperfine = not args.no_hyperfine and shutil.which("hyperfine") is not None
    compileall.compile_dir(ROOT / "reconciler", quiet=1)

    before = load()
    rows = []
    for case in cases():
        timing = measure(case, args.runs, args.warmup, use_hyperfine)
        verdict = "-"
        if case.target_s is not None:
            met = "met" if timing.best_s < case.target_s else "NOT met"
            verdict = f"< {case.target_s:.2f} s: {met}"
        rss = "-" if timing.peak_rss_mb is None else f"{timing.peak_rss_mb:.0f} MB"
        rows.append(
            f"| `{case.label}` | {timing.best_s:.3f} s | {timing.mean_s:.3f} s | "
            f"{timing.cpu_s:.3f} s | "
            f"{rss} | {verdict} |"
        )
    after = load()

    timer = "hyperfine" if use_hyperfine else "a Python loop"
    print(
        f"Start-up, best and mean of {args.runs} runs ({timer}); {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; load average {before} before, {after} after\n"
    )
    print("| command | best | mean | CPU (mean) | peak RSS | target (best) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
