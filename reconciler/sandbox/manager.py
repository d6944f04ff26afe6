"""`sandbox up | down | status | env`: orchestration of the sandbox's life cycle.

`up` is idempotent: a healthy sandbox is reused as it is; a bootstrapped one whose
processes are gone (a reboot, `down` without `--purge`) is restarted on its recorded
ports; anything else is built from scratch. A reused sandbox is first brought up to
this version's configuration: the mirror gets a port if its state has none, Glance's
folders are made and its config file rewritten, and Glance restarted when that file
changed (only then).

Besides Keystone and Glance, `up` runs a loopback HTTP mirror (`mirror.py`) serving
the state folder's `mirror/` folder: web-download imports fetch from it.

Production-like options for benchmarks: `database="mariadb"` puts both databases on a
MariaDB server the sandbox runs itself (`mariadb.py`), `glance_workers` runs Glance as
several gunicorn workers, `regions` registers more regions (each with the same Glance)
for multi-target runs, `stores` configures Glance with that many file stores (store1 ...
storeN, `enabled_backends`; one `fs` store by default). Left as None, each keeps what
the state folder recorded (sqlite, one worker, two regions, one store for a new one), so
`make test`'s plain `up` never changes a sandbox another run configured. A different
database or store count rebuilds the sandbox (images live in the stores); more
regions are registered, and a different worker count restarts Glance, in place.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.errors import SandboxError
from reconciler.sandbox import bootstrap, configs, mariadb, processes
from reconciler.sandbox import tls as sandbox_tls
from reconciler.sandbox.state import SandboxPaths, SandboxState, write_private

SERVICES = ("keystone", "glance")
MIRROR = processes.MIRROR
MARIADB = processes.MARIADB
# Everything `up` runs, in start order (MariaDB first when the state uses it).
PROCESSES = (*SERVICES, MIRROR)
DATABASES = ("sqlite", "mariadb")
DEFAULT_DIR = Path(".sandbox")
GLANCE_DIRS = ("images", "staging", "tasks", "work", "locks")

Log = Callable[[str], None]


@dataclass(frozen=True)
class UpResult:
    state: SandboxState
    reused: bool
    seconds: float
    clouds_file: Path


def _processes(state: SandboxState) -> tuple[str, ...]:
    return (MARIADB, *PROCESSES) if state.database == "mariadb" else PROCESSES


def _urls(state: SandboxState) -> dict[str, str]:
    return {
        "keystone": state.keystone_url,
        "glance": f"{state.glance_url}/healthcheck",
        MIRROR: f"{state.mirror_url}/",
    }


def _ports(state: SandboxState) -> dict[str, int]:
    return {
        "keystone": state.keystone_port,
        "glance": state.glance_port,
        MIRROR: state.mirror_port,
    }


def _env(paths: SandboxPaths, service: str) -> dict[str, str]:
    if service == "keystone":
        return {"OS_KEYSTONE_CONFIG_DIR": str(paths.keystone)}
    return {"OS_GLANCE_CONFIG_DIR": str(paths.glance)}


def verify_for(paths: SandboxPaths, state: SandboxState) -> str | bool:
    """What HTTP clients of this sandbox verify TLS with: its CA file, when TLS is on."""
    return str(paths.ca_cert) if state.tls else True


def _answers(paths: SandboxPaths, state: SandboxState, service: str) -> bool:
    if service == MARIADB:
        return mariadb.answers(paths)
    return processes.answers(_urls(state)[service], verify=verify_for(paths, state))


def is_healthy(paths: SandboxPaths, state: SandboxState) -> bool:
    return all(
        processes.running_pid(paths, svc) is not None and _answers(paths, state, svc)
        for svc in _processes(state)
    )


def _start(paths: SandboxPaths, state: SandboxState, service: str) -> None:
    if processes.running_pid(paths, service) is not None:
        return
    if service == MARIADB:
        mariadb.wait_until_answers(paths, mariadb.start(paths))
        return
    port = _ports(state)[service]
    if not processes.port_is_free(port):
        raise SandboxError(
            f"port {port} for {service} is taken by another process; choose another with "
            "--keystone-port/--glance-port/--mirror-port or run `sandbox down --purge`"
        )
    if service == MIRROR:
        proc = processes.start_mirror(paths, port)
    else:
        # Keystone runs as many workers as Glance: each Glance worker validates a new
        # token with Keystone on first sight, so N Glance workers meet one Keystone
        # worker's queue otherwise.
        workers = state.glance_workers
        proc = processes.start_service(
            paths, service, port, _env(paths, service), tls=state.tls, workers=workers
        )
    processes.wait_until_answers(
        paths, service, _urls(state)[service], proc, verify=verify_for(paths, state)
    )


def database_url(paths: SandboxPaths, state: SandboxState, name: str) -> str | None:
    """Keystone's or Glance's database URL on MariaDB; None for the default sqlite."""
    if state.database != "mariadb":
        return None
    return mariadb.url(paths, name, json.loads(paths.secrets.read_text())["mariadb"])


def _glance_files(paths: SandboxPaths, state: SandboxState) -> bool:
    """Write Glance's folders and config files as this version makes them; True when
    one's text changed (a running Glance must then be restarted)."""
    for sub in GLANCE_DIRS:
        (paths.glance / sub).mkdir(parents=True, exist_ok=True)
    for store in configs.store_names(state.stores):
        configs.store_dir(paths, store).mkdir(parents=True, exist_ok=True)
    paths.mirror.mkdir(parents=True, exist_ok=True)
    password = json.loads(paths.secrets.read_text())["glance"]
    conf = configs.glance_api_conf(paths, state, password, database_url(paths, state, "glance"))
    wanted = {
        paths.glance / "property-protections.conf": configs.PROPERTY_PROTECTIONS,
        paths.glance / "glance-api.conf": conf,
    }
    changed = False
    for path, text in wanted.items():
        try:
            if path.read_text() == text:
                continue
        except OSError:
            pass
        write_private(path, text)
        changed = True
    return changed


