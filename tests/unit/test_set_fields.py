"""Fields compared as sets (tags, stores) in the plan's description and the drift
report: set arithmetic, so order and repeats never count and each side's own items
are the set differences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reconciler.model.plan import Action, ImagePlan, Op, PatchOp, StorePlan
from reconciler.planning.drift import Kind, image_drift
from reconciler.render.plan.describe import describe_op

names = st.lists(st.sampled_from(["a", "b", "c", "d", "e f", "ü"]), max_size=8)


@given(names, names)
def test_a_tag_change_is_told_as_the_tags_added_and_removed(old: list[str], new: list[str]) -> None:
    line = describe_op(PatchOp(Op.REPLACE, "/tags", new, old))
    added, removed = set(new) - set(old), set(old) - set(new)
    if added or removed:
        parts = [f"+{t}" for t in sorted(added)] + [f"-{t}" for t in sorted(removed)]
        assert line.text == "tags: " + " ".join(parts)
    else:
        assert "->" in line.text  # the same set: the two lists as they are


@given(names, names)
def test_drift_lists_each_sides_own_tags_and_stores(git: list[str], live: list[str]) -> None:
    tags = image_drift(
        ImagePlan(
            name="x", action=Action.UPDATE, id="i", patch=(PatchOp(Op.REPLACE, "/tags", git, live),)
        )
    ).fields[0]
    stores = image_drift(
        ImagePlan(
            name="x", action=Action.NOOP, id="i", stores=StorePlan(tuple(sorted(git)), tuple(live))
        )
    ).fields
    for field, kind in ((tags, Kind.TAGS), *((f, Kind.STORES) for f in stores)):
        assert field.kind is kind
        assert field.git == sorted(set(git)) and field.live == sorted(set(live))
        assert field.only_in_git == sorted(set(git) - set(live))
        assert field.only_in_cloud == sorted(set(live) - set(git))
    assert bool(stores) == (set(git) != set(live))
