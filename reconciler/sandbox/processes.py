"""Start, probe and stop the sandbox's processes. Process and network I/O.

Keystone and Glance are each one gunicorn master, the mirror one Python process
(`reconciler.sandbox.mirror`); each is started in its own session (so gunicorn's
workers share its process group) and its pid goes into `run/<service>.pid`. `stop`
only signals a pid whose working directory is this sandbox's state folder and whose
command line is that service's, so a recycled pid or another project's gunicorn is
never touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import requests

from reconciler.errors import SandboxError
from reconciler.runtime.waits import Schedule, TimedOut, poll
from reconciler.sandbox.state import SandboxPaths

WSGI_APPS = {
    "keystone": "reconciler.sandbox.wsgi_keystone:application",
    "glance": "reconciler.sandbox.wsgi_glance:application",
}
MIRROR = "mirror"
MIRROR_MODULE = "reconciler.sandbox.mirror"
MARIADB = "mariadb"
START_POLL = Schedule(0.25, 1.0)  # reads while a service starts
STOP_POLL = Schedule(0.1, 1.0)  # looks while a stopped service's processes exit


def _marker(paths: SandboxPaths, service: str) -> tuple[bytes, Path]:
    """What the command line of the service's process contains, and its working
    directory (mariadbd moves into its data folder)."""
    if service == MIRROR:
        return MIRROR_MODULE.encode(), paths.root
    if service == MARIADB:
        return f"--datadir={paths.mariadb}".encode(), paths.mariadb
    return b"gunicorn", paths.root


def free_port(avoid: tuple[int, ...] = ()) -> int:
    """A port free on 127.0.0.1 now, other than the ones in avoid."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in avoid:
            return port


def port_is_free(port: int) -> bool:
    """True when gunicorn could bind the port (it sets SO_REUSEADDR, so TIME_WAIT is ok)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def run_checked(args: list[str], log: Path, env: Mapping[str, str] | None = None) -> None:
    """Run a setup command (keystone-manage, glance-manage), its output appended to log."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(args))}\n")
        out.flush()
        done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if done.returncode != 0:
        raise SandboxError(
            f"{Path(args[0]).name} {args[-1]} failed (exit {done.returncode}); "
            f"log {log}:\n{log_tail(log)}"
        )


def venv_script(name: str) -> str:
    """A console script installed beside this interpreter (keystone-manage, ...)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise SandboxError(
            f"{name} not found next to {sys.executable}; "
            "install the sandbox extra: pip install -e '.[sandbox]'"
        )
    return str(path)


def spawn(
    paths: SandboxPaths, service: str, args: list[str], env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a service's process in its own session (so its workers share its process
    group), its output appended to the service's log; its pid goes into the pid file."""
    with paths.log(service).open("a") as out:
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            start_new_session=True,
            cwd=paths.root,
        )
    paths.pidfile(service).write_text(f"{proc.pid}\n")
    return proc


def start_service(
    paths: SandboxPaths,
    service: str,
    port: int,
    env_extra: Mapping[str, str],
    tls: bool = False,
    workers: int = 1,
) -> subprocess.Popen[bytes]:
    """Start gunicorn for one service (`workers` processes of 8 threads); its pid goes
    into the pid file."""
    env = dict(os.environ)
    env.update(env_extra)
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--timeout",
        "300",
        "--control-socket",
        str(paths.control_socket(service)),
        "--name",
        f"reconciler-sandbox-{service}",
        "--chdir",
        str(paths.root),
        *(
            ["--certfile", str(paths.server_cert), "--keyfile", str(paths.server_key)]
            if tls
            else []
        ),
        WSGI_APPS[service],
    ]
    return spawn(paths, service, args, env)


def start_mirror(paths: SandboxPaths, port: int) -> subprocess.Popen[bytes]:
    """Start the loopback HTTP mirror serving paths.mirror; its pid goes into the pid file."""
    args = [
        sys.executable,
        "-m",
        MIRROR_MODULE,
        "--folder",
        str(paths.mirror),
        "--port",
        str(port),
    ]
    return spawn(paths, MIRROR, args)


def read_pid(paths: SandboxPaths, service: str) -> int | None:
    try:
        return int(paths.pidfile(service).read_text().strip())
    except (OSError, ValueError):
        return None


def is_ours(
    pid: int, paths: SandboxPaths, marker: bytes = b"gunicorn", cwd: Path | None = None
) -> bool:
    """True when pid is alive and is a process started for this state folder.

    gunicorn rewrites its process title, so the test is the working directory (the
    state folder, set at start, or `cwd`) plus the marker ("gunicorn", the mirror's
    module, mariadbd's data folder) in the command line.
    """
    proc = Path(f"/proc/{pid}")
    try:
        cmdline = (proc / "cmdline").read_bytes()
        where = os.readlink(proc / "cwd")
    except OSError:
        return False
    return marker in cmdline and Path(where) == (cwd or paths.root)


def running_pid(paths: SandboxPaths, service: str) -> int | None:
    pid = read_pid(paths, service)
    if pid is not None and is_ours(pid, paths, *_marker(paths, service)):
        return pid
    return None


def stop_service(paths: SandboxPaths, service: str, timeout: float = 15.0) -> bool:
    """Stop one service if it runs; True when something was stopped."""
    pid = running_pid(paths, service)
    paths.pidfile(service).unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False

    def gone() -> bool:
        if not _group_alive(pid):
            return True
        _reap(pid)
        return False

    with contextlib.suppress(TimedOut):
        poll(gone, bool, STOP_POLL.within(timeout))
        return True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie master (our own child, not yet reaped) still counts as a member.
    _reap(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def answers(url: str, timeout: float = 2.0, verify: str | bool = True) -> bool:
    try:
        response = requests.get(url, timeout=timeout, verify=verify)
    except requests.RequestException:
        return False
    return response.status_code < 500


def wait_until_answers(
    paths: SandboxPaths,
    service: str,
    url: str,
    proc: subprocess.Popen[bytes],
    timeout: float = 90.0,
    verify: str | bool = True,
) -> None:
    """Poll url until it answers; fail with the log's tail if the process dies or stalls.

    Exit is detected through the Popen handle: right after fork the child's command line
    is still the parent's, so /proc checks would misjudge it.
    """
    wait_for_start(paths, service, proc, lambda: answers(url, verify=verify), f"at {url}", timeout)


def wait_for_start(
    paths: SandboxPaths,
    service: str,
    proc: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    where: str,
    timeout: float,
    name: str | None = None,
) -> None:
    """Poll `ready` (START_POLL) until it holds; SandboxError with the tail of the
    service's log if the process (`name`, else the service) exits first or `timeout`
    seconds pass (`where` says what was asked: "at URL", "on SOCKET")."""
    name = name or service

    def started() -> bool:
        if ready():
            return True
        if proc.poll() is not None:
            raise SandboxError(
                f"{name} exited during start-up (exit {proc.returncode}); last lines of "
                f"{paths.log(service)}:\n{log_tail(paths.log(service))}"
            )
        return False

    try:
        poll(started, bool, START_POLL.within(timeout))
    except TimedOut:
        raise SandboxError(
            f"{name} did not answer {where} within {timeout:.0f}s; last lines of "
            f"{paths.log(service)}:\n{log_tail(paths.log(service))}"
        ) from None
