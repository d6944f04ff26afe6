"""Catalogs against the sandbox: two manifest sets in one project, applied one after the
other, never see each other's images as orphans, never prune them, and an entry naming
the other catalog's image is a conflict until --take-over. Everything is read back
independently as admin."""

from __future__ import annotations

import json
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


def _manifest(catalog: str | None, *entries: str) -> str:
    head = f"version: 1\ncatalog: {catalog}\n" if catalog else "version: 1\n"
    body = "".join(
        f"  - name: {name}\n    properties: {{team: {team}}}\n"
        for name in entries
        for team in [name.rsplit("-", 1)[-1]]
    )
    return head + ("images:\n" + body if body else "images: []\n")


def _apply(sandbox: Sandbox, *args: str) -> dict[str, Any]:
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _ids(sandbox: Sandbox, prefix: str) -> dict[str, str]:
    conn = sandbox.connection("sandbox")
    return {i.name: i.id for i in conn.image.images() if i.name.startswith(prefix)}


def test_two_catalogs_share_a_project(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    alpha, beta = f"alpha-{unique}", f"beta-{unique}"
    a_names = [f"{unique}-a1", f"{unique}-a2", f"{unique}-a3"]
    b_names = [f"{unique}-b1", f"{unique}-b2"]
    a_file = write_manifest(tmp_path / "alpha", _manifest(alpha, *a_names))
    b_file = write_manifest(tmp_path / "beta", _manifest(beta, *b_names))
    _apply(sandbox, str(a_file))
    _apply(sandbox, str(b_file))
    ids = _ids(sandbox, unique)
    demo_images.extend(ids.values())
    assert sorted(ids) == sorted(a_names + b_names)
    record = json.loads(get_image(sandbox, ids[f"{unique}-a1"])[MANAGED_RECORD])
    assert record == {"catalog": alpha, "keys": ["team"]}

    for path, catalog, others in ((a_file, alpha, beta), (b_file, beta, alpha)):
        code, plan = plan_json(sandbox, path)
        assert code == 0
        assert plan["catalog"] == catalog
        mine = [i for i in plan["images"] if i["name"].startswith(unique)]
        assert {i["action"] for i in mine} == {"noop"}, mine
        assert not [i for i in plan["images"] if i["action"] == "orphan"]
        assert plan["other_catalogs"].get(others) == (2 if others == beta else 3)
        drift = run_cli(sandbox, "drift", "--format", "json", str(path))
        assert drift.returncode == 0, drift.stdout + drift.stderr
        (target,) = json.loads(drift.stdout)["targets"]
        assert target["catalog"] == catalog
        assert target["summary"]["orphan"] == 0

    beta_before = {name: get_image(sandbox, ids[name]) for name in b_names}
    write_manifest(tmp_path / "alpha", _manifest(alpha, *a_names[:2]))
    code, plan = plan_json(sandbox, a_file, extra=("--prune",))
    assert code == 0
    deletes = [i["name"] for i in plan["images"] if i["action"] == "delete"]
    assert deletes == [f"{unique}-a3"]
    _apply(sandbox, "--prune", str(a_file))
    assert _ids(sandbox, unique).keys() == {*a_names[:2], *b_names}
    for name in b_names:
        assert get_image(sandbox, ids[name]) == beta_before[name]  # updated_at included


def test_an_entry_naming_another_catalogs_image_is_a_conflict(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    alpha, beta = f"alpha-{unique}", f"beta-{unique}"
    name = f"{unique}-shared"
    _apply(sandbox, str(write_manifest(tmp_path / "beta", _manifest(beta, name))))
    (image_id,) = _ids(sandbox, unique).values()
    demo_images.append(image_id)
    before = get_image(sandbox, image_id)

    a_file = write_manifest(tmp_path / "alpha", _manifest(alpha, name))
    code, plan = plan_json(sandbox, a_file)
    assert code == 1
    image = by_name(plan)[name]
    assert image["action"] == "error"
    assert f"managed by catalog '{beta}'" in image["error"]
    text = run_cli(sandbox, "plan", str(a_file))
    assert text.returncode == 1 and "--take-over" in text.stdout

    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(a_file))
    assert done.returncode != 0
    assert get_image(sandbox, image_id) == before  # byte for byte, updated_at included

    code, plan = plan_json(sandbox, a_file, extra=("--take-over", "--detailed-exitcode"))
    assert code == 2
    image = by_name(plan)[name]
    assert image["action"] == "adopt" and image["take_over_from"] == beta
    assert [(o["op"], o["path"]) for o in image["patch"]] == [("replace", f"/{MANAGED_RECORD}")]
    _apply(sandbox, "--take-over", str(a_file))
    after = get_image(sandbox, image_id)
    assert json.loads(after[MANAGED_RECORD]) == {"catalog": alpha, "keys": ["team"]}
    assert after["team"] == before["team"]
    # Now beta's own entry is the conflict, and alpha plans nothing.
    code, plan = plan_json(sandbox, a_file)
    assert code == 0 and by_name(plan)[name]["action"] == "noop"


def test_records_written_before_catalogs_belong_to_default(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    """A record as the previous version wrote it (a plain list), made directly."""
    name = f"{unique}-legacy"
    demo_images.append(
        create_image(sandbox, {"name": name, "team": "x", MANAGED_RECORD: '["team"]'})
    )
    orphan = f"{unique}-legacy-orphan"
    demo_images.append(create_image(sandbox, {"name": orphan, MANAGED_RECORD: "[]"}))
    plain = write_manifest(
        tmp_path / "plain", f"version: 1\nimages:\n  - name: {name}\n    properties: {{team: x}}\n"
    )
    code, plan = plan_json(sandbox, plain)
    assert plan["catalog"] == "default"
    assert by_name(plan)[name]["action"] == "noop"
    assert by_name(plan)[orphan]["action"] == "orphan"
    # Another catalog sees both as someone else's: a conflict for the entry, no orphan.
    named = write_manifest(tmp_path / "named", _manifest(f"gamma-{unique}", name))
    code, plan = plan_json(sandbox, named)
    assert code == 1
    assert "managed by catalog 'default'" in by_name(plan)[name]["error"]
    assert orphan not in by_name(plan)


def test_plan_file_catalog_must_agree(sandbox: Sandbox, unique: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, _manifest(f"alpha-{unique}"))
    out = tmp_path / "plan.json"
    done = run_cli(sandbox, "plan", "--out", str(out), str(manifest))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["catalog"] == f"alpha-{unique}"
    refused = run_cli(sandbox, "apply", "--catalog", f"beta-{unique}", str(out))
    assert refused.returncode == 1
    assert f"planned for catalog 'alpha-{unique}', not 'beta-{unique}'" in refused.stderr
    mismatch = run_cli(sandbox, "plan", "--catalog", f"beta-{unique}", str(manifest))
    assert mismatch.returncode == 1
    assert f"{manifest}:2:10: catalog 'alpha-{unique}' differs from 'beta-{unique}'" in (
        mismatch.stderr
    )
