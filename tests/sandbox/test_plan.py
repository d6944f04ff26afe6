"""`reconciler plan` against the real Glance: the exact ops for each case."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from reconciler.cloud.auth import connect
from reconciler.cloud.glance import GlanceClient
from reconciler.cloud.live import read_catalog
from reconciler.manifests.loader import load
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.image_view import MANAGED_RECORD
from tests.conftest import Sandbox
from tests.sandbox.helpers import by_name, create_image, ops, plan_json, run_cli, write_manifest

RECORD_PATH = "/reconciler.managed"


def record(*keys: str) -> str:
    return json.dumps(sorted(keys), separators=(",", ":"))


def test_plan_produces_the_exact_ops(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    a = create_image(
        sandbox,
        {
            "name": f"{unique}-a",
            "visibility": "private",
            "min_disk": 1,
            "tags": ["t1", "t2"],
            "os_distro": "debian",
            "os_version": "11",
            "keep_me": "x",
            "gone_line": "y",
            "nullme": "1",
            "falseme": "2",
            MANAGED_RECORD: record("os_distro", "os_version", "gone_line", "nullme", "falseme"),
        },
    )
    hidden = create_image(
        sandbox, {"name": f"{unique}-hidden", "os_hidden": True, MANAGED_RECORD: record()}
    )
    dup1 = create_image(sandbox, {"name": f"{unique}-dup"})
    dup2 = create_image(sandbox, {"name": f"{unique}-dup"})
    same = create_image(sandbox, {"name": f"{unique}-same", "k": "v", MANAGED_RECORD: record("k")})
    demo_images.extend([a, hidden, dup1, dup2, same])
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {unique}-a
            min_disk: 5
            visibility: shared
            protected: false
            tags: [t2, t3]
            properties:
              os_distro: ubuntu
              os_version: 24.04
              new_one: v
              nullme: null
              falseme: false
              "a/b~c": "1"
          - name: {unique}-hidden
            properties:
              x: y
          - name: {unique}-dup
          - name: {unique}-same
            properties:
              k: v
          - name: {unique}-new
            tags: [fresh]
            properties:
              os_distro: alpine
          - name: base-debian-12
            properties:
              os_version: "12.7"
    """,
    )
    code, plan = plan_json(sandbox, manifest)
    assert code == 1  # the duplicate-name entry is an error
    images = by_name(plan)

    assert images[f"{unique}-a"]["action"] == "update"
    assert ops(images[f"{unique}-a"]) == [
        ("add", "/a~1b~0c", "1", None),
        ("remove", "/falseme", None, "2"),
        ("remove", "/gone_line", None, "y"),
        ("replace", "/min_disk", 5, 1),
        ("add", "/new_one", "v", None),
        ("remove", "/nullme", None, "1"),
        ("replace", "/os_distro", "ubuntu", "debian"),
        ("replace", "/os_version", "24.04", "11"),
        (
            "replace",
            RECORD_PATH,
            record("a/b~c", "new_one", "os_distro", "os_version"),
            record("falseme", "gone_line", "nullme", "os_distro", "os_version"),
        ),
        ("replace", "/tags", ["t2", "t3"], ["t1", "t2"]),
        ("replace", "/visibility", "shared", "private"),
    ]
    assert images[f"{unique}-a"]["source"] == f"{manifest}:3"

    assert images[f"{unique}-hidden"]["action"] == "update"
    assert images[f"{unique}-hidden"]["id"] == hidden
    assert ops(images[f"{unique}-hidden"]) == [
        ("replace", RECORD_PATH, record("x"), record()),
        ("add", "/x", "y", None),
    ]

    dup = images[f"{unique}-dup"]
    assert dup["action"] == "error" and dup1 in dup["error"] and dup2 in dup["error"]

    assert images[f"{unique}-same"]["action"] == "noop"
    assert images[f"{unique}-same"]["patch"] == []

    new = images[f"{unique}-new"]
    assert new["action"] == "create" and new["id"] is None
    assert ops(new) == [
        ("add", "/name", f"{unique}-new", None),
        ("add", "/os_distro", "alpine", None),
        ("add", RECORD_PATH, record("os_distro"), None),
        ("add", "/tags", ["fresh"], None),
    ]

    base = images["base-debian-12"]
    assert base["action"] == "update"
    assert base["owner"] == sandbox.project_ids["admin"]
    assert ops(base) == [("replace", "/os_version", "12.7", "12")]
    assert any("403" in w for w in base["warnings"])
    assert plan["summary"]["errors"] == 1


