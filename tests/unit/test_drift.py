"""Drift read off plans, the --fail-on rule, and the five views (JUnit parsed back)."""

from __future__ import annotations

from pathlib import Path

import junitparser
import pytest

from reconciler.model.image_view import LiveCatalog
from reconciler.model.plan import (
    Action,
    Activation,
    ImagePlan,
    MemberChanges,
    Op,
    PatchOp,
    Plan,
    Target,
)
from reconciler.planning.diff import diff
from reconciler.planning.drift import (
    DriftDocument,
    FailOn,
    Kind,
    State,
    TargetInfo,
    failed_target,
    has_errors,
    is_failing,
    target_drift,
)
from reconciler.render.drift.html import render_drift_html
from reconciler.render.drift.junit import render_drift_junit
from reconciler.render.drift.markdown import render_drift_markdown
from reconciler.render.drift.text import render_drift_text
from tests.unit.test_diff import PROJECT, TARGET, desired, live, record

RECORD = "/reconciler.managed"


def plan_of(*images: ImagePlan) -> Plan:
    return Plan(Target("c", "R1", PROJECT, "http://g", "iad"), images)


def document(*targets: object) -> DriftDocument:
    return DriftDocument(generated_at="2026-11-27T10:00:00+00:00", targets=list(targets))


DRIFTED = ImagePlan(
    name="web",
    action=Action.UPDATE,
    id="id-web",
    source="m.yaml:3",
    patch=(
        PatchOp(Op.REPLACE, "/os_version", "24.04", "23.10"),
        PatchOp(Op.ADD, "/hw_disk_bus", "virtio"),
        PatchOp(Op.REMOVE, "/legacy", None, "1"),
        PatchOp(Op.REPLACE, "/tags", ["a", "c"], ["a", "b"]),
        PatchOp(Op.REPLACE, "/visibility", "private", "shared"),
        PatchOp(Op.REPLACE, RECORD, record("os_version"), record()),
    ),
    members=MemberChanges(add=("p2",), remove=("p9",)),
    members_managed=True,
    activation=Activation.DEACTIVATE,
    status="active",
    fingerprint="sha256:1",
)


def test_fields_say_cloud_and_git_values_and_skip_the_record() -> None:
    report = target_drift(plan_of(DRIFTED))
    (image,) = report.images
    assert image.state is State.DRIFTED
    got = {f.field: (f.kind, f.live, f.git, f.only_in_git, f.only_in_cloud) for f in image.fields}
    assert got == {
        "os_version": (Kind.PROPERTY, "23.10", "24.04", [], []),
        "hw_disk_bus": (Kind.PROPERTY, None, "virtio", [], []),
        "legacy": (Kind.PROPERTY, "1", None, [], []),
        "tags": (Kind.TAGS, ["a", "b"], ["a", "c"], ["c"], ["b"]),
        "visibility": (Kind.ATTRIBUTE, "shared", "private", [], []),
        "members": (Kind.MEMBERS, None, None, ["p2"], ["p9"]),
        "status": (Kind.STATUS, "active", "deactivated", [], []),
    }
    assert report.summary["drifted"] == 1


def test_states_of_each_action_and_unmanaged_images() -> None:
    images = (
        ImagePlan(name="same", action=Action.NOOP, id="id-1"),
        ImagePlan(
            name="adopt", action=Action.ADOPT, id="id-2", patch=(PatchOp(Op.ADD, RECORD, "[]"),)
        ),
        ImagePlan(name="new", action=Action.CREATE),
        ImagePlan(name="old", action=Action.ORPHAN, id="id-3"),
        ImagePlan(name="dup", action=Action.ERROR, error="name 'dup' matches 2 live images"),
    )
    hand_made = live("id-9", name="by-hand")
    theirs = live("id-8", name="theirs", owner="p-other")
    ours_managed = live("id-3", name="old", **{"reconciler.managed": record()})
    report = target_drift(plan_of(*images), [hand_made, theirs, ours_managed])
    states = {image.name: image.state for image in report.images}
    assert states == {
        "same": State.IN_SYNC,
        "adopt": State.IN_SYNC,
        "new": State.MISSING,
        "old": State.ORPHAN,
        "dup": State.ERROR,
        "by-hand": State.UNMANAGED,
    }
    assert report.summary == {
        "in_sync": 2,
        "drifted": 0,
        "missing": 1,
        "orphan": 1,
        "unmanaged": 1,
        "error": 1,
        "violation": 0,
    }


