"""Usage errors read like git's: one `error:` line naming the problem, the command's usage
line, exit 1, never "internal error"; and the shell completion scripts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from reconciler.cli.main import run
from tests.conftest import ROOT


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    """Run the CLI in-process; the one `error:` line and the usage line."""
    code = run(list(argv))
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert "internal error" not in err
    assert out == ""
    lines = err.splitlines()
    assert [line for line in lines if line.startswith("error:")] == [lines[0]], err
    assert lines[1].startswith("Usage: reconciler"), err
    return lines[0], lines[1]


def test_unknown_option(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "validate", "--nosuch", "x.yaml")
    assert error == "error: unknown option --nosuch"
    assert usage.startswith("Usage: reconciler validate [OPTIONS]")


def test_unknown_option_names_the_close_ones(capsys: pytest.CaptureFixture[str]) -> None:
    error, _ = usage_error(capsys, "plan", "--formt", "json", "x.yaml")
    assert error == "error: unknown option --formt (did you mean --format?)"


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "plna")
    assert error == "error: unknown command 'plna' (did you mean 'plan'?)"
    assert usage.startswith("Usage: reconciler [OPTIONS] COMMAND")


def test_unknown_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "sandbox", "stauts")
    assert error == "error: unknown command 'stauts' (did you mean 'status'?)"
    assert usage.startswith("Usage: reconciler sandbox [OPTIONS] COMMAND")


def test_unknown_option_of_a_subcommand_of_a_lazy_group(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error, usage = usage_error(capsys, "sandbox", "up", "--nosuch")
    assert error == "error: unknown option --nosuch"
    assert usage.startswith("Usage: reconciler sandbox up [OPTIONS]")


def test_unknown_command_with_nothing_close(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "sandbox", "zzz")
    assert error == "error: unknown command 'zzz'"
    assert usage.startswith("Usage: reconciler sandbox [OPTIONS] COMMAND")


def test_unknown_option_before_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "--nosuch", "plan")
    assert error == "error: unknown option --nosuch"
    assert usage.startswith("Usage: reconciler [OPTIONS] COMMAND")


def test_bad_enum_value(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "plan", "--format", "xml", "x.yaml")
    assert error == "error: invalid value for --format: 'xml' (choose from text, json, markdown)"
    assert usage.startswith("Usage: reconciler plan [OPTIONS]")


def test_bad_integer(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "apply", "--parallelism", "abc", "plan.json")
    assert error == "error: invalid value for --parallelism: 'abc' is not an integer"
    assert usage.startswith("Usage: reconciler apply [OPTIONS]")


def test_integer_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    error, _ = usage_error(capsys, "apply", "-p", "0", "plan.json")
    assert error == (
        "error: invalid value for --parallelism: '0' is out of range (must be at least 1)"
    )


def test_missing_argument(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "plan")
    assert error == "error: missing argument PATHS"
    assert usage.startswith("Usage: reconciler plan")


def test_option_without_its_value_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    # click raises this one without a context; the usage line still is plan's
    error, usage = usage_error(capsys, "--quiet", "plan", "--format")
    assert error == "error: option '--format' requires an argument"
    assert usage.startswith("Usage: reconciler plan [OPTIONS]")


def test_conflicting_global_flags(capsys: pytest.CaptureFixture[str]) -> None:
    error, usage = usage_error(capsys, "--quiet", "--debug", "validate", "x.yaml")
    assert error == "error: --quiet cannot be combined with --verbose or --debug"
    assert usage.startswith("Usage: reconciler [OPTIONS] COMMAND")


def test_from_the_command_line() -> None:
    """The installed entry point's path (main(), sys.argv), in its own process."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "--nosuch", "x.yaml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: unknown option --nosuch",
        "Usage: reconciler validate [OPTIONS] PATHS...",
        "See 'reconciler validate --help'.",
    ]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script(capsys: pytest.CaptureFixture[str], shell: str) -> None:
    assert run(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "_RECONCILER_COMPLETE=complete_" + shell in script
    assert "reconciler" in script.replace("_RECONCILER_COMPLETE", "")


def test_completion_answers_the_shell() -> None:
    """What the bash script asks (`COMP_WORDS`, `_RECONCILER_COMPLETE`), answered by the
    CLI: commands, then an option's choices."""

    def complete(words: str, cword: int) -> list[str]:
        env = dict(
            os.environ,
            _RECONCILER_COMPLETE="complete_bash",
            COMP_WORDS=words,
            COMP_CWORD=str(cword),
        )
        done = subprocess.run(
            [sys.executable, "-m", "reconciler"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("reconciler pl", 1) == ["plan"]
    assert complete("reconciler plan --format ", 3) == ["text", "json", "markdown"]


def test_import_visibility_is_one_of_glances(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 26, 6: `--visibility secret` was taken and then matched no image."""
    error, usage = usage_error(capsys, "import", "--visibility", "secret")
    assert error == (
        "error: invalid value for --visibility: 'secret' "
        "(choose from public, private, shared, community)"
    )
    assert usage.startswith("Usage: reconciler import [OPTIONS]")
