"""Helpers for sandbox tests: run the CLI, seed images through the raw API."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keystoneauth1 import exceptions as ks_exc

from tests.conftest import Sandbox

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


def reconciler(
    env: Mapping[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as users do, in its own process, with exactly this environment."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_cli(
    sandbox: Sandbox, *args: str, cloud: str = "sandbox", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The CLI as one of the sandbox's users."""
    return reconciler(sandbox.env(cloud), *args, timeout=timeout)


def plan_json(
    sandbox: Sandbox, *paths: Path, cloud: str = "sandbox", extra: tuple[str, ...] = ()
) -> tuple[int, dict[str, Any]]:
    done = run_cli(sandbox, "plan", "--format", "json", *extra, *map(str, paths), cloud=cloud)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def create_image(sandbox: Sandbox, body: dict[str, Any], cloud: str = "sandbox") -> str:
    """Create an image with the raw API (properties at top level, as Glance takes them).

    The id is chosen here, so retrying after sqlite's "database is locked" 500 cannot
    make a duplicate (a taken id answers 409).
    """
    sess = sandbox.session(cloud)
    image_id = str(uuid.uuid4())
    for _attempt in range(20):
        try:
            sess.post(f"{sandbox.glance_url}/v2/images", json={**body, "id": image_id})
            return image_id
        except ks_exc.Conflict:
            return image_id
        except ks_exc.HttpError as err:
            if err.http_status < 500:
                raise
            time.sleep(0.2)
    raise AssertionError(f"could not create {body.get('name')}")


def get_image(sandbox: Sandbox, image_id: str, cloud: str = "sandbox-admin") -> dict[str, Any]:
    """Read an image back independently of the tool (raw API as admin)."""
    image: dict[str, Any] = (
        sandbox.session(cloud).get(f"{sandbox.glance_url}/v2/images/{image_id}").json()
    )
    return image


def write_manifest(folder: Path, text: str, name: str = "images.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def by_name(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {image["name"]: image for image in plan["images"]}


def ops(image: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    return [(o["op"], o["path"], o["value"], o["old"]) for o in image["patch"]]


def retried(call: Any, *args: Any, **kwargs: Any) -> Any:
    """An openstacksdk call made again after a 5xx: Glance on sqlite answers 500
    "database is locked" under load. For changes made behind the tool's back."""
    for attempt in range(8):
        try:
            return call(*args, **kwargs)
        except Exception as err:
            status = getattr(err, "status_code", None)
            if status is None or status < 500 or attempt == 7:
                raise
            time.sleep(0.3 * (attempt + 1))
    raise AssertionError("unreachable")
