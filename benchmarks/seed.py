"""Seed the benchmark sandbox with N realistic images (15-25 properties, 2-5 tags),
once: every image has an id derived from its index, so a rerun creates only what is
missing and a create retried after sqlite's "database is locked" cannot duplicate."""

from __future__ import annotations

import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reconciler.cloud.glance import GlanceClient, ResponseLost
from reconciler.errors import Conflict
from reconciler.model.image_view import MANAGED_RECORD, encode_record

DISTROS = ("ubuntu", "debian", "rocky", "alma", "fedora", "alpine", "flatcar")


def image_id(prefix: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"reconciler-bench-{prefix}-{n}"))


def image_body(prefix: str, n: int) -> dict[str, Any]:
    """The seeded metadata of image n (deterministic)."""
    rng = random.Random(f"{prefix}-{n}")
    props = {f"prop_{k:02d}": f"value-{n}-{k}" for k in range(rng.randint(13, 23))}
    props.update(os_distro=rng.choice(DISTROS), os_version=f"{rng.randint(8, 24)}.04")
    tags = sorted({f"tag{rng.randint(0, 30)}" for _ in range(rng.randint(2, 5))} | {"bench"})
    return {
        "id": image_id(prefix, n),
        "name": f"{prefix}-{n:05d}",
        "visibility": "private",
        "disk_format": "raw",
        "container_format": "bare",
        "tags": tags,
        **props,
        MANAGED_RECORD: encode_record(props),
    }


def seed(client: GlanceClient, prefix: str, count: int, workers: int = 2) -> int:
    """Create the missing images of `prefix`; return how many were created."""
    have = {
        str(i.get("name"))
        for i in client.list_images()
        if str(i.get("name", "")).startswith(prefix)
    }
    missing = [n for n in range(count) if f"{prefix}-{n:05d}" not in have]

    def make(n: int) -> None:
        body = image_body(prefix, n)
        for _attempt in range(30):
            try:
                client.request("POST", "/v2/images", json=body)
                return
            except Conflict:
                return
            except ResponseLost:
                time.sleep(0.2)
        raise RuntimeError(f"could not seed {body['name']}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(make, missing))
    return len(missing)
