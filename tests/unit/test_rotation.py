"""Builds and rotation: the rename template's rules, the pure planning of an entry's
other builds, and the applier carrying a rotation out against the in-memory Glance as
one unit per entry (renames and metadata, hide / deactivate / delete beyond `keep`,
deletes last, everything undone on a failure before the deletes). The acceptance
scenarios run against the real Glance in tests/sandbox/test_rotation.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.apply import TAIL_ATTEMPTS, Status
from reconciler.cloud.live import read_catalog
from reconciler.errors import ManifestError
from reconciler.manifests.loader import load_manifests
from reconciler.model.image_view import MANAGED_RECORD, LiveImage, encode_record, parse_record
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action, BuildRole
from reconciler.model.planfile import dumps, plan_from_dict
from reconciler.model.rotation import Rotation, render, template_problem
from reconciler.model.source import DataSource
from reconciler.planning.builds import newest_first, plan_builds
from reconciler.planning.diff import diff
from reconciler.planning.drift import Kind, target_drift
from reconciler.render.plan.text import render_text
from tests.fakes import FakeGlance, Fault
from tests.unit.test_applier import TARGET, plan_for, run

OLDGENERIC = (("os_purpose", "oldgeneric"),)


def entry(
    name: str,
    data: DataSource,
    rotation: Rotation | None,
    catalog: str = "default",
    **props: str,
) -> DesiredImage:
    return DesiredImage(
        name=name,
        origin="images.yaml:1",
        core=(("name", name), ("container_format", "bare"), ("disk_format", "raw")),
        properties=tuple(sorted({"os_purpose": "generic", **props}.items())),
        catalog=catalog,
        data=data,
        rotation=rotation,
    )


def source(tmp_path: Path, version: int) -> DataSource:
    path = tmp_path / f"build-{version}.raw"
    path.write_bytes(f"build {version} ".encode() * 400)
    digest = hashlib.sha512(path.read_bytes()).hexdigest()
    return DataSource(str(path), "sha512", digest, "upload", str(version))


def rotation(keep: int | None = 2, retired: str = "hide") -> Rotation:
    return Rotation(
        previous_properties=OLDGENERIC,
        previous_core=(("os_hidden", False),),
        keep=keep,
        retired=retired,
    )


def builds_of(fake: FakeGlance, name: str = "img") -> list[dict[str, Any]]:
    """The images whose record names the entry, newest first (as stored)."""
    found = []
    for image in fake.images():
        record = parse_record(image.get(MANAGED_RECORD))
        if record is not None and record.entry == name:
            found.append(image)
    return sorted(found, key=lambda i: i["created_at"], reverse=True)


def roll(fake: FakeGlance, tmp_path: Path, versions: range, policy: Rotation | None) -> None:
    for version in versions:
        plan = plan_for(fake, entry("img", source(tmp_path, version), policy))
        results, _records = run(fake, plan, tmp_path)
        assert results["img"].status is Status.APPLIED, results["img"].reason


# -- the rename template ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{name} {version}", None),
        ("{name} ({build_date})", None),
        ("{name} old {version} {build_date}", None),
        ("{name}", "needs {version} or {build_date}"),
        ("{name} {release}", "unknown placeholder {release}"),
        ("{name} {version!r}", "unknown placeholder {version}"),
        ("{name} {version:>10}", "unknown placeholder {version}"),
        ("{name} {0}", "unknown placeholder {0}"),
        ("{name} {version", "is not valid"),
    ],
)
def test_rename_templates(template: str, problem: str | None) -> None:
    found = template_problem(template)
    assert (found is None) if problem is None else (found is not None and problem in found)


@given(
    name=st.text(min_size=1, max_size=255),
    version=st.text(min_size=1, max_size=64).filter(lambda v: "{" not in v),
)
@settings(max_examples=200)
def test_a_rendered_name_is_never_the_plain_name_and_fits_glance(name: str, version: str) -> None:
    rendered = render("{name} {version}", name, version, "20261101")
    assert len(rendered) <= 255
    assert rendered != name or len(name) >= 255


# -- planning the builds (pure) ------------------------------------------------------


def live(image_id: str, name: str, created: str, version: str, **view: Any) -> LiveImage:
    record = encode_record(["os_purpose"], "default", "sha512:" + "0" * 128, version, "img")
    full = {"name": name, "os_purpose": "generic", MANAGED_RECORD: record, **view}
    return LiveImage(image_id, "p", "active", full, created_at=created)


def test_builds_beyond_keep_are_retired_newest_kept() -> None:
    wanted = entry("img", DataSource("/x", "sha512", "1" * 128, "upload", "4"), rotation(keep=3))
    outgoing = live("c", "img", "2026-11-04T00:00:00Z", "3")
    others = sorted(
        [
            live("a", "img 1", "2026-11-01T00:00:00Z", "1"),
            live("b", "img 2", "2026-11-02T00:00:00Z", "2"),
            live("z", "img 0", "2026-10-01T00:00:00Z", "0", os_hidden=True),
        ],
        key=newest_first,
    )
    builds = plan_builds(wanted, outgoing, others, {"img": [outgoing]})
    assert [(b.id, b.role) for b in builds] == [
        ("c", BuildRole.PREVIOUS),
        ("b", BuildRole.PREVIOUS),
        ("a", BuildRole.RETIRED),
        ("z", BuildRole.RETIRED),
    ]
    assert builds[0].new_name == "img 3"
    by_id = {b.id: {op.key: op.value for op in b.patch} for b in builds}
    assert by_id["c"]["os_purpose"] == "oldgeneric" and "os_hidden" in by_id["c"]
    assert by_id["a"]["os_hidden"] is True and by_id["a"]["os_purpose"] == "oldgeneric"
    assert by_id["z"] == {"os_purpose": "oldgeneric"}  # hidden and named already


def test_a_rename_taken_by_another_image_gets_the_id() -> None:
    wanted = entry("img", DataSource("/x", "sha512", "1" * 128, "upload", "2"), None)
    outgoing = live("c0ffee00-1", "img", "2026-11-04T00:00:00Z", "1")
    stranger = LiveImage("s", "p", "active", {"name": "img 1"})
    (build,) = plan_builds(wanted, outgoing, (), {"img": [outgoing], "img 1": [stranger]})
    assert build.new_name == "img 1 (c0ffee00)"


def test_protected_builds_are_never_deleted_only_reported() -> None:
    wanted = entry(
        "img", DataSource("/x", "sha512", "1" * 128, "upload", "3"), rotation(1, "delete")
    )
    guarded = live("g", "img 1", "2026-11-01T00:00:00Z", "1", protected=True)
    plain = live("p", "img 2", "2026-11-02T00:00:00Z", "2")
    builds = {b.id: b for b in plan_builds(wanted, None, [plain, guarded], {})}
    assert builds["p"].delete and not builds["g"].delete
    assert builds["g"].note is not None and "protected" in builds["g"].note


# -- carried out (in-memory Glance) ------------------------------------------------------


@pytest.mark.parametrize("retired", ["hide", "deactivate", "delete"])
def test_three_source_changes_keep_two(retired: str, tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 5), rotation(keep=2, retired=retired))
    builds = builds_of(fake)
    plain = [b for b in fake.images() if b["name"] == "img"]
    assert len(plain) == 1 and plain[0]["id"] == builds[0]["id"]
    newest = hashlib.sha512(Path(source(tmp_path, 4).location).read_bytes()).hexdigest()
    assert plain[0]["os_hash_value"] == newest and plain[0]["os_purpose"] == "generic"
    assert builds[1]["name"] == "img 3" and builds[1]["os_purpose"] == "oldgeneric"
    assert builds[1]["os_hidden"] is False and builds[1]["status"] == "active"
    if retired == "delete":
        assert len(builds) == 2
    else:
        assert [b["name"] for b in builds[2:]] == ["img 2", "img 1"]
        for old in builds[2:]:
            assert old["os_purpose"] == "oldgeneric"
            if retired == "hide":
                assert old["os_hidden"] is True and old["status"] == "active"
            else:
                assert old["status"] == "deactivated" and old["os_hidden"] is False
    for build in builds:  # every build's data is its own file's
        version = parse_record(build[MANAGED_RECORD]).version  # type: ignore[union-attr]
        path = Path(source(tmp_path, int(str(version))).location)
        assert build["os_hash_value"] == hashlib.sha512(path.read_bytes()).hexdigest()
    again = plan_for(fake, entry("img", source(tmp_path, 4), rotation(2, retired)), prune=True)
    assert [i.action for i in again.images] == [Action.NOOP]


def test_changing_only_the_policy_retires_without_a_new_build(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    assert all(not b.get("os_hidden") for b in builds_of(fake))
    plan = plan_for(fake, entry("img", source(tmp_path, 3), rotation(keep=2)))
    (image,) = plan.images
    assert image.action is Action.ROTATE and image.data is None
    assert [(b.role, b.name) for b in image.builds] == [(BuildRole.RETIRED, "img 1")]
    assert "Plan: 0 to create, 0 to update, 1 to rotate" in render_text(plan).plain
    writes = fake.writes
    results, _records = run(fake, plan, tmp_path)
    assert results["img"].status is Status.APPLIED, results["img"].reason
    assert fake.writes == writes + 1  # one PATCH: img 1 hidden
    assert [b["os_hidden"] for b in builds_of(fake)] == [False, False, True]


def test_a_failure_mid_rotation_leaves_every_build_as_before(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    before = {b["id"]: b for b in builds_of(fake)}
    plan = plan_for(fake, entry("img", source(tmp_path, 4), rotation(keep=2)))
    (image,) = plan.images
    assert image.action is Action.REBUILD and len(image.builds) == 3
    # The new build is made and the outgoing build renamed; the next previous build's
    # PATCH is refused.
    fake.inject("patch_image", Fault.FORBIDDEN, nth=2)
    results, records = run(fake, plan, tmp_path)
    assert results["img"].status is Status.ROLLED_BACK, results["img"].reason
    after = {b["id"]: b for b in builds_of(fake)}
    assert after.keys() == before.keys()  # the new build is gone
    for image_id, old in before.items():
        now = {k: v for k, v in after[image_id].items() if k != "updated_at"}
        assert now == {k: v for k, v in old.items() if k != "updated_at"}
    assert sum(1 for r in records if r["type"] == "undone") >= 3


def test_deletes_run_last_and_only_after_everything_else(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    plan = plan_for(fake, entry("img", source(tmp_path, 4), rotation(2, "delete")))
    results, records = run(fake, plan, tmp_path)
    assert results["img"].status is Status.APPLIED, results["img"].reason
    begins = [r["kind"] for r in records if r["type"] == "begin"]
    assert begins[-2:] == ["delete", "delete"] and "delete" not in begins[:-2]
    assert len(builds_of(fake)) == 2
    # A refused PATCH before the deletes: nothing is deleted.
    fake2 = FakeGlance()
    roll(fake2, tmp_path, range(1, 4), rotation(keep=3))
    plan = plan_for(fake2, entry("img", source(tmp_path, 4), rotation(1, "delete")))
    fake2.inject("patch_image", Fault.FORBIDDEN, nth=1)
    results, _records = run(fake2, plan, tmp_path)
    assert results["img"].status is Status.ROLLED_BACK
    assert len(builds_of(fake2)) == 3 and fake2.calls["delete_image"] == 1  # the new build


def test_a_build_renamed_back_by_hand_is_drift_and_is_renamed_again(tmp_path: Path) -> None:
    fake = FakeGlance()
    policy = rotation(keep=3)
    roll(fake, tmp_path, range(1, 3), policy)
    previous = builds_of(fake)[1]
    fake.edit(previous["id"], name="img", os_hidden=True)  # by hand
    plan = plan_for(fake, entry("img", source(tmp_path, 2), policy))
    (image,) = plan.images
    assert image.action is Action.ROTATE  # the current build is still matched
    drift = target_drift(plan)
    (found,) = drift.images
    assert found.state == "drifted" and found.fields[0].kind is Kind.BUILD
    results, _records = run(fake, plan, tmp_path)
    assert results["img"].status is Status.APPLIED, results["img"].reason
    assert fake.stored(previous["id"])["name"] == "img 1"  # type: ignore[index]


def test_two_catalogs_rotating_the_same_name_do_not_touch_each_other(tmp_path: Path) -> None:
    fake = FakeGlance()

    def of(catalog: str) -> dict[str, dict[str, Any]]:
        return {
            image["id"]: image
            for image in fake.images()
            if parse_record(image[MANAGED_RECORD]).catalog == catalog  # type: ignore[union-attr]
        }

    for version in range(1, 4):
        for catalog, other in (("alpha", "beta"), ("beta", "alpha")):
            untouched = of(other)
            wanted = entry("img", source(tmp_path, version), rotation(2, "delete"), catalog)
            plan = diff([wanted], _catalog(fake), TARGET, catalog=catalog, prune=True)
            results, _records = run(fake, plan, tmp_path)
            assert results["img"].status is Status.APPLIED, results["img"].reason
            assert of(other) == untouched
    for catalog in ("alpha", "beta"):
        names = sorted(image["name"] for image in of(catalog).values())
        assert names[0] == "img" and names[1].startswith("img 2") and len(names) == 2


def _catalog(fake: FakeGlance) -> Any:
    return read_catalog(fake, ())


def test_an_entry_that_leaves_makes_all_its_builds_orphans_together(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    other = DesiredImage(name="other", origin="m.yaml:9", core=(("name", "other"),))
    plan = plan_for(fake, other, prune=True)
    deleted = [i for i in plan.images if i.action is Action.DELETE]
    assert [i.name for i in deleted] == ["img", "img 1", "img 2"]
    assert [i.build_of for i in deleted] == [None, "img", "img"]
    results, _records = run(fake, plan, tmp_path)
    assert builds_of(fake) == []
    assert all(r.status is Status.APPLIED for r in results.values())


def test_plan_files_keep_the_builds(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    plan = plan_for(fake, entry("img", source(tmp_path, 4), rotation(2, "deactivate")))
    again = plan_from_dict(json.loads(dumps(plan)))
    assert again == plan
    image = json.loads(dumps(plan))["images"][0]
    assert image["rename_previous"] == "img 3"
    assert [b["role"] for b in image["builds"]] == ["previous", "retired", "retired"]
    assert image["builds"][1]["activation"] == "deactivate"


def test_previous_builds_appear_in_the_text_plan(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 3), rotation(keep=2))
    out = render_text(plan_for(fake, entry("img", source(tmp_path, 3), rotation(2)))).plain
    assert "current build (once the new one is active and verified)" in out
    assert 'renamed "img" -> "img 2"' in out
    assert 'os_purpose: "generic" -> "oldgeneric"' in out
    assert "retired build" in out and "os_hidden: false -> true" in out


# -- manifests -----------------------------------------------------------------------------


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "disk.img").write_bytes(b"x")
    path = tmp_path / "images.yaml"
    path.write_text(body)
    return path


SHA = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("block", "line", "message"),
    [
        ("    rotation: {rename: '{name}'}\n", 9, "needs {version} or {build_date}"),
        ("    rotation: {retired: delete}\n", 9, "retired needs keep"),
        ("    rotation: {keep: 0}\n", 9, "greater than or equal to 1"),
        ("    rotation: {kept: 2}\n", 9, "unknown key 'kept'; did you mean 'keep'?"),
        ("    rotation:\n      previous: {os_purpose: x}\n", 10, "unknown key 'os_purpose'"),
    ],
)
def test_rotation_problems_point_at_their_line(
    tmp_path: Path, block: str, line: int, message: str
) -> None:
    path = _write(
        tmp_path,
        "version: 1\nimages:\n  - name: img\n    disk_format: raw\n    container_format: bare\n"
        f"    source:\n      url: disk.img\n      checksum: {SHA}\n{block}",
    )
    with pytest.raises(ManifestError) as caught:
        load_manifests([path])
    text = str(caught.value)
    assert f"images.yaml:{line}:" in text and message in text, text


def test_rotation_needs_a_source_and_defaults_apply_only_to_sources(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\ndefaults:\n  rotation: {keep: 2, previous: {properties: {a: false}}}\n"
        "images:\n  - name: plain\n  - name: img\n    disk_format: raw\n"
        f"    container_format: bare\n    source: {{url: disk.img, checksum: '{SHA}'}}\n",
    )
    images = {i.name: i for i in load_manifests([path]).images}
    assert images["plain"].rotation is None
    assert images["img"].rotation == Rotation(
        previous_properties=(("a", None),), keep=2, retired="hide"
    )
    path.write_text("version: 1\nimages:\n  - name: plain\n    rotation: {keep: 2}\n")
    with pytest.raises(ManifestError, match=r"images.yaml:4:\d+: rotation needs a source"):
        load_manifests([path])


def test_a_refused_delete_of_a_retired_build_leaves_the_entry_committed_incomplete(
    tmp_path: Path,
) -> None:
    """Issue 28: the new build is in place and verified; a refused DELETE after it is
    not undone (the entry is as asked but that build), reported `incomplete` naming
    it, with one `end` record; the next plan has exactly that delete left."""
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    plan = plan_for(fake, entry("img", source(tmp_path, 4), rotation(2, "delete")))
    refused = next(b for b in plan.images[0].builds if b.delete)  # the first delete sent
    # Refused every time it is sent (the tail is retried: TAIL_ATTEMPTS sends).
    fake.inject("delete_image", Fault.FORBIDDEN, nth=1, times=TAIL_ATTEMPTS)
    results, records = run(fake, plan, tmp_path)
    result = results["img"]
    assert result.status is Status.INCOMPLETE, result
    assert f"retired build {refused.id} not deleted: 403" in result.reason
    assert f"retired build {refused.id} deleted" not in result.reason
    assert sum(1 for r in records if r["type"] == "end") == 1
    assert not any(r["type"] == "undone" for r in records)
    plain = [b for b in fake.images() if b["name"] == "img"]
    assert len(plain) == 1 and parse_record(plain[0][MANAGED_RECORD]).version == "4"  # type: ignore[union-attr]
    again = plan_for(fake, entry("img", source(tmp_path, 4), rotation(2, "delete")))
    (image,) = again.images
    assert image.action is Action.ROTATE
    assert [(b.id, b.delete) for b in image.builds] == [(refused.id, True)]


def test_a_tail_step_refused_once_is_sent_again(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    plan = plan_for(fake, entry("img", source(tmp_path, 4), rotation(2, "hide")))
    fake.inject("patch_image", Fault.FORBIDDEN, nth=3)  # the retired build's hide, once
    results, records = run(fake, plan, tmp_path)
    assert results["img"].status is Status.APPLIED, results["img"].reason
    assert not any(r["type"] == "undone" for r in records)  # the tail is never undone
    assert [b["os_hidden"] for b in builds_of(fake)] == [False, False, True, True]


def test_no_delete_follows_a_failed_verification(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    plan = plan_for(fake, entry("img", source(tmp_path, 4), rotation(2, "delete")))
    fake.inject("patch_image", Fault.IGNORED, nth=1)  # a rename the server drops
    results, records = run(fake, plan, tmp_path)
    assert results["img"].status is Status.DIVERGED, results["img"].reason
    assert "not deleted" in results["img"].reason
    assert fake.calls["delete_image"] == 0
    assert sum(1 for r in records if r["type"] == "end") == 1


def test_a_rebuild_rolled_back_from_its_journal_never_has_two_plain_names(
    tmp_path: Path,
) -> None:
    """Issue 28: the journal is undone newest first across the unit (by seq), so the new
    build gives the name back before the old build takes it again."""
    from reconciler.apply import Applier, roll_back_journal
    from reconciler.apply.journal import Journal, histories
    from tests.fakes import Crash
    from tests.unit.test_applier import client

    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 2), rotation(keep=3))
    (old,) = builds_of(fake)
    plan = plan_for(fake, entry("img", source(tmp_path, 2), rotation(keep=3)))
    fake.inject("patch_image", Fault.CRASH_AFTER, nth=2)  # killed once the name is taken
    path = tmp_path / "killed.jsonl"
    journal = Journal(path)
    with pytest.raises(Crash):
        Applier(client(fake), journal, parallelism=1).run(plan)
    journal.close()
    fake.revive()
    assert sorted(i["name"] for i in fake.images()) == ["img", "img 1"]
    plain_counts: list[int] = []
    patch = fake.patch_image

    def watched(image_id: str, ops: Any) -> Any:
        answer = patch(image_id, ops)
        plain_counts.append(sum(1 for i in fake.images() if i["name"] == "img"))
        return answer

    fake.patch_image = watched  # type: ignore[method-assign]
    journal = Journal(path)
    report = roll_back_journal(client(fake), journal, histories(path))
    journal.close()
    assert {r.status for r in report.results} == {Status.ROLLED_BACK}, report
    assert plain_counts and max(plain_counts) <= 1, plain_counts
    assert [i["id"] for i in fake.images()] == [old["id"]]
    assert fake.stored(old["id"])["name"] == "img"  # type: ignore[index]
