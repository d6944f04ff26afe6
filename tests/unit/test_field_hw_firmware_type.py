"""`hw_firmware_type`, a typed custom property added through the field table only:
checked when loaded, planned as the property of that name, read back by import."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifests.glance_schema import snapshot
from reconciler.manifests.loader import load
from reconciler.model.image_view import LiveCatalog
from reconciler.model.plan import Action, Op
from reconciler.planning.diff import diff
from reconciler.planning.importer import entry_for
from tests.unit.test_diff import TARGET, live, record
from tests.unit.test_loader import problems, write


def manifest(tmp_path: Path, entry: str, defaults: str = "") -> Path:
    return write(tmp_path, f"version: 1\n{defaults}images:\n  - name: img\n{entry}")


def ops(tmp_path: Path, entry: str, **live_attrs: str) -> list[tuple[Op, str, object, object]]:
    plan = diff(load([manifest(tmp_path, entry)]), LiveCatalog((live(**live_attrs),)), TARGET)
    return [(op.op, op.path, op.value, op.old) for op in plan.images[0].patch]


def test_a_bad_value_is_refused_at_its_line(tmp_path: Path) -> None:
    path = manifest(tmp_path, "    hw_firmware_type: efi\n")
    [problem] = problems([path])
    assert problem.startswith(f"{path}:4:") and "hw_firmware_type" in problem
    assert "'bios' or 'uefi'" in problem


def test_given_both_as_a_key_and_in_properties_is_refused(tmp_path: Path) -> None:
    entry = "    hw_firmware_type: uefi\n    properties: {hw_firmware_type: bios}\n"
    [problem] = problems([manifest(tmp_path, entry)])
    assert "hw_firmware_type is given both as a key and in properties" in problem


def test_it_sets_the_property_and_is_recorded_and_inherited(tmp_path: Path) -> None:
    [image] = load([manifest(tmp_path, "", "defaults:\n  hw_firmware_type: uefi\n")])
    assert image.properties_dict == {"hw_firmware_type": "uefi"}
    assert image.set_keys == {"hw_firmware_type"}
    entry = "    hw_firmware_type: bios\n"
    [image] = load([manifest(tmp_path, entry, "defaults:\n  hw_firmware_type: uefi\n")])
    assert image.properties_dict == {"hw_firmware_type": "bios"}


def test_plan_adds_replaces_and_removes_it(tmp_path: Path) -> None:
    rec = record("hw_firmware_type")
    key = "/hw_firmware_type"
    added = ops(tmp_path, "    hw_firmware_type: uefi\n", **{"reconciler.managed": rec})
    assert added == [(Op.ADD, key, "uefi", None)]
    replaced = ops(
        tmp_path,
        "    hw_firmware_type: uefi\n",
        hw_firmware_type="bios",
        **{"reconciler.managed": rec},
    )
    assert replaced == [(Op.REPLACE, key, "uefi", "bios")]
    removed = ops(
        tmp_path, "    min_ram: 0\n", hw_firmware_type="uefi", **{"reconciler.managed": rec}
    )
    assert (Op.REMOVE, key, None, "uefi") in removed
    unchanged = diff(
        load([manifest(tmp_path, "    hw_firmware_type: uefi\n")]),
        LiveCatalog((live(hw_firmware_type="uefi", **{"reconciler.managed": rec}),)),
        TARGET,
    )
    assert unchanged.images[0].action is Action.NOOP


def test_import_reads_it_back_as_its_key(tmp_path: Path) -> None:
    entry = entry_for(live(hw_firmware_type="uefi", os_distro="x"), snapshot(), pin_id=False)
    assert entry["hw_firmware_type"] == "uefi"
    assert entry["properties"] == {"os_distro": "x"}
    # A value the type refuses stays a plain property, so the manifest still loads.
    odd = entry_for(live(hw_firmware_type="UEFI"), snapshot(), pin_id=False)
    assert "hw_firmware_type" not in odd and odd["properties"] == {"hw_firmware_type": "UEFI"}


def test_a_typed_property_is_string_valued_or_refused_when_the_table_is_built() -> None:
    """Glance keeps strings only: an int or bool typed property would be planned
    against the cloud's string forever, so the table refuses to declare one."""
    from typing import Literal

    from reconciler.model.fields import _string_valued

    assert _string_valued(Literal["bios", "uefi"] | None) and _string_valued(str | None)
    assert not _string_valued(int | None) and not _string_valued(bool)
    assert not _string_valued(Literal[1, 2] | None)


def test_a_typed_key_is_located_where_it_wins(tmp_path: Path) -> None:
    """The defaults' `properties:` names the key, the entry gives the typed key: the
    entry's key sets the value, so a violation points at it."""
    from reconciler.manifests.loader import load_manifests
    from reconciler.policy.positions import desired_image_facts

    path = tmp_path / "m.yaml"
    path.write_text(
        "version: 1\ndefaults:\n  properties:\n    hw_firmware_type: bios\n"
        "images:\n  - name: img\n    hw_firmware_type: uefi\n"
    )
    manifests = load_manifests([path])
    [facts] = desired_image_facts(manifests.images, manifests.documents)
    assert facts.positions["property:hw_firmware_type"] == f"{path}:7:5"
