"""Checksum files' signatures, verified with GnuPG's `gpgv` as apt does. Process and
file I/O.

`gpgv --keyring FILE` checks a signature against the keyring given and nothing else: no
user keyring is read or written (a temporary home folder each time), no key server is
asked, and trust is whatever the committed keyring holds. An ASCII-armored keyring
(`gpg --export --armor`) is de-armored here first, since gpgv reads binary keyrings
only. For a clear-signed file the text used is the one gpgv writes out as verified
(`--output`), never the file's own text, so nothing outside the signature is read.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from pathlib import Path

from reconciler.errors import SignatureInvalid, UpstreamError

ARMOR_BEGIN = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
TIMEOUT = 60.0


def dearmor(data: bytes) -> bytes:
    """The binary packets of an ASCII-armored key block (RFC 4880 section 6.2); binary
    data is returned as it is."""
    if ARMOR_BEGIN not in data:
        return data
    out = b""
    for block in data.split(ARMOR_BEGIN)[1:]:
        lines = block.split(b"-----END", 1)[0].replace(b"\r\n", b"\n").split(b"\n")[1:]
        headers = 0
        while headers < len(lines) and lines[headers].strip() and b":" in lines[headers]:
            headers += 1  # armor headers (Comment:, Version:) up to the blank line
        body = []
        for line in lines[headers:]:
            if line.startswith(b"="):  # the CRC-24 line
                break
            body.append(line.strip())
        out += base64.b64decode(b"".join(body), validate=False)
    return out


def gpgv() -> str:
    found = shutil.which("gpgv")
    if found is None:
        raise UpstreamError(
            "gpgv is not installed: it verifies upstream signatures (Debian package gpgv)"
        )
    return found


def verify(keyring: Path, signed: bytes, signature: bytes | None) -> bytes:
    """The verified text: `signed` itself for a detached `signature`, else the text of
    the clear-signed message `signed`. SignatureInvalid when it does not verify."""
    try:
        key_bytes = dearmor(keyring.read_bytes())
    except OSError as err:
        raise UpstreamError(f"{keyring}: cannot read the keyring: {err.strerror}") from None
    except ValueError:
        raise UpstreamError(f"{keyring}: not a keyring (bad ASCII armor)") from None
    with tempfile.TemporaryDirectory(prefix="reconciler-gpgv-") as folder:
        home = Path(folder)
        home.chmod(0o700)
        (home / "keyring.gpg").write_bytes(key_bytes)
        (home / "data").write_bytes(signed)
        command = [gpgv(), "--homedir", str(home), "--keyring", str(home / "keyring.gpg")]
        if signature is not None:
            (home / "data.sig").write_bytes(signature)
            command += [str(home / "data.sig"), str(home / "data")]
        else:
            command += ["--output", str(home / "verified"), str(home / "data")]
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise UpstreamError("gpgv did not finish in time") from None
        if done.returncode != 0:
            raise SignatureInvalid(f"the signature does not verify: {_reason(done.stderr)}")
        if signature is not None:
            return signed
        return (home / "verified").read_bytes()


def _reason(stderr: bytes) -> str:
    """gpgv's own words for a failure, its most telling line."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    lines = [line.removeprefix("gpgv: ") for line in lines if line]
    for hint in ("BAD signature", "No public key", "no valid OpenPGP data", "not a detached"):
        for line in lines:
            if hint in line:
                return line
    return lines[-1] if lines else "gpgv failed"
