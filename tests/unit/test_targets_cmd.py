"""`reconciler targets` (the CI matrix's list), the bound on concurrent targets, and the
sessions targets of one cloud share."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.app import pipeline
from reconciler.cli.main import run
from reconciler.cloud.auth import SessionPool
from reconciler.model.cloud_options import CloudOptions

MANIFEST = (
    "version: 1\n"
    "targets:\n  - {region: IAD}\n  - {name: dfw, cloud: rax, region: DFW}\n"
    "images:\n  - name: both\n"
    "---\n"
    "version: 1\ntargets:\n  - {region: IAD}\nimages:\n  - name: iad-only\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_is_one_line_a_matrix_include(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "m.yaml", MANIFEST)
    assert run(["targets", "--format", "json", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == [
        {"name": "IAD", "cloud": None, "region": "IAD", "images": 2},
        {"name": "dfw", "cloud": "rax", "region": "DFW", "images": 1},
    ]


def test_text_names_one_target_a_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "m.yaml", MANIFEST)
    assert run(["targets", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "IAD  cloud (--os-cloud)  region IAD  2 images",
        "dfw  cloud rax  region DFW  1 images",
    ]


def test_a_targets_file_alone_or_over_the_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "t.yaml", "version: 1\ntargets: [{region: ORD}, {region: SYD}]\n")
    assert run(["targets", "--targets", str(file), "--format", "json"]) == 0
    assert [row["name"] for row in json.loads(capsys.readouterr().out)] == ["ORD", "SYD"]
    plain = write(tmp_path, "plain.yaml", "version: 1\nimages: [{name: a}, {name: b}]\n")
    assert run(["targets", "--targets", str(file), "--format", "json", str(plain)]) == 0
    assert [row["images"] for row in json.loads(capsys.readouterr().out)] == [2, 2]


def test_no_targets_is_an_empty_list_and_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = write(tmp_path, "plain.yaml", "version: 1\nimages: [{name: a}]\n")
    assert run(["targets", "--format", "json", str(plain)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "[]\n"
    assert "no targets declared" in captured.err


def test_nothing_to_read_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["targets"]) == 1
    assert "give manifest paths, a --targets file, or both" in capsys.readouterr().err


def test_targets_are_planned_at_most_parallelism_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    regions = [f"R{n}" for n in range(7)]
    file = write(
        tmp_path,
        "t.yaml",
        "version: 1\ntargets:\n" + "".join(f"  - {{region: {r}}}\n" for r in regions),
    )
    plain = write(tmp_path, "m.yaml", "version: 1\nimages: [{name: a}]\n")
    lock = threading.Lock()
    running: list[int] = [0]
    peak: list[int] = [0]

    def fake_run(self: Any) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    def fake_finish(target_run: Any, fetch: Any, scope: Any, catalog: str) -> Any:
        assert fetch.thread is None  # connected in the pool's own thread
        return pipeline.TargetResult(target_run)

    monkeypatch.setattr(pipeline._Fetch, "_run", fake_run)
    monkeypatch.setattr(pipeline, "_finish", fake_finish)
    results = pipeline.plan_targets([plain], CloudOptions(), targets_file=file, parallelism=3)
    assert [r.label for r in results] == regions
    assert peak[0] == 3


class FakeRegion:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.made = 0

    def get_session(self) -> object:
        self.made += 1
        return object()


def test_regions_of_one_cloud_share_a_session_others_do_not() -> None:
    auth = {"auth_url": "https://keystone/v3", "username": "u", "password": "p"}
    iad = FakeRegion({"auth": auth, "region_name": "IAD", "verify": True})
    dfw = FakeRegion({"auth": dict(auth), "region_name": "DFW", "verify": True})
    other = FakeRegion({"auth": {**auth, "username": "v"}, "region_name": "IAD", "verify": True})
    pool = SessionPool()
    assert pool.session(iad) is pool.session(dfw)
    assert pool.session(other) is not pool.session(iad)
    assert (iad.made, dfw.made, other.made) == (1, 0, 1)


def test_targets_sharing_a_session_and_an_endpoint_wait_for_the_first_contact() -> None:
    from reconciler.cloud.auth import Connection

    session = object()
    one = Connection(session, "http://glance", "p", "c", "R1", "public")  # type: ignore[arg-type]
    two = Connection(session, "http://glance", "p", "c", "R2", "public")  # type: ignore[arg-type]
    own = Connection(session, "http://other", "p", "c", "R3", "public")  # type: ignore[arg-type]
    pool = SessionPool()
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with pool.first_contact(one):
            first_in.set()
            time.sleep(0.1)
            order.append("first done")

    def second() -> None:
        first_in.wait()
        with pool.first_contact(two):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_in.wait()
    with pool.first_contact(own):  # its own endpoint: no wait
        order.append("own in")
    for thread in threads:
        thread.join()
    assert order == ["own in", "first done", "second in"]
