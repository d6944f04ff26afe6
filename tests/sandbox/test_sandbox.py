"""The sandbox is a real Keystone + Glance: the checks of the foundation issue."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from keystoneauth1 import exceptions as ks_exc

from reconciler.sandbox import manager, processes
from reconciler.sandbox.state import SandboxPaths
from tests.conftest import Sandbox

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


def test_base_images_are_listed_for_the_demo_member(sandbox: Sandbox) -> None:
    conn = sandbox.connection("sandbox")
    names = {image.name: image for image in conn.image.images()}
    assert {"base-ubuntu-24.04", "base-debian-12"} <= set(names)
    base = names["base-ubuntu-24.04"]
    assert base.visibility == "public"
    assert base.owner == sandbox.project_ids["admin"]
    assert base.os_distro == "ubuntu"
    assert set(base.tags) == {"base", "lts"}


def test_patch_of_a_base_image_is_forbidden(sandbox: Sandbox) -> None:
    sess = sandbox.session("sandbox")
    with pytest.raises(ks_exc.Forbidden) as refused:
        sess.patch(
            f"{sandbox.glance_url}/v2/images/{sandbox.base_image_ids[0]}",
            json=[{"op": "add", "path": "/foo", "value": "bar"}],
            headers={"Content-Type": PATCH_TYPE},
        )
    assert "modify_image" in refused.value.response.text
    image = sandbox.connection("sandbox-admin").image.get_image(sandbox.base_image_ids[0])
    assert "foo" not in image.properties


def test_protected_property_is_forbidden_for_member(
    sandbox: Sandbox, unique: str, demo_images: list[str]
) -> None:
    sess = sandbox.session("sandbox")
    created = sess.post(f"{sandbox.glance_url}/v2/images", json={"name": f"{unique}-own"}).json()
    demo_images.append(created["id"])
    with pytest.raises(ks_exc.Forbidden) as refused:
        sess.patch(
            f"{sandbox.glance_url}/v2/images/{created['id']}",
            json=[
                {"op": "add", "path": "/x_billing_code", "value": "b-1"},
                {"op": "add", "path": "/harmless", "value": "yes"},
            ],
            headers={"Content-Type": PATCH_TYPE},
        )
    assert "x_billing_code" in refused.value.response.text
    # The PATCH is atomic: the harmless op in the same request was not applied either.
    after = sandbox.connection("sandbox").image.get_image(created["id"])
    assert "harmless" not in after.properties
    assert "x_billing_code" not in after.properties


def test_reader_can_list_but_not_create(sandbox: Sandbox, unique: str) -> None:
    conn = sandbox.connection("sandbox-reader")
    assert any(i.name == "base-debian-12" for i in conn.image.images())
    sess = sandbox.session("sandbox-reader")
    with pytest.raises(ks_exc.Forbidden):
        sess.post(f"{sandbox.glance_url}/v2/images", json={"name": f"{unique}-nope"})


def test_openstack_cli_sees_base_images_through_sandbox_env(sandbox: Sandbox) -> None:
    cli = Path(sys.executable).parent / "openstack"
    out = subprocess.run(
        [str(cli), "image", "list", "-f", "value", "-c", "Name"],
        env=sandbox.env("sandbox"),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert "base-ubuntu-24.04" in out and "base-debian-12" in out


def test_second_up_reuses_the_running_sandbox(sandbox: Sandbox) -> None:
    started = time.monotonic()
    result = manager.up(sandbox.root)
    assert result.reused
    assert time.monotonic() - started < 5
    assert result.state.glance_url == sandbox.glance_url


def test_env_prints_exports_without_secrets(sandbox: Sandbox) -> None:
    lines = manager.env_lines(sandbox.root)
    assert lines == [
        f"export OS_CLIENT_CONFIG_FILE={sandbox.clouds_file}",
        "export OS_CLOUD=sandbox",
    ]
    secrets = (sandbox.root / "secrets.json").read_text()
    assert (sandbox.root / "secrets.json").stat().st_mode & 0o077 == 0
    import json

    for password in json.loads(secrets).values():
        assert password not in "\n".join(lines)


def test_down_stops_exactly_its_processes(tmp_path: Path) -> None:
    """A second, private sandbox: up, up again (reused), down leaves nothing running."""
    root = tmp_path / "sbx"
    try:
        first = manager.up(root)
        assert not first.reused
        paths = SandboxPaths(root.resolve())
        pids = [processes.read_pid(paths, svc) for svc in manager.SERVICES]
        assert all(pid is not None for pid in pids)
        assert manager.up(root).reused
        statuses = manager.status(root)
        assert statuses is not None and all(s.answering for s in statuses)
        assert sorted(manager.down(root)) == ["glance", "keystone"]
        for pid in pids:
            assert pid is not None
            assert not Path(f"/proc/{pid}").exists() or not processes.is_ours(pid, paths)
        # State is kept without --purge; a later `up` restarts on the recorded ports.
        assert (root / "state.json").exists()
        again = manager.up(root)
        assert again.reused and again.state.glance_port == first.state.glance_port
        manager.down(root, purge=True)
        assert not root.exists()
    finally:
        manager.down(root, purge=True)
