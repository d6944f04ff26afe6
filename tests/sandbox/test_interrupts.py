"""Ctrl-C during an apply of 20 images with data, against the real Glance (issue 28):
the first SIGINT, at a moment drawn from a printed seed, ends the run within 30 s with
exit 130 and the report printed; every image is as before (absent) or as asked (active
with its file's sha512), and the report agrees with what the cloud holds. Two SIGINTs
stop at once, print the rollback command, and `rollback` restores. A read-only command
interrupted prints `interrupted` and exits 130."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Sandbox
from tests.sandbox.helpers import run_cli
from tests.sandbox.test_image_data import ours

COUNT = 20
SIZE = 6 << 20


def catalog(folder: Path, unique: str) -> tuple[Path, dict[str, bytes]]:
    files = {}
    text = (
        "version: 1\n"
        "defaults: {disk_format: raw, container_format: bare, visibility: private}\n"
        "images:\n"
    )
    for number in range(COUNT):
        name = f"{unique}-{number:02d}"
        data = os.urandom(SIZE)
        (folder / f"{name}.raw").write_bytes(data)
        files[name] = data
        text += (
            f"  - name: {name}\n    source: {{url: {name}.raw, checksum: "
            f"'sha256:{hashlib.sha256(data).hexdigest()}', version: '1'}}\n"
        )
    path = folder / "images.yaml"
    path.write_text(text)
    return path, files


def start_apply(sandbox: Sandbox, path: Path, journal: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--format", "json",
         "--journal", str(journal), "--parallelism", "4", str(path)],
        env=sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_journal(journal: Path, begun: int, timeout: float = 120.0) -> None:
    """Until the run has begun `begun` steps (the moment writes are under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"type":"begin"') >= begun:
            return
        time.sleep(0.05)
    raise AssertionError(f"the apply never began {begun} steps")


def test_one_sigint_finishes_what_is_in_flight_and_reports(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    draw = random.Random(seed)
    print(f"interrupt seed {seed}")
    path, files = catalog(tmp_path, unique)
    journal = tmp_path / "journal.jsonl"
    process = start_apply(sandbox, path, journal)
    wait_for_journal(journal, 2)
    time.sleep(draw.uniform(0.0, 1.5))
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    took = time.monotonic() - sent
    images = ours(sandbox, unique)
    demo_images.extend(i["id"] for i in images.values())
    assert process.returncode == 130, (seed, out, err)
    assert took < 30, (seed, took)
    assert "interrupted" in err and "not started" in err, err
    report = json.loads(out)
    results = {r["name"]: r for r in report["images"]}
    assert len(results) == COUNT, (seed, results)
    statuses = {r["status"] for r in results.values()}
    assert statuses <= {"applied", "skipped", "rolled_back"}, (seed, results)
    assert any(
        r["status"] == "skipped" and r["reason"].startswith("interrupted") for r in results.values()
    ), seed
    for name, result in results.items():
        live = images.get(name)
        if result["status"] == "applied":  # as asked
            assert live is not None and live["status"] == "active", (seed, name)
            assert live["os_hash_value"] == hashlib.sha512(files[name]).hexdigest()
        else:  # as before: never created, or rolled back
            assert live is None, (seed, name, result)
    assert set(images) <= set(results)


def test_a_second_sigint_stops_at_once_and_rollback_restores(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    path, _files = catalog(tmp_path, unique)
    journal = tmp_path / "journal.jsonl"
    process = start_apply(sandbox, path, journal)
    wait_for_journal(journal, 4)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert time.monotonic() - sent < 5
    assert f"reconciler rollback {journal}" in err, err
    lines = journal.read_text().splitlines()
    assert all(line.startswith("{") and line.endswith("}") for line in lines)  # no cut line
    done = run_cli(sandbox, "rollback", str(journal), "--format", "json")
    left = ours(sandbox, unique)
    demo_images.extend(i["id"] for i in left.values())
    assert done.returncode == 0, done.stdout + done.stderr
    assert left == {}, sorted(left)


def test_an_interrupted_plan_says_so_and_exits_130(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "images.yaml"
    path.write_text("version: 1\nimages:\n  - name: interrupted-plan\n")
    for delay in (0.2, 0.5, 0.9, 1.4):
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "plan", str(path)],
            env=sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
        assert process.returncode in (0, 130), (delay, err)
        if process.returncode == 130:
            assert err.strip().endswith("interrupted") and "Traceback" not in err, (delay, err)
