"""An image's declared data source: its checksum and location, parsed and checked.
Pure (the loader checks that a file source exists).

What a declared checksum can prove depends on who sees the bytes: with `upload` and
`glance-direct` the tool streams them and hashes them itself, so any supported algorithm
works; with `web-download` Glance fetches the URL and the tool only sees Glance's own
hash, `os_hash_value`, which is sha512 (Glance's default `hashing_algorithm`), so only a
declared sha512 can be compared with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Hex digits per algorithm. md5 is accepted because some mirrors still publish only
# md5 sums, with a warning: it proves no absence of tampering.
DIGEST_LENGTHS = {"sha256": 64, "sha512": 128, "md5": 32}
STRONG = frozenset({"sha256", "sha512"})
METHODS = ("upload", "glance-direct", "web-download")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_URL = re.compile(r"^https?://", re.IGNORECASE)


@dataclass(frozen=True)
class DataSource:
    """Where an image's data comes from and what it must hash to."""

    location: str  # an http(s) URL, or a file path (absolute once loaded)
    algorithm: str  # sha256 | sha512 | md5
    digest: str  # lower-case hex
    method: str = "upload"  # upload | glance-direct | web-download
    version: str | None = None  # the build's label (plans, renames of old builds)
    compression: str | None = None  # xz | bz2 | gz | zst: decompressed while streaming
    mirrors: tuple[str, ...] = ()  # tried in order before `location` (the provenance)

    @property
    def is_url(self) -> bool:
        return is_url(self.location)

    @property
    def checksum(self) -> str:
        """`algorithm:hex`, as manifests write it and the management record keeps it."""
        return f"{self.algorithm}:{self.digest}"


def is_url(location: str) -> bool:
    return bool(_URL.match(location))


def parse_checksum(text: str) -> tuple[str, str] | str:
    """(algorithm, lower-case hex), or the reason the text is not a usable checksum."""
    algorithm, sep, digest = text.partition(":")
    if not sep:
        return "checksum must be ALGORITHM:HEX, e.g. sha256:8f1e... (sha256, sha512, md5)"
    algorithm = algorithm.strip().lower()
    if algorithm not in DIGEST_LENGTHS:
        return f"checksum algorithm {algorithm!r} is not supported (sha256, sha512; md5 warns)"
    digest = digest.strip()
    expected = DIGEST_LENGTHS[algorithm]
    if not _HEX.match(digest) or len(digest) != expected:
        return f"a {algorithm} checksum is {expected} hex digits (got {len(digest)} characters)"
    return algorithm, digest.lower()


# What a file name's suffix says of its compression (the forms upstreams publish).
COMPRESSION_SUFFIXES = {".xz": "xz", ".bz2": "bz2", ".gz": "gz", ".zst": "zst"}
COMPRESSIONS = frozenset(COMPRESSION_SUFFIXES.values())


def compression_of(location: str, declared: str | None) -> str | None:
    """The compression a source is read with: the declared one (`none`: none), else the
    suffix of the URL's or path's file name (query and fragment aside)."""
    if declared is not None:
        return None if declared == "none" else declared
    name = location.split("?", 1)[0].split("#", 1)[0].rstrip("/").lower()
    for suffix, kind in COMPRESSION_SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    return None


def source_problems(
    location: str,
    algorithm: str,
    method: str,
    compression: str | None = None,
    mirrors: tuple[str, ...] = (),
) -> list[tuple[tuple[str | int, ...], str]]:
    """(path inside `source:`, message) for what cannot work, whatever the file system
    says."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if compression is not None and method == "web-download":
        problems.append(
            (
                ("method",),
                f"a {compression}-compressed source cannot use web-download: Glance would "
                "store the compressed bytes (use upload or glance-direct: the tool "
                "decompresses while streaming)",
            )
        )
    for number, mirror in enumerate(mirrors):
        if not is_url(mirror):
            problems.append((("mirrors", number), "a mirror is an http(s) URL"))
    if method == "web-download":
        if not is_url(location):
            problems.append(
                (("url",), "web-download needs an http(s) URL: Glance fetches it, not the tool")
            )
        if algorithm != "sha512":
            problems.append(
                (
                    ("checksum",),
                    "web-download needs a sha512 checksum: Glance fetches and hashes the "
                    "data itself (sha512), the tool never sees the bytes, so only a sha512 "
                    "can be compared with Glance's os_hash_value",
                )
            )
    elif "://" in location and not is_url(location):
        problems.append((("url",), "only http(s) URLs and file paths are supported"))
    return problems


def source_warnings(algorithm: str) -> list[tuple[str, str]]:
    if algorithm not in STRONG:
        return [
            (
                "checksum",
                f"{algorithm} proves no absence of tampering; prefer a sha256 or sha512 "
                "checksum where the mirror publishes one",
            )
        ]
    return []


IMPORT_METHODS = frozenset({"glance-direct", "web-download"})  # `upload` is no import


def enabled_methods(info: dict[str, object]) -> frozenset[str]:
    """The import methods of `GET /v2/info/import` (`{"import-methods": {"value": [...]}}`)."""
    methods = info.get("import-methods")
    values = methods.get("value") if isinstance(methods, dict) else None
    return frozenset(str(v) for v in values) if isinstance(values, list) else frozenset()


def disabled_method(method: str, enabled: frozenset[str]) -> str | None:
    """Why `method` cannot be used on a Glance with these import methods, or None."""
    if method in IMPORT_METHODS and method not in enabled:
        shown = ", ".join(sorted(enabled)) or "none"
        return f"source method {method!r} is not enabled on this Glance (enabled: {shown})"
    return None
