"""What an apply (or rollback) run reports: per-image results and the run's report.
Value types only, no I/O: the renderers and the CLI read them without importing the
module that writes to the cloud."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    STALE = "stale"
    DIVERGED = "diverged"
    SKIPPED = "skipped"
    # The entry's new state is in place and verified, but a step after it (deleting a
    # retired build) failed: not undone (what came before is what was asked), the
    # reason names the step left; the next plan shows it again.
    INCOMPLETE = "incomplete"
    # Applied and verified, but the data could not be copied into (or deleted from)
    # every store the plan named (multi-store): the image stays usable where its data
    # is, nothing is undone; the reason names the stores.
    COPY_FAILED = "copy_failed"


@dataclass(frozen=True)
class ImageResult:
    name: str
    id: str | None
    action: str
    status: Status
    reason: str = ""
    request_id: str | None = None
    left_changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is Status.APPLIED


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[ImageResult, ...]
    journal: str | None

    @property
    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Keys whose value differs, as `key: before -> after` (sorted)."""
    missing = object()
    lines = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, missing), after.get(key, missing)
        if old != new:
            shown_old = "(absent)" if old is missing else repr(old)
            shown_new = "(absent)" if new is missing else repr(new)
            lines.append(f"{key}: {shown_old} -> {shown_new}")
    return lines
