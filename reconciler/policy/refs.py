"""`PolicyRef`: a policy a run names, and where. A value, no I/O (kept apart from the
policy models so the manifest loader can name policies without building them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

BUILTIN_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class PolicyRef:
    """A built-in policy's name or a policy file's path (absolute when it comes from a
    manifest: paths there are relative to the manifest file), and where it was named
    (`file:line:col` of the manifest's `policy:` item, or `--policy NAME`)."""

    ref: str
    origin: str

    @property
    def is_builtin(self) -> bool:
        """Without `/` and without a .yaml/.yml suffix: a built-in policy's name."""
        return is_builtin_name(self.ref)


def is_builtin_name(ref: str) -> bool:
    return bool(BUILTIN_NAME.match(ref)) and not ref.endswith((".yaml", ".yml"))


class PolicyLevel(StrEnum):
    """What error-level policy violations do (`--policy-level`)."""

    error = "error"  # fail the run (validate exit 1; plan: the entry is an error)
    warning = "warning"  # only warn
