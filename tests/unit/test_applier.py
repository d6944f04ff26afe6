"""The applier's decisions against the in-memory Glance (tests/fakes/glance.py), without
the sandbox: each step kind's send, verify and undo, resends after a lost answer, the
stale check, the rollback of a run that stopped half-way, and what the journal records.

Plans are made the way `plan` makes them (`live.read_catalog` through the fake, then
`diff.diff`), and run only through `Applier(...).run`, `roll_back_journal` and the
report types, so the tests hold while the steps' internals change. The same rules are
checked against the real Glance by tests/sandbox/test_apply.py and
test_fake_parity.py; this whole file runs in about a second.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import Applier, ApplyReport, ImageResult, Status, roll_back_journal
from reconciler.apply.journal import Journal, histories, read_records
from reconciler.cloud.api import GlanceAPI
from reconciler.cloud.glance import GlanceClient
from reconciler.cloud.live import read_catalog
from reconciler.model.image_view import MANAGED_RECORD
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action, Plan, Target
from reconciler.planning.diff import diff
from tests.fakes import Crash, FakeGlance, Fault

PROJECT, OTHER, THIRD = "p-demo", "p-other", "p-third"
TARGET = Target("fake", "RegionOne", PROJECT, "http://glance.fake")


def record(*keys: str) -> str:
    return json.dumps(sorted(keys), separators=(",", ":"))


def entry(
    name: str,
    *,
    props: dict[str, str | None] | None = None,
    tags: list[str] | None = None,
    members: list[str] | None = None,
    deactivated: bool | None = None,
    **core: Any,
) -> DesiredImage:
    """A manifest entry as the loader makes it (see tests/unit/test_diff.py)."""
    return DesiredImage(
        name=name,
        origin="images.yaml:1",
        core=(("name", name), *sorted(core.items())),
        tags=tuple(sorted(tags)) if tags is not None else None,
        properties=tuple(sorted((props or {}).items())),
        members=tuple(sorted(members)) if members is not None else None,
        deactivated=deactivated,
    )


def client(fake: FakeGlance) -> Any:
    """The fake where production code is still annotated with GlanceClient; it
    implements GlanceAPI (checked in test_the_real_client_and_the_fake_share_one_shape)."""
    return fake


def plan_for(fake: FakeGlance, *entries: DesiredImage, prune: bool = False) -> Plan:
    """The plan `reconciler plan` would make; the fake's counters start afresh after."""
    plan = diff(list(entries), read_catalog(client(fake), entries), TARGET, prune=prune)
    fake.calls.clear()
    fake.slept.clear()
    return plan


def run(
    fake: FakeGlance, plan: Plan, tmp_path: Path, *, parallelism: int = 1
) -> tuple[dict[str, ImageResult], list[dict[str, Any]]]:
    """Apply the plan; the results by image name and the journal's records."""
    path = tmp_path / f"apply-{uuid.uuid4().hex[:8]}.jsonl"
    journal = Journal(path)
    try:
        report = Applier(client(fake), journal, parallelism=parallelism).run(plan)
    finally:
        journal.close()
    assert isinstance(report, ApplyReport) and report.journal == str(path)
    return {r.name: r for r in report.results}, list(read_records(path))


def kinds(records: list[dict[str, Any]], record_type: str = "begin") -> list[str]:
    return [r["kind"] for r in records if r["type"] == record_type]


def types(records: list[dict[str, Any]]) -> list[str]:
    return [r["type"] for r in records]


def without_updated_at(image: dict[str, Any] | None) -> dict[str, Any]:
    assert image is not None
    return {k: v for k, v in image.items() if k != "updated_at"}


# -- the interface ---------------------------------------------------------------------


