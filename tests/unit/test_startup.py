"""Start-up stays short (issue 16): `--version` and `--help` import typer and nothing
heavy, and a command imports what it uses, not the other commands. Checked on the
modules a fresh process imports (`python -X importtime`), not on time, which varies
from machine to machine; `python -m benchmarks.startup` measures the time."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import pytest
import typer

from reconciler import __version__
from reconciler.cli.main import COMMANDS, LazyGroup, app, load_command
from tests.conftest import ROOT

# What no start-up path may import: the cloud stack, the models and the views, the
# writer and the sandbox (a command imports its own share when it runs).
HEAVY = (
    "openstack",
    "keystoneauth1",
    "requests",
    "urllib3",
    "osprofiler",
    "pydantic",
    "pydantic_core",
    "rich",
    "ruamel",
    "jsonpatch",
    "deepdiff",
    "glance",
    "keystone",
    "reconciler.apply",
    "reconciler.sandbox",
)
# What `validate` (offline) has no use for: the cloud client stack, the writer, the
# sandbox.
CLOUD_CLIENT = (
    "openstack",
    "keystoneauth1",
    "requests",
    "glance",
    "keystone",
    "reconciler.apply",
    "reconciler.sandbox",
    "reconciler.cloud.glance",
    "reconciler.app.pipeline",
)
# The package's modules `--version` and `--help` may import; a new one here is a
# decision, not an accident.
LIGHT = {
    "reconciler",
    "reconciler.cli",
    "reconciler.cli.entry",
    "reconciler.cli.main",
    "reconciler.cli.usage_errors",
    "reconciler.cli.completion_cmd",
    "reconciler.errors",
    "reconciler.runtime",
    "reconciler.runtime.gcpause",
}


def imported(*argv: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run `python -X importtime -m reconciler ARGV`; its result and every module the
    process imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_RECONCILER_COMPLETE")}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reconciler", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    modules = [
        line.split("|")[2].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    ]
    assert modules, done.stderr
    return done, modules


def heavy(modules: list[str], names: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], [], ["--quiet", "--version"]],
    ids=lambda argv: " ".join(argv) or "no-arguments",
)
def test_version_and_help_import_nothing_heavy(argv: list[str]) -> None:
    done, modules = imported(*argv)
    assert done.returncode == (1 if not argv else 0), done.stderr
    assert heavy(modules) == []
    ours = {m for m in modules if m == "reconciler" or m.startswith("reconciler.")}
    assert ours <= LIGHT, f"--version/--help now import {sorted(ours - LIGHT)}"


def test_version_alone_is_answered_before_typer_is_imported() -> None:
    done, modules = imported("--version")
    assert done.stdout == f"reconciler {__version__}\n"
    assert [m for m in modules if m == "typer" or m.startswith(("typer.", "reconciler.cli."))] == [
        "reconciler.cli.entry"
    ]


def test_help_lists_every_command() -> None:
    done, _ = imported("--help")
    assert done.stdout.startswith("Usage: reconciler [OPTIONS] COMMAND [ARGS]...")
    listed = done.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]  # the epilog after
    names = [line.split()[0] for line in listed.splitlines() if line[:4].strip()]
    assert names == list(COMMANDS)
    assert "--install-completion" in done.stdout and "--version" in done.stdout


def test_validate_imports_no_cloud_client_and_no_other_command() -> None:
    done, modules = imported("validate", "manifests/examples/base-images.yaml")
    assert done.returncode == 0, done.stderr
    own = {COMMANDS["validate"].module, COMMANDS["completion"].module}  # main has PROG
    others = tuple(spec.module for spec in COMMANDS.values() if spec.module not in own)
    assert heavy(modules, (*CLOUD_CLIENT, *others)) == []


def _first_paragraph(text: str | None) -> str:
    return " ".join(inspect.cleandoc(text or "").split("\n\n")[0].split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_table_says_what_the_command_says(name: str) -> None:
    """The one-line help `--help` lists without importing a command is the first
    paragraph of that command's own help."""
    command = load_command(name)
    assert command.name == name
    assert COMMANDS[name].help == _first_paragraph(command.help)


def test_the_root_group_resolves_commands_on_lookup() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    assert list(group.commands) == list(COMMANDS)
    assert "plan" in group.commands and "nosuch" not in group.commands
    plan = group.commands["plan"]
    assert "--format" in {opt for param in plan.params for opt in getattr(param, "opts", [])}
    sandbox = group.commands["sandbox"]
    assert sorted(sandbox.commands) == ["down", "env", "status", "up"]
