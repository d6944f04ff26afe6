"""Several Glance stores (issue 25) against a real multi-store Glance: a sandbox of its
own (`.sandbox-stores`, `up --stores 3`), started by this module's fixture or reused.

Glance's facts these tests rest on (seen on this sandbox, Glance 33): copy-image and
`DELETE /v2/stores/{store}/{image}` are admin-only by default (a member gets 403
copy_image / delete_image_location), so the tool runs as sandbox-admin here; Glance
itself refuses to delete the only copy (403 "Cannot delete image data from the only
store containing it").
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.model.image_view import MANAGED_RECORD, encode_record
from reconciler.sandbox import manager
from tests.conftest import ROOT, Sandbox
from tests.sandbox.helpers import by_name, get_image, plan_json, run_cli, write_manifest

STORES = ("store1", "store2", "store3")
ADMIN = "sandbox-admin"


def stores_root() -> Path:
    """Beside the main sandbox; a pytest-xdist worker past the first gets its own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    name = ".sandbox-stores" if worker == "gw0" else f".sandbox-stores-{worker}"
    return Path(os.environ.get("RECONCILER_STORES_SANDBOX_DIR", ROOT / name))


def stores_up() -> Sandbox:
    """The multi-store sandbox, started or reused."""
    result = manager.up(stores_root(), stores=len(STORES))
    return Sandbox(
        root=stores_root().resolve(),
        clouds_file=result.clouds_file,
        project_ids=dict(result.state.project_ids),
        base_image_ids=list(result.state.base_image_ids),
        glance_url=result.state.glance_url,
    )


@pytest.fixture(scope="module")
def stores_sandbox() -> Sandbox:
    return stores_up()


@pytest.fixture
def admin_images(stores_sandbox: Sandbox) -> Iterator[list[str]]:
    """Ids of images a test made as admin; deleted afterwards."""
    created: list[str] = []
    yield created
    session = stores_sandbox.session(ADMIN)
    for image_id in created:
        session.delete(f"{stores_sandbox.glance_url}/v2/images/{image_id}", raise_exc=False)


def _image_in(
    sandbox: Sandbox, stores: list[str], created: list[str], name: str, ours: bool = False
) -> str:
    """An active image whose data Glance put in `stores` (glance-direct import); `ours`:
    its record names the default catalog (only such an image's copies are pruned)."""
    session, base = sandbox.session(ADMIN), f"{sandbox.glance_url}/v2/images"
    image_id = str(uuid.uuid4())
    body = {"id": image_id, "name": name, "disk_format": "raw", "container_format": "bare"}
    if ours:
        body[MANAGED_RECORD] = encode_record(frozenset(), "default")
    session.post(base, json=body)
    created.append(image_id)
    session.put(
        f"{base}/{image_id}/stage",
        data=b"s" * 4096,
        headers={"Content-Type": "application/octet-stream"},
    )
    session.post(
        f"{base}/{image_id}/import",
        json={"method": {"name": "glance-direct"}, "stores": stores},
    )
    _wait(sandbox, image_id, lambda image: image.get("stores") == ",".join(sorted(stores)))
    return image_id


