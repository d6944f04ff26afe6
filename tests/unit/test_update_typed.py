"""`import --update` and the typed keys of the field table (`hw_firmware_type`): a
live value is written where the manifest declares the property, as the typed key on
the entry (when the entry or its defaults give it so) or in `properties:` (when only
that map names it), so the manifest still loads and plans no change again."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifests.loader import load
from reconciler.manifests.update import dump_documents, entries, load_documents, update_entry
from reconciler.model.fields import TYPED_PROPERTIES
from reconciler.model.image_view import LiveCatalog, LiveImage
from reconciler.planning.diff import diff
from tests.unit.test_diff import TARGET, live, record


def updated(tmp_path: Path, text: str, image: LiveImage) -> tuple[str, list[str]]:
    """The manifest once updated from `image`, and what changed; the result loads and
    plans nothing but (at most) the adoption of its record."""
    path = tmp_path / "m.yaml"
    path.write_text(text)
    desired = load([path])
    plan = diff(desired, LiveCatalog((image,)), TARGET)
    yaml, documents = load_documents(text)
    [(entry, defaults)] = entries(documents)
    changed = update_entry(entry, defaults, desired[0], plan.images[0])
    out = dump_documents(yaml, documents)
    path.write_text(out)
    again = diff(load([path]), LiveCatalog((image,)), TARGET)
    assert {str(i.action) for i in again.images} <= {"noop", "adopt"}, again.images[0].patch
    return out, changed


def firmware(value: str | None = None, **extra: str) -> LiveImage:
    attrs = {"reconciler.managed": record("hw_firmware_type"), **extra}
    if value is not None:
        attrs["hw_firmware_type"] = value
    return live("id-1", name="img", **attrs)


HEAD = "version: 1\nimages:\n  - name: img\n"


def test_hw_firmware_type_is_a_typed_key_of_the_table() -> None:
    assert "hw_firmware_type" in TYPED_PROPERTIES


def test_the_entrys_typed_key_is_rewritten_when_the_cloud_differs(tmp_path: Path) -> None:
    out, changed = updated(tmp_path, HEAD + "    hw_firmware_type: uefi  # why\n", firmware("bios"))
    assert out == HEAD + "    hw_firmware_type: bios  # why\n"
    assert changed == ["hw_firmware_type"]


def test_a_key_in_properties_stays_there(tmp_path: Path) -> None:
    text = HEAD + "    properties:\n      hw_firmware_type: uefi\n"
    out, changed = updated(tmp_path, text, firmware("bios"))
    assert out == HEAD + "    properties:\n      hw_firmware_type: bios\n"
    assert changed == ["properties.hw_firmware_type"]


def test_a_typed_key_of_the_defaults_is_overridden_on_the_entry(tmp_path: Path) -> None:
    text = "version: 1\ndefaults:\n  hw_firmware_type: uefi\nimages:\n  - name: img\n"
    out, changed = updated(tmp_path, text, firmware("bios"))
    assert out == text + "    hw_firmware_type: bios\n"
    assert changed == ["hw_firmware_type"]


def test_the_defaults_typed_key_wins_over_the_entrys_properties(tmp_path: Path) -> None:
    """The typed key of the defaults overrides the entry's `properties:` (the table's
    rule), so the live value goes to the entry's key, and out of its properties (the
    entry may not give both)."""
    text = (
        "version: 1\ndefaults:\n  hw_firmware_type: uefi\nimages:\n  - name: img\n"
        "    properties:\n      hw_firmware_type: uefi\n      os_distro: x\n"
    )
    out, changed = updated(tmp_path, text, firmware("bios", os_distro="x"))
    assert out == (
        "version: 1\ndefaults:\n  hw_firmware_type: uefi\nimages:\n  - name: img\n"
        "    properties:\n      os_distro: x\n    hw_firmware_type: bios\n"
    )
    assert changed == ["hw_firmware_type"]


def test_the_typed_key_is_dropped_when_the_cloud_lacks_the_property(tmp_path: Path) -> None:
    out, changed = updated(
        tmp_path, HEAD + "    min_ram: 0\n    hw_firmware_type: uefi\n", firmware()
    )
    assert out == HEAD + "    min_ram: 0\n"
    assert changed == ["hw_firmware_type"]


def test_a_live_value_the_type_refuses_becomes_a_property(tmp_path: Path) -> None:
    """`UEFI` is no value of the key (bios | uefi): written as the plain property, as
    import reads it back, so the manifest still loads."""
    out, changed = updated(tmp_path, HEAD + "    hw_firmware_type: uefi\n", firmware("UEFI"))
    assert out == HEAD + "    properties:\n      hw_firmware_type: UEFI\n"
    assert changed == ["properties.hw_firmware_type"]


def test_a_key_the_entry_and_its_defaults_give_is_left_when_the_cloud_lacks_it(
    tmp_path: Path,
) -> None:
    """Dropping the entry's key would inherit the defaults' value and plan it again, so
    nothing is written and nothing is reported as taken from the cloud."""
    text = (
        "version: 1\ndefaults:\n  hw_firmware_type: bios\nimages:\n  - name: img\n"
        "    hw_firmware_type: uefi\n"
    )
    path = tmp_path / "m.yaml"
    path.write_text(text)
    desired = load([path])
    plan = diff(desired, LiveCatalog((firmware(None),)), TARGET)
    yaml, documents = load_documents(text)
    [(entry, defaults)] = entries(documents)
    assert update_entry(entry, defaults, desired[0], plan.images[0]) == []
    assert dump_documents(yaml, documents) == text
