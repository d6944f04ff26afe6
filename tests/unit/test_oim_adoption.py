"""The first plan after `import --from oim` against images OIM made adopts them: the
current build with its data, the previous builds `NAME (VERSION)` as builds of their
entry (records only); the next source change rotates them like any other builds. Plain
values for the diff, then the in-memory Glance for apply."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from reconciler.cli.main import run as cli
from reconciler.cloud.live import read_catalog
from reconciler.manifests.loader import load_manifests
from reconciler.model.image_view import MANAGED_RECORD, parse_record
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action
from reconciler.model.source import DataSource
from reconciler.planning.diff import diff
from reconciler.render.plan.text import render_text
from tests.fakes import FakeGlance
from tests.unit.test_applier import TARGET, client, plan_for, run
from tests.unit.test_oim import MULTI, SINGLE

NAME = "Ubuntu 24.04"


# community, not public: publicizing needs an admin (the fake refuses it, as Glance does)
COMMUNITY = MULTI.replace("visibility: public", "visibility: community")


def oim_entry(tmp_path: Path, text: str = COMMUNITY) -> DesiredImage:
    files = tmp_path / "etc"
    files.mkdir(exist_ok=True)
    (files / "ubuntu.yml").write_text(text)
    out = tmp_path / "manifests"
    assert cli(["import", "--from", "oim", str(files), "-o", str(out), "--force"]) == 0
    (image,) = load_manifests([out / "images.yaml"]).images
    return image


def oim_image(entry: DesiredImage, name: str, version: str, **more: Any) -> dict[str, Any]:
    """An image as OIM leaves it: what the entry declares, its version's properties,
    and openstacksdk's empty owner_specified.* leftovers."""
    image: dict[str, Any] = dict(entry.core)
    image.update(name=name, tags=list(entry.tags or ()))
    image.update(entry.set_properties)
    image.update(
        internal_version=version,
        image_source=f"https://up.example/noble/{version}/noble.img",
        image_build_date=f"{version[:4]}-{version[4:6]}-{version[6:]}",
        **{"owner_specified.openstack.md5": "", "owner_specified.openstack.sha256": ""},
    )
    image.update(more)
    return image


def seed_oim(fake: FakeGlance, entry: DesiredImage) -> tuple[str, str]:
    previous = fake.seed(oim_image(entry, f"{NAME} (20240101)", "20240101"), status="active")
    current = fake.seed(oim_image(entry, NAME, "20240202"), status="active")
    return current, previous


def test_the_first_plan_only_adopts_and_says_what_it_recognised(tmp_path: Path) -> None:
    entry = oim_entry(tmp_path)
    fake = FakeGlance()
    current, previous = seed_oim(fake, entry)
    plan = plan_for(fake, entry)
    (image,) = plan.images
    assert image.action is Action.ADOPT and image.id == current
    assert not plan.has_changes  # plan --detailed-exitcode: 0
    assert [op.key for op in image.patch] == [MANAGED_RECORD]
    (build,) = image.builds
    assert build.id == previous and build.version == "20240101"
    assert [op.key for op in build.patch] == [MANAGED_RECORD]
    assert any("build recognised" in w and "20240202" in w for w in image.warnings)
    assert any(f"{NAME} (20240101)" in w and "adopted" in w for w in image.warnings)


def test_apply_writes_records_only_and_the_next_plan_is_empty(tmp_path: Path) -> None:
    entry = oim_entry(tmp_path)
    fake = FakeGlance()
    current, previous = seed_oim(fake, entry)
    before = {i["id"]: i for i in fake.images()}
    results, _journal = run(fake, plan_for(fake, entry), tmp_path)
    assert results[NAME].status == "applied"
    assert fake.calls["create_image"] == 0 and fake.calls["upload"] == 0
    after = {i["id"]: i for i in fake.images()}
    assert set(after) == {current, previous}
    for image_id, image in after.items():
        record = parse_record(image.pop(MANAGED_RECORD))
        assert record is not None and record.entry == NAME and record.catalog == "default"
        old = dict(before[image_id])
        for key in ("updated_at",):
            old.pop(key), image.pop(key)
        assert image == old  # names, data, hashes, every property as OIM left them
    assert parse_record(fake.stored(current)[MANAGED_RECORD]).build == entry.data.checksum  # type: ignore[index,union-attr]
    assert parse_record(fake.stored(previous)[MANAGED_RECORD]).version == "20240101"  # type: ignore[index,union-attr]
    assert [i.action for i in plan_for(fake, entry, prune=True).images] == [Action.NOOP]