def test_the_real_client_and_the_fake_share_one_shape() -> None:
    # mypy checks these two lines structurally (and reconciler/cloud/api.py checks the
    # real client again under `make lint`); the loop below checks them at run time.
    real: type[GlanceAPI] = GlanceClient
    fake: type[GlanceAPI] = FakeGlance
    wanted = [n for n in vars(GlanceAPI) if not n.startswith("_")]
    assert sorted(wanted) == sorted(
        [
            "retry",
            "sleep",
            "list_images",
            "get_image",
            "find_image",
            "list_members",
            "create_image",
            "patch_image",
            "add_member",
            "remove_member",
            "deactivate_image",
            "reactivate_image",
            "delete_image",
            "put_data",
            "import_image",
            "delete_from_store",
            "image_tasks",
        ]
    )
    for name in wanted:
        if name in ("retry", "sleep"):  # instance attributes of the real client
            assert name in inspect.signature(real.__init__).parameters
            continue
        expected = list(inspect.signature(getattr(GlanceAPI, name)).parameters)
        for cls in (real, fake):
            assert list(inspect.signature(getattr(cls, name)).parameters) == expected, name
    glance = FakeGlance()
    assert glance.retry.delay(0) > 0 and callable(glance.sleep)


# -- create ------------------------------------------------------------------------------


def test_create_sends_one_post_with_a_chosen_id_then_its_members(tmp_path: Path) -> None:
    fake = FakeGlance()
    plan = plan_for(
        fake,
        entry(
            "new",
            visibility="shared",
            min_disk=2,
            tags=["b", "a"],
            props={"os_distro": "ubuntu"},
            members=[OTHER],
        ),
    )
    results, records = run(fake, plan, tmp_path)

    result = results["new"]
    assert (result.action, result.status, result.reason) == ("create", Status.APPLIED, "")
    stored = fake.stored(str(result.id))
    assert stored is not None
    assert (stored["visibility"], stored["min_disk"], sorted(stored["tags"])) == (
        "shared",
        2,
        ["a", "b"],
    )
    assert stored["os_distro"] == "ubuntu" and stored[MANAGED_RECORD] == record("os_distro")
    assert fake.member_ids(str(result.id)) == [OTHER]
    # Verified against the create's answer (no GET); members read once to verify them.
    assert fake.calls == {"create_image": 1, "add_member": 1, "list_members": 1}
    assert kinds(records) == ["create", "member_add"]
    begin = next(r for r in records if r["type"] == "begin")
    assert begin["step"]["body"]["id"] == result.id and begin["image"] == result.id
    assert types(records) == ["run", "original", "begin", "done", "begin", "done", "end"]


def test_create_is_undone_by_deleting_the_new_image(tmp_path: Path) -> None:
    fake = FakeGlance()
    # Members on a private image: Glance refuses the member call after the create.
    plan = plan_for(fake, entry("new", visibility="private", members=[OTHER]))
    results, records = run(fake, plan, tmp_path)

    result = results["new"]
    assert result.status is Status.ROLLED_BACK
    assert result.reason == f"403 Not allowed to create members for image {result.id}."
    assert str(result.request_id).startswith("req-")
    assert fake.images() == []
    assert fake.calls["create_image"] == 1 and fake.calls["delete_image"] == 1
    assert types(records) == [
        "run",
        "original",
        "begin",
        "done",
        "begin",
        "failed",
        "undone",
        "undone",
        "end",
    ]


def test_a_lost_create_answer_is_not_sent_twice(tmp_path: Path) -> None:
    fake = FakeGlance()
    plan = plan_for(fake, entry("new", visibility="private", props={"k": "v"}))
    fake.inject("create_image", Fault.LOST_AFTER)
    results, _records = run(fake, plan, tmp_path)

    assert results["new"].status is Status.APPLIED
    assert [image["name"] for image in fake.images()] == ["new"]  # no duplicate
    assert fake.calls["create_image"] == 1 and fake.calls["find_image"] >= 1
    assert fake.slept == [fake.retry.delay(0)]


def test_a_create_whose_answer_was_lost_is_still_undone(tmp_path: Path) -> None:
    fake = FakeGlance()
    plan = plan_for(fake, entry("new", visibility="shared", members=[OTHER]))
    fake.inject("create_image", Fault.LOST_AFTER)
    fake.inject("add_member", Fault.FORBIDDEN)
    results, _records = run(fake, plan, tmp_path)

    assert results["new"].status is Status.ROLLED_BACK
    assert results["new"].reason == "403 Injected fault 403"
    assert fake.images() == []


# -- PATCH ------------------------------------------------------------------------------


def seed_patchable(fake: FakeGlance, visibility: str = "private") -> str:
    return fake.seed(
        {"a": "1", "b": "2", "keep": "x", MANAGED_RECORD: record("a", "b")},
        name="img",
        visibility=visibility,
        tags=["old"],
    )


