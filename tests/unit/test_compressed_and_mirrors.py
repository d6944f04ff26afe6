"""Compressed sources and mirrors, on the in-memory Glance with a loopback HTTP
upstream: the bytes Glance gets are the decompressed ones (their sha512 is its
`os_hash_value`), the declared checksum is held to the file as published, a wrong file
never gets its last block to Glance, and mirrors are tried in order (a dead one and a
wrong one passed over, the report saying so) before the provenance. The same paths
run against the real Glance in tests/sandbox/test_upstream_apply.py."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.apply import Status
from reconciler.cloud.image_data import Decompressing, open_source
from reconciler.errors import ChecksumMismatch, SourceUnreadable
from reconciler.model.source import DataSource, compression_of
from tests.fakes import FakeGlance
from tests.unit.test_applier import plan_for, run
from tests.unit.test_image_data import data_entry, stored_by_name
from tests.upstreams.server import Upstream, running

COMPRESS = {
    "xz": lzma.compress,
    "bz2": bz2.compress,
    "gz": gzip.compress,
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


def sha(data: bytes, algorithm: str = "sha512") -> str:
    return hashlib.new(algorithm, data).hexdigest()


def read_all(stream: object, size: int = 65536) -> bytes:
    out = b""
    while block := stream.read(size):  # type: ignore[attr-defined]
        out += block
    return out


@settings(max_examples=40)
@given(
    st.sampled_from(sorted(COMPRESS)),
    st.binary(min_size=0, max_size=200_000),
    st.integers(min_value=0, max_value=200_000),
    st.integers(min_value=1, max_value=1 << 20),
)
def test_decompressing_gives_the_bytes_back_across_concatenated_streams(
    kind: str, data: bytes, split: int, size: int
) -> None:
    split = min(split, len(data))
    packed = COMPRESS[kind](data[:split]) + COMPRESS[kind](data[split:])
    assert read_all(Decompressing(io.BytesIO(packed), kind, "x"), size) == data


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_cut_or_foreign_stream_is_unreadable(kind: str) -> None:
    packed = COMPRESS[kind](os.urandom(300_000))
    with pytest.raises(SourceUnreadable, match="ends before its end mark"):
        read_all(Decompressing(io.BytesIO(packed[: len(packed) // 2]), kind, "x"))
    with pytest.raises(SourceUnreadable, match=f"not valid {kind} data"):
        read_all(Decompressing(io.BytesIO(b"not compressed at all" * 100), kind, "x"))


def test_compression_follows_the_suffix_unless_declared() -> None:
    assert compression_of("https://u.test/openstack-amd64.raw.xz", None) == "xz"
    assert compression_of("https://u.test/opnsense.img.bz2?x=1", None) == "bz2"
    assert compression_of("disk.qcow2.zst", None) == "zst"
    assert compression_of("https://u.test/disk.qcow2", None) is None
    assert compression_of("https://u.test/disk.img.xz", "none") is None
    assert compression_of("https://u.test/download?id=7", "gz") == "gz"


def test_open_source_hashes_the_file_as_published_and_the_bytes_sent(tmp_path: Path) -> None:
    raw = os.urandom(3 << 20)
    packed = lzma.compress(raw)
    (tmp_path / "disk.raw.xz").write_bytes(packed)
    reader = open_source(
        str(tmp_path / "disk.raw.xz"), ("sha512",), compression="xz", published=("sha256",)
    )
    assert reader.length is None  # the decompressed size is not known before the end
    assert read_all(reader) == raw
    reader.close()
    assert reader.hexdigest("sha512") == sha(raw)
    assert reader.published.hexdigest("sha256") == sha(packed, "sha256")
    assert reader.read_bytes == len(raw) and reader.published.read_bytes == len(packed)


def test_a_wrong_file_never_gives_its_last_block(tmp_path: Path) -> None:
    data = os.urandom((2 << 20) + 5)
    (tmp_path / "disk.raw").write_bytes(data)
    reader = open_source(str(tmp_path / "disk.raw"), ("sha512",), expect=("sha256", "0" * 64))
    handed = b""
    with pytest.raises(ChecksumMismatch, match="checksum mismatch: expected sha256:0000"):
        while block := reader.read(1 << 20):
            handed += block
    assert len(handed) < len(data)  # the receiver saw a short body
    good = open_source(
        str(tmp_path / "disk.raw"), ("sha512",), expect=("sha256", sha(data, "sha256"))
    )
    assert read_all(good) == data


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with running() as up:
        yield up


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_compressed_source_gives_glance_the_decompressed_bytes(
    kind: str, upstream: Upstream, tmp_path: Path
) -> None:
    raw = os.urandom(1 << 20) * 2
    packed = COMPRESS[kind](raw)
    url = upstream.put(f"/images/disk.raw.{kind}", packed)
    fake = FakeGlance()
    data = DataSource(url, "sha256", sha(packed, "sha256"), "upload", "1", compression=kind)
    results, _records = run(fake, plan_for(fake, data_entry("packed", data)), tmp_path)
    assert results["packed"].status is Status.APPLIED, results["packed"].reason
    stored = stored_by_name(fake, "packed")
    assert stored is not None and stored["size"] == len(raw)
    assert stored["os_hash_value"] == sha(raw)


def test_mirrors_are_tried_in_order_and_each_held_to_the_checksum(
    upstream: Upstream, tmp_path: Path
) -> None:
    good = os.urandom(3 << 20)
    url = upstream.put("/upstream/disk.raw", good)
    dead = upstream.put("/dead/disk.raw", b"")
    upstream.dead.add("/dead/disk.raw")
    wrong = upstream.put("/stale/disk.raw", os.urandom(3 << 20))
    fake = FakeGlance()
    data = DataSource(url, "sha256", sha(good, "sha256"), "upload", "1", mirrors=(dead, wrong))
    results, _records = run(fake, plan_for(fake, data_entry("mirrored", data)), tmp_path)
    result = results["mirrored"]
    assert result.status is Status.APPLIED, result.reason
    assert f"mirror {dead} passed over: {dead}: GET answered 503" in result.reason
    assert f"mirror {wrong} passed over: {wrong}: checksum mismatch" in result.reason
    stored = stored_by_name(fake, "mirrored")
    assert stored is not None and stored["os_hash_value"] == sha(good)
    gets = [
        path for (method, path), n in upstream.requests.items() if method == "GET" for _ in range(n)
    ]
    assert gets == ["/dead/disk.raw", "/stale/disk.raw", "/upstream/disk.raw"]


def test_a_wrong_provenance_after_the_mirrors_rolls_the_image_back(
    upstream: Upstream, tmp_path: Path
) -> None:
    url = upstream.put("/upstream/disk.raw", os.urandom(1 << 20))
    mirror = upstream.put("/mirror/disk.raw", os.urandom(1 << 20))
    fake = FakeGlance()
    data = DataSource(url, "sha256", "1" * 64, "upload", "1", mirrors=(mirror,))
    results, _records = run(fake, plan_for(fake, data_entry("wrong", data)), tmp_path)
    assert results["wrong"].status is Status.ROLLED_BACK
    assert "checksum mismatch" in results["wrong"].reason
    assert stored_by_name(fake, "wrong") is None


def test_web_download_asks_glance_for_each_mirror_in_turn(tmp_path: Path) -> None:
    good = os.urandom(1 << 16)
    fake = FakeGlance()
    fake.serve("http://127.0.0.1:9/mirror/disk.raw", None)  # the mirror answers 404
    fake.serve("http://127.0.0.1:9/upstream/disk.raw", good)
    data = DataSource(
        "http://127.0.0.1:9/upstream/disk.raw", "sha512", sha(good), "web-download", "1",
        mirrors=("http://127.0.0.1:9/mirror/disk.raw",),
    )  # fmt: skip
    results, _records = run(fake, plan_for(fake, data_entry("fetched", data)), tmp_path)
    result = results["fetched"]
    assert result.status is Status.APPLIED, result.reason
    assert "mirror http://127.0.0.1:9/mirror/disk.raw passed over" in result.reason
    assert "Task failed due to Internal Error" in result.reason
    stored = stored_by_name(fake, "fetched")
    assert stored is not None and stored["os_hash_value"] == sha(good)


def test_validate_names_compressed_web_download_bad_mirrors_and_watch_at_file_line(
    tmp_path: Path,
) -> None:
    from reconciler.errors import ManifestError
    from reconciler.manifests.loader import load_manifests

    path = tmp_path / "images.yaml"
    path.write_text(
        "version: 1\nimages:\n"
        "  - name: talos\n    disk_format: raw\n    container_format: bare\n"
        "    source:\n"
        "      url: https://u.test/openstack-amd64.raw.xz\n"
        f"      checksum: sha512:{'0' * 128}\n"
        "      method: web-download\n"
        "      mirrors:\n        - https://m.test/a.raw.xz\n        - /srv/b.raw.xz\n"
        "      watch:\n"
        "        url: https://u.test/{version}/openstack-amd64.raw.xz\n"
        "        checksums: https://u.test/{version}/sha512sum.txt\n"
        "        index: https://u.test/releases\n"
        "        signature: https://u.test/{version}/sha512sum.txt.asc\n"
        "        keyring: keys/missing.gpg\n"
        "        verison: x\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_manifests([path])
    problems = caught.value.problems
    assert any(
        p.startswith(f"{path}:19:9: unknown key 'verison'; did you mean 'version'")
        for p in problems
    ), problems
    path.write_text(path.read_text().replace("        verison: x\n", ""))
    with pytest.raises(ManifestError) as caught:
        load_manifests([path])
    problems = caught.value.problems
    assert (
        f"{path}:9:15: a xz-compressed source cannot use web-download: Glance would store "
        "the compressed bytes (use upload or glance-direct: the tool decompresses while "
        "streaming)"
    ) in problems, problems
    assert any(p.startswith(f"{path}:12:11: a mirror is an http(s) URL") for p in problems), (
        problems
    )
    assert any(p.startswith(f"{path}:18:18: no such file: ") for p in problems), problems
