"""Property-based tests of the diff: ops applied with jsonpatch give the desired view,
diff(x, x) is empty, and the inverse ops (newest first) restore the live view."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model.image_view import (
    CORE_ATTRIBUTES,
    MANAGED_CORE,
    MANAGED_RECORD,
    LiveImage,
    encode_record,
)
from reconciler.model.manifest import DesiredImage
from reconciler.planning.diff import desired_view, is_unchanged, patch_ops, plan_image

keys = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
# Custom property names: never a core attribute (Glance has `owner`, `status`, `id`
# ... as attributes; a generated `owner` property once made the image foreign).
custom_keys = keys.filter(lambda k: k not in {*CORE_ATTRIBUTES, MANAGED_RECORD})
values = st.text(max_size=8)
catalogs = st.sampled_from(["default", "alpha", "beta"])
core = st.fixed_dictionaries(
    {},
    optional={
        "visibility": st.sampled_from(["private", "shared", "public", "community"]),
        "protected": st.booleans(),
        "os_hidden": st.booleans(),
        "min_disk": st.integers(0, 100),
        "min_ram": st.integers(0, 4096),
    },
)


@st.composite
def live_images(draw: Any) -> LiveImage:
    props = draw(st.dictionaries(custom_keys, values, max_size=6))
    managed = draw(st.lists(st.sampled_from(sorted(props) or ["x"]), max_size=3))
    raw = {
        "id": "id-1",
        "owner": "p",
        "status": "active",
        "name": "img",
        "visibility": draw(st.sampled_from(["private", "shared"])),
        "protected": draw(st.booleans()),
        "os_hidden": False,
        "min_disk": draw(st.integers(0, 5)),
        "min_ram": 0,
        "disk_format": "raw",
        "container_format": "bare",
        "tags": draw(st.lists(values, max_size=4, unique=True)),
        **props,
    }
    if draw(st.booleans()):
        raw[MANAGED_RECORD] = encode_record(managed, draw(catalogs))
    return LiveImage.from_api(raw)


@st.composite
def desired_images(draw: Any) -> DesiredImage:
    props = draw(st.dictionaries(custom_keys, st.none() | values, max_size=6))
    tags = draw(st.none() | st.lists(values, max_size=4, unique=True))
    return DesiredImage(
        name="img",
        origin="m.yaml:1",
        core=(("name", "img"), *sorted(draw(core).items())),
        tags=tuple(sorted(tags)) if tags is not None else None,
        properties=tuple(sorted(props.items())),
        catalog=draw(catalogs),
    )


@settings(max_examples=300, deadline=None)
@given(live_images(), desired_images())
def test_ops_turn_live_into_desired(image: LiveImage, want: DesiredImage) -> None:
    target = desired_view(want, image.view, record=True)
    plan = plan_image(want, image, "p")
    document = copy.deepcopy(image.view)
    patched = jsonpatch.apply_patch(document, [op.to_json_patch() for op in plan.patch])
    assert patched == target


@settings(max_examples=300, deadline=None)
@given(live_images(), desired_images())
def test_inverse_ops_newest_first_restore_live(image: LiveImage, want: DesiredImage) -> None:
    plan = plan_image(want, image, "p")
    forward = jsonpatch.apply_patch(
        copy.deepcopy(image.view), [op.to_json_patch() for op in plan.patch]
    )
    inverse = [op.inverse().to_json_patch() for op in reversed(plan.patch)]
    assert jsonpatch.apply_patch(forward, inverse) == image.view


@settings(max_examples=200, deadline=None)
@given(live_images())
def test_diff_of_a_view_with_itself_is_empty(image: LiveImage) -> None:
    assert patch_ops(image.view, copy.deepcopy(image.view)) == ()


@settings(max_examples=200, deadline=None)
@given(live_images(), desired_images())
def test_applying_the_plan_twice_converges(image: LiveImage, want: DesiredImage) -> None:
    """After apply, planning again against the result gives no ops."""
    plan = plan_image(want, image, "p")
    after = jsonpatch.apply_patch(
        copy.deepcopy(image.view), [op.to_json_patch() for op in plan.patch]
    )
    again = LiveImage("id-1", "p", "active", after)
    assert plan_image(want, again, "p").patch == ()


@settings(max_examples=400, deadline=None)
@given(live_images(), desired_images(), st.booleans())
def test_fast_path_agrees_with_the_full_view(
    image: LiveImage, want: DesiredImage, record: bool
) -> None:
    full = desired_view(want, image.view, record=record) == image.view
    assert is_unchanged(want, image.view, record=record) == full


@settings(max_examples=200, deadline=None)
@given(live_images())
def test_fast_path_sees_an_image_planned_against_itself(image: LiveImage) -> None:
    """A desired image built from the live view is unchanged."""
    view = image.view
    props = tuple(
        sorted((k, v) for k, v in view.items() if k not in {*MANAGED_CORE, "tags", MANAGED_RECORD})
    )
    want = DesiredImage(
        name="img",
        origin="m.yaml:1",
        core=tuple((k, view[k]) for k in MANAGED_CORE),
        tags=tuple(view["tags"]),
        properties=props,
    )
    assert is_unchanged(want, view, record=False)
