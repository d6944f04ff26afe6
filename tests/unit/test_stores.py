"""Glance stores (issue 25): the manifest's `stores:`, its offline checks, and the set
arithmetic of the plan (copy, extra, --prune-stores never the last copy)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ManifestError, PlanFileError
from reconciler.manifests.loader import load
from reconciler.model import planfile
from reconciler.model.image_view import MANAGED_RECORD, LiveCatalog, LiveImage, Ownership, ownership
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action, Plan, StorePlan, Target
from reconciler.planning.diff import diff
from reconciler.planning.drift import DriftDocument, Kind, State, target_drift
from reconciler.planning.stores import plan_stores, store_ids, unknown_stores
from reconciler.policy.check import check
from reconciler.policy.facts import desired_facts, live_facts
from reconciler.policy.models import LoadedRule, Policy, Rule
from reconciler.render.drift import DriftFormat, render_drift
from reconciler.render.plan.markdown import render_markdown
from reconciler.render.plan.text import render_text

PROJECT = "p-demo"
TARGET = Target("sandbox", "RegionOne", PROJECT, "http://glance")
AVAILABLE = ("store1", "store2", "store3")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as err:
        load([path])
    return err.value.problems


def live(stores: str | None, **attrs: Any) -> LiveImage:
    raw = {
        "id": "id-1",
        "name": "img",
        "owner": PROJECT,
        "status": "active",
        "visibility": "private",
        "protected": False,
        "os_hidden": False,
        "min_disk": 0,
        "min_ram": 0,
        "disk_format": "raw",
        "container_format": "bare",
        "tags": [],
        MANAGED_RECORD: json.dumps([]),
        **({"stores": stores} if stores is not None else {}),
        **attrs,
    }
    return LiveImage.from_api(raw)


def desired(stores: tuple[str, ...] | None = None, all_stores: bool = False) -> DesiredImage:
    return DesiredImage(
        name="img", origin="m.yaml:3", core=(("name", "img"),), stores=stores, all_stores=all_stores
    )


def test_stores_merge_from_defaults_and_the_entry_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        defaults:
          stores: [store2, store1]
        images:
          - name: one
          - name: two
            stores: all
          - name: three
            stores: [store3]
        """,
    )
    one, two, three = load([path])
    assert (one.stores, one.all_stores) == (("store1", "store2"), False)
    assert (two.stores, two.all_stores) == (None, True)
    assert three.stores == ("store3",)


def test_a_manifest_without_stores_does_not_manage_them(tmp_path: Path) -> None:
    [image] = load([write(tmp_path, "version: 1\nimages:\n  - name: one\n")])
    assert image.stores is None and not image.all_stores


