"""`sandbox up | down | status | env`: orchestration of the sandbox's life cycle.

`up` is idempotent: a healthy sandbox is reused as it is; a bootstrapped one whose
processes are gone (a reboot, `down` without `--purge`) is restarted on its recorded
ports; anything else is built from scratch.
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
DEFAULT_DIR = Path(".sandbox")

Log = Callable[[str], None]


@dataclass(frozen=True)
class UpResult:
    state: SandboxState
    reused: bool
    seconds: float
    clouds_file: Path


def _urls(state: SandboxState) -> dict[str, str]:
    return {"keystone": state.keystone_url, "glance": f"{state.glance_url}/healthcheck"}


def _ports(state: SandboxState) -> dict[str, int]:
    return {"keystone": state.keystone_port, "glance": state.glance_port}


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
        for svc in SERVICES
    )


def _start(paths: SandboxPaths, state: SandboxState, service: str) -> None:
    port = _ports(state)[service]
    if processes.running_pid(paths, service) is not None:
        return
    if not processes.port_is_free(port):
        raise SandboxError(
            f"port {port} for {service} is taken by another process; "
            "choose another with --keystone-port/--glance-port or run `sandbox down --purge`"
        )
    proc = processes.start_service(paths, service, port, _env(paths, service), tls=state.tls)
    processes.wait_until_answers(
        paths, service, _urls(state)[service], proc, verify=verify_for(paths, state)
    )


def up(
    root: Path = DEFAULT_DIR,
    keystone_port: int | None = None,
    glance_port: int | None = None,
    log: Log = lambda _msg: None,
    tls: bool = False,
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
        if is_healthy(paths, state):
            return UpResult(state, True, time.monotonic() - started, paths.clouds)
        log("restarting the existing sandbox")
        for service in SERVICES:
            _start(paths, state, service)
        return UpResult(state, True, time.monotonic() - started, paths.clouds)

    if state is not None:
        log("discarding an unfinished or differently configured sandbox")
        down(root, purge=True)
    state = _build(paths, keystone_port, glance_port, log, tls)
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
) -> SandboxState:
    paths.make_dirs()
    bootstrap.check_paste_ini(configs.glance_paste_ini())
    state = SandboxState(
        keystone_port=keystone_port or processes.free_port(),
        glance_port=glance_port or processes.free_port(),
        tls=tls,
    )
    if tls:
        ca_cert, ca_key = sandbox_tls.make_ca()
        server_cert, server_key = sandbox_tls.make_server_cert(ca_cert, ca_key)
        paths.tls.mkdir(parents=True, exist_ok=True)
        paths.ca_cert.write_bytes(ca_cert)
        paths.server_cert.write_bytes(server_cert)
        write_private(paths.server_key, server_key.decode())
        # The CA's key is not kept: nothing else will ever be signed with it.
    if state.keystone_port == state.glance_port:
        raise SandboxError("Keystone and Glance need two different ports")
    state.save(paths)
    passwords = bootstrap.new_passwords()
    write_private(paths.secrets, json.dumps(passwords, indent=2))

    (paths.keystone / "keystone.conf").write_text(configs.keystone_conf(paths))
    for sub in ("images", "staging", "tasks", "locks"):
        (paths.glance / sub).mkdir(parents=True, exist_ok=True)
    (paths.glance / "property-protections.conf").write_text(configs.PROPERTY_PROTECTIONS)
    write_private(
        paths.glance / "glance-api.conf",
        configs.glance_api_conf(paths, state, passwords["glance"]),
    )

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


def down(root: Path = DEFAULT_DIR, purge: bool = False) -> list[str]:
    """Stop the services this state folder started; with purge, delete the folder."""
    paths = SandboxPaths(root.resolve())
    stopped = [svc for svc in SERVICES if processes.stop_service(paths, svc)]
    if purge and paths.root.exists():
        shutil.rmtree(paths.root)
    return stopped


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    pid: int | None
    url: str
    answering: bool


def status(root: Path = DEFAULT_DIR) -> list[ServiceStatus] | None:
    paths = SandboxPaths(root.resolve())
    state = SandboxState.load(paths)
    if state is None:
        return None
    result = []
    for svc in SERVICES:
        url = _urls(state)[svc]
        pid = processes.running_pid(paths, svc)
        answering = pid is not None and processes.answers(url, verify=verify_for(paths, state))
        result.append(ServiceStatus(svc, pid, url, answering))
    return result


def env_lines(root: Path = DEFAULT_DIR, cloud: str = "sandbox") -> list[str]:
    paths = SandboxPaths(root.resolve())
    if not paths.clouds.exists():
        raise SandboxError(f"no sandbox in {paths.root}; run `reconciler sandbox up` first")
    return [
        f"export OS_CLIENT_CONFIG_FILE={paths.clouds}",
        f"export OS_CLOUD={cloud}",
    ]
