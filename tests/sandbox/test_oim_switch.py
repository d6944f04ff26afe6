"""Switching from openstack-image-manager, with OIM itself as the fixture: OIM (from
PyPI, in its own venv: it needs Python >= 3.12) runs twice against the sandbox on
definitions from its real etc/images files (a multi image with a latest_url, a
multi: false image with an xz-compressed source), their URLs pointed at the sandbox's
mirror and their checksums those of the files served, so the multi image has a previous
build `NAME (VERSION)`. Then `import --from oim` -> `validate` -> `plan
--detailed-exitcode` exits 0 (adoptions only) -> `apply` (ids, names and hashes exactly as
OIM left them, read back independently) -> `plan` exits 0 -> a new build of the multi
image rotates: it takes the name, the outgoing build gets OIM's name form, OIM's older
build stays one of the entry's builds."""

from __future__ import annotations

import bz2
import glob
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler.model.image_view import MANAGED_RECORD, parse_record
from tests.conftest import ROOT, SUMMARY, Sandbox
from tests.sandbox.helpers import get_image, plan_json, run_cli
from tests.sandbox.test_image_data import ours

OIM_VERSION = "0.20261007.0"
OIM_VENV = ROOT / ".venv-oim"
CATALOG = ROOT / "tests" / "fixtures" / "oim" / "etc" / "images"
MULTI, SINGLE = "Rocky 9", "Talos Linux"


