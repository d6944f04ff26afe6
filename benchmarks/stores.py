"""`python -m benchmarks.stores`: copy-image of one image into 2 more stores of a
3-store sandbox (`.sandbox-stores`, `sandbox up --stores 3`), by the tool's own step
(`steps.CopyToStores`, as apply runs it), against Glance's own time for the copy (its
import task, created_at to updated_at). Issue 25's target: the tool's overhead over
Glance's copy time under 5% for 1 GiB. Prints one Markdown table row per run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from reconciler.app.pipeline import glance_client
from reconciler.apply.steps import CopyToStores
from reconciler.cloud.auth import connect
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.image_view import live_stores
from reconciler.sandbox import manager

ROOT = Path(__file__).resolve().parent.parent
BLOCK = 8 << 20


def _file(size_mb: int, folder: Path) -> Path:
    path = folder / "disk.raw"
    with path.open("wb") as handle:
        for _ in range(size_mb * (1 << 20) // BLOCK):
            handle.write(os.urandom(BLOCK))
    return path


def _seconds(task: dict[str, object]) -> float:
    start = datetime.fromisoformat(str(task["created_at"]))
    end = datetime.fromisoformat(str(task["updated_at"]))
    return (end - start).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / ".sandbox-stores")
    parser.add_argument("--mb", type=int, default=1024, help="image size in MiB")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    result = manager.up(args.dir, stores=3)
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(result.clouds_file)
    client = glance_client(connect(CloudOptions(cloud="sandbox-admin")), 600.0)
    print("| size | stores | tool's copy step (s) | Glance's task (s) | overhead |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        data = _file(args.mb, Path(folder))
        for _run in range(args.runs):
            image_id = str(uuid.uuid4())
            client.create_image(
                {
                    "id": image_id,
                    "name": "bench-stores",
                    "disk_format": "raw",
                    "container_format": "bare",
                }
            )
            try:
                with data.open("rb") as handle:
                    client.put_data(image_id, "file", handle, "store1")
                started = time.monotonic()
                CopyToStores(("store2", "store3"), 1800.0).send(client, image_id)
                tool = time.monotonic() - started
                image = client.get_image(image_id)
                assert live_stores(image) == ("store1", "store2", "store3"), image
                task = next(
                    t
                    for t in client.image_tasks(image_id)
                    if (t.get("input") or {}).get("import_req", {}).get("method", {}).get("name")
                    == "copy-image"
                )
                glance = _seconds(task)
                print(
                    f"| {args.mb} MiB | 1 -> 3 | {tool:.2f} | {glance:.2f} | "
                    f"{(tool - glance) / glance * 100:.1f}% |"
                )
            finally:
                client.delete_image(image_id)


if __name__ == "__main__":
    main()