def _wait(sandbox: Sandbox, image_id: str, done: Any, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        image = get_image(sandbox, image_id)
        if image.get("status") == "active" and done(image):
            return image
        if time.monotonic() > deadline:
            raise AssertionError(f"image {image_id} never got there: {image}")
        time.sleep(0.2)


def _stores_of(image: dict[str, Any]) -> set[str]:
    return {s for s in str(image.get("stores") or "").split(",") if s}


def test_up_stores_3_gives_glance_three_file_stores(stores_sandbox: Sandbox) -> None:
    info = stores_sandbox.session(ADMIN).get(f"{stores_sandbox.glance_url}/v2/info/stores")
    stores = info.json()["stores"]
    assert [store["id"] for store in stores] == list(STORES)
    assert [store["id"] for store in stores if store.get("default") in (True, "true")] == ["store1"]
    for name in STORES:
        assert (stores_sandbox.root / "glance" / "stores" / name).is_dir()


def test_validate_online_refuses_a_store_glance_does_not_have(
    stores_sandbox: Sandbox, tmp_path: Path
) -> None:
    path = write_manifest(
        tmp_path,
        """\
        version: 1
        images:
          - name: fine
            stores: [store1, store3]
          - name: wrong
            stores: [store2, elsewhere]
        """,
    )
    done = run_cli(stores_sandbox, "validate", "--online", str(path), cloud=ADMIN)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{path}:5: store 'elsewhere' is not one of Glance's stores" in done.stderr
    assert "Traceback" not in done.stderr and "fine" not in done.stderr


def test_plan_copies_into_missing_stores_and_reports_or_prunes_extras(
    stores_sandbox: Sandbox, tmp_path: Path, admin_images: list[str]
) -> None:
    name = f"t{uuid.uuid4().hex[:10]}-copy"
    image_id = _image_in(stores_sandbox, ["store1", "store3"], admin_images, name, ours=True)
    path = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {name}
            stores: [store1, store2]
        """,
    )
    code, plan = plan_json(stores_sandbox, path, cloud=ADMIN)
    assert code == 0, plan
    planned = by_name(plan)[name]
    assert planned["id"] == image_id and planned["action"] == "update"
    assert planned["stores"]["live"] == ["store1", "store3"]
    assert planned["stores"]["missing"] == ["store2"]
    assert planned["stores"]["extra"] == ["store3"] and planned["stores"]["prune"] == []
    _, pruned = plan_json(stores_sandbox, path, cloud=ADMIN, extra=("--prune-stores",))
    assert by_name(pruned)[name]["stores"]["prune"] == ["store3"]
    text = run_cli(stores_sandbox, "plan", "--prune-stores", str(path), cloud=ADMIN).stdout
    assert "+ store store2: copy (copy-image)" in text
    assert "- store store3: delete the copy (--prune-stores)" in text


def test_prune_stores_never_plans_deleting_the_only_copy(
    stores_sandbox: Sandbox, tmp_path: Path, admin_images: list[str]
) -> None:
    name = f"t{uuid.uuid4().hex[:10]}-only"
    _image_in(stores_sandbox, ["store3"], admin_images, name)
    path = write_manifest(
        tmp_path, f"version: 1\nimages:\n  - name: {name}\n    stores: [store2]\n"
    )
    _, plan = plan_json(stores_sandbox, path, cloud=ADMIN, extra=("--prune-stores",))
    stores = by_name(plan)[name]["stores"]
    assert stores["missing"] == ["store2"] and stores["extra"] == ["store3"]
    assert stores["prune"] == []


def _apply(sandbox: Sandbox, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", *args, cloud=ADMIN)
    assert done.stdout, done.stderr
    return done.returncode, {r["name"]: r for r in json.loads(done.stdout)["images"]}


def _built(tmp_path: Path, name: str, stores: str, method: str = "glance-direct") -> Path:
    payload = (name.encode() + os.urandom(64)) * 2048
    (tmp_path / "disk.raw").write_bytes(payload)
    checksum = hashlib.sha256(payload).hexdigest()
    return write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {name}
            disk_format: raw
            container_format: bare
            stores: {stores}
            source: {{url: disk.raw, checksum: "sha256:{checksum}", method: {method}}}
        """,
    )


def _in_store(sandbox: Sandbox, store: str, image_id: str) -> bytes | None:
    """The bytes a file store keeps for the image (read from its folder), or None."""
    path = sandbox.root / "glance" / "stores" / store / image_id
    return path.read_bytes() if path.is_file() else None


@pytest.mark.parametrize("method", ["glance-direct", "upload"])
def test_a_new_build_goes_into_two_of_three_stores_then_a_third_is_copied(
    method: str, stores_sandbox: Sandbox, tmp_path: Path, admin_images: list[str]
) -> None:
    name = f"t{uuid.uuid4().hex[:10]}-build"
    path = _built(tmp_path, name, "[store2, store3]", method)
    payload = (tmp_path / "disk.raw").read_bytes()
    code, applied = _apply(stores_sandbox, str(path))
    result = applied[name]
    admin_images.append(result["id"])
    assert code == 0 and result["status"] == "applied", result
    image = get_image(stores_sandbox, result["id"])
    assert _stores_of(image) == {"store2", "store3"}
    assert _in_store(stores_sandbox, "store2", result["id"]) == payload
    assert _in_store(stores_sandbox, "store3", result["id"]) == payload
    assert _in_store(stores_sandbox, "store1", result["id"]) is None
    # The entry adds store1: one copy-image, the image as it was otherwise.
    path.write_text(path.read_text().replace("[store2, store3]", "[store1, store2, store3]"))
    code, applied = _apply(stores_sandbox, str(path))
    assert code == 0 and applied[name]["status"] == "applied", applied[name]
    image = _wait(stores_sandbox, result["id"], lambda i: len(_stores_of(i)) == 3)
    assert _in_store(stores_sandbox, "store1", result["id"]) == payload
    _, plan = plan_json(stores_sandbox, path, cloud=ADMIN)
    assert by_name(plan)[name]["action"] == "noop"


