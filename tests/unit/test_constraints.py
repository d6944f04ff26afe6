"""The constraints file (issue 26, 13) agrees with pyproject.toml: every distribution
the package, its sandbox and its dev extras require is pinned there, at a version the
range allows; the Makefile installs with it."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT

CONSTRAINTS = ROOT / "constraints.txt"


def pins(text: str) -> dict[str, Version]:
    found: dict[str, Version] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"constraints.txt:{number}: not NAME==VERSION: {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in found, f"constraints.txt:{number}: {name} pinned twice"
        found[name] = Version(match.group(2))
    return found


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    listed = [*project["dependencies"], *extras["sandbox"], *extras["dev"]]
    return [Requirement(item) for item in listed]


def disagreements(pinned: dict[str, Version], required: list[Requirement]) -> list[str]:
    found = []
    for requirement in required:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            found.append(f"{requirement}: not in constraints.txt")
        elif not requirement.specifier.contains(pinned[name], prereleases=True):
            found.append(f"{requirement}: constraints.txt pins {pinned[name]}")
    return found


def test_pyproject_and_the_constraints_agree() -> None:
    pinned = pins(CONSTRAINTS.read_text())
    assert disagreements(pinned, requirements()) == []
    assert canonicalize_name("glance-reconciler") not in pinned  # the package itself: never


def test_a_disagreement_is_found() -> None:
    """The check itself: a pin outside the range, and a requirement with no pin."""
    pinned = {"pydantic": Version("3.0.0")}
    found = disagreements(pinned, [Requirement("pydantic>=2.6,<3"), Requirement("rich>=13")])
    assert found == [
        "pydantic<3,>=2.6: constraints.txt pins 3.0.0",
        "rich>=13: not in constraints.txt",
    ]


def test_every_install_of_the_makefile_uses_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if "pip install" in line]
    installs += [line.strip() for line in makefile.splitlines() if "$(PIP_INSTALL)" in line]
    project = [line for line in installs if "-e '." in line or "$(PIP_INSTALL)" in line]
    assert project and all("$(PIP_INSTALL)" in line for line in project), project
    assert "PIP_INSTALL := $(BIN)/pip install -q -c $(CONSTRAINTS)" in makefile
    # the refresh itself installs without them (the newest releases); the faults venv
    # pins mitmproxy, and the OIM venv (Python >= 3.12) openstack-image-manager, on
    # their own
    unconstrained = [line for line in installs if "pip install" in line and "-c" not in line]
    pinned_alone = ("CONSTRAINTS_VENV", "mitmproxy==", "openstack-image-manager==")
    assert all(any(p in line for p in pinned_alone) for line in unconstrained), unconstrained
