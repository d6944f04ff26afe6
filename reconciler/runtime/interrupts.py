"""Ctrl-C (SIGINT) and SIGTERM while `apply` writes, as Terraform handles them. Signal
handling and a line on stderr; nothing else.

- The first signal stops starting new images: each image in flight goes on to its end
  (applied, or rolled back), and the run then reports; images not started are
  `skipped` with the reason `interrupted`, and the command exits 130.
- The bound: a data transfer or import wait still going GRACE seconds after the first
  signal is cut (`Interrupted`, a data error): its new image is rolled back rather
  than waited for. Metadata steps take a request each and are always let finish.
- A second signal stops at once: the journal's lock is taken first, so no record is
  half written, the `reconciler rollback JOURNAL` command is printed, and the process
  exits 130 without waiting for anything.
Outside `guarded()`, Python's own handling stays (KeyboardInterrupt; the CLI prints
`interrupted` and exits 130).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

GRACE = 20.0  # seconds a transfer in flight may go on after the first signal


class Interrupts:
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._first_at: float | None = None
        self._journals: list[Any] = []  # Journal objects of the run (their lock, path)
        self.grace = GRACE

    @property
    def requested(self) -> bool:
        return self.stopping.is_set()

    def transfer_expired(self) -> bool:
        """A transfer should be cut: the first signal came more than `grace` ago."""
        first = self._first_at
        return first is not None and time.monotonic() - first > self.grace

    def watch(self, journal: Any) -> None:
        self._journals.append(journal)

    def reset(self) -> None:
        self.stopping.clear()
        self._first_at = None
        self._journals = []

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping.is_set():
            self._first_at = time.monotonic()
            self.stopping.set()
            _say(
                f"interrupted ({signal.Signals(signum).name}): no new image is started; the "
                f"ones in flight finish or roll back (a transfer is cut after "
                f"{self.grace:.0f} s). Press Ctrl-C again to stop at once."
            )
            return
        for journal in self._journals:  # no record half written when the process ends
            journal.hold()
        paths = [str(journal.path) for journal in self._journals]
        _say("stopped at once: the journal holds every step begun.")
        for path in paths:
            _say(f"undo what this run did with: reconciler rollback {path}")
        os._exit(130)


T = TypeVar("T")
R = TypeVar("R")
WAKE = 0.2  # seconds between the main thread's looks at pending signals


def mapped(pool: Executor, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`pool.map`, in order, without the main thread sleeping in one long wait: Linux
    may hand SIGINT to a worker thread, and Python runs the handler only once the main
    thread wakes (a first result that takes minutes would let every other image
    start). Waiting in short steps runs it within WAKE seconds."""
    futures = [pool.submit(work, item) for item in items]
    pending = set(futures)
    while pending:
        _done, pending = wait(pending, timeout=WAKE, return_when=FIRST_COMPLETED)
    return [future.result() for future in futures]


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


STOP = Interrupts()


@contextmanager
def guarded() -> Iterator[Interrupts]:
    """SIGINT and SIGTERM handled as the module docstring says while the block runs
    (in the main thread; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return
    STOP.reset()
    previous: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int | None] = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, STOP._handle)
    try:
        yield STOP
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler if handler is not None else signal.SIG_DFL)
