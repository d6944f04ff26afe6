"""Image data at line rate: the tool's `apply` building an image from a file (method
upload) and from a URL (the sandbox's mirror), each against a bare Python process
(requests only) moving the same bytes to the same Glance. Whole processes, side by
side: each side authenticates, creates the image and sends the data; the tool also
plans, hashes (the declared sha256 and sha512), journals and verifies. Peak RSS is the
process's own VmHWM.

The file is BENCH_DATA_MB MiB (default 1024) of random bytes, made once in the work
folder; the mirror serves a hard link to it.

Creates with data per second (`creates`): BENCH_CREATES images (default 40) of 1 MiB
each, from files, by one `reconciler apply` at parallelism 4 against one bare process
creating and uploading them with 4 threads.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from benchmarks.scenarios import PEAK_RSS, _peak_mb
from reconciler.cloud.auth import connect
from reconciler.model.cloud_options import CloudOptions

CLOUD = "sandbox"
BLOCK = 1024 * 1024

# The bare process: authenticate (Keystone v3 password), find the image endpoint in the
# catalog, create the image, stream the bytes (from the file, or GET from the URL piped
# into the PUT with the announced length, as the tool sends it). requests only.
BARE_AUTH = """
import json, os, sys
import requests
a = json.loads(os.environ["BENCH_AUTH"])
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": a["username"], "password": a["password"],
    "domain": {"name": a["user_domain_name"]}}}},
    "scope": {"project": {"name": a["project_name"],
                          "domain": {"name": a["project_domain_name"]}}}}}
http = requests.Session()
answer = http.post(a["auth_url"].rstrip("/") + "/auth/tokens", json=body, timeout=60)
answer.raise_for_status()
http.headers["X-Auth-Token"] = answer.headers["X-Subject-Token"]
(endpoint,) = [e["url"] for s in answer.json()["token"]["catalog"] if s["type"] == "image"
               for e in s["endpoints"] if e["interface"] == "public"
               and e["region_id"] == "RegionOne"]
"""
BARE = (
    PEAK_RSS
    + BARE_AUTH
    + """
name, source = sys.argv[1], sys.argv[2]
image = http.post(endpoint + "/v2/images", json={
    "name": name, "disk_format": "raw", "container_format": "bare"}, timeout=60).json()

class Sized:
    def __init__(self, raw, length):
        self.raw, self.length = raw, length
    def __len__(self):
        return self.length
    def read(self, size=-1):
        return self.raw.read(size)

if source.startswith("http"):
    got = requests.get(source, stream=True, timeout=60)
    got.raise_for_status()
    data = Sized(got.raw, int(got.headers["Content-Length"]))
else:
    data = open(source, "rb")
put = http.put(endpoint + "/v2/images/" + image["id"] + "/file", data=data,
               headers={"Content-Type": "application/octet-stream"}, timeout=600)
put.raise_for_status()
"""
)

# The bare process for `creates`: sys.argv[1] is a prefix, the rest are files; 4 threads
# each create an image and PUT its file.
BARE_CREATES = (
    BARE_AUTH
    + """
from concurrent.futures import ThreadPoolExecutor
prefix, files = sys.argv[1], sys.argv[2:]

def one(number_path):
    number, path = number_path
    image = http.post(endpoint + "/v2/images", json={"name": f"{prefix}-{number}",
        "disk_format": "raw", "container_format": "bare"}, timeout=60).json()
    with open(path, "rb") as data:
        put = http.put(endpoint + "/v2/images/" + image["id"] + "/file", data=data,
                       headers={"Content-Type": "application/octet-stream"}, timeout=600)
    put.raise_for_status()

with ThreadPoolExecutor(4) as pool:
    list(pool.map(one, enumerate(files)))
"""
)

TOOL = PEAK_RSS + (
    "sys.argv = ['reconciler', '--quiet', 'apply', '--auto-approve', sys.argv[1]]\n"
    "from reconciler.cli.main import main\nmain()\n"
)


def data_file(work: Path, size_mb: int) -> tuple[Path, str]:
    """The benchmark's file of size_mb MiB (random bytes) and its sha256, made once."""
    path = work / f"data-{size_mb}m.raw"
    digest_path = path.with_suffix(".sha256")
    if not (path.exists() and path.stat().st_size == size_mb * BLOCK and digest_path.exists()):
        digest = hashlib.sha256()
        with path.open("wb") as out:
            for _ in range(size_mb):
                block = os.urandom(BLOCK)
                digest.update(block)
                out.write(block)
        digest_path.write_text(digest.hexdigest())
    return path, digest_path.read_text().strip()


def _auth(clouds_file: Path, cloud: str) -> dict[str, Any]:
    clouds = YAML(typ="safe").load(clouds_file.read_text())
    auth: dict[str, Any] = clouds["clouds"][cloud]["auth"]
    return auth


def _env(clouds_file: Path, cloud: str) -> dict[str, str]:
    """The environment of both sides' processes: the cloud for the tool, its password
    credentials (BENCH_AUTH) for the bare process."""
    return dict(
        os.environ,
        OS_CLIENT_CONFIG_FILE=str(clouds_file),
        OS_CLOUD=cloud,
        BENCH_AUTH=json.dumps(_auth(clouds_file, cloud)),
    )


def _run(code: str, args: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr[-600:]}")
    return {"seconds": seconds, "peak_rss_mb": _peak_mb(done.stderr)}


BARE_LISTING = (
    PEAK_RSS
    + BARE_AUTH
    + """
url, count = endpoint + "/v2/images?limit=1000", 0
while url:
    page = http.get(url, timeout=120).json()
    count += len(page["images"])
    url = endpoint + page["next"] if page.get("next") else None
print(count)
"""
)


