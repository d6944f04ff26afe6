"""Verify before publish, against the real Glance (issue 28): while apply builds two
community images (every project sees those; public needs an admin) by web-download
(Glance marks an image active before the tool has compared its sha512), another
project lists community images every 50 ms. It never sees the build whose data fails
verification, under any name, and first sees the good one already active with its
data and its plain name. (Without verify-before-publish it saw the bad build.)"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import Sandbox
from tests.sandbox.helpers import run_cli
from tests.sandbox.test_image_data import mirror


def test_another_project_never_sees_a_build_before_it_is_verified(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    folder, base = mirror(sandbox)
    good, bad = os.urandom(1 << 20), os.urandom(1 << 20)
    (folder / f"{unique}-good.raw").write_bytes(good)
    (folder / f"{unique}-bad.raw").write_bytes(bad)
    manifest = tmp_path / "images.yaml"
    entries = []
    for name, declared in (("good", good), ("bad", good)):  # bad's file is other bytes
        entries.append(
            f"  - name: {unique}-{name}\n    visibility: community\n"
            "    disk_format: raw\n    container_format: bare\n"
            "    source:\n"
            f"      url: {base}/{unique}-{name}.raw\n      method: web-download\n"
            f"      checksum: 'sha512:{hashlib.sha512(declared).hexdigest()}'\n"
        )
    manifest.write_text("version: 1\nimages:\n" + "".join(entries))
    session = sandbox.session("sandbox-other")
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            answer = session.get(f"{sandbox.glance_url}/v2/images?visibility=community&limit=1000")
            for image in answer.json()["images"]:
                if image["name"].startswith(unique):
                    seen.append(
                        {k: image.get(k) for k in ("id", "name", "status", "os_hash_value")}
                    )
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(manifest))
        time.sleep(0.3)  # a last listing after the apply
    finally:
        stop.set()
        watcher.join(10)
    admin = sandbox.session("sandbox-admin")
    listed = admin.get(f"{sandbox.glance_url}/v2/images?visibility=all&limit=1000").json()
    images = {i["name"]: i for i in listed["images"] if i["name"].startswith(unique)}
    demo_images.extend(i["id"] for i in images.values())
    assert done.returncode == 3, done.stdout + done.stderr  # the bad one rolled back
    statuses = {r["name"]: r["status"] for r in json.loads(done.stdout)["images"]}
    assert statuses == {f"{unique}-good": "applied", f"{unique}-bad": "rolled_back"}
    assert set(images) == {f"{unique}-good"}
    good_id = images[f"{unique}-good"]["id"]
    assert seen, "the other project never saw the good image"
    assert {s["id"] for s in seen} == {good_id}, seen  # never the bad build
    first = seen[0]
    assert first["status"] == "active" and first["name"] == f"{unique}-good", first
    assert first["os_hash_value"] == hashlib.sha512(good).hexdigest()
