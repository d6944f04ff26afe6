"""Property tests of policies against manifests: a manifest built to satisfy scs-0102
passes it, and each single mutation that breaks one rule is reported exactly once, by
that rule, at the right file:line (the changed line, or the entry's when a line is
removed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests.loader import load_manifests
from reconciler.policy.check import check
from reconciler.policy.loader import cli_refs, load_policy
from reconciler.policy.positions import desired_image_facts

SCS = load_policy(cli_refs(["scs-0102"]))
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass
class Image:
    name: str
    visibility: str
    min_disk: int
    min_ram: int
    properties: dict[str, str]


@st.composite
def conformant(draw: Any) -> list[Image]:
    """Public/community images meeting scs-0102, one generic image per version."""
    count = draw(st.integers(1, 4))
    arch = draw(st.sampled_from(["x86_64", "aarch64", "risc-v"]))
    distro = draw(st.sampled_from(["ubuntu", "debian", "almalinux"]))
    images = []
    for index in range(count):
        properties = {
            "architecture": arch,
            "os_distro": distro,
            "os_version": f"{20 + index}.{draw(st.integers(1, 12)):02d}",
            "hw_disk_bus": draw(st.sampled_from(["virtio", "scsi"])),
            "replace_frequency": draw(st.sampled_from(["monthly", "weekly", "never"])),
            "uuid_validity": draw(st.sampled_from(["none", "last-3", "2027-12-31", "forever"])),
            "provided_until": draw(st.sampled_from(["none", "notice", "2028-01-31"])),
            "image_source": draw(st.sampled_from(["private", "https://cloud.example/img.qcow2"])),
            "image_description": "https://docs.example/images",
            "image_build_date": draw(st.sampled_from(["2026-11-01", "2026-11-01 10:20"])),
            "image_original_user": draw(st.sampled_from(["ubuntu", "debian", "none"])),
            "os_purpose": "generic",
        }
        images.append(
            Image(
                name=f"img-{index}",
                visibility=draw(st.sampled_from(["public", "community"])),
                min_disk=draw(st.integers(1, 40)),
                min_ram=draw(st.integers(0, 4096)),
                properties=properties,
            )
        )
    return images


def render(images: list[Image]) -> tuple[str, dict[tuple[int, str], int]]:
    """The manifest text, and the line of each image's entry ("") and each field."""
    lines = ["version: 1", "images:"]
    where: dict[tuple[int, str], int] = {}
    for index, image in enumerate(images):
        lines.append(f"  - name: {image.name}")
        where[(index, "")] = len(lines)
        for key, value in (
            ("visibility", image.visibility),
            ("min_disk", image.min_disk),
            ("min_ram", image.min_ram),
        ):
            lines.append(f"    {key}: {value}")
            where[(index, key)] = len(lines)
        lines.append("    properties:")
        for key, value in image.properties.items():
            lines.append(f'      {key}: "{value}"')
            where[(index, key)] = len(lines)
    return "\n".join(lines) + "\n", where


def violations_of(tmp: Path, text: str) -> list[tuple[str, str | None]]:
    path = tmp / "images.yaml"
    path.write_text(text)
    manifests = load_manifests([path])
    return [
        (v.rule_id, v.where)
        for v in check(SCS, desired_image_facts(manifests.images, manifests.documents))
    ]


# One mutation per rule: (rule id, field changed, new value or None to drop the line).
MUTATIONS = [
    ("scs-0102/architecture", "architecture", None),
    ("scs-0102/architecture", "architecture", "sparc"),
    ("scs-0102/min-disk", "min_disk", 0),
    ("scs-0102/min-disk", "min_disk", None),
    ("scs-0102/min-ram", "min_ram", None),
    ("scs-0102/os-distro", "os_distro", "Ubuntu Linux"),
    ("scs-0102/os-version", "os_version", "noble"),
    ("scs-0102/hw-disk-bus", "hw_disk_bus", "floppy"),
    ("scs-0102/replace-frequency", "replace_frequency", "sometimes"),
    ("scs-0102/uuid-validity", "uuid_validity", "last-"),
    ("scs-0102/provided-until", "provided_until", "2028-02-30"),
    ("scs-0102/image-source", "image_source", "mirror"),
    ("scs-0102/image-description", "image_description", None),
    ("scs-0102/image-build-date", "image_build_date", "01.11.2026"),
    ("scs-0102/image-original-user", "image_original_user", None),
    ("scs-0102/os-purpose", "os_purpose", "desktop"),
]


@SETTINGS
@given(conformant())
def test_a_conformant_manifest_passes(tmp_path: Path, images: list[Image]) -> None:
    text, _where = render(images)
    assert violations_of(tmp_path, text) == []


@SETTINGS
@given(conformant(), st.data())
def test_each_single_mutation_is_reported_once_at_its_line(
    tmp_path: Path, images: list[Image], data: Any
) -> None:
    index = data.draw(st.integers(0, len(images) - 1))
    rule_id, key, value = data.draw(st.sampled_from(MUTATIONS))
    image = images[index]
    if key in image.properties:
        if value is None:
            del image.properties[key]
        else:
            image.properties[key] = str(value)
    text, where = render(images)
    if key in ("min_disk", "min_ram"):
        lines = text.splitlines()
        line = where[(index, key)]
        if value is None:
            del lines[line - 1]
            text = "\n".join(lines) + "\n"
        else:
            lines[line - 1] = f"    {key}: {value}"
            text = "\n".join(lines) + "\n"
    path = str(tmp_path / "images.yaml")
    expected_line = where[(index, "")] if value is None else where[(index, key)]
    col = 5 if value is None else (5 if key in ("min_disk", "min_ram") else 7)
    assert violations_of(tmp_path, text) == [(rule_id, f"{path}:{expected_line}:{col}")]


@SETTINGS
@given(conformant().filter(lambda images: len(images) >= 2), st.data())
def test_a_second_generic_image_of_a_group_is_reported_once(
    tmp_path: Path, images: list[Image], data: Any
) -> None:
    first, second = data.draw(st.permutations(range(len(images))))[:2]
    images[second].properties["os_version"] = images[first].properties["os_version"]
    text, where = render(images)
    later = max(first, second)
    path = str(tmp_path / "images.yaml")
    assert violations_of(tmp_path, text) == [
        ("scs-0102/generic-unique", f"{path}:{where[(later, '')]}:5")
    ]
    images[later].properties["os_purpose"] = "oldgeneric"  # rotated out: fine again
    assert violations_of(tmp_path, render(images)[0]) == []
