"""TLS: a second sandbox with Keystone and Glance serving HTTPS (gunicorn, a CA made for
it). The tool verifies by default, honours `cacert` from clouds.yaml and --os-cacert,
refuses a wrong CA with one clear line, and `--insecure` warns loudly."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from reconciler.sandbox import manager
from reconciler.sandbox.tls import make_ca
from tests.conftest import ROOT
from tests.sandbox.helpers import reconciler


@pytest.fixture(scope="module")
def tls_clouds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = ROOT / ".sandbox-tls"
    result = manager.up(root, tls=True)
    assert result.state.keystone_url.startswith("https://")
    yield result.clouds_file
    manager.down(root, purge=True)


def _variant(clouds: Path, folder: Path, cacert: str | None) -> Path:
    """The same clouds.yaml with another (or no) cacert."""
    yaml = YAML(typ="safe")
    data = yaml.load(clouds.read_text())
    for entry in data["clouds"].values():
        entry.pop("cacert", None)
        if cacert is not None:
            entry["cacert"] = cacert
    path = folder / f"clouds-{'none' if cacert is None else Path(cacert).stem}.yaml"
    with path.open("w") as out:
        yaml.dump(data, out)
    return path


def _env(clouds: Path) -> dict[str, str]:
    return {"OS_CLIENT_CONFIG_FILE": str(clouds), "OS_CLOUD": "sandbox", "PATH": "/usr/bin"}


def _plan(clouds: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return reconciler(_env(clouds), "plan", *extra, str(ROOT / "manifests/examples"), timeout=120)


def test_tls_verified_with_the_sandbox_ca(tls_clouds: Path) -> None:
    done = _plan(tls_clouds)
    assert done.returncode == 0, done.stderr
    assert "Target: cloud sandbox, region RegionOne" in done.stdout
    assert "https://" not in done.stderr and "WARNING" not in done.stderr


def test_wrong_or_missing_ca_is_refused_with_one_line(tls_clouds: Path, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(make_ca("some other CA")[0])
    for clouds in (
        _variant(tls_clouds, tmp_path, str(other_ca)),
        _variant(tls_clouds, tmp_path, None),
    ):
        done = _plan(clouds)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("error: TLS: certificate verify failed"), lines[0]
        assert "--os-cacert" in lines[0] and "Traceback" not in done.stderr
    # --os-cacert names the right CA on the command line.
    ca = YAML(typ="safe").load(tls_clouds.read_text())["clouds"]["sandbox"]["cacert"]
    fixed = _plan(_variant(tls_clouds, tmp_path, None), "--os-cacert", ca)
    assert fixed.returncode == 0, fixed.stderr


def test_insecure_works_and_warns_loudly(tls_clouds: Path, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(make_ca("some other CA")[0])
    done = _plan(_variant(tls_clouds, tmp_path, str(other_ca)), "--insecure")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("WARNING: TLS certificates are NOT verified (--insecure)")
    quiet = reconciler(
        _env(tls_clouds), "--quiet", "plan", "--insecure", str(ROOT / "manifests/examples")
    )
    assert "NOT verified" in quiet.stderr  # --quiet does not silence it
