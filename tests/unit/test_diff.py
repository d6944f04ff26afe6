"""diff(desired, live) with literal inputs and the exact ops expected."""

from __future__ import annotations

import json
from typing import Any

from reconciler.model.image_view import MANAGED_RECORD, LiveCatalog, LiveImage, image_view
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action, MemberChanges, Op, PatchOp, Target
from reconciler.planning.diff import diff, plan_image

PROJECT = "p-demo"
TARGET = Target("sandbox", "RegionOne", PROJECT, "http://glance")
RECORD_PATH = "/reconciler.managed"


def live(
    image_id: str = "id-1",
    owner: str = PROJECT,
    members: tuple[str, ...] | None = None,
    **attrs: Any,
) -> LiveImage:
    raw = {
        "id": image_id,
        "name": "img",
        "owner": owner,
        "status": "active",
        "visibility": "private",
        "protected": False,
        "os_hidden": False,
        "min_disk": 0,
        "min_ram": 0,
        "disk_format": "raw",
        "container_format": "bare",
        "tags": [],
        "checksum": "abc",
        "size": 1024,
        "os_hash_algo": "sha512",
        "stores": "fs",
        **attrs,
    }
    image = LiveImage.from_api(raw)
    image.members = members
    return image


def desired(**kwargs: Any) -> DesiredImage:
    props = kwargs.pop("properties", {})
    core = kwargs.pop("core", {})
    return DesiredImage(
        name=kwargs.pop("name", "img"),
        origin="m.yaml:3",
        core=(("name", "img"), *core.items()),
        properties=tuple(sorted(props.items())),
        **kwargs,
    )


def ops_of(d: DesiredImage, image: LiveImage | None) -> list[tuple[str, str, Any, Any]]:
    return [(str(o.op), o.path, o.value, o.old) for o in plan_image(d, image, PROJECT).patch]


def record(*keys: str) -> str:
    return json.dumps(sorted(keys), separators=(",", ":"))


def test_new_property_is_added_changed_replaced_and_record_written() -> None:
    image = live(os_distro="debian", **{MANAGED_RECORD: record("os_distro")})
    ops = ops_of(desired(properties={"os_distro": "ubuntu", "os_version": "24.04"}), image)
    assert ops == [
        ("replace", "/os_distro", "ubuntu", "debian"),
        ("add", "/os_version", "24.04", None),
        ("replace", RECORD_PATH, record("os_distro", "os_version"), record("os_distro")),
    ]


def test_null_and_false_remove_present_properties_only() -> None:
    # The loader turns `false` into None; both mean REMOVE.
    image = live(a="1", b="2", **{MANAGED_RECORD: record()})
    ops = ops_of(desired(properties={"a": None, "b": None, "c": None}), image)
    assert ops == [("remove", "/a", None, "1"), ("remove", "/b", None, "2")]


def test_deleted_yaml_line_removes_only_managed_keys() -> None:
    image = live(
        os_distro="ubuntu",
        os_version="24.04",
        owner_specified_x="keep",
        os_glance_importing_to_stores="",
        **{MANAGED_RECORD: record("os_distro", "os_version")},
    )
    ops = ops_of(desired(properties={"os_distro": "ubuntu"}), image)
    assert ops == [
        ("remove", "/os_version", None, "24.04"),
        ("replace", RECORD_PATH, record("os_distro"), record("os_distro", "os_version")),
    ]


def test_tags_compared_as_a_set_and_replaced_whole() -> None:
    image = live(tags=["b", "a"], **{MANAGED_RECORD: record()})
    assert ops_of(desired(tags=("a", "b")), image) == []
    assert ops_of(desired(tags=("a", "c")), image) == [("replace", "/tags", ["a", "c"], ["a", "b"])]
    assert ops_of(desired(tags=()), image) == [("replace", "/tags", [], ["a", "b"])]
    assert ops_of(desired(tags=None), image) == []


def test_core_attributes_are_replaced_and_false_is_a_value() -> None:
    image = live(protected=True, **{MANAGED_RECORD: record()})
    ops = ops_of(desired(core={"visibility": "shared", "protected": False, "min_disk": 10}), image)
    assert ops == [
        ("replace", "/min_disk", 10, 0),
        ("replace", "/protected", False, True),
        ("replace", "/visibility", "shared", "private"),
    ]


def test_keys_with_slash_and_tilde_are_escaped() -> None:
    image = live(**{MANAGED_RECORD: record()})
    ops = ops_of(desired(properties={"a/b": "1", "c~d": "2"}), image)
    assert [o[:2] for o in ops] == [
        ("add", "/a~1b"),
        ("add", "/c~0d"),
        ("replace", RECORD_PATH),
    ]


def test_image_as_desired_without_record_is_adopted_not_updated() -> None:
    # Made by hand or imported: everything as the manifest says, no record yet.
    image = live(os_distro="x")
    result = plan_image(desired(properties={"os_distro": "x"}), image, PROJECT)
    assert result.action is Action.ADOPT
    assert [(str(o.op), o.path) for o in result.patch] == [("add", RECORD_PATH)]
    assert result.fingerprint == image.fingerprint
    assert result.has_work and not result.has_changes
    # One real change besides the record makes it an ordinary update.
    changed = plan_image(desired(properties={"os_distro": "y"}), image, PROJECT)
    assert changed.action is Action.UPDATE


def test_unchanged_image_is_noop_with_no_ops() -> None:
    image = live(os_distro="x", **{MANAGED_RECORD: record("os_distro")})
    result = plan_image(desired(properties={"os_distro": "x"}), image, PROJECT)
    assert result.action is Action.NOOP and result.patch == ()
    assert result.fingerprint is None  # nothing to apply, so no stale check needed


