"""`sandbox up | down | status | env`: orchestration of the sandbox's life cycle.

`up` is idempotent: a healthy sandbox is reused as it is; a bootstrapped one whose
processes are gone (a reboot, `down` without `--purge`) is restarted on its recorded
ports; anything else is built from scratch. A reused sandbox is first brought up to
this version's configuration: the mirror gets a port if its state has none, Glance's
folders are made and its config file rewritten, and Glance restarted when that file
changed (only then).

Besides Keystone and Glance, `up` runs a loopback HTTP mirror (`mirror.py`) serving
the state folder's `mirror/` folder: web-download imports fetch from it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import SandboxError
from reconciler.sandbox import bootstrap, configs, processes
from reconciler.sandbox import tls as sandbox_tls
from reconciler.sandbox.state import SandboxPaths, SandboxState, write_private

SERVICES = ("keystone", "glance")
MIRROR = processes.MIRROR
# Everything `up` runs, in start order.
PROCESSES = (*SERVICES, MIRROR)
DEFAULT_DIR = Path(".sandbox")
GLANCE_DIRS = ("images", "staging", "tasks", "work", "locks")

Log = Callable[[str], None]


@dataclass(frozen=True)
class UpResult:
    state: SandboxState
    reused: bool
    seconds: float
    clouds_file: Path


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


def is_healthy(paths: SandboxPaths, state: SandboxState) -> bool:
    verify = verify_for(paths, state)
    return all(
        processes.running_pid(paths, svc) is not None
        and processes.answers(_urls(state)[svc], verify=verify)
        for svc in PROCESSES
    )


def _start(paths: SandboxPaths, state: SandboxState, service: str) -> None:
    port = _ports(state)[service]
    if processes.running_pid(paths, service) is not None:
        return
    if not processes.port_is_free(port):
        raise SandboxError(
            f"port {port} for {service} is taken by another process; choose another with "
            "--keystone-port/--glance-port/--mirror-port or run `sandbox down --purge`"
        )
    if service == MIRROR:
        proc = processes.start_mirror(paths, port)
    else:
        proc = processes.start_service(paths, service, port, _env(paths, service), tls=state.tls)
    processes.wait_until_answers(
        paths, service, _urls(state)[service], proc, verify=verify_for(paths, state)
    )


def _glance_files(paths: SandboxPaths, state: SandboxState) -> bool:
    """Write Glance's folders and config files as this version makes them; True when
    one's text changed (a running Glance must then be restarted)."""
    for sub in GLANCE_DIRS:
        (paths.glance / sub).mkdir(parents=True, exist_ok=True)
    paths.mirror.mkdir(parents=True, exist_ok=True)
    password = json.loads(paths.secrets.read_text())["glance"]
    wanted = {
        paths.glance / "property-protections.conf": configs.PROPERTY_PROTECTIONS,
        paths.glance / "glance-api.conf": configs.glance_api_conf(paths, state, password),
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


def _refresh(paths: SandboxPaths, state: SandboxState, mirror_port: int | None, log: Log) -> None:
    """Bring a bootstrapped sandbox to this version's configuration (see the module)."""
    if (mirror_port is not None and mirror_port != state.mirror_port) or not state.mirror_port:
        if processes.stop_service(paths, MIRROR):
            log("stopped the mirror: its port changes")
        state.mirror_port = mirror_port or processes.free_port(
            avoid=(state.keystone_port, state.glance_port)
        )
        state.save(paths)
    if _glance_files(paths, state) and processes.stop_service(paths, "glance"):
        log("Glance's configuration changed: restarting Glance")


def up(
    root: Path = DEFAULT_DIR,
    keystone_port: int | None = None,
    glance_port: int | None = None,
    log: Log = lambda _msg: None,
    tls: bool = False,
    mirror_port: int | None = None,
) -> UpResult:
    started = time.monotonic()
    paths = SandboxPaths(root.resolve())
    state = SandboxState.load(paths)
    if (
        state is not None
        and state.bootstrapped
        and state.tls == tls
        and _ports_match(state, keystone_port, glance_port)
    ):
        _refresh(paths, state, mirror_port, log)
        if is_healthy(paths, state):
            return UpResult(state, True, time.monotonic() - started, paths.clouds)
        log("restarting the existing sandbox")
        for service in PROCESSES:
            _start(paths, state, service)
        return UpResult(state, True, time.monotonic() - started, paths.clouds)

    if state is not None:
        log("discarding an unfinished or differently configured sandbox")
        stop(root, purge=True)
    state = _build(paths, keystone_port, glance_port, log, tls, mirror_port)
    return UpResult(state, False, time.monotonic() - started, paths.clouds)


def _ports_match(state: SandboxState, keystone_port: int | None, glance_port: int | None) -> bool:
    return keystone_port in (None, state.keystone_port) and glance_port in (
        None,
        state.glance_port,
    )


def _build(
    paths: SandboxPaths,
    keystone_port: int | None,
    glance_port: int | None,
    log: Log,
    tls: bool = False,
    mirror_port: int | None = None,
) -> SandboxState:
    paths.make_dirs()
    bootstrap.check_paste_ini(configs.glance_paste_ini())
    keystone_port = keystone_port or processes.free_port()
    glance_port = glance_port or processes.free_port(avoid=(keystone_port,))
    state = SandboxState(
        keystone_port=keystone_port,
        glance_port=glance_port,
        tls=tls,
        mirror_port=mirror_port or processes.free_port(avoid=(keystone_port, glance_port)),
    )
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
    write_private(paths.secrets, json.dumps(passwords, indent=2))

    (paths.keystone / "keystone.conf").write_text(configs.keystone_conf(paths))
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
    """Stop every process this state folder started (Keystone, Glance, the mirror);
    with purge, delete the folder. Returns the names of those that were running."""
    paths = SandboxPaths(root.resolve())
    stopped = [svc for svc in PROCESSES if processes.stop_service(paths, svc)]
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
    for svc in PROCESSES:
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