def _python_312() -> str | None:
    """A Python >= 3.12 on this machine (OIM's floor): OIM_PYTHON, then PATH, then pyenv."""
    candidates = [os.environ.get("OIM_PYTHON", "")]
    candidates += ["python3.14", "python3.13", "python3.12"]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")))
    for candidate in filter(None, candidates):
        path = shutil.which(candidate) or candidate
        try:
            done = subprocess.run(
                [path, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return path
    return None


@pytest.fixture(scope="module")
def oim() -> Path:
    """OIM's command: `make .venv-oim/bin/openstack-image-manager` (a prerequisite of
    `make test`), else made here with the first Python >= 3.12 found."""
    binary = OIM_VENV / "bin" / "openstack-image-manager"
    if binary.exists():
        return binary
    python = _python_312()
    if python is None:
        reason = (
            "!!! NO PYTHON >= 3.12 ON THIS MACHINE: openstack-image-manager cannot be "
            "installed, the OIM switch acceptance test did NOT run (set OIM_PYTHON) !!!"
        )
        if os.environ.get("RECONCILER_OIM_REQUIRED") == "1":  # CI (.ci/run): never skipped
            pytest.fail(reason)
        pytest.skip(reason)
    subprocess.run([python, "-m", "venv", str(OIM_VENV)], check=True, timeout=300)
    pip = [
        str(OIM_VENV / "bin" / "pip"),
        "install",
        "-q",
        f"openstack-image-manager=={OIM_VERSION}",
    ]
    subprocess.run(pip, check=True, timeout=900)
    return binary


ROCKY_SIZES = {"20251123": "1M", "20251201": "2M", "20251215": "3M"}


def qcow2(size: str) -> bytes:
    """A real qcow2 (Glance's import checks the data is the format it is told), made by
    qemu-img; each virtual size gives other bytes."""
    qemu_img = shutil.which("qemu-img")
    assert qemu_img is not None, "qemu-img (Debian's qemu-utils) is installed by `make test`"
    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    path = folder / f"oim-switch-{os.getpid()}-{size}.qcow2"
    try:
        subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", str(path), size], check=True)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _definition(file: str, name: str) -> Any:
    data = _yaml().load((CATALOG / file).read_text())
    (found,) = [image for image in data["images"] if image["name"] == name]
    return found


class Upstream:
    """Files on the sandbox's mirror standing for an upstream and OIM's own mirror."""

    def __init__(self, sandbox: Sandbox, unique: str) -> None:
        state = json.loads((sandbox.root / "state.json").read_text())
        self.base = f"http://127.0.0.1:{state['mirror_port']}/{unique}"
        self.folder = sandbox.root / "mirror" / unique
        self.folder.mkdir(parents=True, exist_ok=True)

    def publish(self, path: str, data: bytes) -> tuple[str, str]:
        """The file's URL and its sha256 (OIM's checksum form)."""
        target = self.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return f"{self.base}/{path}", "sha256:" + hashlib.sha256(data).hexdigest()


def _version(upstream: Upstream, shortname: str, version: str, file: str, data: bytes) -> Any:
    url, checksum = upstream.publish(f"upstream/{version}/{file}", data)
    mirror_url, _same = upstream.publish(f"mirror/{shortname}/{version}/{file}", data)
    day = (
        date(int(version[:4]), int(version[4:6]), int(version[6:8])) if version.isdigit() else None
    )
    return {
        "version": version,
        "url": url,
        "mirror_url": mirror_url,
        "checksum": checksum,
        "build_date": day or date(2025, 10, 15),
    }


def _catalog(upstream: Upstream, unique: str, rocky_versions: list[str]) -> dict[str, Any]:
    """OIM's real Rocky 9 and Talos definitions, renamed for this test, community (a
    member may not publicize), their versions on the sandbox's mirror."""
    rocky = _definition("rockylinux.yml", MULTI)
    rocky["name"] = f"{unique} {MULTI}"
    rocky["visibility"] = "community"
    rocky["latest_url"] = f"{upstream.base}/latest/Rocky-9-GenericCloud.latest.x86_64.qcow2"
    rocky["latest_checksum_url"] = f"{upstream.base}/latest/CHECKSUM"  # read by bump only
    rocky["versions"] = [
        _version(upstream, "rocky-9", v, "Rocky-9.qcow2", qcow2(ROCKY_SIZES[v]))
        for v in rocky_versions
    ]
    talos = _definition("talos.yml", SINGLE)
    talos["name"] = f"{unique} {SINGLE}"
    talos["enable"] = True
    talos["visibility"] = "community"
    talos["versions"] = [
        _version(
            upstream, "talos", "1.11.3", "openstack-amd64.raw.xz",
            lzma.compress(b"talos 1.11.3 " * 30000),
        )
    ]  # fmt: skip
    return {"images": [rocky, talos]}


def _write_catalog(folder: Path, catalog: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "images.yml").open("w") as out:
        _yaml().dump(catalog, out)


def _run_oim(sandbox: Sandbox, oim: Path, images: Path) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [str(oim), "--cloud", "sandbox", "--images", str(images)],
        env=sandbox.env("sandbox"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    (images.parent / f"oim-{started:.0f}.log").write_text(done.stderr)
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert done.returncode == 0, "\n".join(errors) or done.stderr[-3000:]
    return time.monotonic() - started


def _ours(sandbox: Sandbox, unique: str) -> dict[str, dict[str, Any]]:
    """This test's images, as the demo member lists them (its own community images are
    in its listing, not in the admin's)."""
    return ours(sandbox, unique, cloud="sandbox")


@pytest.fixture
def cleanup(sandbox: Sandbox, unique: str) -> Any:
    yield
    conn = sandbox.connection("sandbox")
    for image in _ours(sandbox, unique).values():
        for attempt in range(6):  # sqlite answers 500 "database is locked" under load
            try:
                conn.image.delete_image(image["id"], ignore_missing=True)
                break
            except Exception:
                if attempt == 5:
                    raise
                time.sleep(0.5)
    shutil.rmtree(sandbox.root / "mirror" / unique, ignore_errors=True)


FIXED = ("id", "name", "os_hash_value", "checksum", "size", "status", "visibility")


def test_switching_from_oim_adopts_its_builds_and_rotates_them(
    sandbox: Sandbox, unique: str, oim: Path, tmp_path: Path, cleanup: None
) -> None:
    upstream = Upstream(sandbox, unique)
    images = tmp_path / "etc" / "images"
    name, single = f"{unique} {MULTI}", f"{unique} {SINGLE} 1.11.3"

    first = _run_oim(sandbox, oim, _save(images, _catalog(upstream, unique, ["20251123"])))
    second = _run_oim(
        sandbox, oim, _save(images, _catalog(upstream, unique, ["20251123", "20251201"]))
    )
    SUMMARY.append(f"openstack-image-manager: first run {first:.1f} s, second run {second:.1f} s")
    oims = _ours(sandbox, unique)
    assert sorted(oims) == sorted([name, f"{name} (20251123)", single])
    assert oims[name]["internal_version"] == "20251201"
    assert "managed_by_osism" in oims[name]["tags"]

    manifests = tmp_path / "manifests"
    done = run_cli(
        sandbox, "import", "--from", "oim", str(images), "-o", str(manifests),
        "--catalog", unique, "--retire", "deactivate",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[older-version]" in done.stderr and "[shortname]" in done.stderr
    path = manifests / "images.yaml"
    assert run_cli(sandbox, "validate", str(path)).returncode == 0
    # OIM ran with its own SCS check (its schema) on: the manifests hold scs-0102
    done = run_cli(sandbox, "validate", "--policy", "scs-0102", str(path))
    assert done.returncode == 0, done.stderr

    saved = tmp_path / "adopt.plan.json"
    done = run_cli(sandbox, "plan", "--detailed-exitcode", "--out", str(saved), str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    code, plan = plan_json(sandbox, path)
    actions = {i["name"]: i["action"] for i in plan["images"] if i["name"].startswith(unique)}
    assert actions == {name: "adopt", single: "adopt"}
    planned = {i["name"]: i for i in plan["images"]}
    assert any("previous build" in w and "(20251123)" in w for w in planned[name]["warnings"])
    assert any("build recognised" in w for w in planned[single]["warnings"])

    done = run_cli(sandbox, "apply", "--auto-approve", str(saved))  # as CI applies a plan
    assert done.returncode == 0, done.stdout + done.stderr
    after = _ours(sandbox, unique)
    assert sorted(after) == sorted(oims)
    for image_name, before in oims.items():
        now = get_image(sandbox, before["id"])  # read back independently, as admin
        assert {k: now.get(k) for k in FIXED} == {k: before.get(k) for k in FIXED}
        changed = {k for k in now.keys() | before.keys() if now.get(k) != before.get(k)}
        assert changed == {MANAGED_RECORD, "updated_at"}, image_name
        record = parse_record(now[MANAGED_RECORD])
        assert record is not None and record.catalog == unique
        assert record.entry == (single if image_name == single else name)
    assert run_cli(sandbox, "plan", "--detailed-exitcode", str(path)).returncode == 0

    # a new build of the multi image
    new = qcow2(ROCKY_SIZES["20251215"])
    url, checksum = upstream.publish("upstream/20251215/Rocky-9.qcow2", new)
    mirror_url, _same = upstream.publish("mirror/rocky-9/20251215/Rocky-9.qcow2", new)
    text = path.read_text()
    (entry,) = [e for e in _yaml().load(text)["images"] if e["name"] == name]
    old_source = dict(entry["source"])
    text = text.replace(old_source["url"], url).replace(old_source["checksum"], checksum)
    text = text.replace(old_source["mirrors"][0], mirror_url)
    text = text.replace(f"'{old_source['version']}'", "'20251215'")
    path.write_text(text)
    code, plan = plan_json(sandbox, path, extra=("--prune",))
    assert {i["name"]: i["action"] for i in plan["images"] if i["name"].startswith(unique)} == {
        name: "rebuild",
        single: "noop",
    }
    done = run_cli(sandbox, "apply", "--auto-approve", "--prune", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    rotated = _ours(sandbox, unique)
    assert sorted(rotated) == sorted([name, f"{name} (20251201)", f"{name} (20251123)", single])
    assert rotated[f"{name} (20251201)"]["id"] == oims[name]["id"]  # the outgoing build
    assert rotated[f"{name} (20251123)"]["id"] == oims[f"{name} (20251123)"]["id"]
    assert rotated[name]["os_hash_value"] == hashlib.sha512(new).hexdigest()
    for image in rotated.values():
        record = parse_record(image[MANAGED_RECORD])
        assert record is not None and record.catalog == unique  # none unmanaged
    for old in (f"{name} (20251201)", f"{name} (20251123)"):
        assert parse_record(rotated[old][MANAGED_RECORD]).entry == name  # type: ignore[union-attr]
    code, plan = plan_json(sandbox, path, extra=("--prune",))
    assert code == 0
    assert {i["action"] for i in plan["images"] if i["name"].startswith(unique)} == {"noop"}


def _save(folder: Path, catalog: dict[str, Any]) -> Path:
    _write_catalog(folder, catalog)
    return folder


@pytest.mark.skipif(
    os.environ.get("RECONCILER_OIM_FULL") != "1",
    reason="OIM's whole catalog takes OIM about 140 s: RECONCILER_OIM_FULL=1 runs it",
)
def test_oims_whole_catalog_is_adopted(
    sandbox: Sandbox, unique: str, oim: Path, tmp_path: Path, cleanup: None
) -> None:
    """Every definition of OIM's real etc/images that this sandbox's Glance can take by
    web-download (not the qcow2.xz ones: without Glance's decompression plugin they
    would be stored compressed, which its qcow2 check refuses), run by OIM once, then
    converted: the first plan is adoptions only, and after apply nothing is left."""
    upstream = Upstream(sandbox, unique)
    images = tmp_path / "etc" / "images"
    images.mkdir(parents=True)
    count = 0
    for file in sorted(CATALOG.glob("*.yml")):
        data = _yaml().load(file.read_text())
        kept = []
        for image in data["images"]:
            urls = [str(v["url"]) for v in image["versions"]]
            if image["format"] == "qcow2" and any(u.endswith((".xz", ".bz2")) for u in urls):
                continue
            image["name"] = f"{unique} {image['name']}"
            image["enable"], image["visibility"] = True, "community"
            for version in image["versions"]:
                count += 1
                url = str(version["url"])
                name = url.rsplit("/", 1)[-1].replace("\\", "").replace("$", "")
                raw = qcow2(f"{count}M") if image["format"] == "qcow2" else b"raw %d " % count
                body = (
                    lzma.compress(raw) if url.endswith(".xz")
                    else bz2.compress(raw) if url.endswith(".bz2") else raw
                )  # fmt: skip
                algorithm = str(version["checksum"]).split(":")[0]
                mirror, _sha256 = upstream.publish(f"{count}/{name}", body)
                version["checksum"] = f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"
                version["mirror_url"] = mirror
                if "HEREBE" not in url:
                    version["url"] = mirror
            kept.append(image)
        if kept:
            data["images"] = kept
            with (images / file.name).open("w") as out:
                _yaml().dump(data, out)
    took = _run_oim(sandbox, oim, images)
    built = _ours(sandbox, unique)
    SUMMARY.append(f"openstack-image-manager, whole catalog: {len(built)} images in {took:.0f} s")
    manifests = tmp_path / "manifests"
    done = run_cli(sandbox, "import", "--from", "oim", str(images), "-o", str(manifests),
                   "--catalog", unique)  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = manifests / "images.yaml"
    _code, plan = plan_json(sandbox, path)
    mine = [i for i in plan["images"] if i["name"].startswith(unique)]
    assert len(mine) == len(built) >= 25
    assert {i["action"] for i in mine} == {"adopt"}, [
        (i["name"], i["action"]) for i in mine if i["action"] != "adopt"
    ]
    assert run_cli(sandbox, "plan", "--detailed-exitcode", str(path)).returncode == 0
    assert run_cli(sandbox, "apply", "--auto-approve", str(path)).returncode == 0
    code, plan = plan_json(sandbox, path)
    assert code == 0
    assert {i["action"] for i in plan["images"] if i["name"].startswith(unique)} == {"noop"}
