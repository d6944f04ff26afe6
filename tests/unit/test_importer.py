"""import: entries from live images; --update: live values into YAML, comments kept."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.manifests.glance_schema import snapshot
from reconciler.manifests.loader import load
from reconciler.manifests.update import dump_documents, entries, load_documents, update_entry
from reconciler.model.image_view import LiveCatalog
from reconciler.planning.diff import diff
from reconciler.planning.importer import Selection, entry_for, needs_id, select
from tests.unit.test_diff import TARGET, live, record


def test_entry_leaves_out_server_set_reserved_and_record_keys() -> None:
    image = live(
        "id-1",
        name="ubuntu",
        tags=["b", "a"],
        os_distro="ubuntu",
        os_glance_importing_to_stores="",
        **{
            "reconciler.managed": record("os_distro"),
            # openstacksdk's, written by the tool on a build: another tool's (issue 26, 1)
            "owner_specified.openstack.sha256": "ab" * 32,
            "owner_specified.openstack.object": "images/ubuntu",
        },
    )
    entry = entry_for(image, snapshot(), pin_id=False)
    assert entry == {
        "name": "ubuntu",
        "visibility": "private",
        "protected": False,
        "os_hidden": False,
        "min_disk": 0,
        "min_ram": 0,
        "disk_format": "raw",
        "container_format": "bare",
        "tags": ["a", "b"],
        "properties": {"os_distro": "ubuntu"},
    }


def test_ids_pinned_only_for_ambiguous_names_and_selection() -> None:
    a1, a2, b = live("id-1", name="a"), live("id-2", name="a"), live("id-3", name="b", tags=["t"])
    assert needs_id([a1, b], [a1, a2, b]) == {"id-1"}
    assert [i.id for i in select([b, a2, a1], Selection(names=("a*",)))] == ["id-1", "id-2"]
    assert [i.id for i in select([a1, b], Selection(tags=("t",)))] == ["id-3"]
    assert select([a1], Selection(visibilities=("public",))) == []


def test_imported_entry_plans_as_adopt_only(tmp_path: Path) -> None:
    import yaml as pyyaml  # PyYAML ships with openstacksdk; only to write the fixture

    image = live("id-1", name="img", os_version="24.04", tags=["x"])
    manifest = {"version": 1, "images": [entry_for(image, snapshot(), pin_id=False)]}
    path = tmp_path / "m.yaml"
    path.write_text(pyyaml.safe_dump(manifest))
    plan = diff(load([path]), LiveCatalog((image,)), TARGET)
    assert [str(i.action) for i in plan.images] == ["adopt"]


MANIFEST = """\
# team images: keep this comment
version: 1
defaults:
  properties:
    owner_team: platform
images:
  - name: img            # the web image
    tags: [a, b]
    properties:
      os_version: 24.04  # pinned by the release process
      gone: "x"

  - name: other
    min_disk: 1
"""


def test_update_writes_live_values_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    desired = load([path])
    managed = {"reconciler.managed": record("gone", "os_version", "owner_team")}
    img = live("id-1", name="img", tags=["a", "c"], os_version="24.10", extra="1", **managed)
    other = live("id-2", name="other", min_disk=1, owner_team="platform")
    plan = diff(desired, LiveCatalog((img, other)), TARGET)
    yaml, documents = load_documents(MANIFEST)
    changed = [
        update_entry(entry, defaults, want, planned)
        for (entry, defaults), want, planned in zip(
            entries(documents), desired, plan.images, strict=False
        )
    ]
    assert changed[0] == [
        "properties.gone",
        "properties.os_version",
        "properties.owner_team",
        "tags",
    ]
    assert changed[1] == []
    text = dump_documents(yaml, documents)
    assert text == (
        "# team images: keep this comment\n"
        "version: 1\n"
        "defaults:\n"
        "  properties:\n"
        "    owner_team: platform\n"
        "images:\n"
        "  - name: img            # the web image\n"
        "    tags: [a, c]\n"
        "    properties:\n"
        "      os_version: '24.10' # pinned by the release process\n"
        "      owner_team: null\n"
        "\n"
        "  - name: other\n"
        "    min_disk: 1\n"
    )
    path.write_text(text)
    again = diff(load([path]), LiveCatalog((img, other)), TARGET)
    assert {str(i.action) for i in again.images} <= {"noop", "adopt"}


def test_a_build_imported_and_applied_keeps_its_record_and_plans_no_rebuild(
    tmp_path: Path,
) -> None:
    """Issue 26, 1: a build from a `source:`, imported (no source: the tool cannot know
    it) and applied, lost the build its record names; the manifest with the source then
    planned a rebuild for the same checksum."""
    import yaml as pyyaml

    digest = "cd" * 32
    built = json.dumps(
        {
            "catalog": "default",
            "keys": ["os_distro"],
            "build": f"sha256:{digest}",
            "version": "20261101",
            "entry": "ubuntu",
        },
        separators=(",", ":"),
    )
    image = live("id-1", name="ubuntu", os_distro="ubuntu", **{"reconciler.managed": built})
    imported = {"version": 1, "images": [entry_for(image, snapshot(), pin_id=False)]}
    path = tmp_path / "imported.yaml"
    path.write_text(pyyaml.safe_dump(imported))
    plan = diff(load([path]), LiveCatalog((image,)), TARGET)
    assert [str(i.action) for i in plan.images] == ["noop"]  # the record is left as it is
    assert plan.images[0].patch == ()

    imported["images"][0]["properties"]["os_version"] = "24.04"
    path.write_text(pyyaml.safe_dump(imported))
    [update] = diff(load([path]), LiveCatalog((image,)), TARGET).images
    [record_op] = [op for op in update.patch if op.key == "reconciler.managed"]
    kept = json.loads(str(record_op.value))
    assert kept["build"] == f"sha256:{digest}" and kept["version"] == "20261101"
    assert kept["entry"] == "ubuntu" and kept["keys"] == ["os_distro", "os_version"]
