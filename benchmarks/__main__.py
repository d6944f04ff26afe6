"""`python -m benchmarks`: run every scenario side by side on one sandbox, print a
Markdown table, write JSON. See benchmarks/__init__.py."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import data, fanout, manifests, scenarios, seed
from reconciler.cloud.auth import connect
from reconciler.cloud.glance import GlanceClient, RetryPolicy
from reconciler.errors import SandboxError
from reconciler.manifests.loader import load
from reconciler.model.cloud_options import CloudOptions
from reconciler.sandbox import manager
from reconciler.sandbox.state import SandboxPaths

ROOT = Path(__file__).resolve().parent.parent
SETS = {"small": ("sandbox-other", 1000), "big": ("sandbox", 10000)}
ALL = ("plan", "apply", "peers", "offline", "data", "creates", "targets")
README_START, README_END = "<!-- bench:table -->", "<!-- /bench:table -->"


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def live_images(cloud: str, prefix: str) -> list[dict[str, Any]]:
    connection = connect(CloudOptions(cloud=cloud))
    client = GlanceClient(connection.session, connection.image_endpoint)
    return sorted(
        (i for i in client.list_images() if str(i.get("name", "")).startswith(prefix)),
        key=lambda i: i["name"],
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="1,000 images only, fewer repeats")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sandbox-dir", type=Path, default=ROOT / ".sandbox-bench")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    parser.add_argument(
        "--scenarios",
        default=",".join(ALL),
        help=f"comma-separated subset of {','.join(ALL)} (and rss: only the CLI's "
        "peak RSS); results are merged into --out (peers reuses the plan and apply "
        "figures already there). data: BENCH_DATA_MB sets the file's size (default 1024)",
    )
    parser.add_argument(
        "--database",
        choices=manager.DATABASES,
        default="mariadb",
        help="the bench sandbox's database (mariadb falls back to sqlite when it cannot "
        "be installed)",
    )
    parser.add_argument("--glance-workers", type=int, default=2)
    parser.add_argument(
        "--readme",
        type=Path,
        help="also write the table, with the server and machine it ran on, into this "
        f"file between {README_START} and {README_END} (make bench: README.md)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    work = ROOT / "out" / "bench"
    work.mkdir(parents=True, exist_ok=True)

    up = start_sandbox(args.sandbox_dir, args.database, args.glance_workers)
    server = {
        "database": up.state.database,
        "glance_workers": up.state.glance_workers,
        "regions": up.state.regions,
    }
    log(f"server: Glance 33 on {server['database']}, {server['glance_workers']} worker(s)")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(up.clouds_file)
    sets = {"small": SETS["small"]} if args.quick else SETS
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    chosen = set(args.scenarios.split(","))
    results: dict[str, Any] = {}
    if args.out.exists() and chosen != set(ALL):
        results = json.loads(args.out.read_text())
    results.update(
        machine=machine, server=server, date=datetime.now(UTC).isoformat(timespec="seconds")
    )

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")

    plan_manifests: dict[str, Path] = {}
    for name, (cloud, count) in sets.items():
        connection = connect(CloudOptions(cloud=cloud))
        client = GlanceClient(
            connection.session, connection.image_endpoint, retry=RetryPolicy(attempts=10)
        )
        log(f"seeding {count} images ({name}, {cloud})")
        created = seed.seed(client, name, count)
        log(f"seeded {created} new images")
        entries = [manifests.entry(i) for i in live_images(cloud, name)]
        changed = manifests.changed(entries, 0.01, "os_version", "changed")
        plan_manifests[name] = manifests.write(entries, work / f"plan-{name}.yaml")
        results.setdefault("sets", {})[name] = {"images": len(entries), "changed": changed}

    # 1. plan vs the physical limit
    for name, (cloud, _count) in sets.items() if "plan" in chosen else ():
        log(f"plan vs listing limit: {name}")
        limit = scenarios.bare_listing(cloud)
        tool = scenarios.tool_plan(cloud, plan_manifests[name])
        # The small set's runs take seconds and vary by a second from run to run on
        # this machine: more of them, alternated with the baseline's.
        repeat = args.repeat + 2 if name == "small" else args.repeat
        fresh = scenarios.bare_listing_fresh(cloud)
        t_limit, t_fresh, t_tool = scenarios.median_times((limit, fresh, tool), repeat)
        visible = limit()
        # What the tool pays that the bare loop does not time: getting a token.
        t_auth = scenarios.median_time(partial(connect, CloudOptions(cloud=cloud)), 3)
        load_start = time.perf_counter()
        load([plan_manifests[name]])
        t_load = time.perf_counter() - load_start
        rss = scenarios.plan_peak_rss(cloud, plan_manifests[name])
        processes = data.plan_processes(work, up.clouds_file, cloud, plan_manifests[name], repeat)
        results.setdefault("plan", {})[name] = {
            **processes,
            "images": visible,
            "limit_s": t_limit,
            "tool_s": t_tool,
            "ratio": t_tool / t_limit,
            "auth_s": t_auth,
            "fresh_limit_s": t_fresh,
            "ratio_fresh": t_tool / t_fresh,
            "manifest_load_s": t_load,
            "cli_s": rss["seconds"],
            "cli_peak_rss_mb": rss["peak_rss_mb"],
            "requests": tool.last_requests,  # type: ignore[attr-defined]
            "listing_pages": math.ceil(visible / 1000) + (1 if visible % 1000 == 0 else 0),
        }

    for name, (cloud, _count) in sets.items() if "rss" in chosen else ():
        log(f"reconciler plan CLI peak RSS: {name}")
        rss = scenarios.plan_peak_rss(cloud, plan_manifests[name])
        results["plan"][name].update(cli_s=rss["seconds"], cli_peak_rss_mb=rss["peak_rss_mb"])
    save()

    # 2. apply vs the physical limit (1,000 changed images)
    cloud = SETS["small"][0]
    ids = [i["id"] for i in live_images(cloud, "small")]
    stamp = str(int(time.time()))
    for parallelism in (4, 8) if "apply" in chosen else ():
        log(f"apply vs PATCH limit at parallelism {parallelism}")
        t_limit = scenarios.bare_patch(cloud, ids, f"bare-{stamp}-{parallelism}", parallelism)
        entries = [manifests.entry(i) for i in live_images(cloud, "small")]
        for item in entries:
            item["properties"]["bench_rev"] = f"tool-{stamp}-{parallelism}"
        manifest = manifests.write(entries, work / f"apply-{parallelism}.yaml")
        applied = scenarios.tool_apply(cloud, manifest, parallelism)
        results.setdefault("apply", {})[str(parallelism)] = {
            "images": len(ids),
            "limit_s": t_limit,
            "tool_s": applied["seconds"],
            "ratio": applied["seconds"] / t_limit,
            "statuses": applied["counts"],
            "requests": applied["requests"],
            "changed": applied["changed"],
        }

    save()

    # 3. the ways users do it today
    if "peers" in chosen:
        peers(results, plan_manifests, cloud, ids, stamp)
        save()

    # 4. offline diff and renderers
    for count in (10_000, 100_000) if "offline" in chosen else ():
        log(f"offline diff + render, {count} synthetic images")
        results.setdefault("offline", {})[str(count)] = scenarios.offline(count)

    save()

    # 5. image data at line rate (one run each: a GiB per run)
    paths = SandboxPaths(args.sandbox_dir.resolve())
    if "data" in chosen:
        log(f"image data: {os.environ.get('BENCH_DATA_MB', '1024')} MiB, file and URL")
        results["data"] = {
            **data.run(work, up.clouds_file, paths.mirror, up.state.mirror_url),
            "server": server,
        }
        save()

    if "creates" in chosen:
        log(f"creates with data: {os.environ.get('BENCH_CREATES', '40')} images of 1 MiB")
        results["creates"] = {**data.creates(work, up.clouds_file), "server": server}
        save()

    # 6. fan-out: one plan over 10 targets vs the slowest single target
    if "targets" in chosen:
        log("plan over 10 targets vs each target alone")
        results["targets"] = {
            **fanout.run(paths, up.state, work, repeat=args.repeat),
            "server": server,
        }
        os.environ["OS_CLIENT_CONFIG_FILE"] = str(up.clouds_file)
        save()

    results["runner_s"] = time.perf_counter() - started
    save()
    print(table(results))
    if args.readme:
        write_readme(args.readme, results)
        log(f"table written into {args.readme}")
    log(f"results: {args.out} ({results['runner_s']:.0f}s)")
    return 0


def start_sandbox(root: Path, database: str, glance_workers: int) -> manager.UpResult:
    """The bench sandbox: MariaDB (installed when missing) with glance_workers workers
    and 10 regions; sqlite when MariaDB cannot be had."""
    try:
        return manager.up(
            root, log=log, database=database, glance_workers=glance_workers, regions=10
        )
    except SandboxError as err:
        if database != "mariadb":
            raise
        log(f"MariaDB unavailable ({err}); benchmarking Glance on sqlite")
        manager.stop(root, purge=True)
        return manager.up(root, log=log, database="sqlite", glance_workers=1, regions=10)


def peers(
    results: dict[str, Any], plan_manifests: dict[str, Path], cloud: str, ids: list[str], stamp: str
) -> None:
    log("openstacksdk find_image loop (plan job, 1,000 images)")
    desired = load([plan_manifests["small"]])
    t_sdk = scenarios.median_time(scenarios.sdk_plan_loop(cloud, desired), 1)
    log("openstack image set x 20")
    per_call = scenarios.cli_image_set(cloud, ids[:20], f"cli-{stamp}")
    plan_small = results["plan"]["small"]["tool_s"]
    apply_small = results["apply"]["4"]["tool_s"]
    results["peers"] = {
        "sdk_loop_s": t_sdk,
        "tool_plan_s": plan_small,
        "sdk_speedup": t_sdk / plan_small,
        "cli_per_image_s": per_call,
        "cli_1000_s": per_call * len(ids),
        "tool_plan_apply_s": plan_small + apply_small,
        "cli_speedup": per_call * len(ids) / (plan_small + apply_small),
    }


def table(r: dict[str, Any]) -> str:
    server = r.get("server", {"database": "sqlite", "glance_workers": 1})
    rows = [
        f"Server: Glance 33 on {server['database']}, {server['glance_workers']} gunicorn "
        "worker(s) of 8 threads",
        "",
        "| scenario | reconciler | baseline | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for _name, p in r.get("plan", {}).items():
        rows.append(
            f"| plan, {p['images']} images, 1% changed | {p['tool_s']:.2f} s | "
            f"{p['limit_s']:.2f} s (bare listing; {p['fresh_limit_s']:.2f} s with a new "
            f"token) | {p['ratio']:.2f} ({p['ratio_fresh']:.2f} with a new token) | "
            f"<= {1.15 if p['images'] < 5000 else 1.05} with a new token |"
        )
    for _name, p in r.get("plan", {}).items():
        if "process_ratio" in p:
            rows.append(
                f"| `reconciler plan` as a whole process, {p['images']} images | "
                f"{p['process_tool_s']:.2f} s | {p['process_bare_s']:.2f} s (bare process: "
                f"token + the same listing, requests) | {p['process_ratio']:.2f} | "
                f"<= {1.15 if p['images'] < 5000 else 1.05} |"
            )
    for par, a in r.get("apply", {}).items():
        rows.append(
            f"| apply, {a['images']} changed, parallelism {par} | {a['tool_s']:.1f} s | "
            f"{a['limit_s']:.1f} s (bare PATCH loop) | {a['ratio']:.2f} | <= 1.15 |"
        )
    peers = r.get("peers")
    if peers:
        rows.append(
            f"| plan job vs openstacksdk find_image loop (1,000) | {peers['tool_plan_s']:.2f} s "
            f"| {peers['sdk_loop_s']:.1f} s | {peers['sdk_speedup']:.1f}x faster | >= 5x |"
        )
        rows.append(
            f"| plan+apply vs `openstack image set` per image (1,000, from 20) | "
            f"{peers['tool_plan_apply_s']:.1f} s | {peers['cli_1000_s']:.0f} s | "
            f"{peers['cli_speedup']:.0f}x faster | >= 50x |"
        )
    rows += data_rows(r.get("data"))
    made = r.get("creates")
    if made:
        rows.append(
            f"| creates with data, {made['images']} images of {made['mb_each']} MiB "
            f"(parallelism 4) | {made['tool_s']:.1f} s ({made['tool_per_s']:.1f} images/s) | "
            f"{made['bare_s']:.1f} s ({made['bare_per_s']:.1f} images/s; bare create + PUT, "
            f"4 threads) | {made['ratio']:.2f} | - |"
        )
    fan = r.get("targets")
    if fan:
        rows.append(
            f"| plan over {fan['targets']} targets ({fan['images_per_target']} images each) | "
            f"{fan['all_s']:.2f} s | {fan['slowest_single_s']:.2f} s (slowest single target, "
            f"{fan['slowest_single']}) | {fan['ratio']:.2f} | <= 1.3 |"
        )
        rows.append(
            f"| bare listing of {fan['targets']} targets at once vs of one (the server's "
            f"floor) | - | {fan['bare_all_s']:.2f} s vs {fan['bare_one_s']:.2f} s | "
            f"{fan['bare_ratio']:.2f} | - |"
        )
    for _count, o in r.get("offline", {}).items():
        rows.append(
            f"| offline diff, {int(o['images'])} images | {o['diff_cpu_s']:.2f} s CPU "
            f"(+{o['render_cpu_s']:.2f} s render), {o['peak_rss_mb']:.0f} MB peak | - | - | "
            f"< 1.5 s at 100k |"
        )
    for _name, p in r.get("plan", {}).items():
        rows.append(
            f"| `reconciler plan` CLI, {p['images']} images | {p['cli_s']:.1f} s, "
            f"{p['cli_peak_rss_mb']:.0f} MB peak RSS; {p['requests']} Glance requests "
            f"({p['listing_pages']} pages) | - | - | < 250 MB at 10k |"
        )
    return "\n".join(rows)


def write_readme(readme: Path, results: dict[str, Any]) -> None:
    """Replace what lies between the README's bench markers with this run's table."""
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme}: no {README_START} ... {README_END} block to write into")
    machine = results["machine"]
    block = (
        f"{README_START}\n_Written by `make bench` on {results['date']}: "
        f"{machine['cpus']} CPUs, Python {machine['python']}; that run took "
        f"{results.get('runner_s', 0) / 60:.0f} min (a run of some scenarios keeps the "
        f"others' rows from --out)._\n\n{table(results)}\n"
    )
    readme.write_text(text[:start] + block + text[end:])


def data_rows(d: dict[str, Any] | None) -> list[str]:
    if not d:
        return []
    size = f"{d['size_mb'] / 1024:g} GiB" if d["size_mb"] >= 1024 else f"{d['size_mb']} MiB"
    rows = []
    for kind, label, baseline, target in (
        ("upload", f"upload of {size} (method upload, file)", "bare `requests` PUT", 1.25),
        ("url", f"{size} streamed from a URL (mirror)", "bare GET -> PUT", 1.3),
    ):
        x = d[kind]
        rows.append(
            f"| {label} | {x['tool_s']:.1f} s ({x['tool_mb_per_s']:.0f} MiB/s), "
            f"{x['tool_peak_rss_mb']:.0f} MB peak RSS | {x['bare_s']:.1f} s "
            f"({x['bare_mb_per_s']:.0f} MiB/s; {baseline}) | {x['ratio']:.2f} | "
            f"<= {target}, < 150 MB |"
        )
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