def plan_processes(
    work: Path, clouds_file: Path, cloud: str, manifest: Path, repeat: int
) -> dict[str, float]:
    """`reconciler plan MANIFEST` against a bare Python process (requests only) that
    authenticates and pages through the same listing: whole processes, start-up and
    token included, run in turn `repeat` times; the medians."""
    env = _env(clouds_file, cloud)
    tool_code = PEAK_RSS + (
        "sys.argv = ['reconciler', 'plan', sys.argv[1]]\n"
        "from reconciler.cli.entry import main\nmain()\n"
    )
    tool: list[float] = []
    bare: list[float] = []
    for _ in range(repeat):
        tool.append(_run(tool_code, [str(manifest)], env, work)["seconds"])
        bare.append(_run(BARE_LISTING, [], env, work)["seconds"])
    tool_s, bare_s = statistics.median(tool), statistics.median(bare)
    return {"process_tool_s": tool_s, "process_bare_s": bare_s, "process_ratio": tool_s / bare_s}


def _delete(name: str) -> None:
    """Delete the images called name (the runs' own), so the store does not fill up."""
    connection = connect(CloudOptions(cloud=CLOUD))
    base = f"{connection.image_endpoint}/v2/images"
    for image in connection.session.get(base, params={"name": name}).json()["images"]:
        connection.session.delete(f"{base}/{image['id']}")


def _manifest(work: Path, name: str, location: str, sha256: str) -> Path:
    return _manifest_of(work, name, [(name, location, sha256)])


def _manifest_of(work: Path, file_name: str, images: list[tuple[str, str, str]]) -> Path:
    """A manifest of images (name, location, sha256) built from their source."""
    path = work / f"{file_name}.yaml"
    document = {
        "version": 1,
        "images": [
            {
                "name": name,
                "disk_format": "raw",
                "container_format": "bare",
                "source": {"url": location, "checksum": f"sha256:{sha256}", "method": "upload"},
            }
            for name, location, sha256 in images
        ],
    }
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with path.open("w") as out:
        yaml.dump(document, out)
    return path


def run(work: Path, clouds_file: Path, mirror_dir: Path, mirror_url: str) -> dict[str, Any]:
    """Both scenarios (file, URL), each as tool then bare process, once."""
    size_mb = int(os.environ.get("BENCH_DATA_MB", "1024"))
    path, sha256 = data_file(work, size_mb)
    served = mirror_dir / path.name
    if not served.exists():
        os.link(path, served)
    env = _env(clouds_file, CLOUD)
    stamp = str(int(time.time()))
    results: dict[str, Any] = {"size_mb": size_mb}
    for kind, location in (("upload", str(path)), ("url", f"{mirror_url}/{path.name}")):
        tool_name, bare_name = f"bench-data-{kind}-{stamp}", f"bench-bare-{kind}-{stamp}"
        manifest = _manifest(work, tool_name, location, sha256)
        try:
            tool = _run(TOOL, [str(manifest)], env, work)
            bare = _run(BARE, [bare_name, location], env, work)
        finally:
            _delete(tool_name)
            _delete(bare_name)
        results[kind] = {
            "tool_s": tool["seconds"],
            "tool_peak_rss_mb": tool["peak_rss_mb"],
            "bare_s": bare["seconds"],
            "bare_peak_rss_mb": bare["peak_rss_mb"],
            "ratio": tool["seconds"] / bare["seconds"],
            "tool_mb_per_s": size_mb / tool["seconds"],
            "bare_mb_per_s": size_mb / bare["seconds"],
        }
    return results


def creates(work: Path, clouds_file: Path) -> dict[str, Any]:
    """Creates with data per second: the tool's apply at parallelism 4 against a bare
    process with 4 threads, BENCH_CREATES images of 1 MiB each from files."""
    count = int(os.environ.get("BENCH_CREATES", "40"))
    folder = work / "creates"
    folder.mkdir(exist_ok=True)
    files: list[tuple[Path, str]] = []
    for number in range(count):
        path = folder / f"{number}.raw"
        if not path.exists():
            path.write_bytes(os.urandom(BLOCK))
        files.append((path, hashlib.sha256(path.read_bytes()).hexdigest()))
    env = _env(clouds_file, CLOUD)
    stamp = str(int(time.time()))
    tool_prefix, bare_prefix = f"bench-creates-{stamp}", f"bench-bare-creates-{stamp}"
    manifest = _manifest_of(
        work,
        tool_prefix,
        [(f"{tool_prefix}-{n}", str(path), sha) for n, (path, sha) in enumerate(files)],
    )
    tool_code = PEAK_RSS + (
        "sys.argv = ['reconciler', '--quiet', 'apply', '--auto-approve', '--parallelism', "
        "'4', sys.argv[1]]\nfrom reconciler.cli.main import main\nmain()\n"
    )
    try:
        tool = _run(tool_code, [str(manifest)], env, work)
        bare = _run(PEAK_RSS + BARE_CREATES, [bare_prefix, *(str(p) for p, _ in files)], env, work)
    finally:
        for number in range(count):
            _delete(f"{tool_prefix}-{number}")
            _delete(f"{bare_prefix}-{number}")
    return {
        "images": count,
        "mb_each": 1,
        "tool_s": tool["seconds"],
        "bare_s": bare["seconds"],
        "tool_per_s": count / tool["seconds"],
        "bare_per_s": count / bare["seconds"],
        "ratio": tool["seconds"] / bare["seconds"],
    }
