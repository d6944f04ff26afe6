"""import -> plan shows no changes; --update keeps comments; two regions in one run."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from ruamel.yaml import YAML

from tests.conftest import ROOT, Sandbox
from tests.sandbox.helpers import create_image, get_image, retried, run_cli, write_manifest


def test_import_then_plan_shows_no_changes_and_apply_adopts(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    for suffix, body in {
        "ubuntu": {"tags": ["lts", "ubuntu"], "os_distro": "ubuntu", "os_version": "24.04"},
        "debian": {"visibility": "private", "min_ram": 512, "os_version": "12.10"},
        "shared": {"visibility": "shared", "purpose": "tools"},
    }.items():
        demo_images.append(create_image(sandbox, {"name": f"{unique}-{suffix}", **body}))
    conn = sandbox.connection("sandbox")
    retried(conn.image.add_member, demo_images[2], member_id=sandbox.project_ids["other"])
    out = tmp_path / "imported"
    done = run_cli(
        sandbox, "import", "--name", f"{unique}-*", "--out-dir", str(out), "--layout", "per-image"
    )
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"{unique}-debian.yaml", f"{unique}-shared.yaml", f"{unique}-ubuntu.yaml"]
    shared = (out / f"{unique}-shared.yaml").read_text()
    assert f"members: [{sandbox.project_ids['other']}]" in shared
    assert "os_version: '12.10'" in (out / f"{unique}-debian.yaml").read_text()
    for forbidden in ("status", "checksum", "owner", "reconciler.managed", "created_at"):
        assert f"{forbidden}:" not in shared
    before = {i: get_image(sandbox, i) for i in demo_images}
    assert all("reconciler.managed" not in image for image in before.values())  # read-only

    valid = run_cli(sandbox, "validate", str(out))
    assert valid.returncode == 0, valid.stderr
    schema = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
    for path in out.iterdir():
        jsonschema.validate(YAML(typ="safe").load(path.read_text()), schema)
    plan = run_cli(sandbox, "plan", "--detailed-exitcode", str(out))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged. 3 to adopt" in plan.stdout

    apply = run_cli(sandbox, "apply", "--auto-approve", str(out))
    assert apply.returncode == 0, apply.stdout + apply.stderr
    after = get_image(sandbox, demo_images[0])
    assert json.loads(after["reconciler.managed"]) == ["os_distro", "os_version"]
    again = run_cli(sandbox, "plan", str(out))
    assert "3 unchanged." in again.stdout and "to adopt" not in again.stdout


def test_update_takes_live_values_and_keeps_comments(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path,
        f"""\
        # Owned by the web team. Keep this comment.
        version: 1
        images:
          - name: {unique}-web   # production image
            tags: [a, b]
            properties:
              os_version: "1"   # bumped by the release job
              team: web
        """,
    )
    assert run_cli(sandbox, "apply", "--auto-approve", str(manifest)).returncode == 0
    conn = sandbox.connection("sandbox")
    (image,) = [i for i in conn.image.images() if i.name == f"{unique}-web"]
    demo_images.append(image.id)
    retried(conn.image.update_image, image.id, os_version="2")
    retried(conn.image.add_tag, image, "c")

    done = run_cli(sandbox, "import", "--update", str(manifest))
    assert done.returncode == 0, done.stderr
    text = manifest.read_text()
    assert text.startswith("# Owned by the web team. Keep this comment.\n")
    assert f"  - name: {unique}-web   # production image\n" in text
    assert "    tags: [a, b, c]\n" in text
    assert '      os_version: "2"   # bumped by the release job\n' in text
    plan = run_cli(sandbox, "plan", "--detailed-exitcode", str(manifest))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    quiet = run_cli(sandbox, "import", "--update", str(manifest))
    assert "already matches the cloud" in quiet.stderr


def test_two_regions_planned_in_one_run_and_a_broken_target_reported(
    sandbox: Sandbox, unique: str, tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        targets:
          - {{name: one, region: RegionOne}}
          - {{name: two, region: RegionTwo}}
        images:
          - name: {unique}-everywhere
            properties: {{k: v}}
        """,
    )
    done = run_cli(sandbox, "plan", "--format", "json", str(manifest))
    assert done.returncode == 0, done.stderr
    plans = json.loads(done.stdout)
    assert [(p["target"]["name"], p["target"]["region"]) for p in plans] == [
        ("one", "RegionOne"),
        ("two", "RegionTwo"),
    ]
    assert all(p["summary"]["create"] == 1 for p in plans)
    text = run_cli(sandbox, "plan", str(manifest))
    assert "Target: one: cloud sandbox, region RegionOne" in text.stdout
    assert "Target: two: cloud sandbox, region RegionTwo" in text.stdout
    narrowed = run_cli(sandbox, "plan", "--format", "json", "--target", "two", str(manifest))
    assert [p["target"]["name"] for p in json.loads(narrowed.stdout)] == ["two"]

    targets = write_manifest(
        tmp_path,
        "version: 1\ntargets:\n  - {name: one, region: RegionOne}\n"
        "  - {name: nowhere, region: Atlantis}\n",
        "targets.yaml",
    )
    plain = write_manifest(tmp_path, f"version: 1\nimages:\n  - name: {unique}-x\n", "plain.yaml")
    broken = run_cli(sandbox, "drift", "--targets", str(targets), str(plain))
    assert broken.returncode == 1
    assert "Drift of target one, cloud sandbox, region RegionOne" in broken.stdout
    assert "target nowhere" in broken.stderr and "Atlantis" in broken.stdout + broken.stderr
    assert "Traceback" not in broken.stderr


def test_apply_goes_on_when_one_target_fails(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        targets:
          - {{name: one, region: RegionOne}}
          - {{name: down, region: Atlantis}}
        images:
          - name: {unique}-multi
            properties: {{k: v}}
        """,
    )
    journal = tmp_path / "run.jsonl"
    done = run_cli(sandbox, "apply", "--auto-approve", "--journal", str(journal), str(manifest))
    assert done.returncode == 3, done.stdout + done.stderr  # one target applied, one failed
    assert "error: target down:" in done.stderr and "Traceback" not in done.stderr
    assert "Apply: target one" in done.stdout
    assert (tmp_path / "run.one.jsonl").exists() and not (tmp_path / "run.down.jsonl").exists()
    images = [i for i in sandbox.connection().image.images() if i.name == f"{unique}-multi"]
    demo_images.extend(i.id for i in images)
    assert len(images) == 1 and images[0].properties.get("k") == "v"
