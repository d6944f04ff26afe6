"""`reconciler bump`: each watched entry's newest upstream build, written into its
manifest. File and network I/O (manifests read and rewritten; upstreams read through
one `Fetcher`); never the cloud, no credentials.

The manifests are validated first (a run on files that do not load changes nothing).
Entries are resolved concurrently (WORKERS at a time); files two entries share are
fetched once. An entry whose upstream fails keeps its text and is reported with the
reason; the others are still written. Each file is rewritten once, with all its
entries' new builds (`manifests/bump.py` keeps comments and layout), through a
temporary file renamed over it, so an interrupted run leaves each file old or new.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from reconciler.errors import UpstreamError
from reconciler.manifests.bump import NewBuild, apply_builds, watched_entries
from reconciler.manifests.loader import load_manifests, manifest_files
from reconciler.upstream import watch as watching
from reconciler.upstream.fetch import Fetcher
from reconciler.upstream.model import BumpReport, BumpResult, BumpStatus, Entry, Watch
from reconciler.upstream.versions import DEFAULT_VERSION, PLACEHOLDER, build_date, name_pattern

WORKERS = 16


def find_entries(paths: Sequence[Path], names: Sequence[str] = ()) -> list[Entry]:
    """The entries with a `source.watch` block (of those named by `names` globs, if
    any), in file order; ManifestError when the manifests do not validate."""
    load_manifests(paths)  # every problem at file:line before anything is fetched
    files, _problems = manifest_files(paths)
    found = []
    for path in files:
        for document, index, raw in watched_entries(path.read_text(encoding="utf-8")):
            name = str(raw["name"])
            if names and not any(fnmatch.fnmatchcase(name, glob) for glob in names):
                continue
            source, spec = raw["source"], raw["source"]["watch"]
            keyring = spec.get("keyring")
            found.append(
                Entry(
                    file=path,
                    line=raw.lc.line + 1,
                    document=document,
                    index=index,
                    name=name,
                    url=str(source["url"]),
                    checksum=str(source["checksum"]).lower(),
                    version=str(source["version"]) if source.get("version") is not None else None,
                    method=str(source.get("method") or "upload"),
                    watch=Watch(
                        url=str(spec["url"]),
                        checksums=str(spec["checksums"]),
                        index=_text(spec.get("index")),
                        version=_text(spec.get("version")),
                        signature=_text(spec.get("signature")),
                        keyring=(path.parent / str(keyring)).resolve() if keyring else None,
                    ),
                    wants_date=(raw.get("properties") or {}).get("image_build_date")
                    not in (None, False),
                )
            )
    return found


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def check(entry: Entry, fetcher: Fetcher) -> BumpResult:
    """What the entry would become: current, updated (with the build and the digest to
    write), or failed with the reason."""
    try:
        build = watching.resolve(entry.watch, fetcher)
    except UpstreamError as err:
        return BumpResult(entry, BumpStatus.FAILED, reason=str(err))
    checksum = _chosen(entry, build.checksums)
    if checksum is None:
        reason = f"{build.checksums_url} lists no sha512 for {build.url} (web-download needs one)"
        return BumpResult(entry, BumpStatus.FAILED, build, reason=reason)
    same_version = entry.version is None or entry.version == build.version
    if entry.url == build.url and entry.checksum in build.checksums and same_version:
        return BumpResult(entry, BumpStatus.CURRENT, build, checksum)
    day = build.build_date
    if day is None and entry.wants_date:
        try:
            modified = fetcher.head(build.url).last_modified
        except UpstreamError as err:
            return BumpResult(entry, BumpStatus.FAILED, build, reason=str(err))
        day = build_date(modified) if modified else None
    return BumpResult(entry, BumpStatus.UPDATED, build, checksum, day)


def _chosen(entry: Entry, listed: tuple[str, ...]) -> str | None:
    """The digest to write: of the entry's algorithm when listed (a sha256 manifest
    stays sha256), else the strongest; web-download takes sha512 only."""
    if entry.method == "web-download":
        return next((c for c in listed if c.startswith("sha512:")), None)
    algorithm = entry.checksum.partition(":")[0]
    return next((c for c in listed if c.startswith(algorithm + ":")), listed[0])


def old_version(entry: Entry) -> str | None:
    """The version of the build the entry names: its `version`, else what {version} of
    the URL template matches in its URL."""
    if entry.version is not None or PLACEHOLDER not in entry.watch.url:
        return entry.version
    match = name_pattern(entry.watch.url, entry.watch.version or DEFAULT_VERSION).fullmatch(
        entry.url
    )
    return match["version"] if match else None


def run(
    paths: Sequence[Path],
    names: Sequence[str] = (),
    dry_run: bool = False,
    fetcher: Fetcher | None = None,
) -> BumpReport:
    started = time.monotonic()
    entries = find_entries(paths, names)
    fetcher = fetcher or Fetcher()
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(entries)))) as pool:
            results = list(pool.map(lambda entry: check(entry, fetcher), entries))
    finally:
        fetcher.close()
    results = _write(results, dry_run)
    return BumpReport(tuple(results), dry_run, fetcher.requests, time.monotonic() - started)


def _write(results: list[BumpResult], dry_run: bool) -> list[BumpResult]:
    """Each file's updated entries written at once (or, dry, only worked out)."""
    by_file: dict[Path, list[int]] = {}
    for number, result in enumerate(results):
        if result.status is BumpStatus.UPDATED:
            by_file.setdefault(result.entry.file, []).append(number)
    for path, numbers in by_file.items():
        builds = []
        for number in numbers:
            result = results[number]
            assert result.build is not None and result.checksum is not None
            builds.append(
                NewBuild(
                    result.entry.document,
                    result.entry.index,
                    result.build.url,
                    result.checksum,
                    result.build.version,
                    result.build_date,
                    old_version(result.entry),
                )
            )
        text, changes = apply_builds(path.read_text(encoding="utf-8"), builds)
        for number in numbers:
            entry = results[number].entry
            results[number] = replace(
                results[number], changes=tuple(changes[(entry.document, entry.index)])
            )
        if not dry_run:
            _replace_file(path, text)
    return results


def _replace_file(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
