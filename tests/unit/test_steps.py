"""Step order, the convergent ops used to finish or undo a step, each kind's reverse and
its journal round trip (pure parts; sending is tested through the applier)."""

from __future__ import annotations

import pytest

from reconciler.apply.steps import (
    KINDS,
    AddMember,
    CreateImage,
    Deactivate,
    DeleteImage,
    DiscardImage,
    PatchImage,
    Reactivate,
    RemoveMember,
    from_record,
    remaining,
    steps_for,
)
from reconciler.model.plan import Action, Activation, ImagePlan, MemberChanges, Op, PatchOp

OPS = (
    PatchOp(Op.ADD, "/new", "n"),
    PatchOp(Op.REPLACE, "/k", "2", "1"),
    PatchOp(Op.REMOVE, "/gone", None, "g"),
)


def json_ops(ops: tuple[PatchOp, ...]) -> list[dict[str, object]]:
    return [op.to_json_patch() for op in ops]


def test_finishing_a_half_applied_patch_sends_only_what_is_missing() -> None:
    half = {"new": "n", "k": "1", "gone": "g"}  # the add landed, the rest did not
    assert json_ops(remaining(OPS, half)) == [
        {"op": "replace", "path": "/k", "value": "2"},
        {"op": "remove", "path": "/gone"},
    ]
    done = {"new": "n", "k": "2"}
    assert remaining(OPS, done) == ()


def test_undo_is_judged_against_the_image_as_it_is() -> None:
    undo = PatchImage(OPS).reverse().ops
    done = {"new": "n", "k": "2"}
    assert json_ops(remaining(undo, done)) == [
        {"op": "remove", "path": "/new"},
        {"op": "replace", "path": "/k", "value": "1"},
        {"op": "add", "path": "/gone", "value": "g"},
    ]
    untouched = {"k": "1", "gone": "g"}
    assert remaining(undo, untouched) == ()


def test_each_kind_declares_its_reverse() -> None:
    assert PatchImage(OPS).reverse().reverse() == PatchImage(OPS)
    assert AddMember("p").reverse() == RemoveMember("p")
    assert RemoveMember("p").reverse() == AddMember("p")
    assert Deactivate().reverse() == Reactivate()
    assert Reactivate().reverse() == Deactivate()
    assert CreateImage({"id": "i"}).reverse() == DiscardImage()
    assert DeleteImage().reverse() is None
    # A store's copy (issue 25) is never rolled back: those steps run after all else.
    assert [kind.kind for kind in KINDS.values() if not kind.reversible] == [
        "delete",
        "copy-stores",
        "delete-from-store",
    ]
    with pytest.raises(ValueError, match="cannot be undone"):
        DeleteImage().undo(None, "i")  # type: ignore[arg-type]
    # Member calls leave the image as the last create or PATCH answered it.
    assert {kind.kind for kind in KINDS.values() if kind.keeps_answer} == {
        "member_add",
        "member_remove",
    }


def test_steps_survive_the_journal() -> None:
    """A step rebuilt from its journal record (the payload format of earlier versions
    included) is the same step."""
    steps = [
        CreateImage({"name": "x", "id": "i"}),
        PatchImage(OPS),
        AddMember("p"),
        RemoveMember("p"),
        Deactivate(),
        Reactivate(),
        DeleteImage(),
    ]
    for step in steps:
        assert from_record(step.kind, step.payload()) == step
    old = {"ops": [{"op": "replace", "path": "/k", "value": "2", "old": "1"}]}
    assert from_record("patch", old) == PatchImage((PatchOp(Op.REPLACE, "/k", "2", "1"),))
    with pytest.raises(ValueError, match="unknown step kind"):
        from_record("upload", {})


def test_step_order_keeps_glance_happy() -> None:
    image = ImagePlan(
        name="x",
        action=Action.UPDATE,
        id="i",
        patch=(PatchOp(Op.REPLACE, "/visibility", "private", "shared"),),
        members=MemberChanges(add=("a",), remove=("r",)),
        activation=Activation.DEACTIVATE,
    )
    assert [s.kind for s in steps_for(image)] == [
        "member_remove",
        "patch",
        "member_add",
        "deactivate",
    ]
    image = ImagePlan(
        name="x",
        action=Action.UPDATE,
        id="i",
        activation=Activation.REACTIVATE,
        patch=(PatchOp(Op.ADD, "/a", "1"),),
    )
    assert [s.kind for s in steps_for(image)] == ["reactivate", "patch"]
    create = ImagePlan(
        name="x",
        action=Action.CREATE,
        patch=(PatchOp(Op.ADD, "/name", "x"),),
        members=MemberChanges(add=("a",)),
    )
    steps = steps_for(create, "11111111-1111-1111-1111-111111111111")
    assert [s.kind for s in steps] == ["create", "member_add"]
    assert steps[0].payload()["body"] == {
        "name": "x",
        "id": "11111111-1111-1111-1111-111111111111",
    }
