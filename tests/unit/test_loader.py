"""Manifest loading: values, defaults, and file:line:col errors (all at once)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifests.loader import load, load_manifests
from reconciler.manifests.schema_export import SCHEMA_DIR, rendered


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(paths: list[Path]) -> list[str]:
    with pytest.raises(ManifestError) as err:
        load(paths)
    return err.value.problems


def test_numbers_and_true_keep_their_exact_source_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        images:
          - name: a
            properties:
              os_version: 20.10
              build: 010
              big: 1e3
              flag: true
              quoted: "x"
              gone: false
              also_gone: null
    """,
    )
    [image] = load([path])
    assert image.properties_dict == {
        "os_version": "20.10",
        "build": "010",
        "big": "1e3",
        "flag": "true",
        "quoted": "x",
        "gone": None,
        "also_gone": None,
    }
    assert image.origin == f"{path}:3"


def test_defaults_are_inherited_and_overridden(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        defaults:
          visibility: private
          min_ram: 512
          tags: [a]
          properties: {team: x, distro: y}
        images:
          - name: one
          - name: two
            visibility: shared
            tags: []
            properties: {distro: z, team: null}
    """,
    )
    one, two = load([path])
    assert one.core_dict == {"name": "one", "visibility": "private", "min_ram": 512}
    assert one.tags == ("a",) and one.properties_dict == {"team": "x", "distro": "y"}
    assert two.core_dict["visibility"] == "shared" and two.tags == ()
    assert two.properties_dict == {"team": None, "distro": "z"}


def test_every_error_has_file_line_col_and_all_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        images:
          - name: one
            tagz: [a]
            status: active
            min_disk: "10"
            visibility: secret
            properties:
              bad: [1]
              checksum: x
              os_glance_foo: y
          - name: two
            tags: [1]
    """,
    )
    found = problems([path])
    p = str(path)
    assert f"{p}:4:5: unknown key 'tagz'; did you mean 'tags'?" in found
    assert f"{p}:5:5: 'status' is a read-only attribute set by the server; remove it" in found
    assert any(f.startswith(f"{p}:6:15: min_disk") for f in found)
    assert any(f.startswith(f"{p}:9:12: property 'bad' must be a string") for f in found)
    assert any(f.startswith(f"{p}:13:12: tags[0]") and "quote it" in f for f in found)
    # Glance's enum and the property names too, although the models refused the
    # document (issue 26, 2).
    assert any(f.startswith(f"{p}:7:17: visibility 'secret' is not one of") for f in found)
    assert f"{p}:10:7: 'checksum' is a read-only attribute set by the server" in found
    assert any(f.startswith(f"{p}:11:7: 'os_glance_foo' is reserved") for f in found)
    assert len(found) == 8


