"""`reconciler sandbox up | down | status | env`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from reconciler.cli.console import info, stdout_console
from reconciler.errors import SandboxError
from reconciler.sandbox import manager

app = typer.Typer(
    help="A real Keystone + Glance on 127.0.0.1 for trying manifests.", no_args_is_help=True
)


class Database(StrEnum):
    sqlite = "sqlite"
    mariadb = "mariadb"


DirOption = typer.Option(
    manager.DEFAULT_DIR,
    "--dir",
    metavar="DIR",
    help="State folder of the sandbox (relative to the current folder).",
)


@app.command("up")
def up_cmd(
    dir: Path = DirOption,
    keystone_port: int | None = typer.Option(
        None, metavar="PORT", help="Keystone port (default: a free one)."
    ),
    glance_port: int | None = typer.Option(
        None, metavar="PORT", help="Glance port (default: a free one)."
    ),
    mirror_port: int | None = typer.Option(
        None, metavar="PORT", help="Port of the loopback HTTP mirror (default: a free one)."
    ),
    tls: bool = typer.Option(
        False, "--tls", help="Serve both over HTTPS with a CA made for this sandbox."
    ),
    database: Database | None = typer.Option(
        None,
        "--database",
        help="Keystone's and Glance's database: sqlite (the default for a new sandbox) or "
        "mariadb (a MariaDB server the sandbox runs on a socket in its folder; Debian's "
        "mariadb-server is installed with apt-get when missing). Another database than "
        "the folder's rebuilds the sandbox.",
    ),
    glance_workers: int | None = typer.Option(
        None,
        "--glance-workers",
        min=1,
        help="Glance's gunicorn worker processes, 8 threads each (default: as before, "
        "1 for a new sandbox).",
    ),
    regions: int | None = typer.Option(
        None,
        "--regions",
        min=1,
        help="Regions in Keystone's catalog, each with this Glance as image endpoint: "
        "RegionOne, RegionTwo, Region3, ... (default: as before, 2 for a new sandbox).",
    ),
    stores: int | None = typer.Option(
        None,
        "--stores",
        min=1,
        metavar="N",
        help="Glance's file stores: 1 is the single store `fs`; N more than 1 configures "
        "store1 ... storeN (store1 the default) for multi-store images (default: as before, "
        "1 for a new sandbox). Another count than the folder's rebuilds the sandbox.",
    ),
) -> None:
    """Start the sandbox (reuses a healthy one): Keystone, Glance, and an HTTP mirror
    serving the state folder's mirror/ folder (web-download imports fetch from it)."""
    result = manager.up(
        dir,
        keystone_port,
        glance_port,
        log=info,
        tls=tls,
        mirror_port=mirror_port,
        database=database.value if database is not None else None,
        glance_workers=glance_workers,
        regions=regions,
        stores=stores,
    )
    how = "reused" if result.reused else "started"
    state = result.state
    info(
        f"sandbox {how} in {result.seconds:.1f}s: Keystone {state.keystone_url}, "
        f"Glance {state.glance_url} ({state.database}, {state.glance_workers} worker(s), "
        f"{state.regions} regions, {state.stores} store(s)), mirror {state.mirror_url}/ "
        f"(serving {dir.resolve() / 'mirror'}); clouds.yaml {result.clouds_file}"
    )


@app.command("down")
def down_cmd(
    dir: Path = DirOption,
    purge: bool = typer.Option(False, "--purge", help="Also delete the state folder."),
) -> None:
    """Stop the processes `up` started (pid files), nothing else."""
    stopped = manager.stop(dir, purge=purge)
    info(
        f"stopped: {', '.join(stopped) or 'nothing was running'}"
        + ("; state deleted" if purge else "")
    )


@app.command("status")
def status_cmd(dir: Path = DirOption) -> None:
    """Say what runs where. Exit 1 when the sandbox is not fully up."""
    services = manager.status(dir)
    out = stdout_console()
    if services is None:
        out.print(f"no sandbox in {dir.resolve()}")
        raise typer.Exit(1)
    for svc in services:
        state = "up" if svc.answering else ("running, not answering" if svc.pid else "down")
        pid = f"pid {svc.pid}" if svc.pid else "no process"
        serves = f" serving {svc.serves}" if svc.serves is not None else ""
        out.print(f"{svc.service:9} {state:24} {pid:12} {svc.url}{serves}")
    if not all(s.answering for s in services):
        raise typer.Exit(1)


@app.command("env")
def env_cmd(
    dir: Path = DirOption,
    cloud: str = typer.Option(
        "sandbox",
        metavar="NAME",
        help="clouds.yaml entry for OS_CLOUD: sandbox, sandbox-reader, sandbox-other or "
        "sandbox-admin.",
    ),
    mirror: bool = typer.Option(
        False,
        "--mirror",
        help="Also export RECONCILER_SANDBOX_MIRROR_URL and RECONCILER_SANDBOX_MIRROR_DIR "
        "(the mirror's base URL and the folder it serves).",
    ),
) -> None:
    """Print `export OS_CLIENT_CONFIG_FILE=... OS_CLOUD=...` for eval."""
    if cloud not in ("sandbox", "sandbox-reader", "sandbox-other", "sandbox-admin"):
        raise SandboxError(f"unknown sandbox cloud {cloud!r}")
    for line in manager.env_lines(dir, cloud, mirror=mirror):
        print(line)