def patch_entry(**extra: Any) -> DesiredImage:
    # a replaced, b removed (recorded, no longer named), c added, tags and min_disk.
    return entry("img", props={"a": "10", "c": "3"}, tags=["new"], min_disk=5, **extra)


def test_patch_adds_replaces_and_removes_in_one_request(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = seed_patchable(fake)
    results, records = run(fake, plan_for(fake, patch_entry()), tmp_path)

    assert results["img"].status is Status.APPLIED
    stored = fake.stored(image_id)
    assert stored is not None
    assert (stored["a"], stored.get("b"), stored["c"], stored["keep"]) == ("10", None, "3", "x")
    assert (stored["tags"], stored["min_disk"]) == (["new"], 5)
    assert stored[MANAGED_RECORD] == record("a", "c")
    # One listing for the stale check (id=in:...), one PATCH, verified on its answer.
    assert fake.calls == {"list_images": 1, "patch_image": 1}
    (begin,) = [r for r in records if r["type"] == "begin"]
    assert [(op["op"], op["path"], op["old"]) for op in begin["step"]["ops"]] == [
        ("replace", "/a", "1"),
        ("remove", "/b", "2"),
        ("add", "/c", None),
        ("replace", "/min_disk", 0),
        ("replace", "/reconciler.managed", record("a", "b")),
        ("replace", "/tags", ["old"]),
    ]


def test_patch_undo_restores_the_image_exactly(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = seed_patchable(fake, visibility="shared")
    before = fake.stored(image_id)
    plan = plan_for(fake, patch_entry(members=[OTHER]))
    fake.inject("add_member", Fault.FORBIDDEN)  # after the PATCH went through
    results, records = run(fake, plan, tmp_path)

    assert results["img"].status is Status.ROLLED_BACK
    after = fake.stored(image_id)
    assert without_updated_at(after) == without_updated_at(before)
    assert after is not None and before is not None and after["updated_at"] > before["updated_at"]
    assert fake.calls["patch_image"] == 2  # the change and its undo
    assert kinds(records) == ["patch", "member_add"]
    assert types(records).count("undone") == 2


def test_a_refused_patch_is_all_or_nothing_and_rolls_back_the_member_removal_before_it(
    tmp_path: Path,
) -> None:
    fake = FakeGlance()
    fake.protect(r"x_billing_.*")  # the sandbox's property protection
    image_id = fake.seed(
        {"k": "v", MANAGED_RECORD: record("k")}, name="m", visibility="shared", members=[OTHER]
    )
    before = fake.stored(image_id)
    plan = plan_for(
        fake,
        entry(
            "m",
            visibility="shared",
            members=[THIRD],
            props={"k": "changed", "x_billing_code": "nope"},
        ),
    )
    results, records = run(fake, plan, tmp_path)

    result = results["m"]
    assert result.status is Status.ROLLED_BACK
    assert result.reason == "403 Attribute 'x_billing_code' is reserved."
    assert str(result.request_id).startswith("req-")
    assert fake.member_ids(image_id) == [OTHER]
    # Nothing of the PATCH was stored, and member calls leave the image document alone.
    assert fake.stored(image_id) == before
    assert kinds(records) == ["member_remove", "patch"]
    assert [r["reason"] for r in records if r["type"] == "failed"] == [
        "Attribute 'x_billing_code' is reserved."
    ]
    assert types(records).count("undone") == 2
    assert next(r for r in records if r["type"] == "end")["status"] == "rolled_back"


def test_undo_after_a_lost_answer_restores_the_original(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = fake.seed({"a": "1", MANAGED_RECORD: record("a")}, name="img")
    before = fake.stored(image_id)
    plan = plan_for(fake, entry("img", props={"a": "2", "b": "3"}))  # sets values only
    # Every PATCH lands and every answer is lost, the undo's first one too: the
    # applier gives up on the change and undoes it, judged against the image as it is.
    fake.inject("patch_image", Fault.LOST_AFTER, times=1000)
    results, _records = run(fake, plan, tmp_path)

    result = results["img"]
    assert result.status is Status.ROLLED_BACK
    assert "may have been applied" in result.reason
    assert without_updated_at(fake.stored(image_id)) == without_updated_at(before)
    assert len(fake.slept) > 1  # resent with backoff, none of it slept for real


def test_a_lost_answer_to_a_set_only_patch_is_resent_as_is(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = fake.seed({"a": "1", MANAGED_RECORD: record("a")}, name="img")
    plan = plan_for(fake, entry("img", props={"a": "2", "b": "3"}))
    fake.inject("patch_image", Fault.LOST_AFTER)
    results, _records = run(fake, plan, tmp_path)

    assert results["img"].status is Status.APPLIED
    stored = fake.stored(image_id)
    assert stored is not None and (stored["a"], stored["b"]) == ("2", "3")
    assert fake.calls["patch_image"] == 2 and fake.calls["get_image"] == 0  # no read first
    assert fake.slept == [fake.retry.delay(0)]


@pytest.mark.parametrize(
    ("fault", "patches"),
    [(Fault.LOST_AFTER, 1), (Fault.LOST, 2), (Fault.SERVER_ERROR, 2)],
    ids=["landed", "never-arrived", "500"],
)
def test_a_lost_answer_to_a_patch_with_a_remove_reads_first_then_sends_what_is_missing(
    tmp_path: Path, fault: Fault, patches: int
) -> None:
    fake = FakeGlance()
    image_id = seed_patchable(fake)
    plan = plan_for(fake, patch_entry())
    fake.inject("patch_image", fault)
    results, _records = run(fake, plan, tmp_path)

    assert results["img"].status is Status.APPLIED
    stored = fake.stored(image_id)
    assert stored is not None and "b" not in stored and stored["c"] == "3"
    # A blind resend would meet 409 on the remove when the first one landed.
    assert fake.calls["get_image"] == 1 and fake.calls["patch_image"] == patches


# -- members -----------------------------------------------------------------------------


def seed_shared(fake: FakeGlance) -> str:
    return fake.seed({MANAGED_RECORD: record()}, name="s", visibility="shared", members=[OTHER])


def test_member_changes_remove_then_add(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = seed_shared(fake)
    before = fake.stored(image_id)
    results, records = run(fake, plan_for(fake, entry("s", members=[THIRD])), tmp_path)

    assert results["s"].status is Status.APPLIED
    assert fake.member_ids(image_id) == [THIRD]
    assert kinds(records) == ["member_remove", "member_add"]
    assert fake.stored(image_id) == before  # members are not the image document
    assert fake.calls["remove_member"] == 1 and fake.calls["add_member"] == 1


def test_member_changes_are_undone_newest_first(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = seed_shared(fake)
    plan = plan_for(fake, entry("s", members=[THIRD]))
    fake.inject("add_member", Fault.FORBIDDEN)
    results, records = run(fake, plan, tmp_path)

    assert results["s"].status is Status.ROLLED_BACK
    assert fake.member_ids(image_id) == [OTHER]
    assert fake.calls["add_member"] == 2  # the refused one, then OTHER back
    undone = [r["seq"] for r in records if r["type"] == "undone"]
    assert undone == sorted(undone, reverse=True) and len(undone) == 2


def test_a_lost_answer_to_a_member_add_is_not_a_conflict(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = seed_shared(fake)
    plan = plan_for(fake, entry("s", members=[OTHER, THIRD]))
    fake.inject("add_member", Fault.LOST_AFTER)
    results, _records = run(fake, plan, tmp_path)

    assert results["s"].status is Status.APPLIED
    assert fake.member_ids(image_id) == [OTHER, THIRD]
    assert fake.calls["add_member"] == 1  # read first: already there


def test_a_lost_answer_to_a_member_removal_still_applies(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = seed_shared(fake)
    plan = plan_for(fake, entry("s", members=[]))
    fake.inject("remove_member", Fault.LOST_AFTER)
    results, _records = run(fake, plan, tmp_path)

    assert results["s"].status is Status.APPLIED
    assert fake.member_ids(image_id) == []


# -- deactivate / reactivate -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "deactivated", "call", "final"),
    [
        ("active", True, "deactivate_image", "deactivated"),
        ("deactivated", False, "reactivate_image", "active"),
    ],
)
def test_activation_changes_are_sent_and_read_back(
    tmp_path: Path, status: str, deactivated: bool, call: str, final: str
) -> None:
    fake = FakeGlance()
    image_id = fake.seed({MANAGED_RECORD: record()}, name="act", status=status)
    results, records = run(fake, plan_for(fake, entry("act", deactivated=deactivated)), tmp_path)

    assert results["act"].status is Status.APPLIED
    stored = fake.stored(image_id)
    assert stored is not None and stored["status"] == final
    assert fake.calls[call] == 1 and fake.calls["find_image"] == 1  # read back to verify
    assert kinds(records) == [call.removesuffix("_image")]


def test_a_deactivate_whose_answers_are_all_lost_is_undone_with_the_patch_before_it(
    tmp_path: Path,
) -> None:
    fake = FakeGlance()
    image_id = fake.seed({"k": "1", MANAGED_RECORD: record("k")}, name="act", status="active")
    before = fake.stored(image_id)
    plan = plan_for(fake, entry("act", props={"k": "2"}, deactivated=True))
    fake.inject("deactivate_image", Fault.LOST_AFTER, times=1000)
    results, records = run(fake, plan, tmp_path)

    assert results["act"].status is Status.ROLLED_BACK
    assert kinds(records) == ["patch", "deactivate"]
    assert fake.calls["reactivate_image"] == 1  # the deactivate's undo
    assert without_updated_at(fake.stored(image_id)) == without_updated_at(before)


def test_a_reactivate_is_undone_when_the_patch_after_it_is_refused(tmp_path: Path) -> None:
    fake = FakeGlance()
    fake.protect("x_billing_code")
    image_id = fake.seed({MANAGED_RECORD: record()}, name="act", status="deactivated")
    before = fake.stored(image_id)
    plan = plan_for(fake, entry("act", props={"x_billing_code": "1"}, deactivated=False))
    results, records = run(fake, plan, tmp_path)

    assert results["act"].status is Status.ROLLED_BACK
    assert kinds(records) == ["reactivate", "patch"]
    assert fake.calls["deactivate_image"] == 1
    assert without_updated_at(fake.stored(image_id)) == without_updated_at(before)


# -- delete (prune) ----------------------------------------------------------------------


def seed_orphans(fake: FakeGlance) -> tuple[str, str]:
    orphan = fake.seed({MANAGED_RECORD: record()}, name="orphan")
    kept = fake.seed({MANAGED_RECORD: record()}, name="guarded", protected=True)
    return orphan, kept


def test_prune_deletes_orphans_and_never_a_protected_one(tmp_path: Path) -> None:
    fake = FakeGlance()
    orphan, kept = seed_orphans(fake)
    plan = plan_for(fake, prune=True)
    assert {i.name: i.action for i in plan.images} == {
        "orphan": Action.DELETE,
        "guarded": Action.ORPHAN,
    }
    results, records = run(fake, plan, tmp_path)

    assert set(results) == {"orphan"} and results["orphan"].status is Status.APPLIED
    assert fake.stored(orphan) is None and fake.stored(kept) is not None
    assert fake.calls["delete_image"] == 1
    assert kinds(records) == ["delete"]  # alone: a delete cannot be undone


def test_the_applier_refuses_to_delete_a_protected_image_whatever_the_plan_says(
    tmp_path: Path,
) -> None:
    fake = FakeGlance()
    _orphan, kept = seed_orphans(fake)
    plan = plan_for(fake, prune=True)
    forged = dataclasses.replace(
        plan,
        images=tuple(
            dataclasses.replace(i, action=Action.DELETE) for i in plan.images if i.id == kept
        ),
    )
    results, records = run(fake, forged, tmp_path)

    assert results["guarded"].status is Status.SKIPPED
    assert results["guarded"].reason == "protected images are never pruned"
    assert fake.writes == 0 and fake.stored(kept) is not None
    assert kinds(records) == []


def test_a_refused_delete_is_not_undone_and_leaves_the_image(tmp_path: Path) -> None:
    fake = FakeGlance()
    orphan, _kept = seed_orphans(fake)
    before = fake.stored(orphan)
    plan = plan_for(fake, prune=True)
    fake.inject("delete_image", Fault.FORBIDDEN)
    results, records = run(fake, plan, tmp_path)

    assert results["orphan"].status is Status.ROLLED_BACK
    assert results["orphan"].reason == "403 Injected fault 403"
    assert fake.stored(orphan) == before
    assert "undone" not in types(records)  # nothing to undo: there is no way back


def test_a_lost_answer_to_a_delete_still_applies(tmp_path: Path) -> None:
    fake = FakeGlance()
    orphan, _kept = seed_orphans(fake)
    plan = plan_for(fake, prune=True)
    fake.inject("delete_image", Fault.LOST_AFTER)
    results, _records = run(fake, plan, tmp_path)

    assert fake.stored(orphan) is None
    assert results["orphan"].status is Status.APPLIED


# -- verification: what the server answers is checked ------------------------------------


@pytest.mark.parametrize(
    ("call", "seed", "wanted", "reason"),
    [
        ("patch_image", {}, {"props": {"k": "2"}}, "read back differs: k: '2' -> '1'"),
        (
            "add_member",
            {"visibility": "shared"},
            {"props": {"k": "1"}, "members": [OTHER]},
            "members: want",
        ),
        (
            "deactivate_image",
            {"status": "active"},
            {"props": {"k": "1"}, "deactivated": True},
            "status: want 'deactivated', have 'active'",
        ),
    ],
    ids=["patch", "member_add", "deactivate"],
)
def test_a_write_the_server_drops_is_reported_diverged(
    tmp_path: Path, call: str, seed: dict[str, Any], wanted: dict[str, Any], reason: str
) -> None:
    fake = FakeGlance()
    image_id = fake.seed({"k": "1", MANAGED_RECORD: record("k")}, name="v", **seed)
    before = fake.stored(image_id)
    plan = plan_for(fake, entry("v", **wanted))
    fake.inject(call, Fault.IGNORED)
    results, _records = run(fake, plan, tmp_path)

    assert results["v"].status is Status.DIVERGED
    assert reason in results["v"].reason
    assert fake.stored(image_id) == before  # diverged is reported, not undone


def test_a_delete_the_server_drops_is_reported_diverged(tmp_path: Path) -> None:
    fake = FakeGlance()
    orphan, _kept = seed_orphans(fake)
    plan = plan_for(fake, prune=True)
    fake.inject("delete_image", Fault.IGNORED)
    results, _records = run(fake, plan, tmp_path)

    assert results["orphan"].status is Status.DIVERGED
    assert results["orphan"].reason == "still there after delete"
    assert fake.stored(orphan) is not None


# -- the stale check ---------------------------------------------------------------------


def test_an_image_changed_after_the_plan_is_stale_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    fake = FakeGlance()
    image_id = fake.seed({"k": "1", MANAGED_RECORD: record("k")}, name="st")
    plan = plan_for(fake, entry("st", props={"k": "2"}))
    fake.edit(image_id, k="changed-by-hand")
    results, records = run(fake, plan, tmp_path)

    result = results["st"]
    assert result.status is Status.STALE
    assert result.reason == (
        "changed since the plan: k was '1' at plan time, now 'changed-by-hand'; run plan again"
    )
    assert fake.writes == 0
    stored = fake.stored(image_id)
    assert stored is not None and stored["k"] == "changed-by-hand"
    assert types(records) == ["run"]  # no original, no step, no end


def test_an_image_deleted_after_the_plan_is_stale(tmp_path: Path) -> None:
    fake = FakeGlance()
    image_id = fake.seed({"k": "1", MANAGED_RECORD: record("k")}, name="st")
    plan = plan_for(fake, entry("st", props={"k": "2"}))
    fake.delete_image(image_id)
    fake.calls.clear()
    results, _records = run(fake, plan, tmp_path)

    assert results["st"].status is Status.STALE
    assert results["st"].reason == "the image was deleted since the plan"
    assert fake.writes == 0


def test_images_are_checked_in_chunks_and_a_hidden_one_on_its_own(tmp_path: Path) -> None:
    fake = FakeGlance()
    for n in range(25):
        fake.seed({MANAGED_RECORD: record()}, name=f"i{n}")
    hidden = fake.seed({MANAGED_RECORD: record()}, name="hidden", os_hidden=True)
    entries = [entry(f"i{n}", props={"k": "v"}) for n in range(25)]
    plan = plan_for(fake, *entries, entry("hidden", props={"k": "v"}))
    results, _records = run(fake, plan, tmp_path, parallelism=4)

    assert {r.status for r in results.values()} == {Status.APPLIED} and len(results) == 26
    # Three listings of 10 ids at most (each chunk once, the next one read in the
    # background); the hidden image is not listed, so read alone.
    assert fake.calls["list_images"] == 3 and fake.calls["find_image"] == 1
    assert fake.calls["patch_image"] == 26
    stored = fake.stored(hidden)
    assert stored is not None and stored["k"] == "v"


def test_listings_are_read_page_by_page_for_the_plan_and_the_stale_check(
    tmp_path: Path,
) -> None:
    fake = FakeGlance(page_size=2)
    for n in range(4):
        fake.seed({MANAGED_RECORD: record()}, name=f"p{n}")
    fake.seed({MANAGED_RECORD: record()}, name="p-hidden", os_hidden=True)
    names = [f"p{n}" for n in range(4)] + ["p-hidden"]
    entries = [entry(name, props={"k": "v"}) for name in names]
    catalog = read_catalog(client(fake), entries)
    # Two full pages (each with `next`), an empty third, and one page of hidden images.
    assert fake.calls["list_images"] == 4
    assert sorted(image.name or "" for image in catalog.images) == sorted(names)
    plan = plan_for(fake, *entries)
    assert {image.action for image in plan.images} == {Action.UPDATE}
    results, _records = run(fake, plan, tmp_path)

    assert {name: r.status for name, r in results.items()} == dict.fromkeys(names, Status.APPLIED)
    # The stale check's listing of 5 ids, 2 a page: 3 requests; the hidden one alone.
    assert fake.calls["list_images"] == 3 and fake.calls["find_image"] == 1


# -- a run that stopped half-way ---------------------------------------------------------


def test_rollback_from_the_journal_of_a_run_killed_half_way(tmp_path: Path) -> None:
    fake = FakeGlance()
    ids = [
        fake.seed({"k": "orig", MANAGED_RECORD: record("k")}, name=f"k{n}", tags=["t"])
        for n in range(3)
    ]
    before = {image_id: fake.stored(image_id) for image_id in ids}
    entries = [entry(f"k{n}", props={"k": "new", "extra": "x"}, tags=[]) for n in range(3)]
    plan = plan_for(fake, *entries, entry("knew", visibility="private"))
    # Killed right after the second image's PATCH reached Glance.
    fake.inject("patch_image", Fault.CRASH_AFTER, nth=2)
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    with pytest.raises(Crash):
        Applier(client(fake), journal, parallelism=1).run(plan)
    journal.close()

    _run, images = histories(path)
    assert [images[i].outcome for i in ids[:2]] == [{1: "done"}, {}]
    assert images[ids[0]].status == "applied" and images[ids[1]].status is None
    changed = fake.stored(ids[1])
    assert changed is not None and changed["k"] == "new"  # the write did happen

    fake.revive()
    fake.calls.clear()
    journal = Journal(path)
    report = roll_back_journal(client(fake), journal, histories(path))
    journal.close()
    assert report.results and {r.status for r in report.results} == {Status.ROLLED_BACK}
    assert {r.id for r in report.results} >= set(ids[:2])
    for image_id in ids:
        assert without_updated_at(fake.stored(image_id)) == without_updated_at(before[image_id])
    assert [image["name"] for image in fake.images()] == ["k0", "k1", "k2"]

    # A second rollback finds everything undone and writes nothing.
    fake.calls.clear()
    journal = Journal(path)
    again = roll_back_journal(client(fake), journal, histories(path))
    journal.close()
    assert {r.status for r in again.results} == {Status.ROLLED_BACK}
    assert fake.writes == 0


def test_a_run_killed_right_after_a_create_leaves_no_image_after_rollback(
    tmp_path: Path,
) -> None:
    fake = FakeGlance()
    plan = plan_for(fake, entry("new", visibility="private", props={"k": "v"}))
    fake.inject("create_image", Fault.CRASH_AFTER)
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    with pytest.raises(Crash):
        Applier(client(fake), journal).run(plan)
    journal.close()
    assert [image["name"] for image in fake.images()] == ["new"]

    fake.revive()
    journal = Journal(path)
    report = roll_back_journal(client(fake), journal, histories(path))
    journal.close()
    assert [r.status for r in report.results] == [Status.ROLLED_BACK]
    assert fake.images() == []
    assert types(list(read_records(path)))[-1] == "undone"