def test_drift_from_a_real_diff_is_in_sync_after_apply_semantics() -> None:
    image = live(os_distro="x", **{"reconciler.managed": record("os_distro")})
    plan = diff([desired(properties={"os_distro": "x"})], LiveCatalog((image,)), TARGET)
    assert [i.state for i in target_drift(plan).images] == [State.IN_SYNC]
    changed = live(os_distro="y", **{"reconciler.managed": record("os_distro")})
    plan = diff([desired(properties={"os_distro": "x"})], LiveCatalog((changed,)), TARGET)
    (only,) = target_drift(plan).images
    assert only.state is State.DRIFTED and [f.field for f in only.fields] == ["os_distro"]


@pytest.mark.parametrize(
    ("states", "fail_on", "expected"),
    [
        ((Action.NOOP,), FailOn.any, False),
        ((Action.UPDATE,), FailOn.drift, True),
        ((Action.UPDATE,), FailOn.orphans, False),
        ((Action.CREATE,), FailOn.drift, True),
        ((Action.ORPHAN,), FailOn.drift, False),
        ((Action.ORPHAN,), FailOn.orphans, True),
        ((Action.ORPHAN,), FailOn.any, True),
        ((Action.NOOP, Action.CREATE), FailOn.any, True),
    ],
)
def test_fail_on(states: tuple[Action, ...], fail_on: FailOn, expected: bool) -> None:
    images = []
    for n, action in enumerate(states):
        patch = (PatchOp(Op.REPLACE, "/k", "1", "2"),) if action is Action.UPDATE else ()
        images.append(ImagePlan(name=f"i{n}", action=action, id=f"id-{n}", patch=patch))
    assert is_failing(document(target_drift(plan_of(*images))), fail_on) is expected


def test_a_failed_target_is_an_error_not_drift() -> None:
    doc = document(failed_target(TargetInfo(name="dfw"), "authentication refused (401)"))
    assert has_errors(doc) and not is_failing(doc, FailOn.any)


def _mixed() -> DriftDocument:
    return document(
        target_drift(
            plan_of(
                DRIFTED,
                ImagePlan(name="same", action=Action.NOOP, id="id-1"),
                ImagePlan(name="new <b>", action=Action.CREATE, source="m.yaml:9"),
                ImagePlan(name="old", action=Action.ORPHAN, id="id-3"),
            )
        ),
        failed_target(TargetInfo(name="dfw", region="DFW"), "cannot reach the identity service"),
    )


def test_junit_parses_with_one_case_per_image_and_a_failure_per_drift(tmp_path: Path) -> None:
    path = tmp_path / "drift.xml"
    path.write_text(render_drift_junit(_mixed()))
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 2
    cases = {case.name: case for case in suites[0]}
    assert set(cases) == {"web", "same", "new <b>", "old"}
    assert cases["same"].is_passed
    failed = {name: case.result[0] for name, case in cases.items() if not case.is_passed}
    assert set(failed) == {"web", "new <b>", "old"}
    assert failed["web"].message.startswith("drifted: os_version, hw_disk_bus")
    assert 'os_version: cloud "23.10", git "24.04"' in failed["web"].text
    assert failed["new <b>"].type == "missing"
    assert suites[0].tests == 4 and suites[0].failures == 3
    assert suites[1].errors == 1  # the target that could not be read


def test_text_and_markdown_name_every_drifted_field() -> None:
    text = render_drift_text(_mixed()).plain
    assert "~ 'web' (id-web): drifted  m.yaml:3" in text
    assert '    ~ os_version: cloud "23.10", git "24.04"' in text
    assert "    ~ tags: missing in the cloud: c; extra in the cloud: b" in text
    assert "    ~ members: missing in the cloud: p2; extra in the cloud: p9" in text
    assert "'same'" not in text
    assert "! target not read: cannot reach the identity service" in text
    md = render_drift_markdown(_mixed())
    assert "| `web` | drifted | `os_version`, `hw_disk_bus`, `legacy`, `tags`, `visibility`, " in md
    assert "| `new <b>` | missing from the cloud |  | m.yaml:9 |" in md
    assert "**Target not read:** cannot reach the identity service" in md


def test_html_is_self_contained_and_escapes_names() -> None:
    page = render_drift_html(_mixed())
    assert page.startswith("<!DOCTYPE html>")
    assert "new &lt;b&gt;" in page and "new <b>" not in page
    for external in ("<link", "src=", "http://", "https://", "@import"):
        assert external not in page
    assert page.count("<tr class=image ") == 4


def test_json_document_round_trips_through_the_model() -> None:
    doc = _mixed()
    again = DriftDocument.model_validate_json(doc.model_dump_json())
    assert again == doc
