"""The distribution as a user gets it: `python -m build` makes the sdist and, from it, the
wheel; the wheel goes into an empty venv without the sandbox or dev extras; from that
venv `reconciler --version`, `validate` on the example manifests and `plan` against the
running sandbox. A runtime dependency missing from pyproject.toml, or a data file missing
from the wheel, fails here rather than on a user's machine.

Kept short: the build and the installation of the dependencies (from pip's cache, which
`make` filled) run side by side, then the wheel goes in with --no-deps and `pip check`
confirms that what it declares is installed; nothing is byte-compiled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Mapping
from pathlib import Path

from reconciler import __version__
from tests.conftest import ROOT, SUMMARY, Sandbox

EXAMPLES = ROOT / "manifests" / "examples"
# None of the sandbox's or the tests' packages; click comes with Flask (with Keystone),
# and the CLI must not need it.
NOT_INSTALLED = ("glance", "keystone", "gunicorn", "pytest", "click")
PROBE = (
    "import importlib.util as u, reconciler; "
    f"print(reconciler.__file__, [m for m in {NOT_INSTALLED!r} if u.find_spec(m)])"
)


def clean_env(base: Mapping[str, str]) -> dict[str, str]:
    """Nothing of this checkout or its venv leaks into the new venv's processes."""
    env = {k: v for k, v in base.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_NO_INPUT"] = "1"
    return env


def copy_source(target: Path) -> Path:
    """What the sdist is made of, copied: the build writes its egg-info beside
    pyproject.toml, and two test runs on one checkout must not share it."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("reconciler", "schemas"):
        shutil.copytree(ROOT / folder, target / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md", "MANIFEST.in"):
        shutil.copy2(ROOT / name, target / name)
    return target


def sh(
    *cmd: str | Path, env: Mapping[str, str], cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in cmd],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{done.args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_wheel_installs_and_runs_without_extras(
    sandbox: Sandbox, tmp_path: Path, unique: str
) -> None:
    started = time.monotonic()
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    python = venv / "bin" / "python"
    env = clean_env(os.environ)
    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    install = [*pip, "install", "-q", "--no-compile", "--disable-pip-version-check"]

    source = copy_source(tmp_path / "source")
    build = subprocess.Popen(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        sh(sys.executable, "-m", "venv", "--without-pip", venv, env=env)
        sh(*install, *requirements, env=env)
        build_log, _ = build.communicate(timeout=300)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert build.returncode == 0, build_log[-3000:]
    built = time.monotonic() - started

    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"glance_reconciler-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert "reconciler/data/glance-image.schema.json" in names
    assert "reconciler/py.typed" in names
    assert not [n for n in names if n.split("/")[0] in ("tests", "benchmarks", "docs")]
    sh(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, env=env)

    sh(*install, "--no-deps", wheel, env=env)
    sh(*pip, "check", env=env)
    location, present = sh(python, "-c", PROBE, env=env, cwd=tmp_path).stdout.split(" ", 1)
    assert Path(location).is_relative_to(venv), location
    assert present.strip() == "[]"

    user_env = clean_env(sandbox.env())

    def reconciler(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return sh(venv / "bin" / "reconciler", *args, env=user_env, cwd=tmp_path, timeout=120)

    assert reconciler("--version").stdout == f"reconciler {__version__}\n"
    assert "valid:" in reconciler("validate", EXAMPLES).stderr
    # plan: an image of this test's own (the examples' images are other tests' to change)
    manifest = tmp_path / "images.yaml"
    manifest.write_text(
        f"version: 1\nimages:\n  - name: {unique}-wheel\n    tags: [wheel]\n"
        "    properties: {os_distro: debian, os_version: '12'}\n"
    )
    reconciler("plan", "--out", tmp_path / "plan.json", manifest)
    plan = (tmp_path / "plan.json").read_text()
    assert f'"tool_version": "{__version__}"' in plan
    assert f'"name": "{unique}-wheel", "id": null, "action": "create"' in plan
    SUMMARY.append(
        f"wheel install test: build + dependencies {built:.0f} s, "
        f"all {time.monotonic() - started:.0f} s"
    )
