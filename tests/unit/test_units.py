"""Units (issue 28): each action's plan compiled into the steps the applier runs, in
the planner's order, split at the commit point: what runs before it (undone whole on a
failure), what after (retried, never undone), and when a new build is published."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply.units import compile_unit
from reconciler.model.image_view import MANAGED_RECORD
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action
from tests.fakes import FakeGlance
from tests.unit.test_applier import plan_for, record
from tests.unit.test_rotation import builds_of, entry, roll, rotation, source

NEW_ID = "00000000-0000-4000-8000-000000000001"


def kinds(phases: tuple) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(phase.image_id, step.kind) for phase in phases for step in phase.steps]


def test_update_is_one_phase_on_its_image() -> None:
    fake = FakeGlance()
    image_id = fake.seed({"k": "1", MANAGED_RECORD: record("k")}, name="u")
    wanted = DesiredImage(
        name="u", origin="x:1", core=(("name", "u"),), properties=(("k", "2"),), members=None
    )
    (image,) = plan_for(fake, wanted).images
    assert image.action is Action.UPDATE
    unit = compile_unit(image, image_id)
    assert kinds(unit.phases) == [(image_id, "patch")] and unit.tail == ()
    assert not unit.building


def test_a_create_with_data_is_published_only_after_its_data(tmp_path: Path) -> None:
    fake = FakeGlance()
    wanted = entry("img", source(tmp_path, 1), None)
    wanted = DesiredImage(
        name=wanted.name,
        origin=wanted.origin,
        core=(*wanted.core, ("visibility", "community")),
        properties=wanted.properties,
        data=wanted.data,
    )
    (image,) = plan_for(fake, wanted).images
    unit = compile_unit(image, NEW_ID)
    assert kinds(unit.phases) == [(NEW_ID, "create"), (NEW_ID, "data"), (NEW_ID, "patch")]
    create, _data, publish = unit.phases[0].steps
    assert create.payload()["body"]["visibility"] == "private"
    assert create.payload()["body"]["name"] == "img (new build)"
    ops = {op["path"]: op["value"] for op in publish.payload()["ops"]}
    assert ops == {"/name": "img", "/visibility": "community"}
    assert unit.building and unit.tail == ()


def test_a_rebuild_with_rotation_orders_builds_and_splits_at_the_commit_point(
    tmp_path: Path,
) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    newest, middle, oldest = builds_of(fake)
    (image,) = plan_for(fake, entry("img", source(tmp_path, 4), rotation(2, "delete"))).images
    assert image.action is Action.REBUILD
    unit = compile_unit(image, NEW_ID)
    # Before the commit point: the new build made and verified under its temporary
    # name, the outgoing build renamed, then the new build takes the name.
    assert kinds(unit.phases) == [
        (NEW_ID, "create"),
        (NEW_ID, "data"),
        (newest["id"], "patch"),
        (NEW_ID, "patch"),
    ]
    take = unit.phases[-1].steps[0].payload()["ops"]
    assert take == [{"op": "replace", "path": "/name", "value": "img", "old": "img (new build)"}]
    # After it: the retired builds (beyond keep 2) deleted, last; nothing else.
    assert kinds(unit.tail) == [(middle["id"], "delete"), (oldest["id"], "delete")]


def test_a_rotation_without_a_new_build_retires_in_the_tail(tmp_path: Path) -> None:
    fake = FakeGlance()
    roll(fake, tmp_path, range(1, 4), rotation(keep=3))
    oldest = builds_of(fake)[-1]
    (image,) = plan_for(fake, entry("img", source(tmp_path, 3), rotation(keep=2))).images
    assert image.action is Action.ROTATE
    unit = compile_unit(image, str(image.id))
    assert all(p.image_id != oldest["id"] for p in unit.phases)
    assert kinds(unit.tail) == [(oldest["id"], "patch")]  # hidden, after the commit point
    assert not unit.building


def test_a_prune_is_one_delete() -> None:
    fake = FakeGlance()
    orphan = fake.seed({"reconciler.managed": '{"catalog":"default","keys":[]}'}, name="orphan")
    plan = plan_for(fake, prune=True)
    (image,) = [i for i in plan.images if i.action is Action.DELETE]
    unit = compile_unit(image, orphan)
    assert kinds(unit.phases) == [(orphan, "delete")] and unit.tail == ()