def test_schema_checks_point_at_the_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        images:
          - name: one
            visibility: secret
            properties:
              checksum: x
              os_glance_foo: y
              reconciler.managed: z
              visibility: public
    """,
    )
    found = problems([path])
    p = str(path)
    assert any(f.startswith(f"{p}:4:5: visibility 'secret' is not one of") for f in found)
    assert f"{p}:6:7: 'checksum' is a read-only attribute set by the server" in found
    assert any(f.startswith(f"{p}:7:7: 'os_glance_foo' is reserved") for f in found)
    assert any(f.startswith(f"{p}:8:7: 'reconciler.managed'") for f in found)
    assert any(f.startswith(f"{p}:9:7: 'visibility' is a core attribute") for f in found)


def test_duplicates_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "version: 1\nimages:\n  - name: same\n", "a.yaml")
    second = write(tmp_path, "version: 1\nimages:\n  - name: same\n", "b.yml")
    [found] = problems([tmp_path])
    assert found.startswith(f"{second}:3:5: duplicate image name 'same' (first at {first}:3)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nimages:\n  - name: [\n", ":4:1: invalid YAML"),
        ("", ":1:1: empty manifest"),
        ("# only a comment\n", ":1:1: empty manifest"),
        ("- just\n- a list\n", ":1:1: a manifest document must be a mapping"),
        ("version: 2\nimages: []\n", ":1:10: unsupported manifest version"),
        ("images: []\n", ":1:1: missing required key 'version'"),
        ("version: 1\nimages:\n  - tags: a\n", "missing required key 'name'"),
        (
            "version: 1\nimages:\n  - name: x\n    tags: a\n",
            ":4:11: tags: Input should be a valid list",
        ),
        ("version: 1\nimages: !!python/object:os.system x\n", ":2:9: unsupported YAML tag"),
        ("version: 1\nversion: 1\n", ":2:1: duplicate key 'version'"),
        ("version: 1\nimages:\n  - name: x\n    id: nope\n", ":4:9: id: String should match"),
        ("version: 1\nimages:\n  - {name: x, min_disk: -1}\n", "min_disk: Input should be"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    found = problems([path])
    assert any(f.startswith(str(path)) and expected in f for f in found), found


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    found = problems([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert found == [
        f"{tmp_path / 'nope.yaml'}:1:1: no such file or folder",
        f"{tmp_path / 'empty'}:1:1: no *.yaml or *.yml files",
    ]


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    [found] = problems([path])
    assert "too many aliases" in found


def test_committed_schemas_are_current() -> None:
    for name, text in rendered().items():
        committed = (SCHEMA_DIR / name).read_text()
        assert committed == text, f"schemas/{name} is stale: run `make schemas`"


def test_the_glance_schema_is_shipped_once_in_substance() -> None:
    """Issue 27: `schemas/glance-image.schema.json` (what users read) and the package's
    copy (what validate reads offline) are the same file, byte for byte."""
    shipped = Path(__file__).resolve().parents[2] / "reconciler" / "data"
    assert (shipped / "glance-image.schema.json").read_bytes() == (
        SCHEMA_DIR / "glance-image.schema.json"
    ).read_bytes(), "copy schemas/glance-image.schema.json to reconciler/data/"


def test_examples_are_valid() -> None:
    images = load([Path(__file__).resolve().parents[2] / "manifests"])
    names = {image.name for image in images}
    assert {"demo-ubuntu-24.04", "base-debian-12"} <= names


def test_every_problem_of_a_refused_document_is_reported_at_once(tmp_path: Path) -> None:
    """Issue 26, 2: Glance's enum and the property names were checked only once the
    models accepted the document, so a wrong visibility showed only after the other
    problems were fixed."""
    path = write(
        tmp_path,
        """\
        version: 1
        defaults:
          disk_format: qcow3
        images:
          - name: a
            visibility: Public
            min_ram: -5
            visiblity: private
            properties:
              os_glance_x: y
        """,
    )
    p = str(path)
    assert problems([path]) == [
        f"{p}:3:16: disk_format 'qcow3' is not one of "
        "ami, ari, aki, vhd, vhdx, vmdk, raw, qcow2, vdi, iso, ploop",
        f"{p}:6:17: visibility 'Public' is not one of community, public, private, shared",
        f"{p}:7:14: min_ram: Input should be greater than or equal to 0 (got -5)",
        f"{p}:8:5: unknown key 'visiblity'; did you mean 'visibility'?",
        f"{p}:10:7: 'os_glance_x' is reserved by Glance (os_glance*)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: 1\nimages:\n  - name: a\n    tags: [one, two\n    min_ram: 5\n  - name: b\n",
            ":4:11: invalid YAML: this '[' is never closed (the parser gave up at 5:12)",
        ),
        (
            "version: 1\nimages:\n  - {name: a\n  - name: b\n",
            ":3:5: invalid YAML: this '{' is never closed (the parser gave up at 4:9)",
        ),
        (
            'version: 1\nimages:\n  - name: "abc\n    min_ram: 5\n',
            ":3:11: invalid YAML: this quote is never closed (the parser gave up at 5:1)",
        ),
        ('version: 1\nimages:\n  - name: "a\\qc"\n', ":3:13: invalid YAML: found unknown escape"),
    ],
)
def test_unclosed_bracket_or_quote_is_reported_where_it_opened(
    tmp_path: Path, text: str, expected: str
) -> None:
    """Issue 26, 5: the parser's position is where it gave up, lines later."""
    path = write(tmp_path, text)
    [found] = problems([path])
    assert found.startswith(f"{path}{expected}"), found


MEMBERS = """\
version: 1
defaults:
  visibility: shared
  members: [team-b]
images:
  - name: a
    members: [not-a-project, 0123456789abcdef0123456789abcdef]
  - name: b
  - name: c
"""


def test_members_that_are_no_keystone_id_warn_at_their_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26, 9: Glance keeps any string as a pending member; validate, plan and
    apply said nothing."""
    monkeypatch.delenv("RECONCILER_MEMBER_IDS", raising=False)
    path = write(tmp_path, MEMBERS)
    found = load_manifests([path])
    reason = (
        "is not a Keystone project id (32 lower-case hex digits): Glance would keep it as "
        "a pending member of no project; if this cloud's ids look otherwise, set "
        "RECONCILER_MEMBER_IDS=any"
    )
    assert found.warnings == (
        f"{path}:7:15: member 'not-a-project' {reason}",
        f"{path}:4:13: member 'team-b' {reason}",  # once, though two entries inherit it
    )
    monkeypatch.setenv("RECONCILER_MEMBER_IDS", "any")
    assert load_manifests([path]).warnings == ()
