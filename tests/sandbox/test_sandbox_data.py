"""The sandbox's Glance serves image data by all three methods, and its loopback mirror
serves exact bytes: the ground the data features stand on. The facts behind these
tests, with the requests and answers, are in docs/image-data-probes.md.

Hashes are computed here, never by the tool; images are read back as admin.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.sandbox import manager
from reconciler.sandbox.state import SandboxPaths, SandboxState
from tests.conftest import Sandbox
from tests.sandbox.helpers import create_image, get_image

OCTETS = {"Content-Type": "application/octet-stream"}
METHODS = ("upload", "glance-direct", "web-download")


@pytest.fixture(scope="module")
def mirror(sandbox: Sandbox) -> tuple[str, Path]:
    """The mirror's base URL and the folder it serves."""
    paths = SandboxPaths(sandbox.root)
    state = SandboxState.load(paths)
    assert state is not None and state.mirror_port, "the sandbox has no mirror: run sandbox up"
    return state.mirror_url, paths.mirror


@pytest.fixture
def published(mirror: tuple[str, Path]) -> Iterator[list[Path]]:
    """Files a test put in the mirror's folder; removed afterwards."""
    files: list[Path] = []
    yield files
    for path in files:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def qcow2(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 1 MiB qcow2 (about 196 KiB of file), made by qemu-img."""
    qemu_img = shutil.which("qemu-img")
    assert qemu_img is not None, "qemu-img (Debian's qemu-utils) is installed by `make test`"
    path = tmp_path_factory.mktemp("qcow2") / "disk.qcow2"
    subprocess.run(
        [qemu_img, "create", "-q", "-f", "qcow2", str(path), "1M"], check=True, timeout=30
    )
    return path.read_bytes()


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def _new_image(sandbox: Sandbox, demo_images: list[str], name: str, disk_format: str) -> str:
    image_id = create_image(
        sandbox, {"name": name, "disk_format": disk_format, "container_format": "bare"}
    )
    demo_images.append(image_id)
    return image_id


def _send(sandbox: Sandbox, method: str, path: str, **kwargs: Any) -> requests.Response:
    """One request as the demo member. Uploads go on a connection of their own: after
    an early refusal Glance leaves the connection dead (see the probes)."""
    sess = sandbox.session("sandbox")
    url = f"{sandbox.glance_url}/v2/images/{path}"
    for attempt in range(5):  # sqlite answers 500 "database is locked" under load
        response: requests.Response = sess.request(
            url, method, raise_exc=False, connect_retries=2, **kwargs
        )
        if "data" in kwargs:
            sess.session.close()
        if response.status_code < 500 or attempt == 4:
            return response
        time.sleep(0.3 * (attempt + 1))
    raise AssertionError("unreachable")


def _tasks(sandbox: Sandbox, image_id: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = _send(sandbox, "GET", f"{image_id}/tasks").json()["tasks"]
    return tasks


def wait_for_import(sandbox: Sandbox, image_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll until the image's import task has finished and released its lock; the image
    as admin reads it then. (The image turns active a moment before the task ends.)"""
    deadline = time.monotonic() + timeout
    while True:
        image = get_image(sandbox, image_id)
        tasks = _tasks(sandbox, image_id)
        done = tasks and tasks[-1]["status"] in ("success", "failure")
        if done and not image.get("os_glance_import_task"):
            return image
        if time.monotonic() > deadline:
            raise AssertionError(f"import of {image_id} unfinished after {timeout}s: {image}")
        time.sleep(0.2)


def put_data(
    sandbox: Sandbox,
    image_id: str,
    method: str,
    data: bytes,
    mirror: tuple[str, Path],
    published: list[Path],
    name: str,
) -> dict[str, Any]:
    """Give the image its data by one method; the image as admin reads it afterwards."""
    if method == "upload":
        answer = _send(sandbox, "PUT", f"{image_id}/file", data=data, headers=OCTETS)
        assert answer.status_code == 204, answer.text
        return get_image(sandbox, image_id)
    if method == "glance-direct":
        staged = _send(sandbox, "PUT", f"{image_id}/stage", data=data, headers=OCTETS)
        assert staged.status_code == 204, staged.text
        assert get_image(sandbox, image_id)["status"] == "uploading"
        body: dict[str, Any] = {"method": {"name": "glance-direct"}}
    else:
        url, folder = mirror
        path = folder / name
        path.write_bytes(data)
        published.append(path)
        body = {"method": {"name": "web-download", "uri": f"{url}/{name}"}}
    answer = _send(sandbox, "POST", f"{image_id}/import", json=body)
    assert answer.status_code == 202, answer.text
    return wait_for_import(sandbox, image_id)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("disk_format", ["raw", "qcow2"])
def test_each_method_makes_an_active_image_with_the_sha512_of_the_data(
    sandbox: Sandbox,
    unique: str,
    demo_images: list[str],
    mirror: tuple[str, Path],
    published: list[Path],
    request: pytest.FixtureRequest,
    method: str,
    disk_format: str,
) -> None:
    data = os.urandom(300_001) if disk_format == "raw" else request.getfixturevalue("qcow2")
    image_id = _new_image(sandbox, demo_images, f"{unique}-{method}", disk_format)
    image = put_data(sandbox, image_id, method, data, mirror, published, f"{unique}.{disk_format}")
    assert image["status"] == "active"
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == sha512(data)
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["size"] == len(data)
    # Glance reads qcow2's virtual size from its header; raw's is its size.
    assert image["virtual_size"] == (len(data) if disk_format == "raw" else 1024 * 1024)
    if method != "upload":
        assert [task["status"] for task in _tasks(sandbox, image_id)] == ["success"]


def test_the_mirror_serves_exact_bytes_with_head_and_ranges(
    mirror: tuple[str, Path], published: list[Path], unique: str
) -> None:
    url, folder = mirror
    data = os.urandom(100_000)
    path = folder / f"{unique}.bin"
    path.write_bytes(data)
    published.append(path)
    got = requests.get(f"{url}/{path.name}", timeout=10)
    assert got.status_code == 200 and got.content == data
    head = requests.head(f"{url}/{path.name}", timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    assert head.headers["Accept-Ranges"] == "bytes" and not head.content
    part = requests.get(f"{url}/{path.name}", headers={"Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    outside = requests.get(f"{url}/{path.name}", headers={"Range": "bytes=999999-"}, timeout=10)
    assert outside.status_code == 416
    assert requests.get(f"{url}/{unique}-missing.bin", timeout=10).status_code == 404
    # ?cut=N: the full length announced, N bytes sent, the connection closed.
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{url}/{path.name}?cut=1000", timeout=10).raise_for_status()


def test_status_and_env_name_the_mirror(sandbox: Sandbox, mirror: tuple[str, Path]) -> None:
    url, folder = mirror
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "status", "--dir", str(sandbox.root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("mirror"))
    assert " up " in line and f"{url}/" in line and f"serving {folder}" in line
    exports = manager.env_lines(sandbox.root, mirror=True)
    assert f"export RECONCILER_SANDBOX_MIRROR_URL={url}" in exports
    assert f"export RECONCILER_SANDBOX_MIRROR_DIR={folder}" in exports


def test_a_web_download_that_fails_leaves_the_image_queued(
    sandbox: Sandbox, unique: str, demo_images: list[str], mirror: tuple[str, Path]
) -> None:
    """A 404 at the source: the task fails, the image goes back to queued, no data."""
    url, _folder = mirror
    image_id = _new_image(sandbox, demo_images, f"{unique}-404", "raw")
    body = {"method": {"name": "web-download", "uri": f"{url}/{unique}-missing.raw"}}
    assert _send(sandbox, "POST", f"{image_id}/import", json=body).status_code == 202
    image = wait_for_import(sandbox, image_id, timeout=30)
    assert image["status"] == "queued" and image["os_hash_value"] is None
    assert image["os_glance_failed_import"] == "fs"
    assert [task["status"] for task in _tasks(sandbox, image_id)] == ["failure"]


def test_a_port_not_allowed_is_refused_when_the_import_is_asked(
    sandbox: Sandbox, unique: str, demo_images: list[str]
) -> None:
    image_id = _new_image(sandbox, demo_images, f"{unique}-port", "raw")
    uri = f"{sandbox.glance_url}/versions"  # Glance's own port is not in allowed_ports
    answer = _send(
        sandbox, "POST", f"{image_id}/import", json={"method": {"name": "web-download", "uri": uri}}
    )
    assert answer.status_code == 400
    assert "does not pass filtering" in answer.text
    assert get_image(sandbox, image_id)["status"] == "queued"
    assert _tasks(sandbox, image_id) == []


def test_an_upload_whose_data_is_not_its_disk_format_is_refused(
    sandbox: Sandbox, unique: str, demo_images: list[str]
) -> None:
    """Format inspection: raw bytes declared qcow2 answer 415 and the image stays queued."""
    image_id = _new_image(sandbox, demo_images, f"{unique}-mismatch", "qcow2")
    answer = _send(sandbox, "PUT", f"{image_id}/file", data=os.urandom(65_536), headers=OCTETS)
    assert answer.status_code == 415
    assert "Image disk_format qcow2 does not match stream data raw" in answer.text
    assert get_image(sandbox, image_id)["status"] == "queued"


def test_an_active_image_takes_no_more_data(
    sandbox: Sandbox, unique: str, demo_images: list[str]
) -> None:
    image_id = _new_image(sandbox, demo_images, f"{unique}-twice", "raw")
    data = os.urandom(1000)
    assert _send(sandbox, "PUT", f"{image_id}/file", data=data, headers=OCTETS).status_code == 204
    again = _send(sandbox, "PUT", f"{image_id}/file", data=data, headers=OCTETS)
    assert again.status_code == 409
    assert "transition from active to saving is not allowed" in again.text


def test_import_methods_are_advertised(sandbox: Sandbox) -> None:
    sess = sandbox.session("sandbox")
    info = sess.get(f"{sandbox.glance_url}/v2/info/import").json()
    assert info["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]