def _refresh(
    paths: SandboxPaths,
    state: SandboxState,
    mirror_port: int | None,
    log: Log,
    glance_workers: int | None = None,
) -> None:
    """Bring a bootstrapped sandbox to this version's configuration (see the module)."""
    if (mirror_port is not None and mirror_port != state.mirror_port) or not state.mirror_port:
        if processes.stop_service(paths, MIRROR):
            log("stopped the mirror: its port changes")
        state.mirror_port = mirror_port or processes.free_port(
            avoid=(state.keystone_port, state.glance_port)
        )
        state.save(paths)
    if glance_workers is not None and glance_workers != state.glance_workers:
        state.glance_workers = glance_workers
        state.save(paths)
        for service in SERVICES:
            if processes.stop_service(paths, service):
                log(f"restarting {service} with {glance_workers} worker(s)")
    if _glance_files(paths, state) and processes.stop_service(paths, "glance"):
        log("Glance's configuration changed: restarting Glance")


def _add_regions(paths: SandboxPaths, state: SandboxState, regions: int | None, log: Log) -> None:
    """Register more regions (Keystone must answer) and list them in clouds.yaml."""
    if regions is None or regions <= state.regions:
        return
    log(f"registering {regions} regions")
    passwords = json.loads(paths.secrets.read_text())
    state.regions = regions
    bootstrap.register_regions(state, passwords["admin"], verify_for(paths, state))
    write_private(paths.clouds, configs.clouds_yaml(state, passwords, paths))
    state.save(paths)