def test_store_names_are_checked_offline_at_their_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        defaults:
          stores: [a, a]
        images:
          - name: one
            stores: []
          - name: two
            stores: [store1, "", " x"]
        """,
    )
    found = problems(path)
    p = str(path)
    assert f"{p}:3:15: store 'a' is listed twice" in found
    assert any(f.startswith(f"{p}:6:5: stores needs at least one store name") for f in found)
    assert f"{p}:8:22: store name '' must be non-empty, no spaces" in found
    assert f"{p}:8:26: store name ' x' must be non-empty, no spaces" in found
    assert len(found) == 4


def test_stores_must_be_a_list_or_all(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nimages:\n  - name: one\n    stores: some\n")
    found = problems(path)
    assert found == [f"{path}:4:13: stores: a list of store names, or `all` (got 'some')"]


def test_validate_online_names_stores_glance_does_not_list() -> None:
    images = [desired(("store1", "nowhere")), desired(None), desired(None, all_stores=True)]
    found = unknown_stores(images, AVAILABLE)
    assert [problem for _image, problem in found] == [
        "store 'nowhere' is not one of Glance's stores (store1, store2, store3)"
    ]
    assert [p for _i, p in unknown_stores(images[2:], ())] == [
        "stores: this Glance lists no stores (no enabled_backends)"
    ]
    assert store_ids([{"id": "store1", "default": True}, {"id": "store2"}]) == AVAILABLE[:2]


def test_missing_stores_are_copied_and_undeclared_ones_reported() -> None:
    stores = plan_stores(desired(("store1", "store2")), live("store1,store3"), AVAILABLE)
    assert stores == StorePlan(
        wanted=("store1", "store2"),
        live=("store1", "store3"),
        missing=("store2",),
        extra=("store3",),
    )
    assert stores.has_work  # the copy


def test_prune_stores_deletes_extras_but_never_the_last_copy() -> None:
    pruned = plan_stores(desired(("store1",)), live("store1,store3"), AVAILABLE, prune=True)
    assert pruned is not None and pruned.prune == ("store3",) and pruned.missing == ()
    # In none of the declared stores yet: the extra copy is the only one; kept.
    only = plan_stores(desired(("store2",)), live("store3"), AVAILABLE, prune=True)
    assert only is not None and only.missing == ("store2",) and only.prune == ()
    assert only.extra == ("store3",)


def test_prune_stores_only_touches_images_whose_record_names_this_catalog() -> None:
    """Nothing is deleted that the run cannot prove is its own: an unmanaged image the
    entry adopts in this run keeps its extra copy until the next run."""
    unmanaged = live("store1,store3", **{MANAGED_RECORD: None})
    assert ownership(unmanaged.view, "default")[0] is Ownership.UNMANAGED
    plan = diff(
        [desired(("store1",))],
        LiveCatalog((unmanaged,)),
        TARGET,
        stores=AVAILABLE,
        prune_stores=True,
    )
    [planned] = plan.images
    assert planned.stores is not None and planned.stores.prune == ()
    assert planned.stores.extra == ("store3",)
    ours = diff(
        [desired(("store1",))],
        LiveCatalog((live("store1,store3"),)),
        TARGET,
        stores=AVAILABLE,
        prune_stores=True,
    )
    assert ours.images[0].stores is not None and ours.images[0].stores.prune == ("store3",)


def test_all_means_every_store_glance_lists() -> None:
    stores = plan_stores(desired(None, all_stores=True), live("store2"), AVAILABLE)
    assert stores is not None and stores.missing == ("store1", "store3") and stores.all_stores


def test_an_unchanged_image_missing_a_store_becomes_an_update_with_a_fingerprint() -> None:
    image = live("store1")
    plan = diff([desired(("store1", "store2"))], LiveCatalog((image,)), TARGET, stores=AVAILABLE)
    [planned] = plan.images
    assert planned.action is Action.UPDATE and planned.patch == ()
    assert planned.stores is not None and planned.stores.missing == ("store2",)
    assert planned.fingerprint == image.fingerprint
    assert plan.has_changes


def test_an_image_in_its_stores_is_a_noop_and_extras_alone_change_nothing() -> None:
    plan = diff([desired(("store1",))], LiveCatalog((live("store1"),)), TARGET, stores=AVAILABLE)
    assert plan.images[0].action is Action.NOOP and not plan.has_changes
    extra = diff(
        [desired(("store1",))], LiveCatalog((live("store1,store2"),)), TARGET, stores=AVAILABLE
    )
    [planned] = extra.images
    assert planned.action is Action.NOOP and planned.stores is not None
    assert planned.stores.extra == ("store2",) and not extra.has_changes


def test_a_new_image_is_imported_into_every_declared_store() -> None:
    plan = diff([desired(("store1", "store3"))], LiveCatalog(()), TARGET, stores=AVAILABLE)
    [planned] = plan.images
    assert planned.action is Action.CREATE and planned.stores is not None
    assert planned.stores.missing == ("store1", "store3") and planned.stores.live == ()


def test_an_entry_without_stores_gets_no_store_plan() -> None:
    plan = diff([desired(None)], LiveCatalog((live("store1,store2"),)), TARGET, stores=AVAILABLE)
    assert plan.images[0].stores is None and plan.images[0].action is Action.NOOP


def test_live_stores_are_read_from_the_comma_separated_attribute() -> None:
    assert live("store2, store1").stores == ("store1", "store2")
    assert live(None).stores == ()


def _store_plan() -> Plan:
    image = live("store1,store3")
    return diff(
        [desired(("store1", "store2"))],
        LiveCatalog((image,)),
        TARGET,
        stores=AVAILABLE,
        prune_stores=True,
    )


def test_views_show_each_store_copy_and_prune() -> None:
    plan = _store_plan()
    out = render_text(plan).plain
    assert "    + store store2: copy (copy-image)\n" in out
    assert "    - store store3: delete the copy (--prune-stores)\n" in out
    assert "| ~ | `img` ⚠️ | update | 2 |" in render_markdown(plan)
    kept = diff(
        [desired(("store1",))], LiveCatalog((live("store1,store3"),)), TARGET, stores=AVAILABLE
    )
    text = render_text(kept).plain
    assert "# store store3: not declared (--prune-stores deletes the copy)" in text
    assert "1 in stores their entries do not declare" in text
    assert kept.summary["extra_stores"] == 1 and not kept.has_changes


def test_the_plan_file_keeps_the_store_plan_and_refuses_pruning_the_last_copy(
    tmp_path: Path,
) -> None:
    plan = _store_plan()
    path = tmp_path / "plan.json"
    planfile.save(plan, path)
    assert planfile.read(path) == plan
    data = json.loads(path.read_text())
    assert data["images"][0]["stores"]["missing"] == ["store2"]
    data["images"][0]["stores"]["prune"] = ["store1", "store3"]
    with pytest.raises(PlanFileError, match="last copy"):
        planfile.plan_from_dict(data)


def test_drift_reports_stores_missing_from_and_extra_in_every_format() -> None:
    plan = diff(
        [desired(("store1", "store2"))],
        LiveCatalog((live("store1,store3"),)),
        TARGET,
        stores=AVAILABLE,
    )
    report = target_drift(plan)
    [image] = report.images
    assert image.state is State.DRIFTED
    [stores] = image.fields
    assert (stores.field, stores.kind) == ("stores", Kind.STORES)
    assert (stores.only_in_git, stores.only_in_cloud) == (["store2"], ["store3"])
    doc = DriftDocument(generated_at="2026-12-03T18:00:00+00:00", targets=[report])
    text = render_drift(doc, DriftFormat.text)
    assert "stores: missing in the cloud: store2; extra in the cloud: store3" in str(
        getattr(text, "plain", text)
    )
    for fmt in DriftFormat:
        out = str(getattr(render_drift(doc, fmt), "plain", render_drift(doc, fmt)))
        if fmt is DriftFormat.openmetrics:  # counts per state, no fields
            assert 'state="drifted"' in out and "} 1" in out.split('state="drifted"')[1][:20]
        else:
            assert "stores" in out, fmt
    assert json.loads(str(render_drift(doc, DriftFormat.json)))["targets"][0]["images"][0][
        "fields"
    ][0]["only_in_git"] == ["store2"]


def test_an_image_only_in_an_extra_store_drifts_but_one_in_its_stores_does_not() -> None:
    extra = diff(
        [desired(("store1",))], LiveCatalog((live("store1,store2"),)), TARGET, stores=AVAILABLE
    )
    assert target_drift(extra).images[0].state is State.DRIFTED
    same = diff([desired(("store1",))], LiveCatalog((live("store1"),)), TARGET, stores=AVAILABLE)
    assert target_drift(same).images[0].state is State.IN_SYNC


def test_a_glance_without_stores_plans_none_and_says_so() -> None:
    image = live(None)
    for entry in (desired(("store1",)), desired(None, all_stores=True)):
        plan = diff([entry], LiveCatalog((image,)), TARGET, stores=())
        [planned] = plan.images
        assert planned.stores is None and planned.action is Action.NOOP
        assert planned.warnings == (
            "stores: this Glance lists no stores (no enabled_backends): not planned",
        )


def test_a_new_build_shows_the_stores_its_data_goes_to() -> None:
    plan = diff([desired(("store1", "store3"))], LiveCatalog(()), TARGET, stores=AVAILABLE)
    assert "+ stores: store1, store3 (the new build's data)" in render_text(plan).plain


def test_a_policy_can_require_a_store_set_of_desired_and_live_images() -> None:
    policy = Policy(
        names=("team",),
        rules=(
            LoadedRule(
                Rule.model_validate(
                    {
                        "id": "team/stores",
                        "message": "images are in both availability zones",
                        "require": {"stores": ["store1", "store2"]},
                    }
                ),
                "team",
            ),
        ),
    )
    found = check(
        policy,
        [
            desired_facts(desired(("store1", "store2", "store3"))),
            desired_facts(desired(None, all_stores=True)),
            desired_facts(desired(("store1",))),
            desired_facts(desired(None)),
            live_facts(live("store2,store1")),
            live_facts(live("store3")),
        ],
    )
    assert [v.detail for v in found] == [
        "not declared in store(s) store2 (declared in: store1)",
        "stores not declared (needs store1, store2)",
        "not in store(s) store1, store2 (in: store3)",
    ]
    assert {v.field for v in found} == {"stores"}


def test_copies_and_prunes_warn_of_glances_admin_only_policies() -> None:
    plan = _store_plan()
    assert plan.images[0].warnings == (
        "copy-image needs Glance's copy_image policy (admin by default)",
        "deleting from a store needs Glance's delete_image_location policy (admin by default)",
    )
    new = diff([desired(("store1",))], LiveCatalog(()), TARGET, stores=AVAILABLE)
    assert new.images[0].warnings == ()  # a new build's import needs no such policy