def test_a_new_build_rotates_oims_builds_under_the_policy(tmp_path: Path) -> None:
    entry = oim_entry(tmp_path)
    fake = FakeGlance()
    current, previous = seed_oim(fake, entry)
    run(fake, plan_for(fake, entry), tmp_path)
    data = tmp_path / "new.img"
    data.write_bytes(b"noble 20240303 " * 500)
    digest = hashlib.sha512(data.read_bytes()).hexdigest()
    properties = dict(entry.properties)
    properties["internal_version"] = "20240303"
    newer = dataclasses.replace(
        entry,
        data=DataSource(str(data), "sha512", digest, "upload", "20240303"),
        properties=tuple(sorted(properties.items())),
    )
    plan = plan_for(fake, newer)
    (image,) = plan.images
    assert image.action is Action.REBUILD
    results, _journal = run(fake, plan, tmp_path)
    assert results[NAME].status == "applied", results[NAME].reason
    names = {i["id"]: i["name"] for i in fake.images()}
    assert names[current] == f"{NAME} (20240202)"  # OIM's name form
    assert names[previous] == f"{NAME} (20240101)"
    (new_id,) = set(names) - {current, previous}
    assert names[new_id] == NAME
    for image_id in (current, previous, new_id):
        record = parse_record(fake.stored(image_id)[MANAGED_RECORD])  # type: ignore[index]
        assert record is not None and record.entry == NAME  # builds of the entry, none orphaned
    again = plan_for(fake, newer, prune=True)
    assert [i.action for i in again.images] == [Action.NOOP]


def test_without_oims_tag_or_with_another_version_nothing_is_adopted(tmp_path: Path) -> None:
    entry = oim_entry(tmp_path)
    untagged = dataclasses.replace(entry, tags=tuple(t for t in entry.tags or () if t != "extra"))
    fake = FakeGlance()
    fake.seed(oim_image(entry, NAME, "20240202"), status="active")
    fake.seed(
        oim_image(entry, f"{NAME} (20240101)", "20240101", tags=["extra"]), status="active"
    )  # no managed_by_osism: not OIM's
    fake.seed(oim_image(entry, f"{NAME} (2023)", "20230101"), status="active")  # name != form
    (image,) = diff([untagged], read_catalog(client(fake), [untagged]), TARGET).images
    assert image.builds == ()
    # a current build of another version than the source's is rebuilt, not adopted
    stale = FakeGlance()
    outgoing = stale.seed(oim_image(entry, NAME, "20231212"), status="active")
    (image,) = diff([entry], read_catalog(client(stale), [entry]), TARGET).images
    assert image.action is Action.REBUILD
    # ... and OIM's build it replaces keeps OIM's name form and becomes a build of the entry
    assert image.rename_previous == f"{NAME} (20231212)"
    (build,) = [b for b in image.builds if b.id == outgoing]
    record = next(op.value for op in build.patch if op.key == MANAGED_RECORD)
    assert parse_record(record).entry == NAME  # type: ignore[union-attr]


def test_a_multi_false_build_is_adopted_with_its_data(tmp_path: Path) -> None:
    files = tmp_path / "etc"
    files.mkdir()
    (files / "talos.yml").write_text(SINGLE.replace("visibility: public", "visibility: community"))
    out = tmp_path / "manifests"
    assert cli(["import", "--from", "oim", str(files), "-o", str(out)]) == 0
    entries = {i.name: i for i in load_manifests([out / "images.yaml"]).images}
    talos = entries["Talos Linux-1.11.3"]
    assert talos.rotation is None and talos.id is not None
    fake = FakeGlance()
    image: dict[str, Any] = dict(talos.core)
    image.update(id=talos.id, tags=list(talos.tags or ()), **talos.set_properties)
    fake.seed(image, status="deactivated")
    (plan,) = plan_for(fake, talos).images
    assert plan.action is Action.ADOPT and [op.key for op in plan.patch] == [MANAGED_RECORD]
    assert plan.warnings[0].startswith("openstack-image-manager's build recognised")
    shown = render_text(plan_for(fake, talos)).plain
    assert "openstack-image-manager's build recognised" in shown and "1.11.3" in shown
    results, _journal = run(fake, plan_for(fake, talos), tmp_path)
    assert results["Talos Linux-1.11.3"].status == "applied"
    assert [i.action for i in plan_for(fake, talos).images] == [Action.NOOP]