def test_text_plan_and_detailed_exitcode(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    image = create_image(sandbox, {"name": f"{unique}-t", MANAGED_RECORD: record()})
    demo_images.append(image)
    changed = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {unique}-t
            properties: {{os_version: "1"}}
    """,
    )
    done = run_cli(sandbox, "plan", "--detailed-exitcode", str(changed))
    assert done.returncode == 2, done.stderr
    assert f"~ update image '{unique}-t'" in done.stdout
    assert '+ os_version: "1"' in done.stdout
    assert "Plan: 0 to create, 1 to update, 0 to delete" in done.stdout
    assert "\x1b[" not in done.stdout  # no colours when not a terminal

    unchanged = write_manifest(tmp_path, f"version: 1\nimages:\n  - name: {unique}-t\n", "u.yaml")
    done = run_cli(sandbox, "plan", "--detailed-exitcode", str(unchanged))
    assert done.returncode == 0, done.stderr
    assert "Plan: 0 to create, 0 to update, 0 to delete, 1 unchanged." in done.stdout

    md = run_cli(sandbox, "plan", "--format", "markdown", str(changed))
    assert md.returncode == 0 and "<details>" in md.stdout


def test_plan_file_holds_no_secret(sandbox: Sandbox, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, "version: 1\nimages:\n  - name: base-ubuntu-24.04\n")
    out = tmp_path / "plan.json"
    done = run_cli(sandbox, "plan", "--out", str(out), str(manifest))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert json.loads(text)["format_version"] == 1
    secrets = json.loads((sandbox.root / "secrets.json").read_text())
    for password in secrets.values():
        assert password not in text and password not in done.stdout + done.stderr


def test_members_are_read_for_entries_that_declare_them(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    image = create_image(
        sandbox, {"name": f"{unique}-s", "visibility": "shared", MANAGED_RECORD: record()}
    )
    demo_images.append(image)
    sess = sandbox.session("sandbox")
    other = sandbox.project_ids["other"]
    sess.post(f"{sandbox.glance_url}/v2/images/{image}/members", json={"member": other})
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: {unique}-s
            visibility: shared
            members: [{sandbox.project_ids["service"]}]
    """,
    )
    code, plan = plan_json(sandbox, manifest)
    assert code == 0
    entry = by_name(plan)[f"{unique}-s"]
    assert entry["members"] == {
        "managed": True,
        "add": [sandbox.project_ids["service"]],
        "remove": [other],
    }


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OS_CLOUD": "no-such-cloud"}, "no-such-cloud"),
        ({"OS_CLOUD": "sandbox", "OS_PASSWORD": ""}, ""),
    ],
)
def test_unknown_cloud_is_one_clear_line(
    sandbox: Sandbox, tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    import subprocess
    import sys

    manifest = write_manifest(tmp_path, "version: 1\nimages:\n  - name: x\n")
    full = sandbox.env()
    full.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(manifest)],
        env=full,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if env["OS_CLOUD"] == "no-such-cloud":
        assert done.returncode == 1
        # where clouds.yaml is read, not openstacksdk's "Cloud x was not found" (issue 26, 8)
        assert done.stderr.startswith(f"error: cloud '{expected}' is in no clouds.yaml (")
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_wrong_password_is_one_clear_line(sandbox: Sandbox, tmp_path: Path) -> None:
    import subprocess
    import sys

    clouds = tmp_path / "clouds.yaml"
    text = sandbox.clouds_file.read_text()
    clouds.write_text(text.replace("username: demo-member", "username: nobody"))
    manifest = write_manifest(tmp_path, "version: 1\nimages:\n  - name: x\n")
    env = sandbox.env()
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1
    assert "401" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


BULK = 1000


def _seed_bulk(sandbox: Sandbox) -> int:
    """1,000 images in project `other` (kept across runs of the same sandbox).

    Each image gets a fixed id, so a create retried after sqlite's "database is locked"
    500 cannot make a duplicate (Glance answers 409 for a taken id).
    """
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from reconciler.cloud.glance import ResponseLost, RetryPolicy
    from reconciler.errors import Conflict

    client = GlanceClient(
        sandbox.session("sandbox-other"), sandbox.glance_url, retry=RetryPolicy(attempts=10)
    )
    have = {str(i.get("name")) for i in client.list_images(owner=sandbox.project_ids["other"])}

    def make(n: int) -> None:
        name = f"bulk-{n:05d}"
        if name in have:
            return
        body = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"reconciler-bulk-{n}")),
            "name": name,
            "tags": ["bulk", f"g{n % 7}"],
            "os_distro": "ubuntu",
            **{f"prop_{k}": f"value-{n}-{k}" for k in range(15)},
        }
        for _attempt in range(20):  # sqlite's "database is locked" under concurrent writes
            try:
                client.request("POST", "/v2/images", json=body)
                return
            except Conflict:
                return  # the fixed id is taken: an earlier attempt created it
            except ResponseLost:
                time.sleep(0.2)
        raise AssertionError(f"could not seed {name}")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(make, range(BULK)))
    return sum(1 for _ in client.list_images())


def test_plan_request_count_is_pages_plus_a_constant(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    visible = _seed_bulk(sandbox)
    assert visible >= BULK
    manifest = write_manifest(
        tmp_path,
        """\
        version: 1
        images:
          - name: bulk-00001
            properties: {os_distro: debian}
          - name: bulk-00002
          - name: not-there-yet
    """,
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(sandbox.clouds_file))
    connection = connect(CloudOptions(cloud="sandbox-other"))
    seen: list[tuple[str, str]] = []
    connection.session.session.hooks["response"].append(
        lambda r, *a, **k: seen.append((r.request.method, r.request.path_url))
    )
    client = GlanceClient(connection.session, connection.image_endpoint)
    catalog = read_catalog(client, load([manifest]))
    glance = [(m, p) for m, p in seen if p.startswith("/v2/")]
    pages = math.ceil(visible / 1000) + (1 if visible % 1000 == 0 else 0)
    assert len(glance) <= pages + 2, glance
    assert not [p for m, p in glance if m == "GET" and p.startswith("/v2/images/")]
    assert len([i for i in catalog.images if (i.name or "").startswith("bulk-")]) == BULK


def test_validate_online_uses_the_servers_schema(sandbox: Sandbox, tmp_path: Path) -> None:
    good = write_manifest(tmp_path, "version: 1\nimages:\n  - name: x\n    disk_format: qcow2\n")
    done = run_cli(sandbox, "validate", "--online", str(good))
    assert done.returncode == 0, done.stderr
    assert "checked against the server's schema" in done.stderr
    bad = write_manifest(
        tmp_path, "version: 1\nimages:\n  - name: x\n    disk_format: qcow9\n", "bad.yaml"
    )
    done = run_cli(sandbox, "validate", "--online", str(bad))
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {bad}:4:5: disk_format 'qcow9' is not one of")
