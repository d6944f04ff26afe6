"""Start and drive the fault-injecting proxy (mitmdump in reverse-proxy mode in front of
the sandbox's Glance) from tests."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MITMDUMP = ROOT / ".venv-faults" / "bin" / "mitmdump"
ADDON = Path(__file__).with_name("addon.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FaultProxy:
    url: str
    process: subprocess.Popen[bytes]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def configure(self, **config: Any) -> None:
        self._call("POST", "/__faults__/config", config)

    def calm(self) -> None:
        self.configure(rate=0, rules=[])

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/__faults__/stats")
        return result

    def reset(self) -> None:
        self._call("POST", "/__faults__/reset", {})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start(upstream: str, log: Path) -> FaultProxy:
    assert MITMDUMP.exists(), f"{MITMDUMP} missing: `make test` installs mitmproxy there"
    port = _free_port()
    confdir = log.parent / "mitmproxy-conf"
    shutil.rmtree(confdir, ignore_errors=True)
    process = subprocess.Popen(
        [
            str(MITMDUMP),
            "--mode",
            f"reverse:{upstream}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--set",
            f"confdir={confdir}",
            "--set",
            "connection_strategy=lazy",
            "--set",
            "stream_large_bodies=10m",
            "--quiet",
            "-s",
            str(ADDON),
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    proxy = FaultProxy(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mitmdump exited: {log.read_text()[-2000:]}")
        try:
            proxy.stats()
            return proxy
        except OSError:
            time.sleep(0.2)
    proxy.stop()
    raise RuntimeError("mitmdump did not start in 30 s")