def test_create_has_adds_for_everything_given() -> None:
    result = plan_image(
        desired(core={"visibility": "private"}, tags=("t",), properties={"k": "v", "gone": None}),
        None,
        PROJECT,
    )
    assert result.action is Action.CREATE
    assert [(str(o.op), o.path, o.value) for o in result.patch] == [
        ("add", "/k", "v"),
        ("add", "/name", "img"),
        ("add", RECORD_PATH, record("k")),
        ("add", "/tags", ["t"]),
        ("add", "/visibility", "private"),
    ]


def test_base_image_of_another_project_is_flagged_and_gets_no_record() -> None:
    image = live(owner="p-admin", os_version="12")
    result = plan_image(desired(properties={"os_version": "12.7"}), image, PROJECT)
    assert [(str(o.op), o.path) for o in result.patch] == [("replace", "/os_version")]
    assert any("p-admin" in w and "403" in w for w in result.warnings)
    # Unchanged base image: no record op, so no write and no warning.
    same = plan_image(desired(properties={"os_version": "12"}), image, PROJECT)
    assert same.action is Action.NOOP and same.warnings == ()


def test_members_are_set_arithmetic() -> None:
    image = live(visibility="shared", members=("p1", "p2"), **{MANAGED_RECORD: record()})
    result = plan_image(desired(members=("p2", "p3")), image, PROJECT)
    assert result.members == MemberChanges(add=("p3",), remove=("p1",))
    assert result.action is Action.UPDATE


def test_members_without_shared_visibility_warn() -> None:
    image = live(**{MANAGED_RECORD: record()}, members=())
    result = plan_image(desired(members=("p3",)), image, PROJECT)
    assert any("shared" in w for w in result.warnings)


def test_matching_ambiguity_missing_id_and_orphans() -> None:
    one = live("id-1", name="dup")
    two = live("id-2", name="dup")
    orphan = live("id-3", name="old", **{MANAGED_RECORD: record()})
    foreign = live("id-4", name="theirs", owner="p-x", **{MANAGED_RECORD: record()})
    catalog = LiveCatalog((one, two, orphan, foreign))
    plan = diff(
        [desired(name="dup"), desired(name="pinned", id="00000000-0000-0000-0000-000000000000")],
        catalog,
        TARGET,
    )
    actions = [(i.name, i.action) for i in plan.images]
    assert actions == [("dup", Action.ERROR), ("pinned", Action.ERROR), ("old", Action.ORPHAN)]
    assert "id-1" in (plan.images[0].error or "") and "id-2" in (plan.images[0].error or "")
    pruned = diff([], catalog, TARGET, prune=True)
    assert [(i.name, i.action) for i in pruned.images] == [("old", Action.DELETE)]
    assert pruned.summary["delete"] == 1


def test_protected_orphan_is_never_pruned() -> None:
    orphan = live("id-3", name="old", protected=True, **{MANAGED_RECORD: record()})
    plan = diff([], LiveCatalog((orphan,)), TARGET, prune=True)
    assert plan.images[0].action is Action.ORPHAN
    assert "protected" in plan.images[0].warnings[0]


def test_inverse_ops() -> None:
    assert PatchOp(Op.ADD, "/a", "1").inverse() == PatchOp(Op.REMOVE, "/a", None, "1")
    assert PatchOp(Op.REMOVE, "/a", None, "1").inverse() == PatchOp(Op.ADD, "/a", "1", None)
    assert PatchOp(Op.REPLACE, "/a", "2", "1").inverse() == PatchOp(Op.REPLACE, "/a", "1", "2")


def test_image_view_drops_server_fields() -> None:
    view = image_view(
        {
            "id": "x",
            "name": "n",
            "status": "active",
            "checksum": "c",
            "size": 1,
            "tags": ["b", "a"],
            "custom": "v",
            "stores": "fs",
        }
    )
    assert view["tags"] == ["a", "b"] and view["custom"] == "v"
    assert not {"id", "status", "checksum", "size", "stores"} & view.keys()


def test_deactivation_is_planned_only_from_the_right_state() -> None:
    active = live(**{MANAGED_RECORD: record()})
    assert plan_image(desired(deactivated=True), active, PROJECT).activation == "deactivate"
    assert plan_image(desired(deactivated=False), active, PROJECT).activation is None
    off = live(status="deactivated", **{MANAGED_RECORD: record()})
    result = plan_image(desired(deactivated=False), off, PROJECT)
    assert result.activation == "reactivate" and result.action is Action.UPDATE
    queued = live(status="queued", **{MANAGED_RECORD: record()})
    result = plan_image(desired(deactivated=True), queued, PROJECT)
    assert result.activation is None and any("active" in w for w in result.warnings)


def test_an_entry_without_source_keeps_only_its_own_catalogs_build() -> None:
    """Issue 26, 1: the build an image's record names survives an entry without
    `source:`; taken over from another catalog, the image starts without its build."""
    built = json.dumps(
        {"catalog": "team", "keys": [], "build": "sha256:" + "a" * 64, "entry": "img"},
        separators=(",", ":"),
    )
    image = live(**{"reconciler.managed": built})
    assert ops_of(desired(catalog="team"), image) == []
    taken = plan_image(desired(), image, PROJECT, take_over_from="team")
    [record_op] = [op for op in taken.patch if op.path == RECORD_PATH]
    assert record_op.value == "[]"  # the default catalog, no build
