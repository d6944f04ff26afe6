"""How to reach a cloud, as the command line and the targets give it: a value, no I/O
(`reconciler.cloud.auth.connect` turns it into a session). Never holds credentials:
those stay in clouds.yaml or the OS_* variables."""

from __future__ import annotations

from dataclasses import dataclass

TARGET_PARALLELISM = 8  # targets read and planned at once (`--target-parallelism`)


@dataclass(frozen=True)
class CloudOptions:
    cloud: str | None = None  # clouds.yaml entry (--os-cloud / OS_CLOUD)
    region: str | None = None
    interface: str | None = None
    insecure: bool = False
    cacert: str | None = None
    timeout: float = 60.0  # seconds per HTTP request