def up(
    root: Path = DEFAULT_DIR,
    keystone_port: int | None = None,
    glance_port: int | None = None,
    log: Log = lambda _msg: None,
    tls: bool = False,
    mirror_port: int | None = None,
    database: str | None = None,
    glance_workers: int | None = None,
    regions: int | None = None,
    stores: int | None = None,
) -> UpResult:
    """Start the sandbox in root, or reuse it (see the module for the None options)."""
    started = time.monotonic()
    if database is not None and database not in DATABASES:
        raise SandboxError(f"unknown database {database!r} (choose from {', '.join(DATABASES)})")
    if glance_workers is not None and glance_workers < 1:
        raise SandboxError("--glance-workers must be at least 1")
    if regions is not None and regions < 1:
        raise SandboxError("--regions must be at least 1")
    if stores is not None and stores < 1:
        raise SandboxError("--stores must be at least 1")
    paths = SandboxPaths(root.resolve())
    state = SandboxState.load(paths)
    if (
        state is not None
        and state.bootstrapped
        and state.tls == tls
        and database in (None, state.database)
        and stores in (None, state.stores)
        and _ports_match(state, keystone_port, glance_port)
    ):
        _refresh(paths, state, mirror_port, log, glance_workers)
        if not is_healthy(paths, state):
            log("restarting the existing sandbox")
            for service in _processes(state):
                _start(paths, state, service)
        _add_regions(paths, state, regions, log)
        return UpResult(state, True, time.monotonic() - started, paths.clouds)

    if state is not None:
        log("discarding an unfinished or differently configured sandbox")
        stop(root, purge=True)
    state = SandboxState(
        keystone_port=0,
        glance_port=0,
        tls=tls,
        database=database or "sqlite",
        glance_workers=glance_workers or 1,
        regions=regions or 2,
        stores=stores or 1,
    )
    state = _build(paths, state, keystone_port, glance_port, log, mirror_port)
    return UpResult(state, False, time.monotonic() - started, paths.clouds)


def _ports_match(state: SandboxState, keystone_port: int | None, glance_port: int | None) -> bool:
    return keystone_port in (None, state.keystone_port) and glance_port in (
        None,
        state.glance_port,
    )


def _build(
    paths: SandboxPaths,
    wanted: SandboxState,
    keystone_port: int | None,
    glance_port: int | None,
    log: Log,
    mirror_port: int | None = None,
) -> SandboxState:
    """A new sandbox configured as `wanted` (its ports aside: chosen here)."""
    paths.make_dirs()
    bootstrap.check_paste_ini(configs.glance_paste_ini())
    if wanted.database == "mariadb":
        mariadb.ensure_installed(log)
    keystone_port = keystone_port or processes.free_port()
    glance_port = glance_port or processes.free_port(avoid=(keystone_port,))
    state = replace(
        wanted,
        keystone_port=keystone_port,
        glance_port=glance_port,
        mirror_port=mirror_port or processes.free_port(avoid=(keystone_port, glance_port)),
    )
    tls = state.tls
    if tls:
        ca_cert, ca_key = sandbox_tls.make_ca()
        server_cert, server_key = sandbox_tls.make_server_cert(ca_cert, ca_key)
        paths.tls.mkdir(parents=True, exist_ok=True)
        paths.ca_cert.write_bytes(ca_cert)
        paths.server_cert.write_bytes(server_cert)
        write_private(paths.server_key, server_key.decode())
        # The CA's key is not kept: nothing else will ever be signed with it.
    if len({state.keystone_port, state.glance_port, state.mirror_port}) < 3:
        raise SandboxError("Keystone, Glance and the mirror need three different ports")
    state.save(paths)
    passwords = bootstrap.new_passwords()
    if state.database == "mariadb":
        passwords["mariadb"] = bootstrap.new_password()
    write_private(paths.secrets, json.dumps(passwords, indent=2))
    if state.database == "mariadb":
        log("starting MariaDB")
        mariadb.initialise(paths)
        _start(paths, state, MARIADB)
        mariadb.create_databases(paths, passwords["mariadb"])

    keystone_conf = configs.keystone_conf(paths, database_url(paths, state, "keystone"))
    write_private(paths.keystone / "keystone.conf", keystone_conf)
    _glance_files(paths, state)
    _start(paths, state, MIRROR)

    # Glance's schema does not depend on Keystone: build it while Keystone bootstraps.
    glance_log = paths.log("glance-setup").open("a")
    glance_sync = subprocess.Popen(
        bootstrap.glance_database(paths), stdout=glance_log, stderr=subprocess.STDOUT
    )
    log(f"bootstrapping Keystone on port {state.keystone_port}")
    bootstrap.keystone_database(paths, state, passwords["admin"])
    _start(paths, state, "keystone")
    state.project_ids = bootstrap.identity_objects(state, passwords, verify_for(paths, state))
    if glance_sync.wait() != 0:
        raise SandboxError(
            "glance-manage db_sync failed; last lines of "
            f"{paths.log('glance-setup')}:\n{processes.log_tail(paths.log('glance-setup'))}"
        )
    glance_log.close()
    log(f"starting Glance on port {state.glance_port}")
    _start(paths, state, "glance")
    state.base_image_ids = bootstrap.seed_base_images(
        state, passwords["admin"], log, verify_for(paths, state)
    )
    write_private(paths.clouds, configs.clouds_yaml(state, passwords, paths))
    state.bootstrapped = True
    state.save(paths)
    return state


