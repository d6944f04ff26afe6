"""Fan-out over targets: one `reconciler plan` over 10 targets (the sandbox's regions
RegionOne..Region10, `sandbox up --regions 10`) against the slowest of the same plan
run for each target alone (`--target NAME`). Whole processes, alternated.

Every region's image endpoint is the sandbox's one Glance, so the 10 listings all land
on one server sharing the runner's cores (in a real cloud each region has its own).
To measure what the tool adds for fan-out (threads, sessions, per-target diff and
rendering), the targets list a small project of their own (`fanout`, FANOUT_IMAGES
images, one changed in the manifest), made here with the sandbox's admin account.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from benchmarks import manifests
from benchmarks.data import BARE_AUTH
from reconciler.cloud.auth import connect
from reconciler.model.cloud_options import CloudOptions
from reconciler.sandbox import bootstrap, configs
from reconciler.sandbox.manager import verify_for
from reconciler.sandbox.state import SandboxPaths, SandboxState

CLOUD = "sandbox-fanout"
PROJECT, USER = "fanout", "fanout-member"
FANOUT_IMAGES = 20
TARGETS = 10


def setup(paths: SandboxPaths, state: SandboxState, work: Path) -> tuple[Path, Path, Path]:
    """The fanout project, its user and images; a clouds.yaml with its entry; the
    targets file and the manifest. Idempotent."""
    passwords = json.loads(paths.secrets.read_text())
    password = passwords.setdefault(USER, bootstrap.new_password())
    paths.secrets.write_text(json.dumps(passwords, indent=2))
    admin = bootstrap.IdentityAdmin(
        bootstrap.admin_session(state, passwords["admin"], verify_for(paths, state)),
        state.keystone_url,
    )
    domain = admin.domain_id()
    project = admin.project(PROJECT, domain)
    user = admin.user(USER, password, domain)
    admin.grant(project, user, admin.role("member"))
    # the user may exist from an earlier run: set the password we hold
    admin.sess.patch(f"{state.keystone_url}/users/{user}", json={"user": {"password": password}})

    clouds: dict[str, Any] = YAML(typ="safe").load(paths.clouds.read_text())
    entry = json.loads(json.dumps(clouds["clouds"]["sandbox"]))
    entry["auth"].update(username=USER, password=password, project_name=PROJECT)
    clouds["clouds"][CLOUD] = entry
    clouds_file = work / "clouds-fanout.yaml"
    fd = os.open(clouds_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with os.fdopen(fd, "w") as out:
        yaml.dump(clouds, out)

    os.environ["OS_CLIENT_CONFIG_FILE"] = str(clouds_file)
    connection = connect(CloudOptions(cloud=CLOUD))
    base = f"{connection.image_endpoint}/v2/images"
    have = {i["name"]: i for i in connection.session.get(base).json()["images"]}
    for n in range(FANOUT_IMAGES):
        name = f"fanout-{n:02d}"
        if name not in have:
            have[name] = connection.session.post(
                base,
                json={
                    "name": name,
                    "disk_format": "raw",
                    "container_format": "bare",
                    "tags": ["bench"],
                    "os_distro": "ubuntu",
                    "os_version": "24.04",
                },
            ).json()
    entries = [manifests.entry(have[f"fanout-{n:02d}"]) for n in range(FANOUT_IMAGES)]
    manifests.changed(entries, 1 / FANOUT_IMAGES, "os_version", "changed")
    manifest = manifests.write(entries, work / "fanout.yaml")
    targets_file = work / "targets-fanout.yaml"
    regions = configs.region_names(TARGETS)
    targets_file.write_text(
        "version: 1\ntargets:\n" + "".join(f"  - {{region: {r}}}\n" for r in regions)
    )
    return clouds_file, targets_file, manifest


# The floor of a fan-out against this server: a bare process (requests) that
# authenticates once and lists every target's images at once, one thread per target
# (all regions' endpoints are the same Glance), parsing each listing.
BARE_FANOUT = (
    BARE_AUTH
    + """
from concurrent.futures import ThreadPoolExecutor
def listing(_n):
    url, count = endpoint + "/v2/images?limit=1000", 0
    while url:
        page = http.get(url, timeout=120).json()
        count += len(page["images"])
        url = endpoint + page["next"] if page.get("next") else None
    http.get(endpoint + "/v2/images?limit=1000&os_hidden=true", timeout=120).json()
    return count
with ThreadPoolExecutor(int(sys.argv[1])) as pool:
    list(pool.map(listing, range(int(sys.argv[1]))))
"""
)


def _bare(env: dict[str, str], targets: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", BARE_FANOUT, str(targets)], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def _plan(env: dict[str, str], args: list[str]) -> float:
    reconciler = str(Path(sys.executable).parent / "reconciler")
    start = time.perf_counter()
    done = subprocess.run(
        [reconciler, "--quiet", "plan", *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"reconciler plan {' '.join(args)}: {done.stderr[-400:]}")
    return seconds


def _auth(clouds_file: Path) -> dict[str, Any]:
    auth: dict[str, Any] = YAML(typ="safe").load(clouds_file.read_text())["clouds"][CLOUD]["auth"]
    return auth


def run(paths: SandboxPaths, state: SandboxState, work: Path, repeat: int) -> dict[str, Any]:
    """Median seconds of the 10-target plan and of each single target's, alternated."""
    if state.regions < TARGETS:
        raise RuntimeError(f"the bench sandbox has {state.regions} regions; needs {TARGETS}")
    clouds_file, targets_file, manifest = setup(paths, state, work)
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds_file), OS_CLOUD=CLOUD)
    common = ["--targets", str(targets_file), str(manifest)]
    regions = configs.region_names(TARGETS)
    bare_env = dict(env, BENCH_AUTH=json.dumps(_auth(clouds_file)))
    all_times: list[float] = []
    bare_all: list[float] = []
    bare_one: list[float] = []
    single: dict[str, list[float]] = {region: [] for region in regions}
    for _ in range(repeat):
        all_times.append(_plan(env, common))
        bare_all.append(_bare(bare_env, TARGETS))
        bare_one.append(_bare(bare_env, 1))
        for region in regions:
            single[region].append(_plan(env, ["--target", region, *common]))
    medians = {region: statistics.median(times) for region, times in single.items()}
    slowest = max(medians, key=lambda region: medians[region])
    t_all = statistics.median(all_times)
    return {
        "targets": TARGETS,
        "images_per_target": FANOUT_IMAGES,
        "all_s": t_all,
        "slowest_single_s": medians[slowest],
        "slowest_single": slowest,
        "single_median_s": statistics.median(medians.values()),
        "ratio": t_all / medians[slowest],
        "bare_all_s": statistics.median(bare_all),
        "bare_one_s": statistics.median(bare_one),
        "bare_ratio": statistics.median(bare_all) / statistics.median(bare_one),
        "repeat": repeat,
    }
