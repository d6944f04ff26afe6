"""`sandbox up --database mariadb --glance-workers N --regions N`: a second, private
sandbox on MariaDB (about 90 s to build, so it runs only with RECONCILER_TEST_MARIADB=1;
`make bench` builds the same kind)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from reconciler.sandbox import manager, mariadb, processes
from reconciler.sandbox.state import SandboxPaths

pytestmark = pytest.mark.skipif(
    os.environ.get("RECONCILER_TEST_MARIADB") != "1" or not mariadb.installed(),
    reason="set RECONCILER_TEST_MARIADB=1 (and install mariadb-server) to build a MariaDB sandbox",
)


def test_mariadb_sandbox_serves_glance_and_stops_its_database(tmp_path: Path) -> None:
    root = tmp_path / "sbx"
    try:
        first = manager.up(root, database="mariadb", glance_workers=2, regions=3)
        state = first.state
        assert (state.database, state.glance_workers, state.regions) == ("mariadb", 2, 3)
        paths = SandboxPaths(root.resolve())
        assert not (paths.glance / "glance.db").exists()  # Glance's data is in MariaDB
        assert (paths.run.stat().st_mode & 0o077) == 0  # the socket's folder is private
        statuses = manager.status(root)
        assert statuses is not None
        assert [s.service for s in statuses] == ["mariadb", "keystone", "glance", "mirror"]
        assert all(s.answering for s in statuses)
        workers = [
            pid
            for pid in os.listdir("/proc")
            if pid.isdigit()
            and Path(f"/proc/{pid}/stat").exists()
            and _parent(int(pid)) == processes.read_pid(paths, "glance")
        ]
        assert len(workers) == 2
        clouds = paths.clouds.read_text()
        assert "      - RegionOne\n      - RegionTwo\n      - Region3\n" in clouds

        # a plain `up` keeps what the folder recorded; more regions are added in place
        again = manager.up(root, regions=4)
        assert again.reused and again.state.database == "mariadb"
        assert again.state.glance_workers == 2 and again.state.regions == 4
        catalog = _catalog(paths)
        regions = {e["region_id"] for s in catalog if s["type"] == "image" for e in s["endpoints"]}
        assert regions == {"RegionOne", "RegionTwo", "Region3", "Region4"}

        database_pid = processes.read_pid(paths, "mariadb")
        assert database_pid is not None
        assert "mariadb" in manager.stop(root)
        assert not processes.is_ours(database_pid, paths, f"--datadir={paths.mariadb}".encode())
    finally:
        manager.stop(root, purge=True)


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _catalog(paths: SandboxPaths) -> list[dict[str, object]]:
    from ruamel.yaml import YAML

    auth = YAML(typ="safe").load(paths.clouds.read_text())["clouds"]["sandbox"]["auth"]
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": auth["username"],
                        "password": auth["password"],
                        "domain": {"name": "Default"},
                    }
                },
            },
            "scope": {"project": {"name": auth["project_name"], "domain": {"name": "Default"}}},
        }
    }
    answer = requests.post(f"{auth['auth_url']}/auth/tokens", json=body, timeout=30)
    answer.raise_for_status()
    catalog: list[dict[str, object]] = answer.json()["token"]["catalog"]
    return catalog
