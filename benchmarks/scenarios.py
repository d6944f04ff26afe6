"""The benchmark scenarios. Each returns plain numbers; the runner prints and saves them."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import requests

from reconciler.app.pipeline import make_plan
from reconciler.apply import Applier
from reconciler.apply.journal import Journal
from reconciler.cloud.auth import connect
from reconciler.cloud.glance import GlanceClient, RetryPolicy
from reconciler.cloud.live import read_catalog
from reconciler.manifests.loader import load
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.image_view import MANAGED_RECORD, LiveCatalog, LiveImage, encode_record
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Plan, Target
from reconciler.planning.diff import diff
from reconciler.render.plan.json import render_json
from reconciler.render.plan.markdown import render_markdown
from reconciler.render.plan.text import render_text
from reconciler.runtime import gcpause

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


def median_times(jobs: Sequence[Callable[[], Any]], repeat: int) -> list[float]:
    """Median seconds of each job, the jobs run in turn (a, b, a, b, ...), so a slow
    spell of the shared machine or the server hits them alike."""
    times: list[list[float]] = [[] for _ in jobs]
    for _ in range(repeat):
        for fn, bucket in zip(jobs, times, strict=True):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times]


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Counted:
    """A connection whose Glance requests are counted through a requests hook."""

    def __init__(self, cloud: str) -> None:
        self.connection = connect(CloudOptions(cloud=cloud))
        self.requests: list[str] = []
        self.connection.session.session.hooks["response"].append(
            lambda r, *a, **k: self.requests.append(f"{r.request.method} {r.request.path_url}")
        )
        self.client = GlanceClient(self.connection.session, self.connection.image_endpoint)

    @property
    def glance_requests(self) -> int:
        return sum(1 for r in self.requests if " /v2/" in r)


def bare_listing(cloud: str) -> Callable[[], int]:
    """The physical limit of a plan: page through the listing (same page size), parse."""
    connection = connect(CloudOptions(cloud=cloud))
    token = connection.session.get_token() or ""
    endpoint = connection.image_endpoint
    http = requests.Session()
    http.headers["X-Auth-Token"] = token
    return partial(_count_listing, http, endpoint)


def _count_listing(http: requests.Session, endpoint: str) -> int:
    """Page through the listing (limit 1000, following `next`), parse, count."""
    url: str | None = f"{endpoint}/v2/images?limit=1000"
    count = 0
    while url:
        page = http.get(url, timeout=120).json()
        count += len(page["images"])
        url = f"{endpoint}{page['next']}" if page.get("next") else None
    return count


def bare_listing_fresh(cloud: str) -> Callable[[], int]:
    """The same listing as a fresh process must do it: get a new token first (Keystone
    issues it, Glance validates it on the first request). What any invocation pays."""

    def run() -> int:
        connection = connect(CloudOptions(cloud=cloud))
        endpoint = connection.image_endpoint
        http = requests.Session()
        http.headers["X-Auth-Token"] = connection.session.get_token() or ""
        return _count_listing(http, endpoint)

    return run


def tool_plan(cloud: str, manifest: Path) -> Callable[[], Plan]:
    """The tool's plan pipeline in-process, as `reconciler plan` runs it: load the
    manifests while authenticating and listing, diff, render."""

    def run() -> Plan:
        plan, client = make_plan([manifest], CloudOptions(cloud=cloud))
        render_text(plan)
        run.last_requests = client.requests_sent  # type: ignore[attr-defined]
        return plan

    return run


def sdk_plan_loop(cloud: str, desired: list[DesiredImage]) -> Callable[[], int]:
    """How users do it today: openstacksdk find_image per image, compare properties."""
    import openstack

    def run() -> int:
        conn = openstack.connect(cloud=cloud)
        differing = 0
        for entry in desired:
            image = conn.image.find_image(entry.name, ignore_missing=True)
            if image is None:
                differing += 1
                continue
            live = {
                **image.properties,
                "os_distro": image.os_distro,
                "os_version": image.os_version,
            }
            if any(live.get(k) != v for k, v in entry.properties):
                differing += 1
        return differing

    return run


def cli_image_set(cloud: str, image_ids: list[str], value: str) -> float:
    """Seconds per `openstack image set --property` call, over a sample."""
    cli = str(Path(sys.executable).parent / "openstack")
    env = dict(os.environ, OS_CLOUD=cloud)
    start = time.perf_counter()
    for image_id in image_ids:
        subprocess.run(
            [cli, "image", "set", "--property", f"bench_rev={value}", image_id],
            env=env,
            check=True,
            capture_output=True,
        )
    return (time.perf_counter() - start) / len(image_ids)


def bare_patch(cloud: str, image_ids: list[str], value: str, parallelism: int) -> float:
    """The physical limit of an apply: the same PATCH bodies, same concurrency."""
    connection = connect(CloudOptions(cloud=cloud))
    token = connection.session.get_token() or ""
    endpoint = connection.image_endpoint
    local = requests.Session()
    local.headers.update({"X-Auth-Token": token, "Content-Type": PATCH_TYPE})
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=parallelism)
    local.mount("http://", adapter)

    policy = RetryPolicy()

    def one(image_id: str) -> None:
        # `add` overwrites in the v2.1 patch format, so a resend after a 500 that was in
        # fact committed is harmless; same backoff as the tool, for the same sqlite fault.
        # A reset keep-alive connection (seen at parallelism 8) is resent the same way.
        body = [{"op": "add", "path": "/bench_rev", "value": value}]
        outcome = "no attempt"
        for attempt in range(40):
            try:
                response = local.patch(f"{endpoint}/v2/images/{image_id}", json=body, timeout=120)
            except requests.ConnectionError as err:
                outcome = str(err)
            else:
                if response.status_code < 400:
                    return
                outcome = str(response.status_code)
            time.sleep(policy.delay(min(attempt, 6)))
        raise RuntimeError(f"PATCH {image_id}: {outcome}")

    start = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        list(pool.map(one, image_ids))
    return time.perf_counter() - start


def tool_apply(cloud: str, manifest: Path, parallelism: int) -> dict[str, Any]:
    """Plan (not timed), then apply (timed) with the tool's Applier, journal included."""
    desired = load([manifest])
    counted = Counted(cloud)
    plan = diff(desired, read_catalog(counted.client, desired), counted.connection.target)
    before = counted.glance_requests
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "journal.jsonl")
        start = time.perf_counter()
        report = Applier(counted.client, journal, parallelism=parallelism).run(plan)
        seconds = time.perf_counter() - start
        journal.close()
    return {
        "seconds": seconds,
        "counts": report.counts,
        "requests": counted.glance_requests - before,
        "changed": sum(1 for i in plan.images if i.has_changes),
    }


