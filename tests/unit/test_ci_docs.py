"""The CI recipes and the pre-commit hook use only commands and flags the CLI has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from ruamel.yaml import YAML

from reconciler.cli.main import app
from tests.conftest import ROOT

RECIPES = [*sorted((ROOT / "docs" / "ci").glob("*.yml")), ROOT / ".pre-commit-hooks.yaml"]


def _invocations(path: Path) -> list[list[str]]:
    text = path.read_text()
    YAML(typ="safe").load(text)  # the recipe is valid YAML
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    joined = re.sub(r"\n\s+(?=--|\"\$)", " ", code)  # folded `>` blocks
    found = []
    for match in re.finditer(r"(?<![\w/.-])reconciler ([a-z]+[^\n|>;&]*)", joined):
        words = [w.strip("'\"") for w in match.group(1).split(" #")[0].split()]
        found.append(words)
    return found


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipes_use_documented_commands_and_flags(path: Path) -> None:
    group = typer.main.get_command(app)
    invocations = _invocations(path)
    assert invocations, f"no reconciler command found in {path}"
    for words in invocations:
        command = group.commands.get(words[0])  # type: ignore[attr-defined]
        assert command is not None, f"{path.name}: unknown command {words[0]!r}"
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        known |= {opt for param in command.params for opt in getattr(param, "secondary_opts", [])}
        for word in words[1:]:
            flag = word.split("=")[0]
            if flag.startswith("--"):
                assert flag in known, f"{path.name}: `reconciler {words[0]}` has no {flag}"


@pytest.mark.parametrize("name", ["github-actions-bump.yml", "gitlab-ci-bump.yml"])
def test_the_bump_recipes_write_a_markdown_body_on_a_schedule(name: str) -> None:
    path = ROOT / "docs" / "ci" / name
    calls = _invocations(path)
    bump = [words for words in calls if words[0] == "bump"]
    assert bump and "--format" in bump[0] and "markdown" in bump[0], calls
    text = path.read_text()
    assert "schedule" in text and '"$code" = 0' in text  # exit 0: nothing to open
