"""Which schema `reconciler import` points editors at."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifests.schema_ref import find_schema, schema_comment, with_schema_comment
from tests.conftest import ROOT


def repo(tmp_path: Path, schema: bool = True) -> Path:
    (tmp_path / ".git").mkdir(parents=True)
    if schema:
        (tmp_path / "schemas").mkdir()
        (tmp_path / "schemas" / "manifest.schema.json").write_text("{}")
    return tmp_path


def test_relative_to_the_written_file(tmp_path: Path) -> None:
    root = repo(tmp_path)
    images = root / "images" / "team-a"
    images.mkdir(parents=True)
    assert schema_comment(images) == (
        "yaml-language-server: $schema=../../schemas/manifest.schema.json"
    )
    assert schema_comment(root) == "yaml-language-server: $schema=schemas/manifest.schema.json"


def test_the_nearest_schema_wins(tmp_path: Path) -> None:
    root = repo(tmp_path)
    inner = root / "sub"
    (inner / "schemas").mkdir(parents=True)
    (inner / "schemas" / "manifest.schema.json").write_text("{}")
    (inner / "images").mkdir()
    expected = (inner / "schemas" / "manifest.schema.json").resolve()
    assert find_schema(inner / "images") == expected


def test_not_past_the_repository_top(tmp_path: Path) -> None:
    # a schema above the repository holding the folder is another checkout's
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "manifest.schema.json").write_text("{}")
    inner = repo(tmp_path / "clone", schema=False)
    assert schema_comment(inner) is None


def test_none_for_stdout_or_without_a_schema(tmp_path: Path) -> None:
    assert schema_comment(None) is None
    assert schema_comment(repo(tmp_path, schema=False)) is None


def test_this_repository_examples_match() -> None:
    """The examples' own header is what import would write beside them."""
    examples = ROOT / "manifests" / "examples"
    line = (examples / "images.yaml").read_text().splitlines()[0]
    assert line == f"# {schema_comment(examples)}"


def test_the_line_goes_on_top(tmp_path: Path) -> None:
    root = repo(tmp_path)
    text = "# Imported by `reconciler import`\nversion: 1\n"
    assert with_schema_comment(text, root) == (
        "# yaml-language-server: $schema=schemas/manifest.schema.json\n" + text
    )
    assert with_schema_comment(text, repo(tmp_path / "other", schema=False)) == text
