"""OIM's whole real catalog (tests/fixtures/oim/etc/images, copied from its repository)
converts with 0 errors, validates, and every warning kind it produces is in the README's
table. Files only: no cloud, no network."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from reconciler.cli.main import run
from reconciler.cli.oim_import import oim_files, read_documents
from reconciler.oim.convert import ERROR_KINDS, WARNING_KINDS, Options, convert

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "tests" / "fixtures" / "oim" / "etc" / "images"
README = ROOT / "README.md"


def test_every_definition_of_the_real_catalog_converts() -> None:
    files = oim_files([CATALOG])
    assert len(files) == 12
    result = convert(read_documents(files), Options(include_disabled=True))
    assert result.errors == []
    assert result.definitions == 29
    # 24 multi: true definitions (one entry each) + 5 multi: false with 12 versions
    assert len(result.entries) == 36
    assert result.left_out == 0
    names = [entry.entry["name"] for entry in result.entries]
    assert len(set(names)) == len(names)
    for entry in result.entries:
        props = entry.entry["properties"]
        assert props["internal_version"] == entry.entry["source"]["version"]
        assert "managed_by_osism" in entry.entry["tags"]
        assert entry.entry["min_disk"] >= 1


def test_only_enabled_definitions_without_include_disabled() -> None:
    result = convert(read_documents(oim_files([CATALOG])))
    assert result.errors == []
    assert result.left_out == 17
    assert len(result.entries) == 13
    assert Counter(note.kind for note in result.notes)["disabled"] == 17


def test_every_warning_kind_is_in_the_readme_table() -> None:
    result = convert(read_documents(oim_files([CATALOG])), Options(include_disabled=True))
    kinds = {note.kind for note in result.notes}
    section = README.read_text().split("## Coming from openstack-image-manager", 1)[1]
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.M))
    assert kinds <= listed, sorted(kinds - listed)
    assert {"shortname", "password", "watch-fixed-url", "retire-by-flag"} <= kinds
    # and every kind the conversion can give, not only those of this catalog
    possible = WARNING_KINDS | ERROR_KINDS
    assert possible <= listed, sorted(possible - listed)


@pytest.mark.parametrize("flags", [[], ["--include-disabled"]])
def test_the_output_validates(flags: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(["import", "--from", "oim", str(CATALOG), "-o", str(out), *flags]) == 0
    assert run(["validate", str(out / "images.yaml")]) == 0


def test_scs_0102_holds_but_for_oims_own_uniqueness_clash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OIM's data tags AlmaLinux `os_distro: centos`, so AlmaLinux 9 and CentOS Stream 9
    are two visible generic x86_64/centos/9 images: the one rule OIM's own schema check
    does not hold. Every other rule of scs-0102 passes on the converted catalog."""
    out = tmp_path / "out"
    assert run(["import", "--from", "oim", str(CATALOG), "-o", str(out)]) == 0
    capsys.readouterr()
    assert run(["validate", "--policy", "scs-0102", str(out / "images.yaml")]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "violates" in line]
    assert len(errors) == 1
    assert "'CentOS Stream 9' violates scs-0102/generic-unique" in errors[0]
    assert "'AlmaLinux 9'" in errors[0]
