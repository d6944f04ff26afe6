"""Images built from a declared source against the real Glance, read back independently
as admin: each method ends active with `os_hash_value` equal to the sha512 of the file
(computed here, not by the tool) and the record of its build; a wrong checksum leaves no
image (exit 3, the reason names expected and actual); a changed source makes a new build
that takes the name while the old one is renamed and otherwise unchanged; a rebuild
whose source dies half way leaves everything as it was."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.model.image_view import MANAGED_RECORD, parse_record
from tests.conftest import Sandbox
from tests.sandbox.helpers import get_image, plan_json, run_cli, write_manifest


def mirror(sandbox: Sandbox) -> tuple[Path, str]:
    """The sandbox's loopback mirror: the folder it serves and its URL."""
    state = json.loads((sandbox.root / "state.json").read_text())
    return sandbox.root / "mirror", f"http://127.0.0.1:{state['mirror_port']}"


def sha(data: bytes, algorithm: str = "sha512") -> str:
    return hashlib.new(algorithm, data).hexdigest()


def manifest(name: str, source: dict[str, Any]) -> str:
    return (
        "version: 1\nimages:\n"
        f"  - name: {name}\n    disk_format: raw\n    container_format: bare\n"
        f"    properties: {{os_distro: debian}}\n    source: {json.dumps(source)}\n"
    )


def ours(sandbox: Sandbox, prefix: str, cloud: str = "sandbox-admin") -> dict[str, dict[str, Any]]:
    """The images named `prefix...` as `cloud` lists them (a member lists its own
    community images; the admin's listing does not show them)."""
    session = sandbox.session(cloud)
    url = f"{sandbox.glance_url}/v2/images?limit=1000"
    images: list[dict[str, Any]] = []
    while url:
        page = session.get(url).json()
        images += page["images"]
        url = sandbox.glance_url + page["next"] if page.get("next") else ""
    return {i["name"]: i for i in images if i["name"].startswith(prefix)}


def apply(sandbox: Sandbox, path: Path) -> tuple[int, dict[str, Any]]:
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(path))
    assert done.stdout, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, report


@pytest.fixture
def payload(unique: str) -> bytes:
    return (unique.encode() + os.urandom(64)) * 4096  # about 300 KB, different each test


@pytest.mark.parametrize("method", ["upload", "glance-direct", "web-download"])
def test_each_method_builds_an_active_image_with_the_files_hash(
    method: str,
    sandbox: Sandbox,
    unique: str,
    demo_images: list[str],
    payload: bytes,
    tmp_path: Path,
) -> None:
    folder, base = mirror(sandbox)
    (folder / f"{unique}.raw").write_bytes(payload)
    if method == "web-download":
        source = {"url": f"{base}/{unique}.raw", "checksum": f"sha512:{sha(payload)}"}
    else:
        (tmp_path / "disk.raw").write_bytes(payload)
        source = {"url": "disk.raw", "checksum": f"sha256:{sha(payload, 'sha256')}"}
    source |= {"method": method, "version": "1"}
    path = write_manifest(tmp_path, manifest(f"{unique}-img", source))
    code, report = apply(sandbox, path)
    images = ours(sandbox, unique)
    demo_images.extend(i["id"] for i in images.values())
    assert code == 0, report
    image = images[f"{unique}-img"]
    assert image["status"] == "active" and image["size"] == len(payload)
    assert (image["os_hash_algo"], image["os_hash_value"]) == ("sha512", sha(payload))
    record = parse_record(image[MANAGED_RECORD])
    assert record is not None and record.build == source["checksum"] and record.version == "1"
    code, plan = plan_json(sandbox, path, extra=("--detailed-exitcode",))
    assert code == 0, plan  # the build is current: nothing is uploaded again


