"""OpenPGP keys made for a test with GnuPG (`gpg --quick-gen-key`, ed25519, no
passphrase) in a temporary GNUPGHOME: the public keyring a manifest commits, and
detached and clear signatures as distributions make them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class Signer:
    def __init__(self, name: str) -> None:
        if shutil.which("gpg") is None:
            raise RuntimeError("gpg is needed to make test keys (Debian package gnupg)")
        self.home = Path(tempfile.mkdtemp(prefix="reconciler-test-gpg-"))
        self.home.chmod(0o700)
        self.name = name
        self._gpg("--quick-gen-key", f"{name} <{name}@upstream.test>", "ed25519", "sign", "never")

    def _gpg(self, *args: str, data: bytes | None = None) -> bytes:
        done = subprocess.run(
            ["gpg", "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "", *args],
            input=data,
            capture_output=True,
            env={**os.environ, "GNUPGHOME": str(self.home)},
            check=True,
            timeout=120,
        )
        return done.stdout

    def public_key(self, armor: bool = False) -> bytes:
        return self._gpg("--export", *(["--armor"] if armor else []), self.name)

    def detach_sign(self, data: bytes) -> bytes:
        return self._gpg("--detach-sign", "--output", "-", data=data)

    def clearsign(self, data: bytes) -> bytes:
        return self._gpg("--clearsign", "--output", "-", data=data)

    def close(self) -> None:
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"],
            env={**os.environ, "GNUPGHOME": str(self.home)},
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.home, ignore_errors=True)
