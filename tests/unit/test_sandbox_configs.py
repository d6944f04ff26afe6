"""The sandbox's config text for the production-like options (pure functions)."""

from __future__ import annotations

from pathlib import Path

from reconciler.sandbox import configs, mariadb
from reconciler.sandbox.state import SandboxPaths, SandboxState


def test_regions_are_named_region_one_two_then_numbered() -> None:
    assert configs.region_names(1) == ["RegionOne"]
    assert configs.region_names(2) == ["RegionOne", "RegionTwo"]
    assert configs.region_names(4) == ["RegionOne", "RegionTwo", "Region3", "Region4"]


def test_clouds_yaml_lists_every_region_default_first() -> None:
    state = SandboxState(keystone_port=1, glance_port=2, regions=3)
    passwords = dict.fromkeys(("demo-member", "demo-reader", "other-member", "admin"), "pw")
    text = configs.clouds_yaml(state, passwords)
    assert "    regions:\n      - RegionOne\n      - RegionTwo\n      - Region3\n" in text


def test_databases_default_to_sqlite_and_take_a_mariadb_url(tmp_path: Path) -> None:
    paths = SandboxPaths(tmp_path)
    state = SandboxState(keystone_port=1, glance_port=2, mirror_port=3)
    assert f"connection = sqlite:///{tmp_path}/keystone/keystone.db\n" in configs.keystone_conf(
        paths
    )
    assert f"connection = sqlite:///{tmp_path}/glance/glance.db\n" in configs.glance_api_conf(
        paths, state, "pw"
    )
    url = mariadb.url(paths, "glance", "secret")
    assert url == (
        f"mysql+pymysql://reconciler:secret@localhost/glance?unix_socket={tmp_path}/run/"
        "mariadb.sock&charset=utf8"
    )
    assert f"connection = {url}\n" in configs.glance_api_conf(paths, state, "pw", url)


def test_an_older_state_file_reads_as_sqlite_one_worker_two_regions(tmp_path: Path) -> None:
    paths = SandboxPaths(tmp_path)
    paths.state.write_text('{"keystone_port": 1, "glance_port": 2, "bootstrapped": true}')
    state = SandboxState.load(paths)
    assert state is not None
    assert (state.database, state.glance_workers, state.regions) == ("sqlite", 1, 2)


def test_the_default_sandbox_keeps_its_one_fs_store(tmp_path: Path) -> None:
    paths = SandboxPaths(tmp_path)
    text = configs.glance_api_conf(paths, SandboxState(keystone_port=1, glance_port=2), "pw")
    assert "enabled_backends = fs:file\n" in text
    assert (
        "[glance_store]\ndefault_backend = fs\n\n[fs]\n"
        f"filesystem_store_datadir = {tmp_path}/glance/images\n\n[os_glance_staging_store]\n"
    ) in text
    assert "[store1]" not in text


def test_stores_n_configures_n_file_stores_the_first_the_default(tmp_path: Path) -> None:
    paths = SandboxPaths(tmp_path)
    state = SandboxState(keystone_port=1, glance_port=2, stores=3)
    text = configs.glance_api_conf(paths, state, "pw")
    assert "enabled_backends = store1:file, store2:file, store3:file\n" in text
    assert "default_backend = store1\n" in text
    for n in (1, 2, 3):
        assert f"[store{n}]\nfilesystem_store_datadir = {tmp_path}/glance/stores/store{n}\n" in text
    assert "[fs]" not in text
    assert "copy-image" in text.split("enabled_import_methods = ")[1].splitlines()[0]
    assert configs.store_names(3) == ["store1", "store2", "store3"]
    assert configs.store_names(1) == ["fs"]
