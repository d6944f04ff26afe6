"""Builds and rotation against the real Glance, read back independently as admin.

Three source changes in a row under `keep: 2` for each way of retiring (hide,
deactivate, delete), in one catalog, while a second catalog rotates an image of the same
name in the same project: exactly one image per entry carries the plain name and the
newest data, the previous build is renamed with `oldgeneric`, older builds are retired
as declared, every build's `os_hash_value` is its own file's sha512, the other catalog's
images are never touched, and a second plan has nothing to do. The hidden entry is
written to the Sovereign Cloud Stack image metadata standard (scs-0102), and its builds
are checked against the standard's rules as written, not through the tool's policies.
A refused write in the middle of a rotation leaves every image of the entries as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.model.image_view import MANAGED_RECORD, parse_record
from tests.conftest import Sandbox
from tests.sandbox.helpers import plan_json, run_cli, write_manifest

SCS_PROPERTIES = {
    "architecture": "x86_64",
    "hw_disk_bus": "virtio",
    "os_distro": "ubuntu",
    "os_version": "24.04",
    "replace_frequency": "monthly",
    "uuid_validity": "last-2",
    "provided_until": "none",
    "image_source": "https://cloud-images.ubuntu.com/noble/current/",
    "image_description": "https://example.org/images/ubuntu-24.04",
    "image_original_user": "ubuntu",
    "os_purpose": "generic",
}


def all_images(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every image visible to the admin, hidden and other projects' community ones
    included (raw API)."""
    session = sandbox.session("sandbox-admin")
    images: list[dict[str, Any]] = []
    for hidden in ("false", "true"):
        url = f"{sandbox.glance_url}/v2/images?limit=1000&visibility=all&os_hidden={hidden}"
        while url:
            page = session.get(url).json()
            images += page["images"]
            url = sandbox.glance_url + page["next"] if page.get("next") else ""
    return images


def builds(sandbox: Sandbox, catalog: str, entry: str) -> list[dict[str, Any]]:
    """The entry's builds in the catalog, newest first."""
    found = []
    for image in all_images(sandbox):
        record = parse_record(image.get(MANAGED_RECORD))
        if record is not None and record.catalog == catalog and record.entry == entry:
            found.append(image)
    return sorted(found, key=lambda image: image["created_at"], reverse=True)


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def payload(unique: str, round_: int, name: str) -> bytes:
    return f"{unique}/{name}/{round_}/".encode() * 2048 + os.urandom(32)


def alpha_manifest(
    unique: str,
    folder: Path,
    round_: int,
    files: dict[str, bytes],
    extra: dict[str, str] | None = None,
) -> Path:
    """Catalog alpha: one entry per way of retiring; `hide` follows scs-0102."""
    day = f"2026-11-{round_:02d}"
    entries = []
    for retired in ("hide", "deactivate", "delete"):
        name = f"{unique}-{retired}"
        (folder / f"{retired}-{round_}.raw").write_bytes(files[name])
        properties = {**SCS_PROPERTIES, "image_build_date": day} if retired == "hide" else {}
        properties.setdefault("os_purpose", "generic")
        entries.append(
            {
                "name": name,
                "visibility": "community" if retired == "hide" else "private",
                "min_disk": 1,
                "min_ram": 512,
                "disk_format": "raw",
                "container_format": "bare",
                "properties": properties,
                "source": {
                    "url": f"{retired}-{round_}.raw",
                    "checksum": f"sha512:{sha512(files[name])}",
                    "version": day.replace("-", ""),
                },
                "rotation": {
                    "rename": "{name} {version}",
                    "previous": {
                        "properties": {"os_purpose": "oldgeneric", **(extra or {})},
                        "os_hidden": False,
                    },
                    "keep": 2,
                    "retired": retired,
                },
            }
        )
    document = {"version": 1, "catalog": f"{unique}-alpha", "images": entries}
    return write_manifest(folder, json.dumps(document), "alpha.yaml")


