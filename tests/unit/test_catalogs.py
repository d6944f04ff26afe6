"""Catalogs in the pure core: the management record's two formats, the loader's one
catalog per run (file:line for each disagreeing document), and the diff's rule that
another catalog's image is never an orphan, never deleted, and never written without
--take-over (literal cases, then hypothesis over arbitrary mixes)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.errors import ManifestError
from reconciler.manifests.loader import load_manifests
from reconciler.model.image_view import (
    MANAGED_RECORD,
    LiveCatalog,
    LiveImage,
    ManagementRecord,
    Ownership,
    encode_record,
    ownership,
    parse_record,
)
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action, Target
from reconciler.model.planfile import dumps, plan_from_dict
from reconciler.planning.diff import diff
from reconciler.render.plan.text import render_text

PROJECT = "p-demo"
TARGET = Target("sandbox", "RegionOne", PROJECT, "http://glance")


def live(image_id: str, name: str, record: str | None = None, **props: Any) -> LiveImage:
    raw: dict[str, Any] = {"id": image_id, "name": name, "owner": PROJECT, "status": "active"}
    raw.update(props)
    if record is not None:
        raw[MANAGED_RECORD] = record
    return LiveImage.from_api(raw)


def want(name: str, catalog: str, **props: str) -> DesiredImage:
    return DesiredImage(
        name=name,
        origin="m.yaml:3",
        core=(("name", name),),
        properties=tuple(sorted(props.items())),
        catalog=catalog,
    )


# -- the record ------------------------------------------------------------------


def test_record_formats() -> None:
    assert encode_record(["b", "a"]) == '["a","b"]'  # default: the format of 0.1
    assert encode_record(["b", "a"], "alpha") == '{"catalog":"alpha","keys":["a","b"]}'
    assert parse_record('["a"]') == ManagementRecord("default", frozenset({"a"}))
    assert parse_record('{"catalog":"alpha","keys":[]}') == ManagementRecord("alpha", frozenset())
    for broken in ("{", "3", '{"keys":[]}', '{"catalog":"Alpha","keys":[]}', '{"catalog":"a"}'):
        assert parse_record(broken) is None, broken


def test_ownership() -> None:
    assert ownership({}, "alpha") == (Ownership.UNMANAGED, None)
    assert ownership({MANAGED_RECORD: "[]"}, "default") == (Ownership.OURS, "default")
    assert ownership({MANAGED_RECORD: "[]"}, "alpha") == (Ownership.OTHER, "default")
    beta = encode_record([], "beta")
    assert ownership({MANAGED_RECORD: beta}, "alpha") == (Ownership.OTHER, "beta")
    assert ownership({MANAGED_RECORD: "not json"}, "alpha") == (Ownership.UNREADABLE, None)


# -- the loader --------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_one_catalog_per_run(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", "version: 1\ncatalog: alpha\nimages: [{name: x}]\n")
    b = write(tmp_path / "b.yaml", "version: 1\nimages: [{name: y}]\n")
    loaded = load_manifests([a, b])
    assert loaded.catalog == "alpha"
    assert {image.catalog for image in loaded.images} == {"alpha"}
    assert '"catalog":"alpha"' in loaded.images[0].record_text
    assert load_manifests([b]).catalog == "default"
    assert load_manifests([b], catalog="beta").catalog == "beta"
    empty = write(tmp_path / "empty.yaml", "version: 1\ncatalog: alpha\nimages: []\n")
    assert load_manifests([empty]).catalog == "alpha"  # pruning all of a catalog


def test_disagreeing_documents_are_reported_at_their_line(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", "version: 1\ncatalog: alpha\nimages: []\n")
    c = write(
        tmp_path / "c.yaml",
        "version: 1\ncatalog: alpha\nimages: []\n---\nversion: 1\ncatalog: gamma\nimages: []\n",
    )
    with pytest.raises(ManifestError) as caught:
        load_manifests([a, c])
    assert caught.value.problems == [
        f"{c}:6:10: catalog 'gamma' differs from 'alpha' ({a}:2); "
        "all manifests of a run belong to one catalog"
    ]
    with pytest.raises(ManifestError) as caught:
        load_manifests([a], catalog="beta")
    assert caught.value.problems == [
        f"{a}:2:10: catalog 'alpha' differs from 'beta' (--catalog beta); "
        "all manifests of a run belong to one catalog"
    ]


def test_catalog_name_rules(tmp_path: Path) -> None:
    for bad in ("Alpha", "a b", "x" * 64, '""'):
        path = write(tmp_path / "m.yaml", f"version: 1\ncatalog: {bad}\nimages: []\n")
        with pytest.raises(ManifestError) as caught:
            load_manifests([path])
        assert caught.value.problems[0].startswith(f"{path}:2:"), caught.value.problems


# -- the diff ----------------------------------------------------------------------


def test_other_catalogs_are_neither_orphans_nor_pruned() -> None:
    images = LiveCatalog(
        (
            live("id-1", "mine", encode_record([], "alpha")),
            live("id-2", "old", encode_record([], "alpha")),
            live("id-3", "theirs", encode_record([], "beta")),
            live("id-4", "legacy", "[]"),
            live("id-5", "broken", "{"),
            live("id-6", "hand"),
        )
    )
    plan = diff([want("mine", "alpha")], images, TARGET, prune=True)
    assert [(i.name, i.action) for i in plan.images] == [
        ("mine", Action.NOOP),
        ("old", Action.DELETE),
    ]
    assert plan.catalog == "alpha"
    assert plan.others == (("?", 1), ("beta", 1), ("default", 1))
    assert plan.summary["other_catalogs"] == 3


def test_conflict_and_take_over() -> None:
    theirs = live("id-3", "img", encode_record(["team", "extra"], "beta"), team="x", extra="y")
    plan = diff([want("img", "alpha", team="x")], LiveCatalog((theirs,)), TARGET)
    (image,) = plan.images
    assert image.action is Action.ERROR
    assert "managed by catalog 'beta', not 'alpha'" in (image.error or "")
    moved = diff([want("img", "alpha", team="x")], LiveCatalog((theirs,)), TARGET, take_over=True)
    (image,) = moved.images
    assert image.action is Action.ADOPT and image.take_over_from == "beta"
    assert image.has_changes
    # Only the record changes: the key beta recorded and alpha does not name stays.
    assert [(op.op, op.key, op.value) for op in image.patch] == [
        ("replace", MANAGED_RECORD, '{"catalog":"alpha","keys":["team"]}')
    ]
    assert "taken over" in render_text(moved).plain


def test_a_name_is_scoped_by_the_catalog() -> None:
    """Two catalogs each keep an image of the same name: each entry finds its own."""
    images = LiveCatalog(
        (
            live("id-a", "ubuntu", encode_record([], "alpha")),
            live("id-b", "ubuntu", encode_record([], "beta")),
        )
    )
    (image,) = diff([want("ubuntu", "alpha")], images, TARGET).images
    assert (image.action, image.id) == (Action.NOOP, "id-a")
    (image,) = diff([want("ubuntu", "gamma")], images, TARGET).images
    assert image.action is Action.ERROR and "matches 2 live images" in (image.error or "")


def test_plan_file_keeps_the_catalog() -> None:
    theirs = live("id-3", "img", encode_record([], "beta"))
    plan = diff([want("img", "alpha")], LiveCatalog((theirs,)), TARGET, take_over=True)
    again = plan_from_dict(json.loads(dumps(plan)))
    assert again.catalog == "alpha" and again.others == plan.others
    assert again.images[0].take_over_from == "beta"
    old = json.loads(dumps(plan))
    del old["catalog"]  # a plan file written before catalogs existed
    assert plan_from_dict(old).catalog == "default"


def test_orphans_are_one_line_each_and_counted_past_twenty() -> None:
    images = LiveCatalog(
        tuple(live(f"id-{n:02}", f"old-{n:02}", encode_record([], "alpha")) for n in range(25))
    )
    plan = diff([], images, TARGET, catalog="alpha")
    text = render_text(plan).plain
    assert text.count("? 'old-") == 20
    assert "... and 5 more (--show-orphans lists them all)" in text
    assert render_text(plan, show_orphans=True).plain.count("? 'old-") == 25
    assert len(text.splitlines()) < 30


# -- properties ----------------------------------------------------------------------

CATALOGS = ["default", "alpha", "beta"]
records = st.one_of(
    st.none(),
    st.just("{broken"),
    st.builds(encode_record, st.lists(st.sampled_from(["a", "b"])), st.sampled_from(CATALOGS)),
)


@st.composite
def live_catalogs(draw: Any) -> LiveCatalog:
    count = draw(st.integers(0, 8))
    names = st.sampled_from(["n0", "n1", "n2", "n3"])
    return LiveCatalog(
        tuple(
            LiveImage.from_api(
                {
                    "id": f"id-{n}",
                    "name": draw(names),
                    "owner": draw(st.sampled_from([PROJECT, "p-other"])),
                    "status": "active",
                    **({MANAGED_RECORD: r} if (r := draw(records)) is not None else {}),
                }
            )
            for n in range(count)
        )
    )


@settings(max_examples=400, deadline=None)
@given(
    live_catalogs(),
    st.sampled_from(CATALOGS),
    st.lists(st.sampled_from(["n0", "n1", "n2", "n3"]), unique=True),
    st.booleans(),
)
def test_another_catalogs_image_is_never_orphaned_deleted_or_written(
    images: LiveCatalog, catalog: str, names: list[str], prune: bool
) -> None:
    desired = [want(name, catalog) for name in names]
    plan = diff(desired, images, TARGET, prune=prune, catalog=catalog)
    whose = {image.id: ownership(image.view, catalog)[0] for image in images.images}
    for image in plan.images:
        if image.action in (Action.ORPHAN, Action.DELETE):
            assert whose[image.id or ""] is Ownership.OURS
        if image.id is not None and image.patch:
            assert whose[image.id] is not Ownership.OTHER
    # Every image of this catalog's project that no entry matched is an orphan.
    planned = {image.id for image in plan.images}
    for image in images.images:
        if whose[image.id] is Ownership.OURS and image.owner == PROJECT:
            assert image.id in planned
