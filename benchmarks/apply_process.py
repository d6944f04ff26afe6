"""`python -m benchmarks.apply_process`: the writer as whole processes (issue 28), on
the sandbox the tests use (RECONCILER_SANDBOX_DIR, default .sandbox): COUNT images
seeded once (deterministic ids, benchmarks/seed.py), each round changing one property
of every one of them:

- `reconciler apply PLANFILE --parallelism 4` (the plan made beforehand, not timed)
  against a bare process that authenticates and sends the same COUNT PATCHes at
  parallelism 4 (requests, keystoneauth for the token);
- `reconciler apply --auto-approve MANIFEST --parallelism 4` against a bare process
  that authenticates, lists the project and sends them.

Rounds alternate tool and bare, a new value each time so every run has COUNT changes;
medians of REPEAT. Prints a Markdown table.
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
from typing import Any

from benchmarks import manifests, seed
from reconciler.cloud.auth import connect
from reconciler.cloud.glance import GlanceClient, RetryPolicy
from reconciler.model.cloud_options import CloudOptions

PREFIX = "bench-apply"

BARE = r"""
import sys, time
from concurrent.futures import ThreadPoolExecutor
import requests
from openstack import config
region = config.OpenStackConfig().get_one(sys.argv[1])
session = region.get_session()
token = session.get_token()
endpoint = session.get_endpoint(service_type="image").rstrip("/")
endpoint = endpoint[:-3] if endpoint.endswith("/v2") else endpoint
http = requests.Session()
http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))
http.headers.update({"X-Auth-Token": token})
ids = sys.argv[3].split(",")
if sys.argv[4] == "list":
    url = f"{endpoint}/v2/images?limit=1000"
    while url:
        page = http.get(url).json()
        url = endpoint + page["next"] if page.get("next") else ""
def one(image_id):
    body = [{"op": "add", "path": "/bench_rev", "value": sys.argv[2]}]
    for attempt in range(40):
        answer = http.patch(f"{endpoint}/v2/images/{image_id}", json=body,
            headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
        if answer.status_code < 400:
            return
        time.sleep(min(0.1 * 2 ** attempt, 5))
    raise SystemExit(f"PATCH {image_id}: {answer.status_code}")
with ThreadPoolExecutor(4) as pool:
    list(pool.map(one, ids))
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} exit {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.apply_process")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cloud", default="sandbox")
    args = parser.parse_args()
    root = Path(os.environ.get("RECONCILER_SANDBOX_DIR", ".sandbox")).resolve()
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(root / "clouds.yaml"), "OS_CLOUD": args.cloud}
    os.environ.update(OS_CLIENT_CONFIG_FILE=env["OS_CLIENT_CONFIG_FILE"])
    connection = connect(CloudOptions(cloud=args.cloud))
    client = GlanceClient(
        connection.session, connection.image_endpoint, retry=RetryPolicy(attempts=10)
    )
    created = seed.seed(client, PREFIX, args.count)
    live = [i for i in client.list_images() if str(i.get("name", "")).startswith(PREFIX)]
    ids = ",".join(str(i["id"]) for i in live)
    reconciler = [sys.executable, "-m", "reconciler"]
    bare = [sys.executable, "-c", BARE, args.cloud]
    times: dict[str, list[float]] = {
        k: [] for k in ("planfile", "bare_patch", "manifest", "bare_list_patch")
    }
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for round_ in range(args.repeat):
            for mode in ("planfile", "manifest"):
                value = f"{mode}-{round_}-{time.time_ns()}"
                entries = [
                    manifests.entry(i)
                    for i in client.list_images()
                    if str(i.get("name", "")).startswith(PREFIX)
                ]
                manifests.changed(entries, 1.0, "bench_rev", value)
                path = manifests.write(entries, work / "images.yaml")
                if mode == "planfile":
                    plan = work / "plan.json"
                    subprocess.run(
                        [*reconciler, "plan", "--out", str(plan), str(path)],
                        env=env,
                        capture_output=True,
                        check=True,
                    )
                    times["planfile"].append(
                        timed(
                            [
                                *reconciler,
                                "apply",
                                str(plan),
                                "--parallelism",
                                "4",
                                "--journal",
                                str(work / f"j{round_}.jsonl"),
                            ],
                            env,
                        )
                    )
                    times["bare_patch"].append(timed([*bare, f"bare-{value}", ids, "patch"], env))
                else:
                    times["manifest"].append(
                        timed(
                            [
                                *reconciler,
                                "apply",
                                "--auto-approve",
                                "--parallelism",
                                "4",
                                "--journal",
                                str(work / f"m{round_}.jsonl"),
                                str(path),
                            ],
                            env,
                        )
                    )
                    times["bare_list_patch"].append(
                        timed([*bare, f"bare-{value}", ids, "list"], env)
                    )
    med: dict[str, Any] = {k: statistics.median(v) for k, v in times.items()}
    print(
        json.dumps(
            {"images": len(live), "seeded_now": created, "medians_s": med, "runs": times}, indent=1
        )
    )
    print()
    rows = [
        ("apply PLANFILE", "planfile", "bare_patch", "token + PATCHes", "<= 1.10"),
        (
            "apply from manifests",
            "manifest",
            "bare_list_patch",
            "token + listing + PATCHes",
            "<= 1.15",
        ),
    ]
    print(f"| {len(live)} images, p4, processes | reconciler | bare | ratio | target |")
    print("|---|---|---|---|---|")
    for label, tool, base, what, target in rows:
        ratio = med[tool] / med[base]
        print(
            f"| {label} | {med[tool]:.2f} s | {med[base]:.2f} s ({what}) | {ratio:.2f} | {target} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
