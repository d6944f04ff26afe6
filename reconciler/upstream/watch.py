"""A `source.watch` block resolved to the newest upstream build. Network, process and
file I/O (reads only, through a `Fetcher`; gpgv for signatures).

The candidates are the versions the index's links name (`index:`: a folder per
version, `20261101/`, or the image files themselves, named like the URL's file-name
template, as Fedora's images folder lists them), else the versions
in the checksum file's names that match the URL's file-name template as a whole name
(`-2211.qcow2` never matches `-2211.qcow2.xz`). The newest candidate in natural order
whose checksum file lists the image is the build; a candidate whose folder does not
(yet) list it is passed over with a note (a build still being published), at most
PASS_OVER of them. A URL without `{version}` is a fixed "latest" URL: its version is
the file's Last-Modified date. With `signature:` the checksum file is used only once
its signature verifies against the committed keyring.
"""

from __future__ import annotations

import re

from reconciler.errors import SignatureInvalid, UpstreamError
from reconciler.upstream import checksums, index, signature
from reconciler.upstream.fetch import Fetcher
from reconciler.upstream.model import Build, Watch
from reconciler.upstream.versions import (
    DEFAULT_VERSION,
    PLACEHOLDER,
    build_date,
    file_name,
    fill,
    name_pattern,
    newest_first,
)

PASS_OVER = 3  # newest candidates tried before giving up on finding a listed build


def resolve(watch: Watch, fetcher: Fetcher) -> Build:
    """The newest build (see the module docstring); UpstreamError when there is none."""
    if PLACEHOLDER not in watch.url:
        return _fixed(watch, fetcher)
    pattern = watch.version or DEFAULT_VERSION
    template = file_name(watch.url)
    # Without an index the one checksum file lists every build: read (and verified)
    # once, for the candidates and for the build's digest.
    fixed: tuple[dict[str, tuple[checksums.Digest, ...]], bool] | None = None
    if watch.index is not None:
        links = index.names(fetcher.get(watch.index).text)
        whole, named = re.compile(pattern), name_pattern(template, pattern)
        candidates = [n for n in links if whole.fullmatch(n)]
        candidates += [m["version"] for n in links if (m := named.fullmatch(n))]
        where = (
            f"{watch.index} links no version matching {pattern!r} "
            f"nor a file named like {template!r}"
        )
    else:
        fixed = _checksums(watch, fetcher, watch.checksums)
        names = name_pattern(template, pattern)
        candidates = [m["version"] for name in fixed[0] if (m := names.fullmatch(name))]
        where = f"{watch.checksums} lists no file named like {template!r}"
    if not candidates:
        raise UpstreamError(f"no candidate version: {where}")
    notes: list[str] = []
    failures: list[str] = []
    for version in newest_first(candidates)[:PASS_OVER]:
        sums_url = fill(watch.checksums, version)
        name = fill(template, version)
        try:
            listed, signed = fixed or _checksums(watch, fetcher, sums_url, version)
        except SignatureInvalid:
            raise  # never passed over: an older build instead would hide the tampering
        except UpstreamError as err:
            failures.append(str(err))
            notes.append(f"version {version} passed over: {err}")
            continue
        digests = checksums.usable(listed, name)
        if not digests:
            failures.append(f"{sums_url} lists no sha256 or sha512 for {name}")
            notes.append(f"version {version} passed over: {sums_url} does not list {name}")
            continue
        return Build(
            version, fill(watch.url, version), digests, sums_url,
            build_date(version), signed, tuple(notes),
        )  # fmt: skip
    raise UpstreamError(f"no build found: {'; '.join(failures)}")


def _fixed(watch: Watch, fetcher: Fetcher) -> Build:
    """A fixed URL (Rocky's `...latest...qcow2`): the file's date is its version."""
    head = fetcher.head(watch.url)
    if head.last_modified is None:
        raise UpstreamError(
            f"{watch.url}: no Last-Modified header: a URL without {{version}} takes its "
            "version from it"
        )
    listed, signed = _checksums(watch, fetcher, watch.checksums)
    name = file_name(watch.url)
    digests = checksums.usable(listed, name)
    if not digests:
        raise UpstreamError(f"{watch.checksums} lists no sha256 or sha512 for {name}")
    version = head.last_modified
    return Build(version, watch.url, digests, watch.checksums, build_date(version), signed)


def _sig_url(watch: Watch, version: str | None) -> str | None:
    if watch.signature in (None, "clearsigned"):
        return None
    assert watch.signature is not None
    return fill(watch.signature, version) if version is not None else watch.signature


def _checksums(
    watch: Watch, fetcher: Fetcher, url: str, version: str | None = None
) -> tuple[dict[str, tuple[checksums.Digest, ...]], bool]:
    """The checksum file's listing, and whether its signature was verified; with a
    signature asked for, a file that does not verify raises SignatureInvalid."""
    body = fetcher.get(url).body
    if watch.signature is None:
        return checksums.parse(body.decode("utf-8", errors="replace")), False
    assert watch.keyring is not None
    if watch.signature == "clearsigned":
        if not checksums.is_clearsigned(body.decode("utf-8", errors="replace")):
            raise SignatureInvalid(f"{url} is not clear-signed")
        try:
            verified = signature.verify(watch.keyring, body, None)
        except SignatureInvalid as err:
            raise SignatureInvalid(f"{url}: {err}") from None
    else:
        sig_url = _sig_url(watch, version)
        assert sig_url is not None
        try:
            verified = signature.verify(watch.keyring, body, fetcher.get(sig_url).body)
        except SignatureInvalid as err:
            raise SignatureInvalid(f"{url} (signature {sig_url}): {err}") from None
    return checksums.parse(verified.decode("utf-8", errors="replace")), True
