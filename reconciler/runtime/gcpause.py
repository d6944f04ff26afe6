"""Pausing Python's cyclic garbage collector around batch work. No I/O.

The tool's big values (live catalog, desired images, plans, reports) are acyclic and
freed by reference counting; the cyclic collector only re-walks them, again and again,
as they grow: at 30,000 images it was 90% of the time spent turning a plan into JSON.
The CLI runs each command inside `paused()`; `diff` pauses on its own so that library
callers get the same speed. Cycles made meanwhile (exceptions, say) are collected once
the pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
