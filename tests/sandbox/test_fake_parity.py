"""The in-memory Glance (tests/fakes/glance.py) against the real one: the same scenario,
the same code, both services, and the answers compared. The sandbox is the truth; when
they disagree, the fake is fixed.

1. An apply scenario run by `Applier` on a real `GlanceClient` (built as
   `cli/pipeline.py` builds it) and on the fake: a plan that adds, replaces and removes
   properties, changes tags and min_disk, and sets a protected property (refused, so
   rolled back), then the same plan without it (applied), then a plan that is empty.
   Compared: the results (status and reason), the journals' record types and step
   kinds, the views after each run, and the error of the refused PATCH.
2. The rules the fake models, probe by probe (PATCH semantics, members, actions,
   create and delete refusals, listings): the same calls on both, the outcomes (done,
   or the error's class, status and message) compared.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from reconciler.app.pipeline import glance_client
from reconciler.apply import Applier
from reconciler.apply.journal import Journal, read_records
from reconciler.apply.steps import wait_for_import_lock
from reconciler.cloud.auth import connect
from reconciler.cloud.glance import GlanceClient
from reconciler.errors import CloudError, Forbidden
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.image_view import MANAGED_RECORD, LiveCatalog, LiveImage, image_view
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action, Target
from reconciler.planning.diff import diff
from tests.conftest import Sandbox
from tests.fakes import FakeGlance

PROTECTED = r"x_billing_.*"  # reconciler/sandbox/configs.py: PROPERTY_PROTECTIONS
MEDIA = {"Content-Type": "application/octet-stream"}


def record(*keys: str) -> str:
    return json.dumps(sorted(keys), separators=(",", ":"))


@pytest.fixture
def real(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> GlanceClient:
    """A client for the demo member, built the way the CLI builds it."""
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(sandbox.clouds_file))
    return glance_client(connect(CloudOptions(cloud="sandbox")), 60.0)


def fake_for(sandbox: Sandbox) -> FakeGlance:
    fake = FakeGlance(sandbox.project_ids["demo"])
    fake.protect(PROTECTED)
    return fake


# -- 1. the applier ----------------------------------------------------------------------


def entry(name: str, billing: bool) -> DesiredImage:
    props: dict[str, str | None] = {"os_distro": "ubuntu", "hw_rng_model": "virtio"}
    props["os_version"] = None  # remove
    if billing:
        props["x_billing_code"] = "b1"  # refused by the property protection
    return DesiredImage(
        name=name,
        origin="parity.yaml:1",
        core=(("name", name), ("min_disk", 10)),
        tags=("keep", "new"),
        properties=tuple(sorted(props.items())),
    )


def scenario(
    api: Any, name: str, project_id: str, folder: Path, created: list[str]
) -> dict[str, Any]:
    """Create the image, run the three plans, report what a comparison needs."""
    image_id = str(uuid.uuid4())
    created.append(image_id)
    api.create_image(
        {
            "id": image_id,
            "name": name,
            "visibility": "private",
            "disk_format": "raw",
            "container_format": "bare",
            "min_disk": 1,
            "tags": ["old", "keep"],
            "os_distro": "debian",
            "os_version": "11",
            "stale_key": "x",
            MANAGED_RECORD: record("os_distro", "os_version", "stale_key"),
        }
    )
    target = Target("parity", "RegionOne", project_id, "endpoint")
    outcome: dict[str, Any] = {"id": image_id, "views": [image_view(api.get_image(image_id))]}

    def apply(billing: bool, number: int) -> None:
        live = LiveImage.from_api(api.get_image(image_id))
        plan = diff([entry(name, billing)], LiveCatalog((live,)), target)
        path = folder / f"journal-{number}.jsonl"
        journal = Journal(path)
        try:
            report = Applier(api, journal, parallelism=1).run(plan)
        finally:
            journal.close()
        records = list(read_records(path))
        outcome.setdefault("actions", []).append([str(i.action) for i in plan.images])
        outcome.setdefault("results", []).append([(r.status, r.reason) for r in report.results])
        outcome.setdefault("journals", []).append(
            [(r["type"], r.get("kind")) for r in records if r["type"] != "run"]
        )
        outcome["views"].append(image_view(api.get_image(image_id)))

    apply(True, 1)
    apply(False, 2)
    live = LiveImage.from_api(api.get_image(image_id))
    outcome["last"] = [
        str(i.action) for i in diff([entry(name, False)], LiveCatalog((live,)), target).images
    ]
    try:
        api.patch_image(image_id, [{"op": "add", "path": "/x_billing_code", "value": "b1"}])
    except CloudError as err:
        outcome["refused"] = (type(err), err.status, err.message)
    return outcome


def test_the_same_plans_end_the_same_on_the_fake_and_on_glance(
    sandbox: Sandbox, real: GlanceClient, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    name = f"{unique}-parity"
    project = sandbox.project_ids["demo"]
    on_glance = scenario(real, name, project, tmp_path / "real", demo_images)
    on_fake = scenario(fake_for(sandbox), name, project, tmp_path / "fake", [])

    # What the scenario is: refused and rolled back, then applied, then nothing to do.
    assert on_glance["actions"] == [["update"], ["update"]]
    assert on_glance["last"] == [str(Action.NOOP)]
    assert [[status for status, _reason in r] for r in on_glance["results"]] == [
        ["rolled_back"],
        ["applied"],
    ]
    assert on_glance["results"][0][0][1] == "403 Attribute 'x_billing_code' is reserved."
    assert on_glance["views"][1] == on_glance["views"][0]  # rolled back exactly
    final = on_glance["views"][2]
    assert (final["os_distro"], final["hw_rng_model"], final["min_disk"]) == (
        "ubuntu",
        "virtio",
        10,
    )
    assert "os_version" not in final and "stale_key" not in final
    assert final["tags"] == ["keep", "new"]
    assert on_glance["refused"][:2] == (Forbidden, 403)
    # And the fake agrees on every part of it.
    for part in ("actions", "last", "results", "journals", "views", "refused"):
        assert on_fake[part] == on_glance[part], part


# -- 2. the rules, probe by probe -------------------------------------------------------


PATCH_OPS: dict[str, list[dict[str, Any]]] = {
    "replace a missing key": [{"op": "replace", "path": "/nope", "value": "x"}],
    "remove a missing key": [{"op": "remove", "path": "/nope"}],
    "remove a core attribute": [{"op": "remove", "path": "/tags"}],
    "replace a read-only attribute": [{"op": "replace", "path": "/status", "value": "active"}],
    "add a reserved key": [{"op": "add", "path": "/os_glance_x", "value": "x"}],
    "add deleted": [{"op": "add", "path": "/deleted", "value": "x"}],
    "add a protected key": [{"op": "add", "path": "/x_billing_code", "value": "x"}],
    "replace a missing protected key": [{"op": "replace", "path": "/x_billing_code", "value": "x"}],
    "an add then a refused op": [
        {"op": "add", "path": "/added", "value": "1"},
        {"op": "add", "path": "/x_billing_code", "value": "x"},
    ],
    "a 409 before a 403": [
        {"op": "replace", "path": "/nope", "value": "1"},
        {"op": "add", "path": "/x_billing_code", "value": "x"},
    ],
    "a read-only op after a 409": [
        {"op": "replace", "path": "/nope", "value": "1"},
        {"op": "replace", "path": "/status", "value": "active"},
    ],
    "a number as a property": [{"op": "add", "path": "/a", "value": 1}],
    "a string as min_disk": [{"op": "replace", "path": "/min_disk", "value": "x"}],
    "an unknown visibility": [{"op": "replace", "path": "/visibility", "value": "x"}],
    "visibility public": [{"op": "replace", "path": "/visibility", "value": "public"}],
    "owner": [{"op": "replace", "path": "/owner", "value": "x"}],
    "a test op": [{"op": "test", "path": "/a", "value": "1"}],
    "a path into tags": [{"op": "add", "path": "/tags/-", "value": "x"}],
    "add overwrites": [{"op": "add", "path": "/k", "value": "new"}],
    "tags with a duplicate": [{"op": "replace", "path": "/tags", "value": ["b", "a", "b"]}],
    "a key with a slash": [{"op": "add", "path": "/a~1b", "value": "1"}],
    "disk_format while queued": [{"op": "replace", "path": "/disk_format", "value": "qcow2"}],
    "min_disk": [{"op": "replace", "path": "/min_disk", "value": 4}],
}
CREATES: dict[str, dict[str, Any]] = {
    "create with a protected key": {"x_billing_code": "1"},
    "create with a reserved key": {"os_glance_x": "1"},
    "create with status": {"status": "active"},
    "create with stores": {"stores": "fs"},
    "create public": {"visibility": "public"},
    "create with a number": {"a": 1},
}


def outcome(call: Callable[[], Any], ids: dict[str, str]) -> Any:
    """`done` (with what a successful call answered worth comparing) or the error's
    class, status and message, ids replaced by their role."""
    try:
        answer = call()
    except CloudError as err:
        message = err.message.split(" Failed validating")[0]  # Glance adds the schema
        for role, value in ids.items():
            message = message.replace(value, f"<{role}>")
        return (type(err).__name__, err.status, message)
    if isinstance(answer, dict) and "id" in answer:
        return ("done", image_view(answer))
    if isinstance(answer, list):
        return ("done", sorted(m["member_id"] for m in answer))
    return ("done",)


def probes(api: Any, ids: dict[str, str]) -> dict[str, Any]:
    """Every probe on one service; `ids` holds the images made for them."""
    got: dict[str, Any] = {}
    queued, shared, active = ids["queued"], ids["shared"], ids["active"]
    for label, ops in PATCH_OPS.items():
        got[label] = outcome(partial(api.patch_image, queued, ops), ids)
    got["after the refused PATCH"] = "added" in api.get_image(queued)
    got["PATCH of a missing image"] = outcome(
        lambda: api.patch_image(ids["missing"], PATCH_OPS["min_disk"]), ids
    )
    for label, body in CREATES.items():
        got[label] = outcome(partial(api.create_image, {"name": "c", **body}), ids)
    got["create with a taken id"] = outcome(
        lambda: api.create_image({"id": queued, "name": "again"}), ids
    )
    # members
    got["members of a private image"] = outcome(lambda: api.list_members(queued), ids)
    got["member add on a private image"] = outcome(lambda: api.add_member(queued, "x"), ids)
    got["member remove on a private image"] = outcome(lambda: api.remove_member(queued, "x"), ids)
    got["members of a missing image"] = outcome(lambda: api.list_members(ids["missing"]), ids)
    got["member add"] = outcome(lambda: api.add_member(shared, "p1"), ids)
    got["member add again"] = outcome(lambda: api.add_member(shared, "p1"), ids)
    got["member remove of a stranger"] = outcome(lambda: api.remove_member(shared, "p2"), ids)
    got["shared -> private"] = outcome(
        lambda: api.patch_image(
            shared, [{"op": "replace", "path": "/visibility", "value": "private"}]
        ),
        ids,
    )
    got["private -> shared"] = outcome(
        lambda: api.patch_image(
            shared, [{"op": "replace", "path": "/visibility", "value": "shared"}]
        ),
        ids,
    )
    got["members kept"] = outcome(lambda: api.list_members(shared), ids)
    # actions
    got["deactivate a queued image"] = outcome(lambda: api.deactivate_image(queued), ids)
    got["reactivate a queued image"] = outcome(lambda: api.reactivate_image(queued), ids)
    got["reactivate an active image"] = outcome(lambda: api.reactivate_image(active), ids)
    got["deactivate"] = outcome(lambda: api.deactivate_image(active), ids)
    got["deactivate again"] = outcome(lambda: api.deactivate_image(active), ids)
    got["PATCH a deactivated image"] = outcome(
        lambda: api.patch_image(active, [{"op": "add", "path": "/b", "value": "1"}]), ids
    )
    got["disk_format of a deactivated image"] = outcome(
        lambda: api.patch_image(
            active, [{"op": "replace", "path": "/disk_format", "value": "raw"}]
        ),
        ids,
    )
    got["deactivate a missing image"] = outcome(lambda: api.deactivate_image(ids["missing"]), ids)
    got["reactivate"] = outcome(lambda: api.reactivate_image(active), ids)
    got["status after"] = api.get_image(active)["status"]
    # another project's public image
    got["PATCH of the admin's image"] = outcome(
        lambda: api.patch_image(ids["base"], PATCH_OPS["min_disk"]), ids
    )
    got["delete of the admin's image"] = outcome(lambda: api.delete_image(ids["base"]), ids)
    # listings
    both = f"in:{queued},{ids['hidden']}"
    got["listed by default"] = sorted(i["id"] == queued for i in api.list_images(id=both))
    got["listed hidden"] = sorted(
        i["id"] == ids["hidden"] for i in api.list_images(id=both, os_hidden="true")
    )
    # delete
    got["delete a protected image"] = outcome(lambda: api.delete_image(ids["protected"]), ids)
    got["delete"] = outcome(lambda: api.delete_image(queued), ids)
    got["get a deleted image"] = outcome(lambda: api.get_image(queued), ids)
    got["find a deleted image"] = api.find_image(queued)
    got["delete again"] = outcome(lambda: api.delete_image(queued), ids)
    got["create with a deleted id"] = outcome(
        lambda: api.create_image({"id": queued, "name": "again"}), ids
    )
    return got


def made(api: Any, body: dict[str, Any]) -> str:
    image_id = str(uuid.uuid4())
    api.create_image({"id": image_id, **body})
    return image_id


BODIES: dict[str, dict[str, Any]] = {
    "queued": {"name": "q", "visibility": "private", "k": "v", "tags": ["t"]},
    "shared": {"name": "s", "visibility": "shared"},
    "protected": {"name": "p", "visibility": "private", "protected": True},
    "hidden": {"name": "h", "visibility": "private", "os_hidden": True},
}


def test_the_fake_answers_each_rule_as_glance_does(
    sandbox: Sandbox, real: GlanceClient, demo_images: list[str]
) -> None:
    missing, base = str(uuid.uuid4()), sandbox.base_image_ids[0]
    # Glance: images made through the API, one with data uploaded to make it active.
    ids = {"missing": missing, "base": base}
    for role, body in BODIES.items():
        ids[role] = made(real, body)
        demo_images.append(ids[role])
    ids["active"] = made(real, {"name": "a", "disk_format": "raw", "container_format": "bare"})
    demo_images.append(ids["active"])
    sandbox.session("sandbox").put(
        f"{sandbox.glance_url}/v2/images/{ids['active']}/file", data=b"x" * 64, headers=MEDIA
    )
    # Creates the probes expect to succeed would leave images behind: none do here.
    on_glance = probes(real, ids)

    fake = fake_for(sandbox)
    fake_ids = {"missing": missing, "base": base}
    fake.seed(
        id=base,
        name="base",
        owner=sandbox.project_ids["admin"],
        visibility="public",
        status="active",
    )
    for role, body in BODIES.items():
        fake_ids[role] = made(fake, body)
    fake_ids["active"] = fake.seed(name="a", status="active")
    on_fake = probes(fake, fake_ids)

    differing = {k: (on_fake[k], on_glance[k]) for k in on_glance if on_fake[k] != on_glance[k]}
    assert differing == {}, json.dumps(differing, indent=1, default=str)
    # The probes did probe: a sample of what Glance answered.
    assert on_glance["remove a missing key"][:2] == ("Conflict", 409)
    assert on_glance["add a protected key"][:2] == ("Forbidden", 403)
    assert on_glance["after the refused PATCH"] is False
    assert on_glance["listed by default"] == [True] and on_glance["listed hidden"] == [True]


# -- 3. the data path ----------------------------------------------------------------------


class _CutStream:
    """A body that fails half way (a source that dies mid-upload)."""

    def __init__(self, data: bytes, cut: int) -> None:
        self._data, self._cut, self._at = data, cut, 0

    def read(self, size: int = -1) -> bytes:
        if self._at >= self._cut:
            raise OSError("the source died half way")
        block = self._data[self._at : min(self._cut, self._at + max(size, 1))]
        self._at += len(block)
        return block

    def __len__(self) -> int:
        return len(self._data)


def settle(api: Any, image_id: str, wait: float = 60.0) -> dict[str, Any]:
    """The image once Glance is done with it (not saving or importing, its newest task
    not processing): the real one works on after answering; the fake never does."""
    deadline = time.monotonic() + wait
    while True:
        image: dict[str, Any] = api.get_image(image_id)
        tasks = api.image_tasks(image_id)
        # While an import runs Glance names its task on the image (os_glance_import_task),
        # before the status says `importing` too (seen under load: `uploading` then).
        busy = (
            image.get("status") in ("saving", "importing")
            or "os_glance_import_task" in image
            or (tasks and tasks[0].get("status") in ("pending", "processing"))
        )
        if not busy or time.monotonic() > deadline:
            return image
        time.sleep(0.2)


def data_state(api: Any, image_id: str, payload: bytes) -> dict[str, Any]:
    image = settle(api, image_id)
    tasks = api.image_tasks(image_id)
    return {
        "status": image.get("status"),
        "size": image.get("size"),
        "hash is the data's sha512": image.get("os_hash_value")
        == hashlib.sha512(payload).hexdigest(),
        "os_hash_algo": image.get("os_hash_algo"),
        "newest task": tasks[0].get("status") if tasks else None,
        "os_glance keys": sorted(k for k in image if k.startswith("os_glance")),
    }


def data_probes(api: Any, url: str, missing_url: str, payload: bytes) -> dict[str, Any]:
    got: dict[str, Any] = {}
    raw = {"disk_format": "raw", "container_format": "bare"}

    def new(**body: Any) -> str:
        return made(api, {"name": "data-probe", "visibility": "private", **body})

    image = new(**raw)
    got["upload"] = outcome(lambda: api.put_data(image, "file", io.BytesIO(payload)), {})
    got["upload: after"] = data_state(api, image, payload)
    got["upload to an active image"] = outcome(
        lambda: api.put_data(image, "file", io.BytesIO(payload)), {"image": image}
    )
    chunked = new(**raw)
    blocks = iter([payload[: len(payload) // 2], payload[len(payload) // 2 :]])
    got["chunked upload"] = outcome(lambda: api.put_data(chunked, "file", blocks), {})
    got["chunked upload: after"] = data_state(api, chunked, payload)
    formatless = new()
    got["upload without formats"] = outcome(
        lambda: api.put_data(formatless, "file", io.BytesIO(payload)), {"image": formatless}
    )
    staged = new(**raw)
    got["glance-direct before staging"] = outcome(
        lambda: api.import_image(staged, {"name": "glance-direct"}), {"image": staged}
    )
    got["stage"] = outcome(lambda: api.put_data(staged, "stage", io.BytesIO(payload)), {})
    got["stage: status"] = api.get_image(staged).get("status")
    got["glance-direct"] = outcome(lambda: api.import_image(staged, {"name": "glance-direct"}), {})
    got["glance-direct: after"] = data_state(api, staged, payload)
    fetched = new(**raw)
    got["web-download"] = outcome(
        lambda: api.import_image(fetched, {"name": "web-download", "uri": url}), {}
    )
    got["web-download: after"] = data_state(api, fetched, payload)
    got["web-download of an active image"] = outcome(
        lambda: api.import_image(fetched, {"name": "web-download", "uri": url}),
        {"image": fetched},
    )
    failing = new(**raw)
    got["web-download of a missing URL"] = outcome(
        lambda: api.import_image(failing, {"name": "web-download", "uri": missing_url}), {}
    )
    got["web-download of a missing URL: after"] = data_state(api, failing, payload)
    cut = new(**raw)
    try:
        api.put_data(cut, "file", _CutStream(payload, len(payload) // 2))
        got["cut upload"] = "answered"
    except (CloudError, OSError) as err:
        got["cut upload"] = "failed" if err else "?"
    got["cut upload: after"] = data_state(api, cut, payload)
    got["upload after a cut upload"] = outcome(
        lambda: api.put_data(cut, "file", io.BytesIO(payload)), {}
    )
    got["upload after a cut upload: after"] = data_state(api, cut, payload)
    return got


def test_the_fake_moves_data_as_glance_does(
    sandbox: Sandbox, real: GlanceClient, demo_images: list[str], unique: str
) -> None:
    """Issue 28: upload (known length and chunked), glance-direct, web-download (found
    and missing), the refusals on the way, and a cut upload back to queued, on both."""
    payload = os.urandom(1 << 16)
    state = json.loads((sandbox.root / "state.json").read_text())
    base = f"http://127.0.0.1:{state['mirror_port']}"
    (sandbox.root / "mirror" / f"{unique}.raw").write_bytes(payload)
    url, missing_url = f"{base}/{unique}.raw", f"{base}/{unique}-missing.raw"
    before = {i["id"] for i in real.list_images()}
    on_glance = data_probes(real, url, missing_url, payload)
    demo_images.extend(i["id"] for i in real.list_images() if i["id"] not in before)
    fake = fake_for(sandbox)
    fake.serve(url, payload)
    fake.serve(missing_url, None)
    on_fake = data_probes(fake, url, missing_url, payload)
    differing = {k: (on_fake[k], on_glance[k]) for k in on_glance if on_fake[k] != on_glance[k]}
    assert differing == {}, json.dumps(differing, indent=1, default=str)
    assert on_glance["upload: after"]["status"] == "active"
    assert on_glance["chunked upload: after"]["hash is the data's sha512"] is True
    assert on_glance["cut upload: after"]["status"] == "queued"


# -- 4. stores (multi-store, issue 25) --------------------------------------------------


def store_probes(
    api: Any, image_id: str, queued_id: str, break_store: Callable[[bool], None]
) -> dict[str, Any]:
    """copy-image and deletes from stores, on an active image in store1 only."""
    ids = {"active": image_id, "queued": queued_id}
    got: dict[str, Any] = {"stores": [store["id"] for store in api.store_info()]}
    got["copy of a queued image"] = outcome(
        lambda: api.import_image(queued_id, {"name": "copy-image"}, ["store2"], False), ids
    )
    got["copy to an unknown store"] = outcome(
        lambda: api.import_image(image_id, {"name": "copy-image"}, ["nowhere"], False), ids
    )
    got["copy into store2"] = outcome(
        lambda: api.import_image(image_id, {"name": "copy-image"}, ["store2"], False), ids
    )
    image = wait_for_import_lock(api, image_id, 60.0, started=True)
    got["after the copy"] = (image.get("stores"), image.get("status"))
    break_store(True)
    try:
        got["copy into a broken store3"] = outcome(
            lambda: api.import_image(image_id, {"name": "copy-image"}, ["store3"], False), ids
        )
        image = wait_for_import_lock(api, image_id, 60.0, started=True)
    finally:
        break_store(False)
    got["after the failed copy"] = (
        image.get("stores"),
        image.get("status"),
        image.get("os_glance_failed_import"),
        api.image_tasks(image_id)[0].get("status"),
    )
    got["delete from a store without a copy"] = outcome(
        lambda: api.delete_from_store(image_id, "store3"), ids
    )
    got["delete from store2"] = outcome(lambda: api.delete_from_store(image_id, "store2"), ids)
    got["after the delete"] = api.get_image(image_id).get("stores")
    got["delete the only copy"] = outcome(lambda: api.delete_from_store(image_id, "store1"), ids)
    got["after refusing"] = api.get_image(image_id).get("stores")
    return got


def test_the_fake_keeps_stores_as_glance_does(tmp_path: Path) -> None:
    from tests.sandbox.test_stores import ADMIN, STORES, stores_up

    sandbox = stores_up()
    monkey = pytest.MonkeyPatch()
    monkey.setenv("OS_CLIENT_CONFIG_FILE", str(sandbox.clouds_file))
    try:
        real = glance_client(connect(CloudOptions(cloud=ADMIN)), 60.0)
    finally:
        monkey.undo()
    folder = sandbox.root / "glance" / "stores" / "store3"
    aside = folder.with_name("store3.parity")

    def break_real(broken: bool) -> None:
        # As root a folder's mode stops no write: the folder is swapped for a file.
        if broken:
            folder.rename(aside)
            folder.write_text("")
        else:
            folder.unlink()
            aside.rename(folder)

    active = made(real, {"name": "stores-a", "disk_format": "raw", "container_format": "bare"})
    queued = made(real, {"name": "stores-q", "disk_format": "raw", "container_format": "bare"})
    try:
        real.put_data(active, "file", io.BytesIO(b"x" * 64))
        on_glance = store_probes(real, active, queued, break_real)
    finally:
        for image_id in (active, queued):
            try:
                real.delete_image(image_id)
            except CloudError:
                pass

    fake = FakeGlance(stores=STORES)
    fake_active = fake.seed(name="stores-a", status="active")
    fake_queued = fake.seed(name="stores-q", disk_format="raw", container_format="bare")

    def break_fake(broken: bool) -> None:
        (fake.broken_stores.add if broken else fake.broken_stores.discard)("store3")

    on_fake = store_probes(fake, fake_active, fake_queued, break_fake)
    differing = {k: (on_fake[k], on_glance[k]) for k in on_glance if on_fake[k] != on_glance[k]}
    assert differing == {}, json.dumps(differing, indent=1, default=str)
    assert on_glance["after the failed copy"][:3] == ("store1,store2", "active", "store3")
    assert on_glance["delete the only copy"][:2] == ("Forbidden", 403)