def test_builds_oim_already_retired_are_adopted_as_they_are(tmp_path: Path) -> None:
    """OIM run with --deactivate under uuid_validity last-3 left the fourth build
    deactivated; converted with --retire deactivate, that is the rotation's state."""
    files = tmp_path / "etc"
    files.mkdir()
    (files / "ubuntu.yml").write_text(COMMUNITY)
    out = tmp_path / "manifests"
    argv = ["import", "--from", "oim", str(files), "-o", str(out), "--retire", "deactivate"]
    assert cli(argv) == 0
    (entry,) = load_manifests([out / "images.yaml"]).images
    assert entry.rotation is not None and entry.rotation.keep == 3
    fake = FakeGlance()
    old = ["20231001", "20231101", "20240101"]  # oldest first: creation order
    ids = [fake.seed(oim_image(entry, f"{NAME} ({v})", v), status="active") for v in old]
    fake.seed(oim_image(entry, NAME, "20240202"), status="active")
    fake.edit(ids[0], status="deactivated")  # what OIM's --deactivate did
    (image,) = plan_for(fake, entry).images
    assert image.action is Action.ADOPT
    assert {b.id for b in image.builds} == set(ids)
    assert all([op.key for op in b.patch] == [MANAGED_RECORD] for b in image.builds)
    assert all(b.activation is None for b in image.builds)
    # OIM had not yet deactivated it: the plan retires it, a change (not an adoption)
    fake.edit(ids[0], status="active")
    (image,) = plan_for(fake, entry).images
    assert image.action is Action.ROTATE
    (retired,) = [b for b in image.builds if b.activation is not None]
    assert retired.id == ids[0]


def test_a_previous_build_is_recognised_by_its_name_and_internal_version() -> None:
    from reconciler.model.image_view import LiveImage
    from reconciler.oim.conventions import oim_previous_version

    def image(name: str, **view: Any) -> LiveImage:
        return LiveImage("i", None, "active", {"name": name, "tags": ["managed_by_osism"], **view})

    rename = "{name} ({version})"
    assert oim_previous_version(image("A (1.2)", internal_version="1.2"), "A", rename) == "1.2"
    assert oim_previous_version(image("A (1.2)"), "A", rename) == "1.2"  # from the name
    assert oim_previous_version(image("A (1.2)", internal_version="1.3"), "A", rename) is None
    assert oim_previous_version(image("A ()"), "A", rename) is None
    assert oim_previous_version(image("B (1.2)"), "A", rename) is None
    assert oim_previous_version(image("A_(1)"), "A", "{name}_({version})") == "1"
    assert oim_previous_version(image("A {x} (1)"), "A {x}", rename) == "1"  # braces in names
    assert oim_previous_version(image("A 20240101"), "A", "{name} {build_date}") is None
    untagged = LiveImage("i", None, "active", {"name": "A (1)", "tags": []})
    assert oim_previous_version(untagged, "A", rename) is None


def test_an_unrecorded_build_beyond_keep_is_never_deleted_by_the_run_adopting_it(
    tmp_path: Path,
) -> None:
    """Nothing is deleted that the run cannot prove is its own: OIM's fourth build,
    beyond last-3 with `--retire delete`, has no record naming this catalog yet. The
    adopting plan writes its record (and says it is deleted next time); only the next
    plan, once the record is there, deletes it."""
    files = tmp_path / "etc"
    files.mkdir()
    (files / "ubuntu.yml").write_text(COMMUNITY)
    out = tmp_path / "manifests"
    argv = ["import", "--from", "oim", str(files), "-o", str(out), "--retire", "delete"]
    assert cli(argv) == 0
    (entry,) = load_manifests([out / "images.yaml"]).images
    assert entry.rotation is not None and entry.rotation.retired == "delete"
    fake = FakeGlance()
    old = ["20231001", "20231101", "20240101"]
    ids = [fake.seed(oim_image(entry, f"{NAME} ({v})", v), status="active") for v in old]
    fake.seed(oim_image(entry, NAME, "20240202"), status="active")
    plan = plan_for(fake, entry)
    (image,) = plan.images
    assert not any(b.delete for b in image.builds)
    (oldest,) = [b for b in image.builds if b.id == ids[0]]
    assert [op.key for op in oldest.patch] == [MANAGED_RECORD]
    assert oldest.note is not None and "deleted by the next run" in oldest.note
    results, _journal = run(fake, plan, tmp_path)
    assert results[NAME].status == "applied", results[NAME].reason
    assert fake.stored(ids[0]) is not None  # adopted, not deleted
    (image,) = plan_for(fake, entry).images
    assert [(b.id, b.delete) for b in image.builds] == [(ids[0], True)]
