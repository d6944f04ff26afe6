"""Every wait of the tool in one place: the schedule between tries (`Schedule`), reading
a value until it is ready (`poll`), and sending a call again until it succeeds
(`retry`). No I/O of its own: the clock, the sleep, the random source of the jitter and
the stop test are handed in (the real ones by default), so the unit tests run in zero
time and each caller keeps its own timings.

The callers and their schedules: the HTTP client's resends (`cloud.glance.RetryPolicy`:
0.2 s doubling to 5 s, full jitter, 8 tries, a 429's or 503's `Retry-After` honoured up
to 30 s); the applier's own resends, undo and tail attempts and the data and copy
retries (the same backoff through `GlanceAPI.retry`); the import, copy and upload-settle
polls of `apply.steps` (0.25 s doubling to 5 s, 0.1 s doubling to 1 s, 0.25 s doubling
to 2 s; the first two cut by the interrupt grace, `runtime.interrupts.STOP`); the
sandbox's start-up and stop polls (every 0.25 s and every 0.1 s).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Schedule:
    """The delays between tries: `first` seconds, then each `factor` times the one
    before, never more than `cap`; with `jitter`, each drawn uniformly from zero to that
    delay ("full jitter", so that clients failing together do not retry together).
    `deadline`: seconds from the first try after which `poll` gives up (None: never)."""

    first: float
    factor: float = 2.0
    cap: float = math.inf
    jitter: bool = False
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.first < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError(f"not a schedule: {self}")

    def delay(
        self, attempt: int, uniform: Callable[[float, float], float] = random.uniform
    ) -> float:
        """Seconds to wait after try `attempt` (0-based) before the next."""
        if self.first == 0 or self.factor == 1:
            grown = self.first
        else:
            try:
                grown = self.first * self.factor**attempt
            except OverflowError:  # a float power past 1.8e308
                grown = math.inf
        delay = min(self.cap, grown)
        return uniform(0.0, delay) if self.jitter else delay

    def within(self, seconds: float | None) -> Schedule:
        """The same delays, giving up `seconds` after the first try."""
        return replace(self, deadline=seconds)


class WaitEnded(Exception):
    """A poll ended before its value was ready; `last` is the value read last."""

    def __init__(self, last: Any) -> None:
        super().__init__(last)
        self.last = last


class TimedOut(WaitEnded):
    """The schedule's deadline passed."""


class Stopped(WaitEnded):
    """The stop test said to give up (the run was interrupted)."""


def never() -> bool:
    return False


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up when called: a test may patch time.sleep


def _now() -> float:
    return time.monotonic()


def poll(
    read: Callable[[], T],
    ready: Callable[[T], bool],
    schedule: Schedule,
    *,
    sleep: Callable[[float], None] = _sleep,
    clock: Callable[[], float] = _now,
    stop: Callable[[], bool] = never,
) -> T:
    """`read()` until `ready(value)`, sleeping the schedule's delays between reads, and
    return that value. After a read that is not ready: TimedOut once the deadline has
    passed, else Stopped when `stop()` says so; `read` may raise to end the wait on its
    own terms (a failed import). There is always a first read, and a read after the
    last sleep: the deadline is checked after reading, never instead of it."""
    started = clock()
    attempt = 0
    while True:
        value = read()
        if ready(value):
            return value
        if schedule.deadline is not None and clock() - started >= schedule.deadline:
            raise TimedOut(value)
        if stop():
            raise Stopped(value)
        sleep(schedule.delay(attempt))
        attempt += 1


@dataclass(frozen=True)
class Again:
    """What a try of `retry` returns when it failed and may be sent again: its error
    (raised if no try is left) and, when the server said how long to wait
    (`Retry-After`), that many seconds instead of the backoff's."""

    error: Exception
    after: float | None = None


def retry(
    attempt: Callable[[int], T | Again],
    *,
    attempts: int,
    backoff: Callable[[int], float],
    sleep: Callable[[float], None] = _sleep,
) -> T:
    """Call `attempt(n)` for n = 0, 1, ... until it returns a value that is not
    `Again`, at most `attempts` times, sleeping `backoff(n)` (or the `Again`'s `after`)
    between; the last `Again`'s error is raised. Anything `attempt` raises ends the
    retries at once: the try decides what may be sent again, not this loop."""
    if attempts < 1:
        raise ValueError("retry needs at least one attempt")
    for n in range(attempts):
        outcome = attempt(n)
        if not isinstance(outcome, Again):
            return outcome
        if n + 1 == attempts:
            raise outcome.error
        sleep(backoff(n) if outcome.after is None else outcome.after)
    raise AssertionError("unreachable: the last attempt returns or raises")
