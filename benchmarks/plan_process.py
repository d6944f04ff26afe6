"""`python -m benchmarks.plan_process`: the read-only commands as whole processes
(issue 27), each beside its bare baseline, run in turn and compared by medians:
- `reconciler plan MANIFEST` at 1,000 images (1% changed) against a bare Python process
  (requests only) that authenticates and pages through the same listing (target 1.15);
- `reconciler validate manifests/examples` (what the pre-commit hook runs on every
  commit) against a bare `python -c "import pydantic, ruamel.yaml, requests"` (target
  1.25).
Starts its own sandbox (`--sandbox-dir`, sqlite unless `--database mariadb`), seeds the
1,000 images once (reruns reuse them) and prints a Markdown table; `--out FILE` writes
the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import data, manifests, seed
from benchmarks.__main__ import ROOT, SETS, live_images
from reconciler.cloud.auth import connect
from reconciler.cloud.glance import GlanceClient, RetryPolicy
from reconciler.model.cloud_options import CloudOptions
from reconciler.sandbox import manager

EXAMPLES = ROOT / "manifests" / "examples"
BARE_IMPORTS = "import pydantic, ruamel.yaml, requests"


def _seconds(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 2):
        raise RuntimeError(f"{argv[:3]}: exit {done.returncode}: {done.stderr[-600:]}")
    return seconds


def validate_processes(repeat: int, cwd: Path) -> dict[str, float]:
    """`reconciler validate` of the examples against the bare imports, in turn."""
    env = dict(os.environ)
    tool = [str(Path(sys.executable).with_name("reconciler")), "validate", str(EXAMPLES)]
    bare = [sys.executable, "-c", BARE_IMPORTS]
    _seconds(tool, env, cwd), _seconds(bare, env, cwd)  # warm the page cache and .pyc
    tool_s: list[float] = []
    bare_s: list[float] = []
    for _ in range(repeat):
        tool_s.append(_seconds(tool, env, cwd))
        bare_s.append(_seconds(bare, env, cwd))
    t, b = statistics.median(tool_s), statistics.median(bare_s)
    return {"validate_tool_s": t, "validate_bare_s": b, "validate_ratio": t / b}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plan_process")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sandbox-dir", type=Path, default=ROOT / ".sandbox-bench")
    parser.add_argument("--database", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--glance-workers", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    up = manager.up(
        args.sandbox_dir.resolve(),
        log=lambda m: print(m, file=sys.stderr),
        database=args.database,
        glance_workers=args.glance_workers,
        regions=10,
    )
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(up.clouds_file)
    cloud, count = SETS["small"]
    connection = connect(CloudOptions(cloud=cloud))
    client = GlanceClient(
        connection.session, connection.image_endpoint, retry=RetryPolicy(attempts=10)
    )
    created = seed.seed(client, "small", count)
    print(f"seeded {created} new images", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp:
        work = Path(tmp)
        entries = [manifests.entry(i) for i in live_images(cloud, "small")]
        manifests.changed(entries, 0.01, "os_version", "changed")
        manifest = manifests.write(entries, work / "plan-small.yaml")
        plan = data.plan_processes(work, up.clouds_file, cloud, manifest, args.repeat)
        validate = validate_processes(args.repeat, work)
    results = {
        "images": len(entries),
        "database": up.state.database,
        "glance_workers": up.state.glance_workers,
        "repeat": args.repeat,
        **plan,
        **validate,
    }
    print(
        f"| whole process (medians of {args.repeat}, alternated) | tool | bare | ratio | target |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| `reconciler plan`, {len(entries)} images ({up.state.database}) | "
        f"{plan['process_tool_s']:.2f} s | {plan['process_bare_s']:.2f} s | "
        f"{plan['process_ratio']:.2f} | <= 1.15 |"
    )
    print(
        f"| `reconciler validate manifests/examples` | {validate['validate_tool_s']:.3f} s | "
        f"{validate['validate_bare_s']:.3f} s (`{BARE_IMPORTS}`) | "
        f"{validate['validate_ratio']:.2f} | <= 1.25 |"
    )
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
