"""The one wait helper (`reconciler.runtime.waits`) and the loops built on it, in zero
time: the schedule (monotone, capped, jitter within the delay), `poll`'s deadline and
stop test, `retry`'s attempts and Retry-After, then each migrated wait with its own
timings (a scripted Glance that records the sleeps)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.apply.applier import UNDO_ATTEMPTS, undo_until_done
from reconciler.apply.steps import (
    COPY_POLL_MAX,
    settled_status,
    wait_for_import_lock,
    wait_until_active,
)
from reconciler.cloud.glance import RETRY_AFTER_CAP, RetryPolicy
from reconciler.errors import Conflict, CopyFailed, ImportFailed, Interrupted, SandboxError
from reconciler.runtime.interrupts import STOP
from reconciler.runtime.waits import Again, Schedule, Stopped, TimedOut, poll, retry
from reconciler.sandbox import processes
from reconciler.sandbox.state import SandboxPaths

schedules = st.builds(
    Schedule,
    first=st.floats(0, 10),
    factor=st.floats(1, 4),
    cap=st.floats(0, 60) | st.just(math.inf),
    jitter=st.booleans(),
)


class FakeClock:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@given(schedules, st.integers(0, 2000))
def test_a_schedule_grows_monotonically_and_stays_under_its_cap(
    schedule: Schedule, attempt: int
) -> None:
    steady = Schedule(schedule.first, schedule.factor, schedule.cap)
    now, after = steady.delay(attempt), steady.delay(attempt + 1)
    assert 0 <= now <= after <= schedule.cap
    assert steady.delay(0) == min(schedule.first, schedule.cap)
    # The jitter is drawn between zero and the delay itself.
    assert schedule.delay(attempt, lambda _low, high: high) == now
    if schedule.jitter:
        assert schedule.delay(attempt, lambda low, _high: low) == 0


moving = st.builds(
    Schedule,
    first=st.floats(0.01, 10),
    factor=st.floats(1, 4),
    cap=st.floats(0.01, 60) | st.just(math.inf),
)


@given(moving, st.floats(0, 30))
def test_poll_gives_up_once_past_its_deadline_and_not_before(
    schedule: Schedule, deadline: float
) -> None:
    clock = FakeClock()
    reads: list[float] = []

    def read() -> int:
        reads.append(clock.now)
        return len(reads)

    with pytest.raises(TimedOut) as ended:
        poll(
            read,
            lambda _n: False,
            schedule.within(deadline),
            sleep=clock.sleep,
            clock=clock,
        )
    started = reads[0]
    assert clock.now - started >= deadline  # not before the deadline
    assert all(when - started < deadline for when in reads[:-1])  # no read wasted after it
    assert ended.value.last == len(reads)
    assert len(reads) <= 3002


def test_poll_returns_the_first_ready_value_and_sleeps_the_schedule() -> None:
    clock = FakeClock()
    values = iter([1, 2, 3, 4, 5])
    got = poll(lambda: next(values), lambda v: v == 4, Schedule(0.25, 2, 1.0), sleep=clock.sleep)
    assert got == 4
    assert clock.slept == [0.25, 0.5, 1.0]


def test_poll_stops_when_told_after_a_read_that_is_not_ready() -> None:
    clock = FakeClock()
    stops = iter([False, True])
    with pytest.raises(Stopped) as ended:
        poll(
            lambda: "busy",
            lambda _v: False,
            Schedule(0.1),
            sleep=clock.sleep,
            stop=lambda: next(stops),
        )
    assert ended.value.last == "busy" and clock.slept == [0.1]


def test_retry_sends_again_until_a_value_and_raises_the_last_error() -> None:
    slept: list[float] = []
    outcomes = iter([Again(Conflict("first")), Again(Conflict("second"), after=7.0), "done"])
    assert (
        retry(lambda _n: next(outcomes), attempts=3, backoff=lambda n: n + 0.5, sleep=slept.append)
        == "done"
    )
    assert slept == [0.5, 7.0]  # the backoff, then the server's Retry-After

    errors = [Conflict(f"try {n}") for n in range(4)]
    with pytest.raises(Conflict) as raised:
        retry(lambda n: Again(errors[n]), attempts=4, backoff=float, sleep=slept.append)
    assert raised.value is errors[3]

    calls: list[int] = []

    def refused(n: int) -> str:
        calls.append(n)
        raise Conflict("not to be retried")

    with pytest.raises(Conflict):
        retry(refused, attempts=5, backoff=float, sleep=slept.append)
    assert calls == [0]


@given(st.integers(0, 40), st.floats(0, 1e6) | st.none())
def test_the_clients_retry_policy_is_capped_jitter_and_honours_retry_after(
    attempt: int, retry_after: float | None
) -> None:
    policy = RetryPolicy()
    delay = policy.delay(attempt, retry_after)
    if retry_after is not None:
        assert delay == min(retry_after, RETRY_AFTER_CAP)
    else:
        assert 0 <= delay <= min(policy.max_delay, policy.base_delay * 2**attempt)


# -- the waits of apply.steps, against a scripted Glance -------------------------------


class Scripted:
    """get_image answers the images given, the last one again when they run out;
    image_tasks the task lists given likewise. Sleeps are recorded, never slept."""

    retry = RetryPolicy()

    def __init__(self, images: list[dict[str, Any]], tasks: list[list[dict[str, Any]]]) -> None:
        self._images: Iterator[dict[str, Any]] = iter(images)
        self._tasks: Iterator[list[dict[str, Any]]] = iter(tasks)
        self.image: dict[str, Any] = {}
        self.task_list: list[dict[str, Any]] = []
        self.slept: list[float] = []
        self.reads = 0
        self.task_reads = 0

    def sleep(self, seconds: float, /) -> None:
        self.slept.append(seconds)

    def get_image(self, _image_id: str) -> dict[str, Any]:
        self.reads += 1
        self.image = next(self._images, self.image)
        return self.image

    def image_tasks(self, _image_id: str) -> list[dict[str, Any]]:
        self.task_reads += 1
        self.task_list = next(self._tasks, self.task_list)
        return self.task_list


def test_settled_status_reads_while_saving_backing_off_to_two_seconds() -> None:
    client = Scripted([{"status": "saving"}] * 6 + [{"status": "queued"}], [])
    assert settled_status(client, "i") == "queued"  # type: ignore[arg-type]
    assert client.slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_settled_status_gives_the_status_it_has_at_its_deadline() -> None:
    client = Scripted([{"status": "saving"}], [])
    assert settled_status(client, "i", wait=0.0) == "saving"  # type: ignore[arg-type]
    assert client.reads == 1 and client.slept == []


def test_wait_until_active_backs_off_to_five_seconds_and_asks_tasks_first() -> None:
    done = [{"status": "success"}]
    client = Scripted(
        [{"status": "importing"}] * 6 + [{"status": "active"}],
        [[{"status": "processing"}]] * 6 + [done],
    )
    assert wait_until_active(client, "i", 60.0)["status"] == "active"  # type: ignore[arg-type]
    assert client.slept == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    # Active at once: only the reads whose next delay is under a second ask for tasks.
    client = Scripted([{"status": "active"}], [[{"status": "processing"}]] * 5)
    wait_until_active(client, "i", 60.0)  # type: ignore[arg-type]
    assert client.task_reads == 2 and client.reads == 3
    client = Scripted([{"status": "active"}], [])
    wait_until_active(client, "i", 60.0, imported=False)  # type: ignore[arg-type]
    assert client.task_reads == 0 and client.reads == 1


def test_wait_until_active_fails_on_a_failed_task_its_deadline_and_the_grace() -> None:
    failed = Scripted([{"status": "importing"}], [[{"status": "failure", "message": "bad\n x"}]])
    with pytest.raises(ImportFailed, match=r"Glance's task: bad x"):
        wait_until_active(failed, "i", 60.0)  # type: ignore[arg-type]
    killed = Scripted([{"status": "killed"}], [[]])
    with pytest.raises(ImportFailed, match="'killed', not active"):
        wait_until_active(killed, "i", 60.0)  # type: ignore[arg-type]
    late = Scripted([{"status": "importing"}], [[]])
    with pytest.raises(ImportFailed, match="not active after 0 s"):
        wait_until_active(late, "i", 0.0)  # type: ignore[arg-type]
    cut = Scripted([{"status": "importing"}], [[]])
    STOP._first_at = -1e9  # the first signal long ago: the grace is over
    try:
        with pytest.raises(Interrupted, match="status 'importing'"):
            wait_until_active(cut, "i", 60.0)  # type: ignore[arg-type]
    finally:
        STOP.reset()
    assert cut.reads == 1 and cut.slept == []


def test_the_import_lock_is_polled_every_second_at_most_and_ends_with_the_grace() -> None:
    client = Scripted([{"os_glance_import_task": "t"}] * 6 + [{"stores": "a"}], [[]])
    assert wait_for_import_lock(client, "i", 60.0)["stores"] == "a"  # type: ignore[arg-type]
    assert client.slept == [0.1, 0.2, 0.4, 0.8, COPY_POLL_MAX, COPY_POLL_MAX]
    started = Scripted([{}], [[{"status": "processing"}], [{"status": "success"}]])
    wait_for_import_lock(started, "i", 60.0, started=True)  # type: ignore[arg-type]
    assert started.task_reads == 2
    with pytest.raises(CopyFailed, match="still copies the data after 0 s"):
        wait_for_import_lock(Scripted([{"os_glance_import_task": "t"}], []), "i", 0.0)  # type: ignore[arg-type]
    STOP._first_at = -1e9
    try:
        with pytest.raises(Interrupted, match="while Glance copied"):
            wait_for_import_lock(Scripted([{"os_glance_import_task": "t"}], []), "i", 60.0)  # type: ignore[arg-type]
    finally:
        STOP.reset()


def test_undo_is_sent_again_up_to_its_attempts_with_the_clients_backoff() -> None:
    class Refused:
        undos = 0

        def undo(self, _client: object, _image_id: str) -> None:
            self.undos += 1
            raise Conflict("busy")

    client = Scripted([], [])
    step = Refused()
    with pytest.raises(Conflict):
        undo_until_done(client, "i", step)  # type: ignore[arg-type]
    assert step.undos == UNDO_ATTEMPTS and len(client.slept) == UNDO_ATTEMPTS - 1


# -- the sandbox's waits -----------------------------------------------------------------


class Proc:
    def __init__(self, exit_after: int | None) -> None:
        self.polls = 0
        self.exit_after = exit_after
        self.returncode: int | None = None

    def poll(self) -> int | None:
        self.polls += 1
        if self.exit_after is not None and self.polls >= self.exit_after:
            self.returncode = 3
        return self.returncode


def test_a_service_start_is_polled_every_quarter_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    paths = SandboxPaths(tmp_path)
    answers = iter([False, False, True])
    proc: Any = Proc(None)
    exits: Any = Proc(2)
    stalls: Any = Proc(None)
    processes.wait_for_start(paths, "glance", proc, lambda: next(answers), "at u", 90.0)
    assert slept == [0.25, 0.25]
    with pytest.raises(SandboxError, match=r"mariadbd exited during start-up \(exit 3\)"):
        processes.wait_for_start(
            paths,
            "mariadb",
            exits,
            lambda: False,
            "on s",
            90.0,
            name="mariadbd",
        )
    with pytest.raises(SandboxError, match="glance did not answer at u within 0s"):
        processes.wait_for_start(paths, "glance", stalls, lambda: False, "at u", 0.0)


def test_a_stopped_service_gets_sigkill_once_its_timeout_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    killed: list[int] = []
    monkeypatch.setattr(processes, "running_pid", lambda _p, _s: child.pid)
    real_killpg = os.killpg

    def killpg(pgid: int, sig: int) -> None:
        if sig != 0:
            killed.append(sig)
        if sig != signal.SIGTERM:  # SIGTERM ignored: the timeout must pass
            real_killpg(pgid, sig)

    monkeypatch.setattr(os, "killpg", killpg)
    try:
        assert processes.stop_service(SandboxPaths(tmp_path), "glance", timeout=0.0)
    finally:
        child.kill()
        child.wait()
    assert killed == [signal.SIGTERM, signal.SIGKILL] and slept == []
