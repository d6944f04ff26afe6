"""apply's store changes (issue 25) against the in-memory Glance with three stores:
copy-image into missing stores, retried then `copy_failed` with the image intact,
--prune-stores after the copies and never the last copy, the journal's records."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from reconciler.apply import Applier, ImageResult, Status
from reconciler.apply.journal import Journal, read_records
from reconciler.apply.steps import COPY_ATTEMPTS, CopyToStores, DeleteFromStore, from_record
from reconciler.cloud.live import read_catalog
from reconciler.model.image_view import MANAGED_RECORD
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Plan, Target
from reconciler.model.source import DataSource
from reconciler.planning.diff import diff
from tests.fakes import FakeGlance

TARGET = Target("fake", "RegionOne", "p-demo", "http://glance.fake")
STORES = ("store1", "store2", "store3")


def glance() -> FakeGlance:
    fake = FakeGlance(stores=STORES)
    return fake


def seeded(fake: FakeGlance, stores: str) -> str:
    return fake.seed(
        {"name": "img", MANAGED_RECORD: "[]", "visibility": "private"},
        status="active",
        stores=stores,
    )


def entry(stores: tuple[str, ...] | None, all_stores: bool = False) -> DesiredImage:
    return DesiredImage(
        name="img",
        origin="images.yaml:1",
        core=(("name", "img"),),
        stores=stores,
        all_stores=all_stores,
    )


def plan_for(fake: FakeGlance, desired: DesiredImage, prune_stores: bool = False) -> Plan:
    entries = [desired]
    live = read_catalog(fake, entries)  # type: ignore[arg-type]
    plan = diff(entries, live, TARGET, stores=STORES, prune_stores=prune_stores)
    fake.calls.clear()
    return plan


def run(fake: FakeGlance, plan: Plan, tmp_path: Path) -> tuple[ImageResult, list[dict[str, Any]]]:
    path = tmp_path / f"apply-{uuid.uuid4().hex[:8]}.jsonl"
    journal = Journal(path)
    try:
        report = Applier(fake, journal).run(plan)  # type: ignore[arg-type]
    finally:
        journal.close()
    (result,) = report.results
    return result, list(read_records(path))


def stores_of(fake: FakeGlance, image_id: str) -> list[str]:
    image = fake.stored(image_id)
    assert image is not None
    return [s for s in str(image.get("stores") or "").split(",") if s]


def test_a_missing_store_gets_one_copy_image_request(tmp_path: Path) -> None:
    fake = glance()
    image_id = seeded(fake, "store1")
    result, records = run(fake, plan_for(fake, entry(("store1", "store3"))), tmp_path)
    assert result.status is Status.APPLIED, result.reason
    assert sorted(stores_of(fake, image_id)) == ["store1", "store3"]
    assert fake.calls["import_image"] == 1 and fake.calls["patch_image"] == 0
    assert [r["kind"] for r in records if r["type"] == "begin"] == ["copy-stores"]
    assert "in store(s) store1, store3" in result.reason


def test_a_failed_copy_is_retried_then_reported_and_never_rolls_back(tmp_path: Path) -> None:
    fake = glance()
    image_id = seeded(fake, "store1")
    before = fake.stored(image_id)
    fake.broken_stores.add("store3")
    plan = plan_for(fake, entry(("store1", "store2", "store3")))
    result, records = run(fake, plan, tmp_path)
    assert result.status is Status.COPY_FAILED
    assert "store3" in result.reason and "intact in store1, store2" in result.reason
    assert fake.calls["import_image"] == COPY_ATTEMPTS
    image = fake.stored(image_id)
    assert image is not None and before is not None
    assert image["status"] == "active" and image["name"] == before["name"]
    assert stores_of(fake, image_id) == ["store1", "store2"]  # the good copy is kept
    ends = [r for r in records if r["type"] == "end"]
    assert ends[-1]["status"] == "copy_failed"
    assert not [r for r in records if r["type"] == "undone"]


def test_prune_stores_deletes_undeclared_copies_after_the_copies(tmp_path: Path) -> None:
    fake = glance()
    image_id = seeded(fake, "store1,store3")
    plan = plan_for(fake, entry(("store1", "store2")), prune_stores=True)
    result, records = run(fake, plan, tmp_path)
    assert result.status is Status.APPLIED, result.reason
    assert stores_of(fake, image_id) == ["store1", "store2"]
    assert [r["kind"] for r in records if r["type"] == "begin"] == [
        "copy-stores",
        "delete-from-store",
    ]


def test_a_prune_never_follows_a_failed_copy(tmp_path: Path) -> None:
    fake = glance()
    image_id = seeded(fake, "store3")
    fake.broken_stores.add("store2")
    # In none of its declared stores: no prune is planned (store3 holds the only copy),
    # and the copy into store2 fails.
    plan = plan_for(fake, entry(("store2",)), prune_stores=True)
    assert plan.images[0].stores is not None and plan.images[0].stores.prune == ()
    result, _records = run(fake, plan, tmp_path)
    assert result.status is Status.COPY_FAILED
    assert stores_of(fake, image_id) == ["store3"]
    assert fake.calls["delete_from_store"] == 0


def test_the_last_copy_is_never_deleted_even_from_a_stale_plan(tmp_path: Path) -> None:
    fake = glance()
    image_id = seeded(fake, "store3")
    step = DeleteFromStore("store3")
    try:
        step.send(fake, image_id)  # type: ignore[arg-type]
    except Exception as err:
        assert "only copy" in str(err)
    else:
        raise AssertionError("the last copy was deleted")
    assert stores_of(fake, image_id) == ["store3"]


def test_store_steps_are_journalled_and_rebuilt_from_their_record() -> None:
    copy = CopyToStores(("store2", "store3"), 60.0)
    assert from_record(copy.kind, copy.payload()) == copy
    prune = DeleteFromStore("store1")
    assert from_record(prune.kind, prune.payload()) == prune
    assert not copy.reversible and not prune.reversible


def test_a_copy_resent_after_a_lost_answer_asks_only_for_what_is_missing() -> None:
    fake = glance()
    image_id = seeded(fake, "store1,store2")
    CopyToStores(("store2", "store3")).send(fake, image_id)  # type: ignore[arg-type]
    assert stores_of(fake, image_id) == ["store1", "store2", "store3"]
    fake.calls.clear()
    CopyToStores(("store2", "store3")).converge(fake, image_id)  # type: ignore[arg-type]
    assert fake.calls["import_image"] == 0


def _new_build(tmp_path: Path, method: str) -> tuple[FakeGlance, DesiredImage]:
    disk = tmp_path / "disk.raw"
    disk.write_bytes(bytes(range(256)) * 100)
    checksum = hashlib.sha256(disk.read_bytes()).hexdigest()
    data = DataSource(str(disk), "sha256", checksum, method, "1")
    desired = DesiredImage(
        name="img",
        origin="images.yaml:1",
        core=(("name", "img"), ("container_format", "bare"), ("disk_format", "raw")),
        data=data,
        stores=("store2", "store3"),
    )
    return glance(), desired


def test_a_new_build_is_imported_into_every_declared_store_at_once(tmp_path: Path) -> None:
    fake, desired = _new_build(tmp_path, "glance-direct")
    result, records = run(fake, plan_for(fake, desired), tmp_path)
    assert result.status is Status.APPLIED, result.reason
    assert result.id is not None and stores_of(fake, result.id) == ["store2", "store3"]
    assert fake.calls["import_image"] == 1  # one import, both stores; no copy needed
    data_step = next(r for r in records if r["type"] == "begin" and r["kind"] == "data")
    assert data_step["step"]["stores"] == ["store2", "store3"]


def test_an_uploaded_new_build_goes_to_the_first_store_then_is_copied(tmp_path: Path) -> None:
    fake, desired = _new_build(tmp_path, "upload")
    result, _records = run(fake, plan_for(fake, desired), tmp_path)
    assert result.status is Status.APPLIED, result.reason
    assert result.id is not None and stores_of(fake, result.id) == ["store2", "store3"]
    assert fake.calls["import_image"] == 1  # the copy into store3


def test_a_new_build_whose_store_fails_is_rolled_back_with_it(tmp_path: Path) -> None:
    fake, desired = _new_build(tmp_path, "glance-direct")
    fake.broken_stores.add("store3")
    result, _records = run(fake, plan_for(fake, desired), tmp_path)
    assert result.status is Status.ROLLED_BACK, result.reason
    assert fake.images() == []
