"""Targets from manifests and --targets files: which images go where."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ManifestError, UsageError
from reconciler.manifests.loader import load, load_targets
from reconciler.model.cloud_options import CloudOptions
from reconciler.planning.targets import resolve

BASE = CloudOptions(cloud="prod", region="RegionOne")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_no_targets_means_the_command_lines_cloud(tmp_path: Path) -> None:
    images = load([write(tmp_path, "a.yaml", "version: 1\nimages:\n  - name: a\n")])
    (run,) = resolve(images, BASE)
    assert run.name is None and run.options == BASE and [i.name for i in run.images] == ["a"]
    with pytest.raises(UsageError, match="no manifest or --targets file declares targets"):
        resolve(images, BASE, only=["iad"])


def test_documents_name_their_targets_and_others_go_everywhere(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yaml",
        "version: 1\n"
        "targets:\n  - {region: IAD}\n  - {name: dfw, cloud: rax, region: DFW}\n"
        "images:\n  - name: both\n"
        "---\n"
        "version: 1\ntargets:\n  - {region: IAD}\nimages:\n  - name: iad-only\n"
        "---\n"
        "version: 1\nimages:\n  - name: everywhere\n",
    )
    runs = resolve(load([path]), BASE)
    assert [(r.name, r.options.cloud, r.options.region) for r in runs] == [
        ("IAD", "prod", "IAD"),
        ("dfw", "rax", "DFW"),
    ]
    assert [i.name for i in runs[0].images] == ["both", "iad-only", "everywhere"]
    assert [i.name for i in runs[1].images] == ["both", "everywhere"]
    (only,) = resolve(load([path]), BASE, only=["dfw"])
    assert only.name == "dfw"
    with pytest.raises(UsageError, match=r"unknown target 'ord' \(known: IAD, dfw\)"):
        resolve(load([path]), BASE, only=["ord"])


def test_a_name_with_two_meanings_is_a_manifest_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yaml",
        "version: 1\ntargets: [{name: x, region: A}]\nimages: [{name: a}]\n---\n"
        "version: 1\ntargets: [{name: x, region: B}]\nimages: [{name: b}]\n",
    )
    with pytest.raises(ManifestError, match="target 'x' is cloud None region 'B' here"):
        resolve(load([path]), BASE)


def test_targets_file_and_its_errors_point_at_lines(tmp_path: Path) -> None:
    images = load([write(tmp_path, "a.yaml", "version: 1\nimages:\n  - name: a\n")])
    good = write(tmp_path, "t.yaml", "version: 1\ntargets:\n  - region: IAD\n  - region: ORD\n")
    runs = resolve(images, BASE, load_targets(good))
    assert [r.options.region for r in runs] == ["IAD", "ORD"]
    bad = write(tmp_path, "bad.yaml", "version: 1\ntargets:\n  - region: IAD\n    regoin: x\n")
    with pytest.raises(ManifestError) as err:
        load_targets(bad)
    assert err.value.problems == [f"{bad}:4:5: unknown key 'regoin'; did you mean 'region'?"]


def test_manifest_target_key_typo_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "version: 1\ntargets:\n  - clod: x\nimages: []\n")
    with pytest.raises(ManifestError) as err:
        load([path])
    assert err.value.problems == [f"{path}:3:5: unknown key 'clod'; did you mean 'cloud'?"]
