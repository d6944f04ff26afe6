"""`reconciler apply` against the real Glance, checked by reading back with the raw API
as admin (not with the tool's own reader)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from reconciler.model.image_view import MANAGED_RECORD
from tests.conftest import Sandbox
from tests.sandbox.helpers import (
    by_name,
    create_image,
    get_image,
    plan_json,
    run_cli,
    write_manifest,
)


def record(*keys: str) -> str:
    return json.dumps(sorted(keys), separators=(",", ":"))


def members_of(sandbox: Sandbox, image_id: str) -> list[str]:
    sess = sandbox.session("sandbox-admin")
    body = sess.get(f"{sandbox.glance_url}/v2/images/{image_id}/members").json()
    return sorted(m["member_id"] for m in body["members"])


def apply_json(sandbox: Sandbox, *args: str) -> tuple[int, dict[str, Any]]:
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", *args)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in report["images"]}


def test_fifty_images_with_real_403s(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    ok = [
        create_image(
            sandbox,
            {
                "name": f"{unique}-ok{i}",
                "visibility": "private",
                "tags": ["old"],
                "os_distro": "debian",
                "stale_key": "x",
                MANAGED_RECORD: record("os_distro", "stale_key"),
            },
        )
        for i in range(40)
    ]
    billing = [
        create_image(
            sandbox, {"name": f"{unique}-bill{i}", "visibility": "private", "os_distro": "debian"}
        )
        for i in range(4)
    ]
    public = [
        create_image(
            sandbox, {"name": f"{unique}-pub{i}", "visibility": "private", "os_distro": "debian"}
        )
        for i in range(3)
    ]
    demo_images.extend(ok + billing + public)
    refused = billing + public + sandbox.base_image_ids
    before = {image_id: get_image(sandbox, image_id) for image_id in refused}

    entries = []
    for i in range(40):
        entries.append(f"""\
          - name: {unique}-ok{i}
            min_disk: {i % 5 + 1}
            tags: [new, n{i}]
            properties: {{os_distro: ubuntu, os_version: "24.04"}}""")
    for i in range(4):
        entries.append(f"""\
          - name: {unique}-bill{i}
            properties: {{os_distro: ubuntu, x_billing_code: "b{i}"}}""")
    for i in range(3):
        entries.append(f"""\
          - name: {unique}-pub{i}
            visibility: public
            properties: {{os_distro: ubuntu}}""")
    entries.append("""\
          - name: base-debian-12
            properties: {os_version: "12.7"}
          - name: base-ubuntu-24.04
            tags: [base]""")
    for i in range(3):
        entries.append(f"""\
          - name: {unique}-new{i}
            visibility: private
            tags: [created]
            properties: {{os_distro: alpine}}""")
    manifest = tmp_path / "fifty.yaml"
    manifest.write_text(
        "version: 1\nimages:\n"
        + "\n".join("\n".join(line[8:] for line in e.splitlines()) for e in entries)
        + "\n"
    )

    code, report = apply_json(sandbox, "--parallelism", "4", str(manifest))
    statuses = results(report)
    new_ids = [statuses[f"{unique}-new{i}"]["id"] for i in range(3)]
    demo_images.extend(i for i in new_ids if i)
    assert code == 3
    not_applied = [r for r in report["images"] if r["status"] != "applied"]
    assert report["summary"]["applied"] == 43, not_applied
    assert report["summary"]["rolled_back"] == 9
    for i in range(4):
        entry = statuses[f"{unique}-bill{i}"]
        assert entry["status"] == "rolled_back"
        assert entry["reason"] == "403 Attribute 'x_billing_code' is reserved."
        assert entry["request_id"].startswith("req-")
    for i in range(3):
        assert "publicize_image" in statuses[f"{unique}-pub{i}"]["reason"]
    assert "modify_image" in statuses["base-debian-12"]["reason"]

    # Every refused image is exactly as before, whole documents compared.
    for image_id in refused:
        assert get_image(sandbox, image_id) == before[image_id]
    # Every other image equals its manifest.
    for i, image_id in enumerate(ok):
        image = get_image(sandbox, image_id)
        assert image["min_disk"] == i % 5 + 1
        assert sorted(image["tags"]) == sorted(["new", f"n{i}"])
        assert image["os_distro"] == "ubuntu" and image["os_version"] == "24.04"
        assert "stale_key" not in image  # removed: managed, no longer in the manifest
        assert json.loads(image[MANAGED_RECORD]) == ["os_distro", "os_version"]
    for image_id in new_ids:
        image = get_image(sandbox, image_id)
        assert image["tags"] == ["created"] and image["os_distro"] == "alpine"
        assert image["visibility"] == "private"

    # No secret in the journal or the output.
    secrets = json.loads((sandbox.root / "secrets.json").read_text())
    journal_text = Path(report["journal"]).read_text()
    for password in secrets.values():
        assert password not in journal_text and password not in json.dumps(report)

    # A second plan shows only the refused images.
    code, plan = plan_json(sandbox, manifest)
    changed = sorted(i["name"] for i in plan["images"] if i["action"] in ("create", "update"))
    assert changed == sorted(
        [f"{unique}-bill{i}" for i in range(4)]
        + [f"{unique}-pub{i}" for i in range(3)]
        + ["base-debian-12", "base-ubuntu-24.04"]
    )


def test_refused_patch_after_member_removal_is_rolled_back_completely(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    image_id = create_image(
        sandbox,
        {"name": f"{unique}-m", "visibility": "shared", "k": "v", MANAGED_RECORD: record("k")},
    )
    demo_images.append(image_id)
    other, service = sandbox.project_ids["other"], sandbox.project_ids["service"]
    sandbox.session("sandbox").post(
        f"{sandbox.glance_url}/v2/images/{image_id}/members", json={"member": other}
    )
    before, members_before = get_image(sandbox, image_id), members_of(sandbox, image_id)
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {unique}-m
            visibility: shared
            members: [{service}]
            properties: {{k: changed, x_billing_code: nope}}
    """,
    )
    code, report = apply_json(sandbox, str(manifest))
    assert code == 3
    entry = results(report)[f"{unique}-m"]
    assert entry["status"] == "rolled_back", entry
    assert "x_billing_code" in entry["reason"]
    assert members_of(sandbox, image_id) == members_before == [other]
    after = get_image(sandbox, image_id)
    assert after == before
    journal = [json.loads(line) for line in Path(report["journal"]).read_text().splitlines()]
    kinds = [(r["type"], r.get("kind")) for r in journal if r["type"] in ("begin",)]
    assert kinds == [("begin", "member_remove"), ("begin", "patch")]
    # The refused PATCH is undone too (judged against the image: nothing to send).
    assert [r["type"] for r in journal].count("undone") == 2