def test_a_copy_into_a_broken_store_is_reported_and_the_image_stays_usable(
    stores_sandbox: Sandbox, tmp_path: Path, admin_images: list[str]
) -> None:
    name = f"t{uuid.uuid4().hex[:10]}-broken"
    image_id = _image_in(stores_sandbox, ["store1"], admin_images, name)
    before = get_image(stores_sandbox, image_id)
    path = write_manifest(
        tmp_path, f"version: 1\nimages:\n  - name: {name}\n    stores: [store1, store3]\n"
    )
    # The tests run as root, for whom a folder's mode is no obstacle: the store's folder
    # is replaced by a file, which no write gets past.
    folder = stores_sandbox.root / "glance" / "stores" / "store3"
    aside = folder.with_name("store3.aside")
    folder.rename(aside)
    folder.write_text("")
    try:
        code, applied = _apply(stores_sandbox, str(path))
    finally:
        folder.unlink()
        aside.rename(folder)
    result = applied[name]
    assert code == 3 and result["status"] == "copy_failed", result
    assert "store3" in result["reason"] and "intact in store1" in result["reason"]
    after = get_image(stores_sandbox, image_id)
    assert after["status"] == "active" and _stores_of(after) == {"store1"}
    assert after["os_glance_failed_import"] == "store3"
    assert {k: after[k] for k in ("name", "checksum", "size")} == {
        k: before[k] for k in ("name", "checksum", "size")
    }
    data = stores_sandbox.session(ADMIN).get(
        f"{stores_sandbox.glance_url}/v2/images/{image_id}/file"
    )
    assert data.content == b"s" * 4096  # still downloadable
    # The store works again: the next apply copies.
    code, applied = _apply(stores_sandbox, str(path))
    assert code == 0 and applied[name]["status"] == "applied", applied[name]


def test_apply_prune_stores_deletes_extras_but_never_the_only_copy(
    stores_sandbox: Sandbox, tmp_path: Path, admin_images: list[str]
) -> None:
    name = f"t{uuid.uuid4().hex[:10]}-prune"
    image_id = _image_in(stores_sandbox, ["store1", "store3"], admin_images, name, ours=True)
    path = write_manifest(
        tmp_path, f"version: 1\nimages:\n  - name: {name}\n    stores: [store1]\n"
    )
    code, applied = _apply(stores_sandbox, "--prune-stores", str(path))
    assert code == 0 and applied[name]["status"] == "applied", applied[name]
    assert _stores_of(get_image(stores_sandbox, image_id)) == {"store1"}
    assert _in_store(stores_sandbox, "store3", image_id) is None
    # Declared elsewhere only: store1 holds the only copy, so this run copies into
    # store2 and keeps store1; the next run, planned with store2 holding a copy,
    # deletes store1's.
    path.write_text(path.read_text().replace("[store1]", "[store2]"))
    code, applied = _apply(stores_sandbox, "--prune-stores", str(path))
    assert code == 0, applied[name]
    assert _stores_of(get_image(stores_sandbox, image_id)) == {"store1", "store2"}
    code, applied = _apply(stores_sandbox, "--prune-stores", str(path))
    assert code == 0, applied[name]
    assert _stores_of(get_image(stores_sandbox, image_id)) == {"store2"}


def test_a_copy_deleted_by_hand_is_drift(
    stores_sandbox: Sandbox, tmp_path: Path, admin_images: list[str]
) -> None:
    name = f"t{uuid.uuid4().hex[:10]}-drift"
    image_id = _image_in(stores_sandbox, ["store1", "store2"], admin_images, name)
    path = write_manifest(
        tmp_path, f"version: 1\nimages:\n  - name: {name}\n    stores: [store1, store2]\n"
    )
    done = run_cli(stores_sandbox, "drift", "--format", "json", str(path), cloud=ADMIN)
    assert done.returncode == 0, done.stdout + done.stderr
    stores_sandbox.session(ADMIN).delete(f"{stores_sandbox.glance_url}/v2/stores/store2/{image_id}")
    markdown = tmp_path / "drift.md"
    done = run_cli(
        stores_sandbox,
        "drift",
        "--format",
        "json",
        "--report",
        f"markdown={markdown}",
        str(path),
        cloud=ADMIN,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    [image] = [i for i in json.loads(done.stdout)["targets"][0]["images"] if i["name"] == name]
    assert image["state"] == "drifted"
    [field] = image["fields"]
    assert field["field"] == "stores" and field["kind"] == "stores"
    assert (field["only_in_git"], field["only_in_cloud"]) == (["store2"], [])
    assert "stores: missing in the cloud: store2" in markdown.read_text()
