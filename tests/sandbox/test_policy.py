"""Policies against the sandbox: a catalog applied from an SCS-conformant manifest passes
`drift --policy scs-0102`; a live image edited by hand to break a rule is reported (JSON
and JUnit, with the rule id); plan refuses an entry that breaks a rule. One apply, a few
reads: kept short for make test's budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import junitparser

from tests.conftest import Sandbox
from tests.sandbox.helpers import retried, run_cli, write_manifest

# Today (UTC): the build date may not be after the images' creation, nor so old that
# replace_frequency (monthly) asks for a replacement.
TODAY = datetime.now(UTC).strftime("%Y-%m-%d")
SCS_PROPERTIES = """\
        architecture: x86_64
        os_distro: ubuntu
        hw_disk_bus: virtio
        replace_frequency: monthly
        uuid_validity: last-3
        provided_until: none
        image_source: private
        image_description: https://docs.example/images
        image_build_date: "{today}"
        image_original_user: ubuntu
        os_purpose: generic
"""


def _manifest(unique: str) -> str:
    # Community: what the demo member may publish (public needs admin); scs-0102
    # holds community images to the same rules.
    return f"""\
version: 1
catalog: {unique}
policy: [scs-0102]
defaults:
  visibility: community
  min_disk: 1
  min_ram: 512
  properties:
{SCS_PROPERTIES.replace("        ", "    ").replace("{today}", TODAY)}
images:
  - name: {unique}-noble
    properties: {{os_version: "24.04"}}
  - name: {unique}-jammy
    properties: {{os_version: "22.04"}}
"""


def test_conformant_catalog_passes_and_a_hand_edit_is_reported(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "git", _manifest(unique))
    done = run_cli(sandbox, "validate", str(manifest))
    assert done.returncode == 0, done.stderr
    assert "policies scs-0102" in done.stderr
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(manifest))
    conn = sandbox.connection("sandbox")
    ids = {i.name: i.id for i in conn.image.images() if i.name.startswith(unique)}
    demo_images.extend(ids.values())
    assert done.returncode == 0, done.stderr

    done = run_cli(sandbox, "drift", "--format", "json", "--policy", "scs-0102", str(manifest))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)["targets"][0]
    assert report["policies"] == ["scs-0102"]
    assert {i["state"] for i in report["images"]} == {"in_sync"}
    assert all(i["violations"] == [] for i in report["images"])

    # By hand: os_version no longer a number.
    retried(conn.image.update_image, ids[f"{unique}-jammy"], os_version="jammy")
    junit = tmp_path / "drift.xml"
    done = run_cli(
        sandbox,
        "drift",
        "--format",
        "json",
        "--fail-on",
        "policy",
        "--report",
        f"junit={junit}",
        str(manifest),  # the manifest's policy: names scs-0102
    )
    assert done.returncode == 2, done.stdout + done.stderr
    images = {i["name"]: i for i in json.loads(done.stdout)["targets"][0]["images"]}
    jammy = images[f"{unique}-jammy"]
    # os_version is in the manifest, so the edit is drift too; the rule is listed on it.
    assert jammy["state"] == "drifted"
    assert [v["rule"] for v in jammy["violations"]] == ["scs-0102/os-version"]
    assert images[f"{unique}-noble"]["state"] == "in_sync"
    cases = {
        case.name: case for suite in junitparser.JUnitXml.fromfile(str(junit)) for case in suite
    }
    (failure,) = cases[f"{unique}-jammy"].result
    assert "scs-0102/os-version" in failure.message

    # plan refuses an entry that breaks a rule (unless --policy-level warning).
    broken = write_manifest(tmp_path / "broken", _manifest(unique).replace('"22.04"', '"jammy"'))
    done = run_cli(sandbox, "plan", "--format", "json", str(broken))
    assert done.returncode == 1, done.stderr
    planned = {i["name"]: i for i in json.loads(done.stdout)["images"]}
    assert planned[f"{unique}-jammy"]["action"] == "error"
    assert "scs-0102/os-version" in planned[f"{unique}-jammy"]["error"]
    done = run_cli(sandbox, "plan", "--policy-level", "warning", str(broken))
    assert done.returncode == 0, done.stderr
    # apply from manifests gates the same way: the violating entry is skipped (nothing
    # else to do: exit 1), the image is not written.
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(broken))
    assert done.returncode == 1, done.stderr
    results = {r["name"]: r for r in json.loads(done.stdout)["images"]}
    assert results[f"{unique}-jammy"]["status"] == "skipped"
    assert "scs-0102/os-version" in results[f"{unique}-jammy"]["reason"]