def test_refused_member_add_after_create_deletes_the_new_image(
    sandbox: Sandbox, unique: str, tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {unique}-c
            visibility: private
            members: [{sandbox.project_ids["other"]}]
    """,
    )
    code, report = apply_json(sandbox, str(manifest))
    entry = results(report)[f"{unique}-c"]
    assert code == 3 and entry["status"] == "rolled_back", entry
    conn = sandbox.connection("sandbox-admin")
    assert conn.image.find_image(entry["id"], ignore_missing=True) is None


def test_stale_plan_is_skipped(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    image_id = create_image(
        sandbox, {"name": f"{unique}-st", "k": "1", MANAGED_RECORD: record("k")}
    )
    demo_images.append(image_id)
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {unique}-st
            properties: {{k: "2"}}
    """,
    )
    plan_file = tmp_path / "plan.json"
    assert run_cli(sandbox, "plan", "--out", str(plan_file), str(manifest)).returncode == 0
    sandbox.connection("sandbox").image.update_image(image_id, k="changed-by-hand")
    done = run_cli(sandbox, "apply", "--format", "json", str(plan_file))
    report = json.loads(done.stdout)
    entry = results(report)[f"{unique}-st"]
    assert done.returncode == 3 and entry["status"] == "stale"
    assert "k was '1' at plan time, now 'changed-by-hand'" in entry["reason"]
    assert get_image(sandbox, image_id)["k"] == "changed-by-hand"