def synthetic(count: int, changed_share: float = 0.01) -> tuple[list[DesiredImage], LiveCatalog]:
    """count live images with 20 properties and 3 tags; 1% differ from the desired."""
    desired, live = [], []
    step = round(1 / changed_share)
    for n in range(count):
        props = {f"prop_{k:02d}": f"value-{n}-{k}" for k in range(20)}
        tags = ["bench", f"t{n % 11}", f"g{n % 7}"]
        name = f"img-{n:06d}"
        raw = {
            "id": f"id-{n}",
            "name": name,
            "owner": "p",
            "status": "active",
            "visibility": "private",
            "protected": False,
            "os_hidden": False,
            "min_disk": 0,
            "min_ram": 0,
            "disk_format": "raw",
            "container_format": "bare",
            "tags": tags,
            **props,
            MANAGED_RECORD: encode_record(props),
        }
        live.append(LiveImage.from_api(raw))
        wanted = dict(props)
        if n % step == 0:
            wanted["prop_00"] = "changed"
        desired.append(
            DesiredImage(
                name=name,
                origin=f"m.yaml:{n}",
                core=(("name", name),),
                tags=tuple(sorted(tags)),
                properties=tuple(sorted(wanted.items())),
            )
        )
    return desired, LiveCatalog(tuple(live))


PEAK_RSS = (
    "import atexit, sys\n"
    "def _peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    kb = status.split('VmHWM:')[1].split()[0]\n"
    "    print(f'PEAK_RSS_KB={kb}', file=sys.stderr)\n"
    "atexit.register(_peak)\n"
    # The CLI ends with os._exit once its output is flushed (atexit does not run then).
    "import os\n"
    "_exit = os._exit\n"
    "def _peak_exit(code):\n"
    "    _peak()\n"
    "    _exit(code)\n"
    "os._exit = _peak_exit\n"
)
# VmHWM is the peak of this process's own memory since exec. ru_maxrss is not: a child
# forked from a large parent starts its high-water mark at the parent's size.


def _peak_mb(stderr: str) -> float:
    for line in reversed(stderr.splitlines()):
        if line.startswith("PEAK_RSS_KB="):
            return int(line.split("=", 1)[1]) / 1024
    raise RuntimeError(f"no peak RSS reported: {stderr[-300:]}")


def offline_child(count: int) -> dict[str, float]:
    """Run in a child process: CPU seconds of diff and of the renderers."""
    desired, catalog = synthetic(count)
    start = time.process_time()
    plan = diff(desired, catalog, Target(None, None, "p", None))
    diff_cpu = time.process_time() - start
    start = time.process_time()
    with gcpause.paused():  # as the CLI renders
        render_text(plan)
        render_json(plan)
        render_markdown(plan)
    render_cpu = time.process_time() - start
    return {
        "images": count,
        "changed": sum(1 for i in plan.images if i.has_changes),
        "diff_cpu_s": diff_cpu,
        "render_cpu_s": render_cpu,
    }


def offline(count: int) -> dict[str, float]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_RSS + f"import json\nfrom benchmarks.scenarios import offline_child\n"
            f"print(json.dumps(offline_child({count})))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    result["peak_rss_mb"] = _peak_mb(done.stderr)
    return result


def plan_peak_rss(cloud: str, manifest: Path) -> dict[str, float]:
    """Wall time and peak RSS of the `reconciler plan` command itself."""
    env = dict(os.environ, OS_CLOUD=cloud)
    code = PEAK_RSS + (
        "sys.argv = ['reconciler', 'plan', sys.argv[1]]\n"
        "from reconciler.cli.main import main\nmain()\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"reconciler plan exited {done.returncode}: {done.stderr[-300:]}")
    return {"seconds": seconds, "peak_rss_mb": _peak_mb(done.stderr)}
