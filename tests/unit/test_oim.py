"""`reconciler import --from oim`: OIM's keys, one by one, as manifest entries (what
OIM's main.py leaves on an image), and every key without an equivalent as a warning at
its file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.cli.main import run
from reconciler.manifests.loader import load_manifests
from reconciler.manifests.yaml_nodes import parse_documents
from reconciler.oim.convert import Conversion, Options, convert

SHA256 = "sha256:" + "ab" * 32
SHA512 = "sha512:" + "cd" * 64

MULTI = f"""---
images:
  - name: Ubuntu 24.04
    enable: true
    shortname: ubuntu-24.04
    format: qcow2
    login: ubuntu
    min_disk: 8
    min_ram: 512
    status: active
    visibility: public
    multi: true
    meta:
      architecture: x86_64
      hw_disk_bus: scsi
      hw_vif_multiqueue_enabled: true
      hotfix_hours: 0
      os_distro: ubuntu
      os_version: '24.04'
      os_purpose: generic
      uuid_validity: last-3
      provided_until: none
      replace_frequency: quarterly
    tags: [extra]
    latest_checksum_url: https://up.example/noble/current/SHA256SUMS
    latest_url: https://up.example/noble/current/noble.img
    versions:
      - version: '20240101'
        url: https://up.example/noble/20240101/noble.img
        checksum: {SHA256}
        build_date: 2024-01-01
        hidden: true
      - version: '20240202'
        url: https://up.example/noble/20240202/noble.img
        mirror_url: https://mirror.example/ubuntu/20240202-noble.qcow2
        checksum: {SHA256}
        build_date: 2024-02-02
"""

SINGLE = f"""---
images:
  - name: Talos Linux
    format: raw
    login: none
    min_disk: 0
    min_ram: 1024
    status: deactivated
    visibility: public
    multi: false
    separator: '-'
    password: hunter2
    meta:
      os_distro: talos
      os_version: '99'
    tags: []
    versions:
      - version: '1.11.3'
        url: https://factory.example/v1.11.3/openstack-amd64.raw.xz
        mirror_url: https://mirror.example/talos/1.11.3/openstack-amd64
        checksum: {SHA512}
        build_date: 2025-10-15
        id: 0b6a4a2e-4f6e-4d3e-9d4b-1c2d3e4f5a6b
      - version: '1.10.0'
        url: https://factory.example/v1.10.0/openstack-amd64.raw.xz
        checksum: {SHA256}
        visibility: private
