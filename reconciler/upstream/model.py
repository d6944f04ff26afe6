"""The values of `bump`: a watch block, an upstream build, an entry and what became of
it. No I/O: the renderers read these without importing what fetches."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True)
class Watch:
    """A manifest's `source.watch` block, the keyring's path resolved."""

    url: str
    checksums: str
    index: str | None = None
    version: str | None = None
    signature: str | None = None  # a URL template, or "clearsigned"
    keyring: Path | None = None


@dataclass(frozen=True)
class Build:
    """The newest build upstream."""

    version: str
    url: str
    checksums: tuple[str, ...]  # algorithm:hex, each digest the checksum file lists for it
    checksums_url: str
    build_date: str | None  # YYYY-MM-DD when the version holds a date
    signed: bool  # its checksum file's signature verified
    notes: tuple[str, ...] = field(default=())

    @property
    def checksum(self) -> str:
        """The strongest digest listed (checksums are strongest first)."""
        return self.checksums[0]


@dataclass(frozen=True)
class Entry:
    """A manifest entry with a watch block, as its file holds it."""

    file: Path
    line: int
    document: int  # the YAML document's index in the file
    index: int  # the entry's index in its document's images
    name: str
    url: str
    checksum: str
    version: str | None
    method: str
    watch: Watch
    wants_date: bool  # its properties carry image_build_date

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


class BumpStatus(StrEnum):
    CURRENT = "current"
    UPDATED = "updated"  # or, with --dry-run, would be
    FAILED = "failed"


@dataclass(frozen=True)
class BumpResult:
    entry: Entry
    status: BumpStatus
    build: Build | None = None
    checksum: str | None = None  # the digest written (the entry's algorithm when listed)
    build_date: str | None = None
    changes: tuple[str, ...] = ()  # manifest keys rewritten
    reason: str = ""  # why it failed


@dataclass(frozen=True)
class BumpReport:
    results: tuple[BumpResult, ...]
    dry_run: bool
    requests: int  # upstream requests made (each URL once)
    seconds: float

    def count(self, status: BumpStatus) -> int:
        return sum(1 for result in self.results if result.status is status)

    @property
    def exit_code(self) -> int:
        """0 all current, 2 something updated (or would be), 1 an entry failed."""
        if self.count(BumpStatus.FAILED):
            return 1
        return 2 if self.count(BumpStatus.UPDATED) else 0
