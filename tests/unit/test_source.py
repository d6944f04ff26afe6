"""`source:` checked offline at file:line (the loader) and the pure rules behind it:
checksum syntax per algorithm, what web-download can verify, md5's warning, and which
methods a Glance has enabled (`validate --online`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifests.loader import load_manifests
from reconciler.model.source import (
    disabled_method,
    enabled_methods,
    parse_checksum,
    source_problems,
)

HEX64 = "ab" * 32


def test_checksums() -> None:
    assert parse_checksum(f"SHA256:{HEX64.upper()}") == ("sha256", HEX64)
    assert parse_checksum("sha512:" + "0" * 128) == ("sha512", "0" * 128)
    assert "not supported" in str(parse_checksum("sha1:" + "0" * 40))
    assert "64 hex digits (got 3" in str(parse_checksum("sha256:abc"))
    assert "64 hex digits" in str(parse_checksum("sha256:" + "g" * 64))
    assert "ALGORITHM:HEX" in str(parse_checksum(HEX64))


def test_web_download_can_only_verify_a_sha512() -> None:
    problems = dict(source_problems("disk.img", "sha256", "web-download"))
    assert "needs an http(s) URL" in problems[("url",)]
    assert "only a sha512" in problems[("checksum",)]
    assert source_problems("https://m.example/x", "sha512", "web-download") == []
    assert source_problems("ftp://m.example/x", "sha256", "upload") != []


def test_enabled_methods() -> None:
    info = {"import-methods": {"type": "array", "value": ["glance-direct", "copy-image"]}}
    enabled = enabled_methods(info)
    assert enabled == {"glance-direct", "copy-image"}
    assert disabled_method("glance-direct", enabled) is None
    assert disabled_method("upload", frozenset()) is None  # no import: always there
    assert "'web-download' is not enabled" in str(disabled_method("web-download", enabled))


def test_the_loader_reports_each_problem_at_its_line(tmp_path: Path) -> None:
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"x" * 100)
    good = hashlib.sha256(disk.read_bytes()).hexdigest()
    path = tmp_path / "m.yaml"
    path.write_text(
        "version: 1\n"
        "images:\n"
        "  - name: ok\n"
        "    disk_format: raw\n"
        "    container_format: bare\n"
        f'    source: {{url: disk.raw, checksum: "sha256:{good}", version: "1"}}\n'
        "  - name: missing\n"
        "    disk_format: raw\n"
        "    container_format: bare\n"
        '    source: {url: nosuch.raw, checksum: "sha1:abc"}\n'
        "  - name: noformat\n"
        f'    source: {{url: "https://m.example/x", checksum: "sha256:{good}"}}\n'
    )
    with pytest.raises(ManifestError) as caught:
        load_manifests([path])
    problems = caught.value.problems
    assert problems[0].startswith(f"{path}:10:") and "no such file" in problems[0]
    assert problems[1].startswith(f"{path}:10:") and "'sha1' is not supported" in problems[1]
    assert problems[2:] == [
        f"{path}:12:5: a source needs disk_format",
        f"{path}:12:5: a source needs container_format",
    ]
    path.write_text(
        "version: 1\nimages:\n  - name: ok\n    disk_format: raw\n    container_format: bare\n"
        '    source: {url: disk.raw, checksum: "md5:' + "0" * 32 + '"}\n'
    )
    loaded = load_manifests([path])
    (image,) = loaded.images
    assert image.data is not None and image.data.location == str(disk.resolve())
    assert len(loaded.warnings) == 1 and "md5 proves no absence of tampering" in loaded.warnings[0]