"""


def conversion(text: str, name: str = "images.yml", **options: Any) -> Conversion:
    return convert(
        [(name, document) for document in parse_documents(text, text_paths=())],
        Options(**options),
    )


def kinds(result: Conversion) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for note in result.notes:
        found.setdefault(note.kind, []).append(note.where)
    return found


def line_of(text: str, needle: str, start: int = 0) -> int:
    lines = text.splitlines()
    return next(n for n, line in enumerate(lines[start:], start + 1) if needle in line)


def test_multi_true_is_one_entry_built_from_its_newest_version() -> None:
    result = conversion(MULTI)
    assert result.errors == []
    (entry,) = (e.entry for e in result.entries)
    assert entry["name"] == "Ubuntu 24.04"
    assert entry["visibility"] == "public"
    assert (entry["min_disk"], entry["min_ram"]) == (8, 512)
    assert (entry["disk_format"], entry["container_format"]) == ("qcow2", "bare")
    # the catalog's tags, OIM's management tag and os:<distro>
    assert entry["tags"] == ["extra", "managed_by_osism", "os:ubuntu"]
    assert entry["deactivated"] is False
    assert entry["source"] == {
        "url": "https://up.example/noble/20240202/noble.img",
        "checksum": SHA256,
        "version": "20240202",
        "mirrors": ["https://mirror.example/ubuntu/20240202-noble.qcow2"],
        "watch": {
            "url": "https://up.example/noble/current/noble.img",
            "checksums": "https://up.example/noble/current/SHA256SUMS",
        },
    }
    props = entry["properties"]
    # meta as OIM writes it (str() of what YAML read), then what OIM adds itself
    assert props["hw_vif_multiqueue_enabled"] == "True"
    assert props["hotfix_hours"] == "0"
    assert props["image_source"] == "https://up.example/noble/20240202/noble.img"
    assert props["image_build_date"] == "2024-02-02"
    assert props["internal_version"] == "20240202"
    assert props["image_original_user"] == "ubuntu"
    assert props["os_version"] == "24.04"
    assert props["image_description"] == props["image_name"] == "Ubuntu 24.04"
    # without retirement flags OIM keeps every build: no keep
    assert entry["rotation"] == {"rename": "{name} ({version})"}


def test_every_key_without_an_equivalent_is_a_warning_at_its_line() -> None:
    result = conversion(MULTI)
    found = kinds(result)
    assert found["shortname"] == [f"images.yml:{line_of(MULTI, 'shortname:')}"]
    older = line_of(MULTI, "- version: '20240101'")
    assert found["older-version"] == [f"images.yml:{older}"]
    assert found["older-version-key"] == [f"images.yml:{line_of(MULTI, 'hidden: true')}"]
    assert found["retire-by-flag"] == [f"images.yml:{line_of(MULTI, 'uuid_validity')}"]
    assert set(found) == {"shortname", "older-version", "older-version-key", "retire-by-flag"}


@pytest.mark.parametrize(
    ("flags", "rotation"),
    [
        ((), {"rename": "{name} ({version})"}),
        (("deactivate",), {"rename": "{name} ({version})", "keep": 3, "retired": "deactivate"}),
        (("delete",), {"rename": "{name} ({version})", "keep": 3, "retired": "delete"}),
        (
            ("hide", "deactivate"),
            {
                "rename": "{name} ({version})",
                "previous": {"visibility": "community"},
                "keep": 3,
                "retired": "deactivate",
            },
        ),
    ],
)
def test_retirement_follows_the_oim_jobs_flags_and_uuid_validity(
    flags: tuple[str, ...], rotation: dict[str, Any]
) -> None:
    (entry,) = conversion(MULTI, retire=frozenset(flags)).entries
    assert entry.entry["rotation"] == rotation


def test_keep_true_turns_deletion_into_deactivation_with_a_warning() -> None:
    text = MULTI.replace("    multi: true\n", "    multi: true\n    keep: true\n")
    result = conversion(text, retire=frozenset({"delete"}))
    assert result.entries[0].entry["rotation"]["retired"] == "deactivate"
    assert kinds(result)["keep"] == [f"images.yml:{line_of(text, 'keep: true')}"]


def test_uuid_validity_none_never_retires_whatever_the_flags() -> None:
    text = MULTI.replace("uuid_validity: last-3", "uuid_validity: none")
    (entry,) = conversion(text, retire=frozenset({"delete", "hide"})).entries
    assert entry.entry["rotation"] == {"rename": "{name} ({version})"}


def test_a_separator_goes_into_the_rename_template() -> None:
    text = MULTI.replace("    multi: true\n", "    multi: true\n    separator: '_'\n")
    (entry,) = conversion(text).entries
    assert entry.entry["rotation"]["rename"] == "{name}_({version})"


def test_multi_false_is_an_entry_per_version() -> None:
    result = conversion(SINGLE)
    assert result.errors == []
    by_name = {e.entry["name"]: e for e in result.entries}
    assert set(by_name) == {"Talos Linux-1.11.3", "Talos Linux-1.10.0"}
    talos = by_name["Talos Linux-1.11.3"].entry
    assert talos["id"] == "0b6a4a2e-4f6e-4d3e-9d4b-1c2d3e4f5a6b"  # pinned: never rebuilt
    assert talos["properties"]["os_version"] == "1.11.3"  # OIM: the version, not meta's
    assert talos["min_disk"] == 1  # OIM raises min_disk to the data's size, at least 1
    assert talos["deactivated"] is True
    assert talos["tags"] == ["managed_by_osism", "os:talos"]
    assert talos["source"]["compression"] == "xz"  # from the url's suffix
    assert talos["source"]["mirrors"] == ["https://mirror.example/talos/1.11.3/openstack-amd64"]
    assert "rotation" not in talos
    older = by_name["Talos Linux-1.10.0"].entry
    assert older["visibility"] == "private"  # the version's visibility wins
    assert "id" not in older
    assert by_name["Talos Linux-1.11.3"].origin == f"images.yml:{line_of(SINGLE, '1.11.3')}"


def test_single_warnings_and_no_secret_in_them() -> None:
    result = conversion(SINGLE)
    found = kinds(result)
    assert found["password"] == [f"images.yml:{line_of(SINGLE, 'password:')}"]
    assert found["min-disk-raised"] == [f"images.yml:{line_of(SINGLE, 'min_disk: 0')}"] * 2
    assert all("hunter2" not in note.message for note in result.notes)


def test_a_disabled_image_is_left_out_with_a_note_unless_asked_for() -> None:
    text = MULTI.replace("enable: true", "enable: false")
    result = conversion(text)
    assert result.entries == [] and result.left_out == 1
    assert kinds(result)["disabled"] == [f"images.yml:{line_of(text, 'enable: false')}"]
    assert len(conversion(text, include_disabled=True).entries) == 1


def test_oims_here_be_dragons_pattern_becomes_a_version_template() -> None:
    pattern = (
        "https://cloud.example/9-stream/images/"
        "CentOS-Stream-GenericCloud-9-HEREBE\\d+\\.\\dDRAGONS.x86_64.qcow2"
    )
    text = MULTI.replace("https://up.example/noble/current/noble.img", pattern)
    (entry,) = conversion(text).entries
    assert entry.entry["source"]["watch"] == {
        "url": "https://cloud.example/9-stream/images/"
        "CentOS-Stream-GenericCloud-9-{version}.x86_64.qcow2",
        "checksums": "https://up.example/noble/current/SHA256SUMS",
        "version": "\\d+\\.\\d",
    }


def test_a_pattern_with_a_literal_tail_and_an_anchor() -> None:
    pattern = (
        "https://cloud.example/7/images/CentOS-7-x86_64-GenericCloud-HEREBE\\d+\\.qcow2$DRAGONS"
    )
    text = MULTI.replace("https://up.example/noble/current/noble.img", pattern)
    (entry,) = conversion(text).entries
    watch = entry.entry["source"]["watch"]
    assert watch["url"].endswith("CentOS-7-x86_64-GenericCloud-{version}.qcow2")
    assert watch["version"] == "\\d+"


def test_a_pattern_as_the_versions_url_builds_from_the_mirror() -> None:
    pattern = "https://cloud.example/7/images/CentOS-7-HEREBE\\d+\\.qcow2$DRAGONS"
    text = MULTI.replace("https://up.example/noble/20240202/noble.img", pattern)
    result = conversion(text)
    (entry,) = result.entries
    assert entry.entry["source"]["url"] == "https://mirror.example/ubuntu/20240202-noble.qcow2"
    assert "mirrors" not in entry.entry["source"]
    assert entry.entry["properties"]["image_source"] == pattern  # as OIM writes it
    assert kinds(result)["pattern-url"] == [f"images.yml:{line_of(text, pattern)}"]


def test_latest_url_on_a_debian_or_ubuntu_file_notes_the_folder_listing() -> None:
    result = conversion(MULTI, name="etc/images/ubuntu.yml")
    assert kinds(result)["watch-fixed-url"] == [
        f"etc/images/ubuntu.yml:{line_of(MULTI, 'latest_url:')}"
    ]


NEWEST = SHA256 + "\n        build_date: 2024-02-02"


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (("checksum: " + NEWEST, "build_date: 2024-02-02"), "no-checksum"),
        ((NEWEST, "sha1:" + "a" * 40 + "\n        build_date: 2024-02-02"), "bad-checksum"),
        (("    login: ubuntu\n", ""), "missing-key"),
        (("    min_disk: 8\n", "    min_disk: eight\n"), "bad-value"),
        (("    tags: [extra]\n", "    tags: extra\n"), "bad-value"),
        (
            ("      - version: '20240202'\n", "      - version: '20240202'\n        meta: x\n"),
            "bad-value",
        ),
    ],
)
def test_what_cannot_be_converted_is_an_error_at_its_line(
    change: tuple[str, str], kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MULTI.replace(*change)
    assert text != MULTI
    result = conversion(text)
    assert [note.kind for note in result.errors] == [kind]
    path = tmp_path / "bad.yml"
    path.write_text(text)
    assert run(["import", "--from", "oim", str(path), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"error: {path}:" in err and f"[{kind}]" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "images.yaml").exists()


def test_bad_yaml_and_missing_paths_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("images:\n  - name: [unclosed\n")
    assert run(["import", "--from", "oim", str(path)]) == 1
    assert f"error: {path}:" in capsys.readouterr().err
    assert run(["import", "--from", "oim", str(tmp_path / "nope")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    assert run(["import", "--from", "chef", str(path)]) == 1
    assert "only other source is oim" in capsys.readouterr().err
    assert run(["import", "--from", "oim", str(path), "--retire", "nuke"]) == 1
    assert "--retire 'nuke'" in capsys.readouterr().err
    assert run(["import", "--from", "oim", str(path), "--name", "x*"]) == 1
    assert "takes no live selection" in capsys.readouterr().err
    assert run(["import", str(path)]) == 1
    assert "FILES need --from oim" in capsys.readouterr().err


@pytest.mark.parametrize("layout", ["single", "per-image"])
def test_the_written_manifests_validate_and_describe_the_same_images(
    layout: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tmp_path / "etc"
    files.mkdir()
    (files / "ubuntu.yml").write_text(MULTI)
    (files / "talos.yml").write_text(SINGLE)
    out = tmp_path / "manifests"
    argv = ["import", "--from", "oim", str(files), "-o", str(out), "--layout", layout]
    assert run([*argv, "--catalog", "oim", "--retire", "deactivate"]) == 0
    written = sorted(out.iterdir())
    assert len(written) == (1 if layout == "single" else 3)
    assert run(["validate", *map(str, written)]) == 0
    loaded = load_manifests(written)
    images = {image.name: image for image in loaded.images}
    assert set(images) == {"Ubuntu 24.04", "Talos Linux-1.11.3", "Talos Linux-1.10.0"}
    ubuntu = images["Ubuntu 24.04"]
    assert ubuntu.catalog == "oim"
    assert ubuntu.rotation is not None and ubuntu.rotation.keep == 3
    assert ubuntu.rotation.rename == "{name} ({version})"
    assert ubuntu.data is not None and ubuntu.data.mirrors == (
        "https://mirror.example/ubuntu/20240202-noble.qcow2",
    )
    assert dict(ubuntu.properties)["hw_vif_multiqueue_enabled"] == "True"
    assert images["Talos Linux-1.11.3"].data.compression == "xz"  # type: ignore[union-attr]
    err = capsys.readouterr().err
    assert "2 OIM definition(s): 3 manifest entries" in err


V2 = "      - version: '20240202'\n"
ID = "0b6a4a2e-4f6e-4d3e-9d4b-1c2d3e4f5a6b"
LATEST = "    latest_url: https://up.example/noble/current/noble.img\n"


@pytest.mark.parametrize(
    ("base", "old", "new", "kind", "needle"),
    [
        (MULTI, V2, V2 + f"        id: {ID}\n", "multi-id", "id: 0b6a"),
        (MULTI, V2, V2 + "        hidden: false\n", "hidden", "hidden: false"),
        (MULTI, V2, V2 + "        source: private\n", "version-source", "source: private"),
        (MULTI, V2, V2 + "        image_description: x\n", "version-image-description",
         "image_description: x"),
        (MULTI, V2, V2 + "        checksums_url: https://up.example/SUMS\n",
         "version-checksum-url", "checksums_url:"),
        (MULTI, V2, V2 + "        colour: red\n", "unknown-key", "colour: red"),
        (MULTI, "    multi: true\n", "    multi: true\n    flavour: x\n", "unknown-key",
         "flavour: x"),
        (MULTI, "        mirror_url: https://mirror.example/ubuntu/20240202-noble.qcow2\n",
         "        mirror_url: ftp://mirror.example/noble.qcow2\n", "mirror-not-http",
         "mirror_url: ftp"),
        (MULTI, LATEST, "", "latest-incomplete", "latest_checksum_url:"),
        (SINGLE, "    tags: []\n", "    tags: []\n" + LATEST, "latest-url-not-multi",
         "latest_url:"),
        (SINGLE, "    multi: false\n", "    multi: false\n    keep: true\n", "keep", "keep: true"),
    ],
)  # fmt: skip
def test_each_warning_kind_at_the_line_of_its_key(
    base: str, old: str, new: str, kind: str, needle: str
) -> None:
    assert old in base
    text = base.replace(old, new)
    result = conversion(text)
    assert result.errors == []
    assert f"images.yml:{line_of(text, needle)}" in kinds(result)[kind]


def test_uuid_validity_other_than_last_n_keeps_one_with_a_warning() -> None:
    text = MULTI.replace("uuid_validity: last-3", "uuid_validity: forever")
    result = conversion(text, retire=frozenset({"deactivate"}))
    assert result.entries[0].entry["rotation"]["keep"] == 1
    assert kinds(result)["uuid-validity-not-last"] == [f"images.yml:{line_of(text, 'forever')}"]


def test_a_latest_version_with_a_checksums_url_is_watched() -> None:
    text = (
        MULTI.replace("'20240202'", "latest")
        .replace(LATEST, "")
        .replace("    latest_checksum_url: https://up.example/noble/current/SHA256SUMS\n", "")
    )
    text = text.replace(
        "        build_date: 2024-02-02\n",
        "        build_date: 2024-02-02\n        checksums_url: https://up.example/SUMS\n",
    )
    result = conversion(text)
    (entry,) = result.entries
    assert entry.entry["source"]["watch"] == {
        "url": "https://up.example/noble/20240202/noble.img",
        "checksums": "https://up.example/SUMS",
    }
    text = text.replace("checksums_url:", "checksum_url:")
    assert f"images.yml:{line_of(text, 'checksum_url:')}" in kinds(conversion(text))["checksum-url"]


def test_versions_in_oims_order() -> None:
    from reconciler.oim.convert import oim_order

    ordered = sorted(["1.10.0", "latest", "1.9.2", "20240101", "v2"], key=oim_order)
    assert ordered == ["1.9.2", "1.10.0", "20240101", "latest", "v2"]
