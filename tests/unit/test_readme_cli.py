"""The README and `--help` agree (issue 26, 3 and 11): the CLI reference has a row for
every command, naming every option the command has (the cloud options in the paragraph
above it), and every `reconciler COMMAND --option` the README writes exists."""

from __future__ import annotations

import re
from typing import Any

import pytest

from reconciler.cli.help_text import HELP
from reconciler.cli.main import load_command
from reconciler.cli.options import _CLOUD_GROUP
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
CLOUD = {declaration.param_decls[0] for _n, _k, declaration, _f in _CLOUD_GROUP}
SHARED = {"--targets", "--target", "--target-parallelism", "--catalog"}  # the paragraph


def _command(path: str) -> Any:
    first, *rest = path.split()
    command = load_command(first)
    for word in rest:
        command = command.commands[word]
    return command


def _options(path: str) -> set[str]:
    """Every long option, `--help` included; of an on/off pair (`--members/--no-members`)
    the one a user would write, the off one (the other is the default)."""
    found = {"--help"}
    for param in _command(path).params:
        names = param.secondary_opts or param.opts
        found |= {o for o in names if o.startswith("--")}
    return found


def _path_of(words: list[str]) -> str | None:
    """The command path the words start with (`sandbox up`, `plan`), if any."""
    for length in (2, 1):
        path = " ".join(words[:length])
        if path in HELP and (length == 2 or path != "sandbox"):
            return path
    return None


def _reference_rows() -> dict[str, str]:
    """The CLI reference table's first cells, joined per command path."""
    section = README.split("## CLI reference", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for cell in re.findall(r"^\| `reconciler ([^`]+)` \|", section, re.M):
        path = _path_of(cell.split())
        assert path is not None, f"a CLI reference row for no command: {cell}"
        rows[path] = rows.get(path, "") + " " + cell
    return rows


ROWS = _reference_rows()
PARAGRAPH = README.split("## CLI reference", 1)[1].split("| command |", 1)[0]


@pytest.mark.parametrize("path", sorted(p for p in HELP if p != "sandbox"))
def test_the_reference_names_every_option_of_every_command(path: str) -> None:
    assert path in ROWS, f"no CLI reference row for `reconciler {path}`"
    named = set(re.findall(r"--[a-z][a-z-]*", ROWS[path]))
    options = _options(path) - {"--help"}
    missing = options - named - CLOUD - SHARED
    assert not missing, f"`reconciler {path}`: the README's row lacks {sorted(missing)}"
    assert not named - options, f"`reconciler {path}` has no {sorted(named - options)}"
    for option in (options & (CLOUD | SHARED)) - named:
        assert f"`{option}" in PARAGRAPH, f"{option} of {path} is in neither row nor paragraph"


def _invocations() -> list[list[str]]:
    """Every `reconciler ...` the README writes: in code blocks (a continued line
    joined) and in inline code."""
    text = re.sub(r"\\\n\s*", " ", README)
    found = [m.split() for m in re.findall(r"(?<![\w/.-])reconciler ([a-z][^\n`|;&)]*)", text)]
    return [words for words in found if _path_of(words) is not None]


def test_every_option_the_readme_writes_exists() -> None:
    invocations = _invocations()
    assert len(invocations) > 50
    for words in invocations:
        path = _path_of(words)
        assert path is not None
        options = _options(path) | {
            o for param in _command(path).params for o in param.opts if o.startswith("--")
        }
        for word in words[len(path.split()) :]:
            flag = word.strip("'\"[]().,").split("=")[0]
            if flag.startswith("--") and re.fullmatch(r"--[a-z][a-z-]*", flag):
                assert flag in options, f"README: `reconciler {path}` has no {flag}"