def stop(root: Path = DEFAULT_DIR, purge: bool = False) -> list[str]:
    """Stop every process this state folder started (Keystone, Glance, the mirror,
    MariaDB);
    with purge, delete the folder. Returns the names of those that were running."""
    paths = SandboxPaths(root.resolve())
    # The database last: the services may write to it while they stop.
    stopped = [
        svc
        for svc in (*PROCESSES, MARIADB)
        if processes.stop_service(paths, svc, timeout=60.0 if svc == MARIADB else 15.0)
    ]
    if purge and paths.root.exists():
        shutil.rmtree(paths.root)
    return stopped


def down(root: Path = DEFAULT_DIR, purge: bool = False) -> list[str]:
    """`stop`, answering only which of Keystone and Glance were running."""
    return [svc for svc in stop(root, purge) if svc in SERVICES]


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    pid: int | None
    url: str
    answering: bool
    serves: Path | None = None  # the mirror's folder


def status(root: Path = DEFAULT_DIR) -> list[ServiceStatus] | None:
    paths = SandboxPaths(root.resolve())
    state = SandboxState.load(paths)
    if state is None:
        return None
    result = []
    for svc in _processes(state):
        if svc == MARIADB:
            pid = processes.running_pid(paths, svc)
            answering = pid is not None and mariadb.answers(paths)
            result.append(ServiceStatus(svc, pid, f"unix:{paths.mariadb_socket}", answering))
            continue
        if svc == MIRROR and not state.mirror_port:
            result.append(ServiceStatus(svc, None, "(no port yet: run `sandbox up`)", False))
            continue
        url = _urls(state)[svc]
        pid = processes.running_pid(paths, svc)
        answering = pid is not None and processes.answers(url, verify=verify_for(paths, state))
        serves = paths.mirror if svc == MIRROR else None
        result.append(ServiceStatus(svc, pid, url, answering, serves))
    return result


def env_lines(root: Path = DEFAULT_DIR, cloud: str = "sandbox", mirror: bool = False) -> list[str]:
    """The exports for a shell; with mirror, also where the mirror serves from
    (RECONCILER_SANDBOX_MIRROR_URL, its base URL, and RECONCILER_SANDBOX_MIRROR_DIR,
    the folder whose files it serves)."""
    paths = SandboxPaths(root.resolve())
    state = SandboxState.load(paths)
    if not paths.clouds.exists() or state is None:
        raise SandboxError(f"no sandbox in {paths.root}; run `reconciler sandbox up` first")
    lines = [
        f"export OS_CLIENT_CONFIG_FILE={paths.clouds}",
        f"export OS_CLOUD={cloud}",
    ]
    if mirror:
        if not state.mirror_port:
            raise SandboxError(f"the sandbox in {paths.root} has no mirror yet; run `sandbox up`")
        lines += [
            f"export RECONCILER_SANDBOX_MIRROR_URL={state.mirror_url}",
            f"export RECONCILER_SANDBOX_MIRROR_DIR={paths.mirror}",
        ]
    return lines
