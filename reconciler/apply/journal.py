"""The apply journal: JSON lines appended and flushed after each record; fsynced when
a step is begun (before its write to the cloud), which makes every earlier record
durable too. So a run killed at any point can be undone (`reconciler rollback
JOURNAL`); what a crash can lose is the records after the last `begin` (a step's
`done`, an image's `end`), which rollback does not need: it undoes such a step judged
against the image as it is. File I/O only.

A journal appended to (`--journal FILE` given again) keeps its step numbers unique:
a new run's `seq` continues after the highest one the file holds.

Records (one JSON object per line, `type` first):
- `run`: run id, start time, target (no credentials).
- `original`: an image's view and members right before the run's first write to it.
- `begin`: a step about to be sent (`seq`, image id, step kind and payload).
- `done` / `failed` / `undone`: what became of step `seq`.
- `end`: an image's final status.
A line cut off mid-way (power loss) ends the readable journal; every whole line before
it counts.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.errors import JournalError


def default_path(root: Path = Path(".reconciler/journals")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return root / f"apply-{stamp}.jsonl"


class Journal:
    """Append-only and thread-safe; durable as the module docstring says."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        seqs = [r.get("seq", 0) for r in read_records(path)] if path.exists() else []
        self._seq = max((s for s in seqs if isinstance(s, int)), default=0)
        self._handle = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def hold(self, timeout: float = 5.0) -> None:
        """Take the lock for good, the file flushed and synced: the process is about to
        end at once (a second Ctrl-C), and no record may be cut half way."""
        if self._lock.acquire(timeout=timeout) and not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def write(self, record_type: str, *, durable: bool = False, **fields: Any) -> None:
        """Append one record. Only `begin` records must reach the disk before the write
        they announce (durable=True fsyncs, which also covers every earlier record);
        losing a later `done`/`end` in a crash is safe, since rollback then undoes the
        step, judged against the image as it is."""
        line = json.dumps({"type": record_type, **fields}, separators=(",", ":"), default=str)
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()
            if durable:
                os.fsync(self._handle.fileno())

    def begin(self, image_id: str, kind: str, payload: dict[str, Any]) -> int:
        with self._lock:
            self._seq += 1
            seq = self._seq
        self.write("begin", durable=True, seq=seq, image=image_id, kind=kind, step=payload)
        return seq

    def close(self) -> None:
        with self._lock:
            self._handle.close()


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Every whole record; stops quietly at a truncated or garbled last line."""
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as err:
        raise JournalError(f"{path}: cannot read: {err.strerror}") from None
    with handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            try:
                record = json.loads(line)
            except ValueError:
                return
            if isinstance(record, dict) and "type" in record:
                yield record


@dataclass
class ImageHistory:
    """What one run did to one image, rebuilt from the journal."""

    image_id: str
    name: str | None = None
    original: dict[str, Any] | None = None
    original_members: list[str] | None = None
    original_status: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)  # begin records, in order
    outcome: dict[int, str] = field(default_factory=dict)  # seq -> done/failed/undone
    status: str | None = None

    def to_undo(self) -> list[dict[str, Any]]:
        """Steps not yet undone, newest first. Failed steps are included: a step can fail
        after a partial effect, and undo is judged against the image as it is."""
        pending = [s for s in self.steps if self.outcome.get(s["seq"]) != "undone"]
        return list(reversed(pending))


def histories(path: Path) -> tuple[dict[str, Any] | None, dict[str, ImageHistory]]:
    run: dict[str, Any] | None = None
    images: dict[str, ImageHistory] = {}
    by_seq: dict[int, str] = {}
    for record in read_records(path):
        kind = record["type"]
        if kind == "run":
            run = record
            continue
        if kind in ("done", "failed", "undone"):
            image_id = by_seq.get(record.get("seq", -1))
            if image_id is not None:
                images[image_id].outcome[record["seq"]] = kind
            continue
        image_id = record.get("image")
        if not isinstance(image_id, str):
            continue
        history = images.setdefault(image_id, ImageHistory(image_id))
        if kind == "original":
            history.original = record.get("view")
            history.original_members = record.get("members")
            history.original_status = record.get("status")
            history.name = record.get("name")
        elif kind == "begin":
            history.steps.append(record)
            by_seq[record["seq"]] = image_id
        elif kind == "end":
            history.status = record.get("status")
    if run is None:
        raise JournalError(f"{path}: not an apply journal (no run record)")
    return run, images
