"""Checksum files as upstreams publish them, parsed. Pure.

Forms read (each seen on a distribution's mirror):
- GNU coreutils: `HEX  name` (text mode) and `HEX *name` (binary mode: Ubuntu's
  SHA256SUMS), Debian's SHA512SUMS, AlmaLinux's CHECKSUM, GitHub projects'
  sha512sum.txt; the algorithm follows the digest's length.
- BSD / `--tag`: `SHA256 (name) = HEX` (CentOS Stream's and Fedora's CHECKSUM, Rocky's
  .CHECKSUM), sha256 or sha512 named in the line.
- Comment lines (`# name: N bytes`, Flatcar's `# SHA512 HASH` section heads), blank
  lines, CRLF line ends, a byte-order mark.
- A PGP clear-signed file (Fedora): the text between the armor lines, dash-escaping
  undone. Whether the signature verifies is `signature.py`'s business; a file this
  module reads unverified is only ever used when no signature was asked for.
Names may carry a `./` or a folder prefix; lookups go by the file name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Digest length in hex digits -> algorithm (GNU lines name none).
BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 96: "sha384", 128: "sha512"}
# Which of several digests listed for one file a build is held to.
PREFERENCE = ("sha512", "sha256", "md5")
_GNU = re.compile(r"^(?P<hex>[0-9a-fA-F]{32,128}) [ *]?(?P<name>\S.*)$")
_BSD = re.compile(
    r"^(?P<algo>MD5|SHA1|SHA224|SHA256|SHA384|SHA512)\s*\((?P<name>.+)\)\s*=\s*(?P<hex>[0-9a-fA-F]+)$",
    re.IGNORECASE,
)
SIGNED_BEGIN = "-----BEGIN PGP SIGNED MESSAGE-----"
SIGNATURE_BEGIN = "-----BEGIN PGP SIGNATURE-----"


@dataclass(frozen=True)
class Digest:
    algorithm: str  # md5 | sha1 | sha256 | sha384 | sha512
    hex: str  # lower case

    @property
    def checksum(self) -> str:
        """As manifests write it: `algorithm:hex`."""
        return f"{self.algorithm}:{self.hex}"


def is_clearsigned(text: str) -> bool:
    return text.lstrip("\ufeff").lstrip().startswith(SIGNED_BEGIN)


def clearsigned_body(text: str) -> str:
    """The signed text of a clear-signed message (RFC 4880 section 7): after the armor
    header lines and the blank line, up to the signature, dash-escaped lines restored."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == SIGNED_BEGIN)
    except StopIteration:
        return text
    body_at = start + 1
    while body_at < len(lines) and lines[body_at].strip():  # Hash: headers
        body_at += 1
    body = []
    for line in lines[body_at + 1 :]:
        if line.strip() == SIGNATURE_BEGIN:
            break
        body.append(line[2:] if line.startswith("- ") else line)
    return "\n".join(body)


def parse(text: str) -> dict[str, tuple[Digest, ...]]:
    """Every file the text lists, by file name, with the digests given for it (in the
    order the file gives them). Lines of no known form are passed over: upstream files
    mix in comments and headers."""
    if is_clearsigned(text):
        text = clearsigned_body(text)
    found: dict[str, list[Digest]] = {}
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        digest: Digest | None = None
        bsd = _BSD.match(line)
        if bsd is not None:
            algorithm = bsd["algo"].lower()
            value = bsd["hex"].lower()
            if BY_LENGTH.get(len(value)) == algorithm:
                digest, name = Digest(algorithm, value), bsd["name"]
        else:
            gnu = _GNU.match(line)
            if gnu is not None and len(gnu["hex"]) in BY_LENGTH:
                digest = Digest(BY_LENGTH[len(gnu["hex"])], gnu["hex"].lower())
                name = gnu["name"]
        if digest is None:
            continue
        key = base_name(name)
        if digest not in found.setdefault(key, []):
            found[key].append(digest)
    return {name: tuple(digests) for name, digests in found.items()}


def base_name(name: str) -> str:
    return name.strip().replace("\\", "/").rsplit("/", 1)[-1]


def usable(listed: Mapping[str, tuple[Digest, ...]], name: str) -> tuple[str, ...]:
    """The digests the file lists for `name` that a manifest can declare, strongest
    first (sha512, sha256, md5), as `algorithm:hex`; () when it lists none."""
    digests = listed.get(base_name(name), ())
    return tuple(
        digest.checksum
        for algorithm in PREFERENCE
        for digest in digests
        if digest.algorithm == algorithm
    )
