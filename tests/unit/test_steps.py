"""Step order and the convergent ops used to finish or undo a step (pure parts)."""

from __future__ import annotations

from reconciler.plan import Action, Activation, ImagePlan, MemberChanges, Op, PatchOp
from reconciler.steps import op_payload, ops_towards, steps_for

OPS = [
    op_payload(PatchOp(Op.ADD, "/new", "n")),
    op_payload(PatchOp(Op.REPLACE, "/k", "2", "1")),
    op_payload(PatchOp(Op.REMOVE, "/gone", None, "g")),
]


def test_finishing_a_half_applied_patch_sends_only_what_is_missing() -> None:
    half = {"new": "n", "k": "1", "gone": "g"}  # the add landed, the rest did not
    assert ops_towards(OPS, half, "value") == [
        {"op": "replace", "path": "/k", "value": "2"},
        {"op": "remove", "path": "/gone"},
    ]
    done = {"new": "n", "k": "2"}
    assert ops_towards(OPS, done, "value") == []


def test_undo_is_judged_against_the_image_as_it_is() -> None:
    done = {"new": "n", "k": "2"}
    assert ops_towards(OPS, done, "old") == [
        {"op": "remove", "path": "/new"},
        {"op": "replace", "path": "/k", "value": "1"},
        {"op": "add", "path": "/gone", "value": "g"},
    ]
    untouched = {"k": "1", "gone": "g"}
    assert ops_towards(OPS, untouched, "old") == []


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
    assert steps[0].payload["body"] == {"name": "x", "id": "11111111-1111-1111-1111-111111111111"}
