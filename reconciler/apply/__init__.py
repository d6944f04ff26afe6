"""The writer: the one package that writes to the cloud. File and network I/O.

Where each decision lives:
- `units.py` (pure): an entry's plan compiled into a unit: the ordered steps per image,
  its commit point and the tail after it. The order is decided there, never by the
  applier.
- `steps.py`: the step kinds (create, data, patch, members, (de)activation, delete,
  each with `send`, `converge` after a lost answer, and its `reverse`), the data
  transfer and its polling (`BuildData`, `wait_until_active`), verify-before-publish
  (`unpublished`).
- `applier.py`: the one interpreter of units (stale check -> journal -> run -> verify,
  the tail, one rollback newest first across the unit) and `roll_back_journal`
  (`reconciler rollback JOURNAL`: the whole run, newest first across units).
- `journal.py`: the append-only journal (fsynced before each write to the cloud).
Interrupts (Ctrl-C) are `reconciler.runtime.interrupts`'s, shared with the data reader.
"""

from reconciler.apply.applier import (
    INTERRUPTED,
    TAIL_ATTEMPTS,
    Applier,
    ApplyReport,
    ImageResult,
    Status,
    roll_back_journal,
    skipped_entries,
)

__all__ = [
    "INTERRUPTED",
    "TAIL_ATTEMPTS",
    "Applier",
    "ApplyReport",
    "ImageResult",
    "Status",
    "roll_back_journal",
    "skipped_entries",
]
