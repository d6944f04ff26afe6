"""Version templates and natural version order. Pure.

A `watch` URL template names a build's file with `{version}` in it; the version is what
that placeholder matches (the `version:` regular expression, DEFAULT_VERSION when left
out). Candidates are compared in natural order: runs of digits as numbers, the rest as
text, so `v1.11.10` > `v1.11.9` and `20261124.0` > `20261103.1`, never by string or by
their order on a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from urllib.parse import urlsplit

PLACEHOLDER = "{version}"
# Dotted, dashed or underscored runs of digits, with an optional leading v: 20261101,
# 20261101-1234 (Debian), 20261103.0 (CentOS Stream), 9.5-20241120 (AlmaLinux),
# v1.11.3 (GitHub releases). Letters are left out on purpose: `latest`, `current`,
# `-ext4-` variants and release candidates are not builds to move to by default.
DEFAULT_VERSION = r"v?[0-9]+(?:[._-][0-9]+)*"
_TOKEN = re.compile(r"[0-9]+|[^0-9]+")
_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})([01][0-9])([0-3][0-9])(?![0-9])")


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """A sort key: digits compare as numbers, other runs as text; each token keeps its
    text, so two different versions never compare equal (a total order)."""
    return tuple(
        (1, int(token), token) if token.isdigit() else (0, 0, token)
        for token in _TOKEN.findall(text)
    )


def newest_first(versions: Iterable[str]) -> list[str]:
    return sorted(set(versions), key=natural_key, reverse=True)


def fill(template: str, version: str) -> str:
    return template.replace(PLACEHOLDER, version)


def file_name(url: str) -> str:
    """The last segment of a URL's path (the file name a checksum file lists)."""
    path = urlsplit(url).path if "://" in url else url
    return path.rstrip("/").rsplit("/", 1)[-1]


def name_pattern(template_name: str, version: str = DEFAULT_VERSION) -> re.Pattern[str]:
    """A whole-name pattern for a file-name template: the first {version} captures, any
    other must be the same text."""
    parts = template_name.split(PLACEHOLDER)
    pattern = re.escape(parts[0])
    for number, part in enumerate(parts[1:]):
        pattern += f"(?P<version>{version})" if number == 0 else "(?P=version)"
        pattern += re.escape(part)
    return re.compile(pattern)


def build_date(version: str) -> str | None:
    """The build date a version holds (its first YYYYMMDD run), as YYYY-MM-DD."""
    for match in _DATE.finditer(version):
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
        return day.isoformat()
    return None


def is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)


def watch_problems(
    url: str,
    checksums: str,
    index: str | None,
    version: str | None,
    signature: str | None,
    keyring: str | None,
) -> list[tuple[str, str]]:
    """(field of `watch:`, message) for a block that cannot work, files aside."""
    problems: list[tuple[str, str]] = []
    for field, value in (("url", url), ("checksums", checksums), ("index", index)):
        if value is not None and not is_http(value):
            problems.append((field, f"{field} is an http(s) URL (template)"))
    if signature not in (None, "clearsigned") and not is_http(signature):
        problems.append(("signature", "signature is an http(s) URL template or `clearsigned`"))
    if version is not None:
        try:
            compiled = re.compile(version)
        except re.error as err:
            problems.append(("version", f"not a regular expression: {err}"))
        else:
            if compiled.groupindex:
                problems.append(("version", "use (?:...) groups: named groups are not allowed"))
            if compiled.match(""):
                problems.append(("version", "the pattern matches the empty text"))
    if index is not None and PLACEHOLDER in index:
        problems.append(("index", "the index lists the versions: it cannot contain {version}"))
    versioned = PLACEHOLDER in url
    if not versioned:
        if index is not None:
            problems.append(
                ("index", "url has no {version}: a fixed URL has no candidates to list")
            )
        if version is not None:
            problems.append(("version", "url has no {version}: there is nothing to match"))
        if PLACEHOLDER in checksums:
            problems.append(("checksums", "{version} here needs {version} in url"))
    elif index is None:
        if PLACEHOLDER not in file_name(url):
            problems.append(
                (
                    "url",
                    "without index, the candidates are the checksum file's names: the "
                    "file name must contain {version} (or give index:)",
                )
            )
        for name, value in (("checksums", checksums), ("signature", signature)):
            if value is not None and PLACEHOLDER in value:
                problems.append(
                    (name, "without index, the checksum file is one fixed URL listing every build")
                )
    if (signature is None) != (keyring is None):
        missing = "keyring" if keyring is None else "signature"
        problems.append((missing, f"signature and keyring go together: {missing} is missing"))
    return problems
