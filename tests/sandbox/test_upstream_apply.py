"""Bumped manifests applied to the real Glance: a GitHub-released `.raw.xz` and a
Debian build read through mirrors (the first dead), both found by `bump` on a loopback
upstream laid out as the real ones. Read back as admin: each image active, its
`os_hash_value` the sha512 of the decompressed bytes (computed here), the dead mirror
passed over and said so, and a second plan with nothing to do."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.sandbox.helpers import plan_json, run_cli
from tests.sandbox.test_image_data import apply, ours
from tests.upstreams import layouts
from tests.upstreams.server import Upstream, running


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with running() as up:
        yield up


def test_bumped_manifests_apply_with_decompressed_data_and_mirrors(
    sandbox: Sandbox, unique: str, demo_images: list[str], upstream: Upstream, tmp_path: Path
) -> None:
    talos = layouts.github(upstream, ["v1.11.9", "v1.11.10"])
    debian = layouts.debian(upstream, ["20261101-1234", "20261130-2001"])
    for url, data in debian.images.values():  # the same files on two mirrors
        path = url.removeprefix(upstream.url)
        upstream.put("/mirror-a" + path, data)  # never answers: down
        upstream.dead.add("/mirror-a" + path)
        upstream.put("/mirror-b" + path, data)
    old = "20261101-1234"
    old_path = debian.url(old).removeprefix(upstream.url)
    manifest = tmp_path / "images.yaml"
    manifest.write_text(
        "version: 1\n"
        "defaults:\n  disk_format: raw\n  container_format: bare\n  visibility: private\n"
        "images:\n"
        f"  - name: {unique}-talos  # xz-compressed, GitHub releases\n"
        "    properties: {os_distro: talos}\n"
        "    source:\n"
        f"      url: {talos.url('v1.11.9')}\n"
        f"      checksum: {talos.checksum('v1.11.9')}\n"
        "      version: v1.11.9\n"
        "      watch:\n"
        + "".join(f"        {k}: {v}\n" for k, v in talos.watch.items())
        + f"  - name: {unique}-debian\n"
        "    properties: {os_distro: debian}\n"
        "    source:\n"
        f"      url: {debian.url(old)}\n"
        f"      checksum: {debian.checksum(old)}\n"
        f"      version: '{old}'\n"
        "      mirrors:\n"
        f"        - {upstream.url}/mirror-a{old_path}\n"
        f"        - {upstream.url}/mirror-b{old_path}\n"
        "      watch:\n" + "".join(f"        {k}: {v}\n" for k, v in debian.watch.items())
    )
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "bump", str(manifest)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    text = manifest.read_text()
    assert "v1.11.10" in text and "20261130-2001" in text
    assert f"{upstream.url}/mirror-b/images/cloud/trixie/20261130-2001/" in text
    plan = run_cli(sandbox, "plan", str(manifest))
    assert "xz-compressed" in plan.stdout, plan.stdout
    assert "read from mirror 2 of 2" in plan.stdout, plan.stdout
    code, report = apply(sandbox, manifest)
    images = ours(sandbox, unique)
    demo_images.extend(i["id"] for i in images.values())
    assert code == 0, report
    reasons = {r["name"]: r["reason"] for r in report["images"]}
    assert (
        "mirror-a" in reasons[f"{unique}-debian"] and "passed over" in reasons[f"{unique}-debian"]
    )
    talos_image, debian_image = images[f"{unique}-talos"], images[f"{unique}-debian"]
    raw = talos.raw["v1.11.10"]
    assert talos_image["status"] == "active" and talos_image["size"] == len(raw)
    assert talos_image["os_hash_value"] == hashlib.sha512(raw).hexdigest()
    served = debian.images["20261130-2001"][1]
    assert debian_image["status"] == "active"
    assert debian_image["os_hash_value"] == hashlib.sha512(served).hexdigest()
    assert (
        upstream.requests[
            (
                "GET",
                "/mirror-b/images/cloud/trixie/20261130-2001/debian-13-genericcloud-amd64-20261130-2001.qcow2",
            )
        ]
        == 1
    )
    again, second = plan_json(sandbox, manifest, extra=("--detailed-exitcode",))
    assert again == 0, json.dumps(second)[:2000]
