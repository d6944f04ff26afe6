"""Interrupts and the journal (issue 28): after the first signal no new image starts
(skipped, `interrupted`), a transfer still going past the grace period is cut and its
image rolled back, and an appended journal keeps its step numbers unique."""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.apply import INTERRUPTED, Applier, Status
from reconciler.apply.journal import Journal, read_records
from reconciler.cloud.image_data import open_source
from reconciler.errors import Interrupted
from reconciler.model.source import DataSource
from reconciler.runtime.interrupts import STOP, guarded
from tests.fakes import FakeGlance
from tests.unit.test_applier import client, plan_for, run
from tests.unit.test_image_data import data_entry, stored_by_name


def press_ctrl_c() -> None:
    """What the SIGINT handler does, called directly: under pytest-xdist a test may not
    run in the main thread, where Python delivers signals (the real signal's path is
    tests/sandbox/test_interrupts.py's)."""
    STOP._handle(signal.SIGINT, None)


@pytest.fixture(autouse=True)
def clean_stop() -> Iterator[None]:
    STOP.reset()
    yield
    STOP.reset()
    STOP.grace = 20.0


def test_after_the_first_signal_no_image_starts(tmp_path: Path) -> None:
    fake = FakeGlance()
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"x" * 1000)
    data = DataSource(str(disk), "sha256", hashlib.sha256(b"x" * 1000).hexdigest(), "upload")
    plan = plan_for(fake, data_entry("a", data), data_entry("b", data))
    with guarded():
        press_ctrl_c()
        assert STOP.requested
        results, _records = run(fake, plan, tmp_path)
    assert {r.status for r in results.values()} == {Status.SKIPPED}
    assert {r.reason for r in results.values()} == {INTERRUPTED}
    assert fake.images() == []


def test_a_transfer_past_the_grace_period_is_cut_and_rolled_back(tmp_path: Path) -> None:
    disk = tmp_path / "disk.raw"
    payload = os.urandom(3 << 20)
    disk.write_bytes(payload)
    reader = open_source(str(disk), ("sha512",))
    assert reader.read(1 << 20)
    STOP.grace = 0.0
    with guarded():
        press_ctrl_c()
        with pytest.raises(Interrupted, match="the transfer was cut"):
            reader.read(1 << 20)
    reader.close()
    STOP.reset()
    # In an apply: the signal comes once the first MiB is read (the image in flight).
    fake = FakeGlance()
    data = DataSource(str(disk), "sha256", hashlib.sha256(payload).hexdigest(), "upload")
    plan = plan_for(fake, data_entry("cut", data))
    journal = Journal(tmp_path / "journal.jsonl")

    def on_data(_image: object, done: int, _length: int | None) -> None:
        if done and not STOP.requested:
            press_ctrl_c()

    with guarded():
        STOP.grace = 0.0
        report = Applier(client(fake), journal, on_data=on_data).run(plan)
    journal.close()
    (result,) = report.results
    assert result.status is Status.ROLLED_BACK, result
    assert "interrupted" in result.reason
    assert stored_by_name(fake, "cut") is None


def test_an_appended_journal_keeps_seq_unique(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    for _run in range(3):
        journal = Journal(path)
        journal.write("run", run_id=str(_run))
        for _step in range(4):
            journal.begin("image", "patch", {})
        journal.close()
    seqs = [r["seq"] for r in read_records(path) if r["type"] == "begin"]
    assert seqs == list(range(1, 13))
    held = Journal(path)
    held.hold(timeout=1)
    assert not held._lock.acquire(timeout=0.05)  # taken for good: no record after it


def test_the_main_thread_wakes_while_it_waits_for_a_slow_first_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Linux may hand SIGINT to a worker thread; Python runs the handler once the main
    thread wakes. `mapped` waits in WAKE-second steps (pool.map slept until the first
    result, seen letting every image of a run start after a Ctrl-C under load)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from reconciler.runtime import interrupts

    wakes = []
    real_wait = interrupts.wait

    def counted(*args: object, **kwargs: object) -> object:
        wakes.append(time.monotonic())
        return real_wait(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(interrupts, "wait", counted)

    def work(item: int) -> int:
        time.sleep(1.0 if item == 0 else 0.01)
        return item * 10

    with ThreadPoolExecutor(2) as pool:
        assert interrupts.mapped(pool, work, range(5)) == [0, 10, 20, 30, 40]
    assert len(wakes) >= 1.0 / interrupts.WAKE - 1