def test_plan_file_apply_needs_no_prompt_and_converges(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    image_id = create_image(sandbox, {"name": f"{unique}-pf", MANAGED_RECORD: record()})
    demo_images.append(image_id)
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {unique}-pf
            protected: true
            properties: {{"a/b": "1"}}
    """,
    )
    plan_file = tmp_path / "plan.json"
    run_cli(sandbox, "plan", "--out", str(plan_file), str(manifest))
    done = run_cli(sandbox, "apply", str(plan_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "applied" in done.stdout
    image = get_image(sandbox, image_id)
    assert image["protected"] is True and image["a/b"] == "1"
    code, plan = plan_json(sandbox, manifest)
    assert code == 0
    assert by_name(plan)[f"{unique}-pf"]["action"] == "noop"


def test_sigkill_mid_apply_then_rollback_restores_and_apply_converges(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    ids = [
        create_image(
            sandbox,
            {
                "name": f"{unique}-k{i}",
                "visibility": "private",
                "k": "orig",
                MANAGED_RECORD: record("k"),
            },
        )
        for i in range(30)
    ]
    demo_images.extend(ids)
    before = {image_id: get_image(sandbox, image_id) for image_id in ids}
    manifest = tmp_path / "kill.yaml"
    manifest.write_text(
        "version: 1\nimages:\n"
        + "".join(
            f"  - name: {unique}-k{i}\n    tags: [t{i}]\n    properties: {{k: new, extra: x}}\n"
            for i in range(30)
        )
        + "".join(f"  - name: {unique}-knew{i}\n    visibility: private\n" for i in range(5))
    )
    journal = tmp_path / "journal.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            "--auto-approve",
            "--parallelism",
            "2",
            "--journal",
            str(journal),
            str(manifest),
        ],
        env=sandbox.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = journal.read_text() if journal.exists() else ""
        if text.count('"type":"done"') >= 8:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    text = journal.read_text()
    assert text.count('"type":"done"') >= 8
    assert text.count('"type":"end"') < 35  # killed before the end
    created = [
        json.loads(line)["image"]
        for line in text.splitlines()
        if '"type":"original"' in line and '"view":null' in line
    ]
    demo_images.extend(created)

    done = run_cli(sandbox, "rollback", "--format", "json", str(journal))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["images"] and all(r["status"] == "rolled_back" for r in report["images"])
    for image_id in ids:
        now = get_image(sandbox, image_id)
        # Restored to the original metadata (updated_at moves with every write).
        assert {k: v for k, v in now.items() if k != "updated_at"} == {
            k: v for k, v in before[image_id].items() if k != "updated_at"
        }
    conn = sandbox.connection("sandbox-admin")
    for image_id in created:
        assert conn.image.find_image(image_id, ignore_missing=True) is None
    # Rolling back twice is a no-op.
    again = run_cli(sandbox, "rollback", "--format", "json", str(journal))
    assert again.returncode == 0

    code, report = apply_json(sandbox, str(manifest))
    assert code == 0, report
    demo_images.extend(r["id"] for r in report["images"] if r["action"] == "create")
    code, plan = plan_json(sandbox, manifest)
    assert plan["summary"]["create"] == plan["summary"]["update"] == 0, plan["summary"]


def test_truncated_journal_is_read_to_the_last_whole_record(tmp_path: Path) -> None:
    from reconciler.apply.journal import histories

    path = tmp_path / "j.jsonl"
    path.write_text(
        '{"type":"run","run_id":"r","target":{}}\n'
        '{"type":"original","image":"i1","name":"a","view":{"k":"1"},"members":null}\n'
        '{"type":"begin","seq":1,"image":"i1","kind":"patch","step":{"ops":[]}}\n'
        '{"type":"done","seq":1}\n'
        '{"type":"begin","seq":2,"image":"i1","kind":"pat'
    )
    _run, images = histories(path)
    assert [s["seq"] for s in images["i1"].to_undo()] == [1]


def test_apply_without_terminal_refuses_before_any_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path, "version: 1\nimages:\n  - name: x\n")
    env = sandbox.env()
    env["OS_CLOUD"] = "no-such-cloud"  # would fail if it tried to connect
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert "--auto-approve" in done.stderr and "Traceback" not in done.stderr


def test_deactivate_and_reactivate(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    image_id = create_image(
        sandbox,
        {
            "name": f"{unique}-act",
            "disk_format": "raw",
            "container_format": "bare",
            MANAGED_RECORD: record(),
        },
    )
    demo_images.append(image_id)
    sandbox.session("sandbox").put(
        f"{sandbox.glance_url}/v2/images/{image_id}/file",
        data=b"x" * 512,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert get_image(sandbox, image_id)["status"] == "active"
    off = write_manifest(
        tmp_path, f"version: 1\nimages:\n  - name: {unique}-act\n    deactivated: true\n"
    )
    code, plan = plan_json(sandbox, off)
    assert by_name(plan)[f"{unique}-act"]["activation"] == "deactivate"
    code, report = apply_json(sandbox, str(off))
    assert code == 0, report
    assert get_image(sandbox, image_id)["status"] == "deactivated"
    on = write_manifest(
        tmp_path,
        f"version: 1\nimages:\n  - name: {unique}-act\n    deactivated: false\n",
        "on.yaml",
    )
    code, report = apply_json(sandbox, str(on))
    assert code == 0, report
    assert get_image(sandbox, image_id)["status"] == "active"


def requests_to(stderr: str, image_id: str) -> list[str]:
    """The --verbose request lines for one image's own URL, as `METHOD /path`."""
    return [
        " ".join(line.split()[:2])
        for line in stderr.splitlines()
        if f"/v2/images/{image_id}" in line and " -> " in line
    ]


def test_a_patch_is_verified_against_its_answer_without_a_second_read(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    image_id = create_image(
        sandbox,
        {
            "name": f"{unique}-echo",
            "disk_format": "raw",
            "container_format": "bare",
            "os_distro": "ubuntu",
            MANAGED_RECORD: record("os_distro"),
        },
    )
    demo_images.append(image_id)
    manifest = write_manifest(
        tmp_path,
        f"version: 1\nimages:\n  - name: {unique}-echo\n"
        "    properties: {os_distro: debian, hw_rng_model: virtio}\n",
    )
    done = run_cli(
        sandbox, "--verbose", "apply", "--auto-approve", "--format", "json", str(manifest)
    )
    assert done.returncode == 0, done.stderr
    assert results(json.loads(done.stdout))[f"{unique}-echo"]["status"] == "applied"
    # The stale check reads the image in a listing by id (one request per chunk of
    # images); the PATCH's answer is the verification: no GET of the image itself.
    assert requests_to(done.stderr, image_id) == [f"PATCH /v2/images/{image_id}"], done.stderr
    assert f"GET /v2/images?limit=1000&id=in:{image_id} -> 200" in done.stderr
    stored = get_image(sandbox, image_id)
    assert (stored["os_distro"], stored["hw_rng_model"]) == ("debian", "virtio")
