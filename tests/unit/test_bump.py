"""`reconciler bump` against a loopback upstream laid out as the real ones
(tests/upstreams): each layout's newest build found, manifests rewritten in place with
comments kept, a second run with nothing to do, each upstream file fetched once,
signatures (good, tampered, another key) and failures named at file:line while the
other entries are still updated."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import SignatureInvalid
from reconciler.upstream.fetch import Fetcher
from reconciler.upstream.model import Watch
from reconciler.upstream.watch import resolve
from tests.upstreams import layouts
from tests.upstreams.keys import Signer
from tests.upstreams.server import Upstream, running


@pytest.fixture(scope="module")
def signer() -> Iterator[Signer]:
    made = Signer("upstream-signing")
    yield made
    made.close()


@pytest.fixture(scope="module")
def stranger() -> Iterator[Signer]:
    made = Signer("someone-else")
    yield made
    made.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with running() as up:
        yield up


def bump(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "bump", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def all_layouts(up: Upstream, signer: Signer) -> list[layouts.Layout]:
    return [
        layouts.ubuntu(up, signer, ["20261101", "20261124", "20261103"]),
        layouts.debian(up, ["20261101-1234", "20261130-2001", "20261109-1999"]),
        layouts.centos_stream(up, ["20261103.1", "20261124.0", "20261117.0"]),
        layouts.almalinux(up, ["9.4-20240507", "9.5-20241120", "9.10-20250305"]),
        layouts.rocky(up, 1_764_547_200.0),  # 2025-12-01
        layouts.fedora(up, signer, ["1.2", "1.4"]),
        layouts.github(up, ["v1.11.3", "v1.11.10", "v1.11.9"]),
    ]


def watch_of(layout: layouts.Layout, folder: Path) -> Watch:
    spec = dict(layout.watch)
    if layout.keyring is not None:
        (folder / f"{layout.name}.gpg").write_bytes(layout.keyring)
        spec["keyring"] = folder / f"{layout.name}.gpg"
    return Watch(**spec)


def test_each_layout_gives_its_newest_build(
    upstream: Upstream, signer: Signer, tmp_path: Path
) -> None:
    for layout in all_layouts(upstream, signer):
        build = resolve(watch_of(layout, tmp_path), Fetcher())
        assert build.version == layout.newest, layout.name
        assert build.url == layout.url(layout.newest), layout.name
        assert layout.checksum(layout.newest) in build.checksums, layout.name
        assert build.signed == (layout.keyring is not None), layout.name


def entry_yaml(layout: layouts.Layout, old: str, keyring: str | None) -> str:
    watch = "\n".join(
        f"        {key}: {value}" for key, value in layout.watch.items() if key != "signature"
    )
    if "signature" in layout.watch:
        watch += f"\n        signature: {layout.watch['signature']}\n        keyring: {keyring}"
    return (
        f"  # {layout.name}: kept current by bump\n"
        f"  - name: {layout.name}-cloud  # the {layout.name} image\n"
        "    disk_format: qcow2\n"
        "    container_format: bare\n"
        "    properties:\n"
        f"      os_distro: '{layout.name}'\n"
        "      image_build_date: '2020-01-01'\n"
        f"      image_source: {layout.url(old)}\n"
        "    source:\n"
        f"      url: {layout.url(old)}\n"
        f"      checksum: {layout.checksum(old)}\n"
        f"      version: '{old}'\n"
        "      watch:\n"
        f"{watch}\n"
    )


def catalog(folder: Path, items: list[tuple[layouts.Layout, str]]) -> Path:
    text = "# The catalog's images (a comment that must survive)\nversion: 1\nimages:\n"
    for layout, old in items:
        keyring = None
        if layout.keyring is not None:
            (folder / f"{layout.name}.gpg").write_bytes(layout.keyring)
            keyring = f"{layout.name}.gpg"
        text += entry_yaml(layout, old, keyring)
    path = folder / "images.yaml"
    path.write_text(text)
    return path


def oldest(layout: layouts.Layout) -> str:
    return min(layout.images, key=lambda v: v == layout.newest)


def test_bump_rewrites_in_place_then_has_nothing_to_do(
    upstream: Upstream, signer: Signer, tmp_path: Path
) -> None:
    found = all_layouts(upstream, signer)
    items = [
        (layout, next(v for v in layout.images if v != layout.newest))
        for layout in found
        if layout.name != "rocky"
    ]
    rocky = next(layout for layout in found if layout.name == "rocky")
    path = catalog(tmp_path, items)
    text = path.read_text()
    # Rocky: the fixed URL; the manifest names an older file (another checksum).
    text += entry_yaml(rocky, rocky.newest, None).replace(
        rocky.checksum(rocky.newest), "sha256:" + "0" * 64
    )
    path.write_text(text)
    done = bump(str(tmp_path), "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["counts"] == {"current": 0, "updated": 7, "failed": 0}
    after = path.read_text()
    assert "# The catalog's images (a comment that must survive)" in after
    assert "# the ubuntu image" in after and "# debian: kept current by bump" in after
    for layout in found:
        assert f"url: {layout.url(layout.newest)}" in after, layout.name
        assert layout.checksum(layout.newest) in after, layout.name
        assert f"image_source: {layout.url(layout.newest)}" in after, layout.name
    assert "version: '20261124'" in after  # the old quoting kept
    assert "image_build_date: '2026-11-24'" in after  # ubuntu: the version's date
    assert "image_build_date: '2025-12-01'" in after  # rocky: Last-Modified's date
    assert "version: '9.10-20250305'" in after  # natural order: 9.10 after 9.5
    # github v1.11.10 holds no date: image_build_date is its file's Last-Modified
    by_name = {entry["name"]: entry for entry in report["entries"]}
    assert by_name["github-cloud"]["new"]["build_date"] == "2025-11-02"
    assert by_name["ubuntu-cloud"]["signed"] and by_name["fedora-cloud"]["signed"]
    assert {e["file"] for e in report["entries"]} == {str(path)}
    assert all(count == 1 for count in upstream.requests.values()), upstream.requests
    validate = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert validate.returncode == 0, validate.stdout + validate.stderr
    again = bump(str(path))
    assert again.returncode == 0, again.stdout + again.stderr
    assert path.read_text() == after
    assert "0 updated, 7 current, 0 failed" in again.stdout


def test_entries_sharing_a_checksum_file_fetch_it_once(upstream: Upstream, tmp_path: Path) -> None:
    centos = layouts.centos_stream(upstream, ["20261103.1", "20261124.0"])
    path = catalog(tmp_path, [(centos, "20261103.1")])
    second = path.read_text().split("images:\n", 1)[1].replace("centos-cloud", "centos-copy")
    path.write_text(path.read_text() + second)
    done = bump(str(path), "--dry-run")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "2 would update" in done.stdout
    assert upstream.requests[("GET", "/centos/10-stream/x86_64/images/CHECKSUM")] == 1
    assert "20261103.1" in path.read_text() and "20261124.0" not in path.read_text()


def test_markdown_is_a_pull_request_body(upstream: Upstream, tmp_path: Path) -> None:
    debian = layouts.debian(upstream, ["20261101-1234", "20261130-2001"])
    path = catalog(tmp_path, [(debian, "20261101-1234")])
    done = bump(str(path), "--format", "markdown", "--dry-run")
    assert done.returncode == 2
    body = done.stdout
    assert body.startswith("## Image catalog: 1 new upstream build\n")
    assert "| `debian-cloud` | 20261101-1234 → **20261130-2001** |" in body
    assert f"`{debian.checksum('20261130-2001')[:19]}" in body
    assert f"({debian.watch['checksums'].replace('{version}', '20261130-2001')})" in body
    assert f"`{path}:5` |" in body


def test_a_failing_upstream_is_named_at_file_line_and_the_others_are_updated(
    upstream: Upstream, tmp_path: Path
) -> None:
    debian = layouts.debian(upstream, ["20261101-1234", "20261130-2001"])
    alma = layouts.almalinux(upstream, ["9.4-20240507", "9.5-20241120"])
    path = catalog(tmp_path, [(debian, "20261101-1234"), (alma, "9.4-20240507")])
    upstream.remove("/almalinux/9/cloud/x86_64/images/CHECKSUM")
    done = bump(str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if "name: almalinux" in text
    )
    assert f"almalinux-cloud ({path}:{line}): failed: " in done.stdout
    assert "CHECKSUM: GET answered 404" in done.stdout
    assert "20261130-2001" in path.read_text()  # debian updated all the same
    assert "9.4-20240507" in path.read_text()  # almalinux left as it was


def test_a_build_its_folder_does_not_list_yet_is_passed_over_with_a_note(
    upstream: Upstream, signer: Signer, tmp_path: Path
) -> None:
    ubuntu = layouts.ubuntu(upstream, signer, ["20261101", "20261124"])
    page = upstream.files["/ubuntu/noble/"][0].decode()
    upstream.put("/ubuntu/noble/", page.replace("current/", "20261201/"))  # no files yet
    build = resolve(watch_of(ubuntu, tmp_path), Fetcher())
    assert build.version == "20261124"
    assert any("20261201 passed over" in note for note in build.notes)


def test_signatures_good_tampered_and_another_key(
    upstream: Upstream, signer: Signer, stranger: Signer, tmp_path: Path
) -> None:
    ubuntu = layouts.ubuntu(upstream, signer, ["20261101", "20261124"])
    fedora = layouts.fedora(upstream, signer, ["1.2", "1.4"])
    path = catalog(tmp_path, [(ubuntu, "20261101"), (fedora, "1.2")])
    before = path.read_text()
    # The newest SHA256SUMS changed after signing; the newest CHECKSUM's text too.
    sums_path = "/ubuntu/noble/20261124/SHA256SUMS"
    upstream.put(sums_path, upstream.files[sums_path][0] + b"0" * 64 + b" *extra.img\n")
    checksum_path = (
        "/pub/fedora/linux/releases/41/Cloud/x86_64/images/Fedora-Cloud-41-1.4-x86_64-CHECKSUM"
    )
    signed = upstream.files[checksum_path][0].decode()
    upstream.put(
        checksum_path,
        signed.replace("SHA256 (Fedora-Cloud-Base-Generic", "SHA256 (Fedora-Cloud-Base-Genetic", 1),
    )
    done = bump(str(path), "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    reasons = {e["name"]: e["reason"] for e in json.loads(done.stdout)["entries"]}
    assert "signature does not verify" in reasons["ubuntu-cloud"]
    assert "BAD signature" in reasons["ubuntu-cloud"]
    assert "signature does not verify" in reasons["fedora-cloud"]
    assert path.read_text() == before  # nothing written from an unverified file
    # Signed by another key than the committed keyring's: refused too.
    (tmp_path / "ubuntu.gpg").write_bytes(stranger.public_key())
    upstream.put(sums_path, upstream.files["/ubuntu/noble/20261101/SHA256SUMS"][0])
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        resolve(watch_of_keyring(ubuntu, tmp_path / "ubuntu.gpg"), Fetcher())


def watch_of_keyring(layout: layouts.Layout, keyring: Path) -> Watch:
    return Watch(**{**layout.watch, "keyring": keyring})


def test_bad_manifests_and_options_exit_1_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "images.yaml"
    path.write_text(
        "version: 1\nimages:\n  - name: x\n    disk_format: raw\n    container_format: bare\n"
        "    source:\n      url: https://u.test/x.img\n      checksum: sha256:" + "0" * 64 + "\n"
        "      watch:\n        url: https://u.test/x-{version}.img\n"
        "        checksums: https://u.test/{version}/SUMS\n        signature: https://u.test/s\n"
    )
    done = bump(str(path))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"error: {path}:10:9: signature and keyring go together: keyring is missing",
        f"error: {path}:11:20: without index, the checksum file is one fixed URL listing "
        "every build",
    ]
    assert "Traceback" not in done.stderr
    path.write_text("version: 1\nimages:\n  - name: x\n")
    none = bump(str(tmp_path), "--name", "nothing-*")
    assert none.returncode == 1 and "no entry with a source.watch matches" in none.stderr
