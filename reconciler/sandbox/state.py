"""Where the sandbox keeps its files, and its state record (`state.json`). File I/O only.

The record holds ports (Keystone's, Glance's, the mirror's), the database server, Glance's
worker count, the number of regions and of Glance's stores, the project and base image
ids, and whether bootstrap finished; pids are in `run/`; passwords live only in
`clouds.yaml` and `secrets.json`, both mode 0600, never printed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
SECRETS_FILE = "secrets.json"
CLOUDS_FILE = "clouds.yaml"


@dataclass(frozen=True)
class SandboxPaths:
    """Every path inside the state folder, derived from its root."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / STATE_FILE

    @property
    def secrets(self) -> Path:
        return self.root / SECRETS_FILE

    @property
    def clouds(self) -> Path:
        return self.root / CLOUDS_FILE

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def keystone(self) -> Path:
        return self.root / "keystone"

    @property
    def glance(self) -> Path:
        return self.root / "glance"

    @property
    def mirror(self) -> Path:
        """The folder the loopback HTTP mirror serves (files tests and the demo publish)."""
        return self.root / "mirror"

    @property
    def mariadb(self) -> Path:
        """MariaDB's data folder (`--database mariadb`)."""
        return self.root / "mariadb"

    @property
    def mariadb_socket(self) -> Path:
        return self.run / "mariadb.sock"

    @property
    def staging(self) -> Path:
        """Glance's staging area (`PUT /stage`, web-download's downloads)."""
        return self.glance / "staging"

    @property
    def task_work_dir(self) -> Path:
        """Glance's `[task] work_dir` (must differ from the staging area)."""
        return self.glance / "work"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def pidfile(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def control_socket(self, service: str) -> Path:
        return self.run / f"{service}.ctl"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def ca_cert(self) -> Path:
        return self.tls / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.tls / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.tls / "server-key.pem"

    def make_dirs(self) -> None:
        for folder in (self.root, self.logs, self.run, self.keystone, self.glance, self.mirror):
            folder.mkdir(parents=True, exist_ok=True)


@dataclass
class SandboxState:
    """What `up` recorded: ports, and whether bootstrap finished (so `up` can reuse it)."""

    keystone_port: int
    glance_port: int
    bootstrapped: bool = False
    project_ids: dict[str, str] = field(default_factory=dict)
    base_image_ids: list[str] = field(default_factory=list)
    tls: bool = False  # both services serve HTTPS with the state folder's own CA
    mirror_port: int = 0  # 0: not chosen yet (a state folder from before the mirror)
    database: str = "sqlite"  # or "mariadb": Keystone's and Glance's databases
    glance_workers: int = 1  # gunicorn worker processes of Glance (8 threads each)
    regions: int = 2  # regions in Keystone's catalog, each with the same image endpoint
    stores: int = 1  # Glance's file stores (1: the single `fs` store; N: store1..storeN)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def keystone_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.keystone_port}/v3"

    @property
    def glance_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.glance_port}"

    @property
    def mirror_url(self) -> str:
        """The loopback mirror's base URL (plain HTTP, also with --tls: Glance fetches it)."""
        return f"http://127.0.0.1:{self.mirror_port}"

    def save(self, paths: SandboxPaths) -> None:
        write_private(paths.state, json.dumps(asdict(self), indent=2, sort_keys=True))

    @classmethod
    def load(cls, paths: SandboxPaths) -> SandboxState | None:
        try:
            data: dict[str, Any] = json.loads(paths.state.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


def write_private(path: Path, text: str) -> None:
    """Write a file only the owner can read (it may hold passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
