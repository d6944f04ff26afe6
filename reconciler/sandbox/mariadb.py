"""MariaDB for `sandbox up --database mariadb`: Keystone's and Glance's databases on the
server production deployments use, for benchmarks that measure writes (sqlite's one
writer lock caps them). Process, file and socket I/O.

Debian's `mariadb-server` is installed with apt-get when `mariadbd` is missing (that
needs root; the package's own system service is not used). The sandbox runs its own
`mariadbd` with `--no-defaults` on a unix socket in the state folder's `run/` (mode
0700, so only the owner reaches it) and no TCP port; its data folder is `mariadb/`.
Root logs in over that socket without a password; Keystone and Glance use a user of
their own whose password is in `secrets.json`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from reconciler.errors import SandboxError
from reconciler.sandbox.processes import run_checked, spawn, wait_for_start
from reconciler.sandbox.state import SandboxPaths

Log = Callable[[str], None]

SERVICE = "mariadb"
DATABASES = ("keystone", "glance")
USER = "reconciler"
# Where Debian's package puts them; PATH is tried first.
SERVER = "mariadbd"
INSTALL_DB = "mariadb-install-db"
# A unix socket's path is at most 107 bytes on Linux.
SOCKET_PATH_MAX = 107


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/bin"):
        path = Path(folder) / name
        if path.exists():
            return str(path)
    return None


def installed() -> bool:
    return _binary(SERVER) is not None and _binary(INSTALL_DB) is not None


def ensure_installed(log: Log) -> None:
    """Install Debian's mariadb-server when mariadbd is missing (apt-get, as root)."""
    if installed():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise SandboxError(
            "MariaDB is not installed and cannot be installed from here (needs root and "
            "apt-get); install Debian's mariadb-server, or use --database sqlite"
        )
    log("installing Debian's mariadb-server (apt-get; its system service is not used)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "mariadb-server"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:  # a stale package list: refresh it once
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not installed():
        tail = "\n".join(done.stderr.splitlines()[-10:])
        raise SandboxError(f"apt-get install mariadb-server failed:\n{tail}")


def _as_root() -> list[str]:
    """mariadbd refuses to run as root unless told to."""
    return ["--user=root"] if os.geteuid() == 0 else []


def initialise(paths: SandboxPaths) -> None:
    """Create the data folder (system tables; root without a password, socket only)."""
    if len(str(paths.mariadb_socket)) > SOCKET_PATH_MAX:
        raise SandboxError(
            f"the state folder's path is too long for MariaDB's socket ({paths.mariadb_socket}); "
            "use a shorter --dir"
        )
    paths.mariadb.mkdir(parents=True, exist_ok=True)
    paths.run.chmod(0o700)
    install_db = _binary(INSTALL_DB)
    assert install_db is not None
    run_checked(
        [
            install_db,
            "--no-defaults",
            f"--datadir={paths.mariadb}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *_as_root(),
        ],
        paths.log("mariadb-setup"),
    )


def server_args(paths: SandboxPaths) -> list[str]:
    """mariadbd's command line: the sandbox's own server, production-like settings
    (InnoDB, durable commits, utf8 as OpenStack's install guides set it)."""
    server = _binary(SERVER)
    assert server is not None
    return [
        server,
        "--no-defaults",
        f"--datadir={paths.mariadb}",
        f"--socket={paths.mariadb_socket}",
        f"--pid-file={paths.run / 'mariadbd.pid'}",
        f"--log-error={paths.log(SERVICE)}",
        "--skip-networking",
        "--skip-name-resolve",
        "--character-set-server=utf8mb3",
        "--collation-server=utf8mb3_general_ci",
        "--max-connections=500",
        "--innodb-buffer-pool-size=256M",
        *_as_root(),
    ]


def start(paths: SandboxPaths) -> subprocess.Popen[bytes]:
    """Start mariadbd in its own session; its pid goes into the pid file."""
    return spawn(paths, SERVICE, server_args(paths))


def answers(paths: SandboxPaths, user: str = "root", password: str = "") -> bool:
    import pymysql

    try:
        connection = pymysql.connect(
            unix_socket=str(paths.mariadb_socket), user=user, password=password, connect_timeout=2
        )
    except pymysql.MySQLError:
        return False
    connection.close()
    return True


def wait_until_answers(
    paths: SandboxPaths, proc: subprocess.Popen[bytes], timeout: float = 90.0
) -> None:
    wait_for_start(
        paths,
        SERVICE,
        proc,
        lambda: paths.mariadb_socket.exists() and answers(paths),
        f"on {paths.mariadb_socket}",
        timeout,
        name=SERVER,
    )


def create_databases(paths: SandboxPaths, password: str) -> None:
    """The databases and the services' user (idempotent)."""
    import pymysql

    connection = pymysql.connect(unix_socket=str(paths.mariadb_socket), user="root")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE USER IF NOT EXISTS '{USER}'@'localhost' IDENTIFIED BY %s", (password,)
            )
            for name in DATABASES:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {name}")
                cursor.execute(f"GRANT ALL PRIVILEGES ON {name}.* TO '{USER}'@'localhost'")
        connection.commit()
    finally:
        connection.close()


def url(paths: SandboxPaths, database: str, password: str) -> str:
    """The SQLAlchemy URL Keystone and Glance connect with (PyMySQL, the socket)."""
    return (
        f"mysql+pymysql://{USER}:{password}@localhost/{database}"
        f"?unix_socket={paths.mariadb_socket}&charset=utf8"
    )
