"""Every command's `--help` (issue 26, 3): no Python type names, one usage convention,
every option described, exit codes and an example in each; apply's usage names the plan
file."""

from __future__ import annotations

import re
from typing import Any

import pytest

from reconciler.cli.help_text import HELP
from reconciler.cli.main import COMMANDS, load_command, run


def _paths() -> list[str]:
    """Every command's path: the root's commands and a group's subcommands."""
    found = []
    for name in COMMANDS:
        command = load_command(name)
        found.append(name)
        found += [f"{name} {sub}" for sub in getattr(command, "commands", None) or {}]
    return found


PATHS = _paths()
# typer 0.2x's type column: <bool>, <list[Path]>, <float range>, <str>, <path>, ...
PYTHON_TYPES = re.compile(
    r"<(bool|int|float|str|path|Path|list\[[^\]]*\]|\w+ range)>|list\[|\bNoneType\b"
)
# click's convention: ARG (required), [ARG] (optional), ... for several; no {arg}.
USAGE = re.compile(
    r"^Usage: reconciler(?P<path>( [a-z]+)*) \[OPTIONS\]"
    r"(?P<rest>( (COMMAND \[ARGS\]\.\.\.|[A-Z][A-Z_|]*(\.\.\.)?|\[[A-Z][A-Z_|]*\](\.\.\.)?)))*$"
)


def help_of(capsys: pytest.CaptureFixture[str], path: str) -> str:
    assert run([*path.split(), "--help"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def _command(path: str) -> Any:
    first, *rest = path.split()
    command = load_command(first)
    for word in rest:
        command = command.commands[word]
    return command


def test_every_command_is_covered() -> None:
    assert set(PATHS) == set(HELP), "a command without exit codes and examples, or a stale one"
    assert {"validate", "apply", "sandbox up", "sandbox env"} <= set(PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_help_names_values_not_python_types(capsys: pytest.CaptureFixture[str], path: str) -> None:
    text = help_of(capsys, path)
    assert not PYTHON_TYPES.search(text), PYTHON_TYPES.search(text)
    assert "\x1b[" not in text and "╭" not in text  # click's plain layout, as the root's


@pytest.mark.parametrize("path", PATHS)
def test_usage_lines_follow_one_convention(capsys: pytest.CaptureFixture[str], path: str) -> None:
    usage = help_of(capsys, path).splitlines()[0]
    match = USAGE.match(usage)
    assert match is not None, usage
    assert match.group("path").strip() == path
    assert "{" not in usage


@pytest.mark.parametrize("path", PATHS)
def test_exit_codes_and_an_example(capsys: pytest.CaptureFixture[str], path: str) -> None:
    text = help_of(capsys, path)
    codes = text.split("Exit codes:", 1)[1].split("Examples:", 1)
    assert re.search(r"^\s+0  \S", codes[0], re.M), text
    examples = re.findall(r"^\s+\$ (.+)$", codes[1], re.M)
    assert examples and all("reconciler " + path.split()[0] in e for e in examples), examples


@pytest.mark.parametrize("path", PATHS)
def test_every_option_and_argument_is_described(path: str) -> None:
    for param in _command(path).params:
        assert getattr(param, "help", None), f"{path}: {param.name} has no help"


def test_apply_names_the_plan_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert help_of(capsys, "apply").splitlines()[0] == (
        "Usage: reconciler apply [OPTIONS] PLAN_FILE|PATHS..."
    )
    assert run(["apply"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        "error: missing argument PLAN_FILE|PATHS",
        "Usage: reconciler apply [OPTIONS] PLAN_FILE|PATHS...",
    ]


def test_import_catalog_says_what_import_does_with_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Not "must agree with the manifests' catalog:": import reads no manifests."""
    text = " ".join(help_of(capsys, "import").split())
    assert "--catalog NAME The catalog the written manifests name (catalog:)" in text
    assert "must agree" not in text


def test_the_root_help_gives_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    text = capsys.readouterr().out
    assert "Exit codes" in text and "  2  changes (plan --detailed-exitcode) or drift" in text
    assert not PYTHON_TYPES.search(text)