def beta_manifest(unique: str, folder: Path, round_: int, data: bytes) -> Path:
    """Catalog beta rotates an image named like one of alpha's."""
    (folder / f"beta-{round_}.raw").write_bytes(data)
    document = {
        "version": 1,
        "catalog": f"{unique}-beta",
        "images": [
            {
                "name": f"{unique}-hide",
                "disk_format": "raw",
                "container_format": "bare",
                "source": {
                    "url": f"beta-{round_}.raw",
                    "checksum": f"sha512:{sha512(data)}",
                    "version": f"b{round_}",
                },
                "rotation": {"keep": 2, "retired": "delete"},
            }
        ],
    }
    return write_manifest(folder, json.dumps(document), "beta.yaml")


def apply(sandbox: Sandbox, path: Path) -> dict[str, Any]:
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(path))
    assert done.stdout, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == 0, report
    return report


def snapshot(images: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {image["id"]: image for image in images}


def everything(sandbox: Sandbox, unique: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Every build of catalog alpha's entries, by id, as stored."""
    return snapshot([i for n in names for i in builds(sandbox, f"{unique}-alpha", n)])


def test_three_source_changes_rotate_each_way_and_leave_the_other_catalog_alone(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    names = [f"{unique}-{retired}" for retired in ("hide", "deactivate", "delete")]
    data: dict[tuple[str, int], bytes] = {}
    try:
        for round_ in range(1, 5):
            files = {name: payload(unique, round_, name) for name in names}
            data.update({(name, round_): files[name] for name in names})
            beta_before = snapshot(builds(sandbox, f"{unique}-beta", names[0]))
            apply(sandbox, alpha_manifest(unique, tmp_path, round_, files))
            beta_after = snapshot(builds(sandbox, f"{unique}-beta", names[0]))
            assert beta_after == beta_before  # alpha's apply never touches beta's images
            if round_ > 2:
                continue  # two rounds of beta: one rotation of its own
            alpha_before = everything(sandbox, unique, names)
            data[("beta", round_)] = payload(unique, round_, "beta")
            apply(sandbox, beta_manifest(unique, tmp_path, round_, data[("beta", round_)]))
            assert everything(sandbox, unique, names) == alpha_before
    finally:
        demo_images.extend(
            image["id"]
            for image in all_images(sandbox)
            if str(image.get("name", "")).startswith(unique)
        )

    for name, retired in zip(names, ("hide", "deactivate", "delete"), strict=True):
        found = builds(sandbox, f"{unique}-alpha", name)
        plain = [image for image in found if image["name"] == name]
        assert len(plain) == 1 and plain[0] is found[0]
        assert found[0]["os_purpose"] == "generic" and found[0]["status"] == "active"
        assert found[1]["name"] == f"{name} 20261103"
        assert found[1]["os_purpose"] == "oldgeneric" and found[1]["os_hidden"] is False
        if retired == "delete":
            assert len(found) == 2
        else:
            assert [i["name"] for i in found[2:]] == [f"{name} 20261102", f"{name} 20261101"]
            for old in found[2:]:
                assert old["os_purpose"] == "oldgeneric"
                if retired == "hide":
                    assert old["os_hidden"] is True and old["status"] == "active"
                else:
                    assert old["status"] == "deactivated" and old["os_hidden"] is False
        for image, round_ in zip(found, (4, 3, 2, 1), strict=False):
            assert image["os_hash_algo"] == "sha512"
            assert image["os_hash_value"] == sha512(data[(name, round_)])
    beta = builds(sandbox, f"{unique}-beta", names[0])
    assert len(beta) == 2 and beta[0]["name"] == names[0]
    assert beta[0]["os_hash_value"] == sha512(data[("beta", 2)])
    assert beta[1]["name"] == f"{names[0]} b1"
    # One image of each catalog carries the shared name.
    assert sorted(i["id"] for i in all_images(sandbox) if i["name"] == names[0]) == sorted(
        [beta[0]["id"], builds(sandbox, f"{unique}-alpha", names[0])[0]["id"]]
    )
    for path in (tmp_path / "alpha.yaml", tmp_path / "beta.yaml"):
        code, plan = plan_json(sandbox, path, extra=("--detailed-exitcode", "--prune"))
        assert code == 0, plan  # nothing to do, and no orphans
    check_scs_0102(builds(sandbox, f"{unique}-alpha", names[0]))

    # A fifth source change whose previous-build metadata includes a property only
    # admins may write (the sandbox's `x_billing_*` protection): the new build is made
    # and filled, the outgoing build's PATCH is refused (403), and every image of the
    # entries is as before (the new builds deleted).
    before = everything(sandbox, unique, names)
    files = {name: payload(unique, 5, name) for name in names}
    path = alpha_manifest(unique, tmp_path, 5, files, {"x_billing_code": "retired"})
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(path))
    report = json.loads(done.stdout)
    demo_images.extend(
        i["id"] for i in all_images(sandbox) if str(i.get("name", "")).startswith(unique)
    )
    assert done.returncode == 3, report
    assert {r["status"] for r in report["images"]} == {"rolled_back"}, report
    assert all("403" in r["reason"] or "orbidden" in r["reason"] for r in report["images"])
    after = everything(sandbox, unique, names)
    assert after.keys() == before.keys()
    for image_id, image in before.items():
        assert {k: v for k, v in after[image_id].items() if k != "updated_at"} == {
            k: v for k, v in image.items() if k != "updated_at"
        }


# Rules of scs-0102 (SCS image metadata standard), as written, for public and community
# images; the standard's text is summarised in ../shared/notes/image-data-facts.md.
FREQUENCIES = {"yearly", "quarterly", "monthly", "weekly", "daily", "critical_bug", "never"}
DATE = r"\d{4}-\d{2}-\d{2}"


def check_scs_0102(images: list[dict[str, Any]]) -> None:
    generic: dict[tuple[str, str, str], list[str]] = {}
    for image in images:
        name = image["name"]
        assert image["visibility"] == "community", name
        assert image["architecture"] in {"x86_64", "aarch64", "risc-v"}, name
        assert isinstance(image["min_disk"], int) and image["min_disk"] >= 1, name
        assert image["min_disk"] * 1024**3 >= image["size"], name  # GiB, at least the size
        assert isinstance(image["min_ram"], int) and image["min_ram"] > 0, name
        assert image["os_distro"] and re.fullmatch(r"\d+(\.\d+)*", image["os_version"]), name
        assert image["hw_disk_bus"] in {"virtio", "scsi", "ide", "sata", "usb", "xen"}, name
        assert image["replace_frequency"] in FREQUENCIES, name
        assert re.fullmatch(rf"none|last-\d+|{DATE}|notice|forever", image["uuid_validity"])
        assert re.fullmatch(rf"none|{DATE}|notice", image["provided_until"]), name
        assert re.match(r"https?://", image["image_source"]) or image["image_source"] == "private"
        assert image["image_description"], name
        assert image["image_original_user"], name
        build_date = image["image_build_date"]
        assert re.fullmatch(rf"{DATE}( \d{{2}}:\d{{2}}(:\d{{2}})?)?", build_date), name
        created = datetime.fromisoformat(image["created_at"].replace("Z", "+00:00"))
        assert build_date[:10] <= created.strftime("%Y-%m-%d"), name  # not after creation
        assert image["os_purpose"] in {
            "generic",
            "oldgeneric",
            "minimal",
            "k8snode",
            "gpu",
            "network",
            "custom",
        }
        assert image["os_hash_algo"] in {"sha256", "sha512"}, name
        if image["os_purpose"] == "generic" and not image["os_hidden"]:
            key = (image["architecture"], image["os_distro"], image["os_version"])
            generic.setdefault(key, []).append(name)
    # At most one public, non-hidden generic image per (architecture, distro, version).
    assert all(len(found) == 1 for found in generic.values()), generic
    # Rotation: every build but the newest is hidden or ends in a date, `old` or `prev`.
    for image in images[1:]:
        marked = re.search(r" (\d{8}|\d{4}-\d{2}-\d{2}|old|prev)$", image["name"])
        assert image["os_hidden"] or marked, image["name"]