@pytest.mark.parametrize("method", ["upload", "glance-direct", "web-download"])
def test_a_wrong_checksum_leaves_no_image(
    method: str,
    sandbox: Sandbox,
    unique: str,
    demo_images: list[str],
    payload: bytes,
    tmp_path: Path,
) -> None:
    folder, base = mirror(sandbox)
    (folder / f"{unique}.raw").write_bytes(payload)
    wrong = "0" * 128
    source = {"url": f"{base}/{unique}.raw", "checksum": f"sha512:{wrong}", "method": method}
    path = write_manifest(tmp_path, manifest(f"{unique}-bad", source))
    code, report = apply(sandbox, path)
    demo_images.extend(i["id"] for i in ours(sandbox, unique).values())
    assert code == 3, report
    (result,) = report["images"]
    assert result["status"] == "rolled_back"
    assert wrong in result["reason"] and sha(payload) in result["reason"], result["reason"]
    assert ours(sandbox, unique) == {}


def test_a_changed_source_makes_a_new_build(
    sandbox: Sandbox, unique: str, demo_images: list[str], payload: bytes, tmp_path: Path
) -> None:
    (tmp_path / "v1.raw").write_bytes(payload)
    first = {"url": "v1.raw", "checksum": f"sha256:{sha(payload, 'sha256')}", "version": "1"}
    path = write_manifest(tmp_path, manifest(f"{unique}-os", first))
    assert apply(sandbox, path)[0] == 0
    before = ours(sandbox, unique)[f"{unique}-os"]
    demo_images.append(before["id"])

    second = payload[::-1] + b"v2"
    (tmp_path / "v2.raw").write_bytes(second)
    source = {"url": "v2.raw", "checksum": f"sha512:{sha(second)}", "version": "2"}
    write_manifest(tmp_path, manifest(f"{unique}-os", source))
    code, plan = plan_json(sandbox, path, extra=("--prune",))
    (entry,) = [i for i in plan["images"] if i["name"].startswith(unique)]
    assert entry["action"] == "rebuild" and entry["rename_previous"] == f"{unique}-os 1"
    code, report = apply(sandbox, path)
    images = ours(sandbox, unique)
    demo_images.extend(i["id"] for i in images.values() if i["id"] != before["id"])
    assert code == 0, report
    assert sorted(images) == [f"{unique}-os", f"{unique}-os 1"]
    new, old = images[f"{unique}-os"], images[f"{unique}-os 1"]
    assert new["os_hash_value"] == sha(second) and new["os_distro"] == "debian"
    assert old["id"] == before["id"]
    changed = {k for k in old.keys() | before.keys() if old.get(k) != before.get(k)}
    assert changed == {"name", "updated_at"}
    code, plan = plan_json(sandbox, path, extra=("--prune",))
    mine = {i["name"]: i["action"] for i in plan["images"] if i["name"].startswith(unique)}
    assert mine == {f"{unique}-os": "noop"}  # the previous build is its entry's, no orphan


def test_a_rebuild_whose_source_dies_half_way_changes_nothing(
    sandbox: Sandbox, unique: str, demo_images: list[str], payload: bytes, tmp_path: Path
) -> None:
    (tmp_path / "v1.raw").write_bytes(payload)
    first = {"url": "v1.raw", "checksum": f"sha256:{sha(payload, 'sha256')}", "version": "1"}
    path = write_manifest(tmp_path, manifest(f"{unique}-os", first))
    assert apply(sandbox, path)[0] == 0
    before = ours(sandbox, unique)
    demo_images.extend(i["id"] for i in before.values())

    folder, base = mirror(sandbox)
    second = payload + b"v2"
    (folder / f"{unique}-v2.raw").write_bytes(second)
    url = f"{base}/{unique}-v2.raw?cut={len(second) // 2}"  # the mirror stops half way
    source = {"url": url, "checksum": f"sha512:{sha(second)}", "version": "2"}
    write_manifest(tmp_path, manifest(f"{unique}-os", source))
    code, report = apply(sandbox, path)
    after = ours(sandbox, unique)
    demo_images.extend(i["id"] for i in after.values())
    assert code == 3, report
    assert report["images"][0]["status"] == "rolled_back", report
    assert after.keys() == before.keys()
    for name, image in after.items():
        assert {k: v for k, v in image.items() if k != "updated_at"} == {
            k: v for k, v in before[name].items() if k != "updated_at"
        }
    independent = get_image(sandbox, before[f"{unique}-os"]["id"])
    assert independent["name"] == f"{unique}-os"
