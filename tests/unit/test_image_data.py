"""Images built from a declared source, against the in-memory Glance: each method ends
active with Glance's hash equal to the data's sha512 (computed here, not by the tool),
every mismatch rolls the new image back with the reason naming expected and actual, a
failed upload is sent again from the first byte, and a second plan finds the build
current. The same paths run against the real Glance in tests/sandbox/test_image_data.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.apply import Status, roll_back_journal
from reconciler.apply.journal import Journal, histories
from reconciler.errors import ConnectionFailed
from reconciler.model.image_view import MANAGED_RECORD, parse_record
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action
from reconciler.model.source import DataSource
from tests.fakes import FakeGlance, Fault
from tests.unit.test_applier import client, plan_for, run

URL = "http://mirror.fake/disk.img"


def data_entry(name: str, data: DataSource, **props: str) -> DesiredImage:
    return DesiredImage(
        name=name,
        origin="images.yaml:1",
        core=(("name", name), ("container_format", "bare"), ("disk_format", "raw")),
        properties=tuple(sorted(props.items())),
        data=data,
    )


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    path = tmp_path / "disk.raw"
    path.write_bytes(bytes(range(256)) * 1000)
    return path


def sha(path_or_bytes: Path | bytes, algorithm: str = "sha512") -> str:
    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    return hashlib.new(algorithm, data).hexdigest()


def stored_by_name(fake: FakeGlance, name: str) -> dict[str, Any] | None:
    found = [image for image in fake.images() if image["name"] == name]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("method", ["upload", "glance-direct"])
def test_a_file_source_is_streamed_hashed_and_verified(
    method: str, disk: Path, tmp_path: Path
) -> None:
    fake = FakeGlance()
    data = DataSource(str(disk), "sha256", sha(disk, "sha256"), method, "20261101")
    plan = plan_for(fake, data_entry("ubuntu", data, os_distro="ubuntu"))
    (image,) = plan.images
    assert image.action is Action.CREATE and image.data is not None
    results, records = run(fake, plan, tmp_path)
    assert results["ubuntu"].status is Status.APPLIED, results["ubuntu"].reason
    stored = stored_by_name(fake, "ubuntu")
    assert stored is not None and stored["status"] == "active"
    assert stored["os_hash_value"] == sha(disk) and stored["size"] == disk.stat().st_size
    record = parse_record(stored[MANAGED_RECORD])
    assert record is not None and record.build == data.checksum and record.version == "20261101"
    assert stored["owner_specified.openstack.sha256"] == data.digest
    # Created under a temporary name, published (named) once its data is verified.
    assert [r["kind"] for r in records if r["type"] == "begin"] == ["create", "data", "patch"]
    # A PUT to /file starts no import task: its image alone is read back (one GET);
    # a staged image's import task is waited for.
    assert fake.calls["image_tasks"] == (0 if method == "upload" else 1), fake.calls
    # The build is current: a second plan does nothing.
    (again,) = plan_for(fake, data_entry("ubuntu", data, os_distro="ubuntu")).images
    assert again.action is Action.NOOP


def test_web_download_compares_the_declared_sha512_with_glances(tmp_path: Path) -> None:
    fake = FakeGlance()
    payload = b"web bytes" * 1000
    fake.serve(URL, payload)
    data = DataSource(URL, "sha512", sha(payload), "web-download")
    results, _records = run(fake, plan_for(fake, data_entry("web", data)), tmp_path)
    assert results["web"].status is Status.APPLIED, results["web"].reason
    stored = stored_by_name(fake, "web")
    assert stored is not None and stored["os_hash_value"] == sha(payload)


def test_a_wrong_declared_checksum_leaves_no_image(disk: Path, tmp_path: Path) -> None:
    fake = FakeGlance()
    wrong = "0" * 64
    data = DataSource(str(disk), "sha256", wrong, "upload")
    results, records = run(fake, plan_for(fake, data_entry("bad", data)), tmp_path)
    result = results["bad"]
    assert result.status is Status.ROLLED_BACK
    assert f"expected sha256:{wrong}" in result.reason
    assert f"got sha256:{sha(disk, 'sha256')}" in result.reason and str(disk) in result.reason
    assert stored_by_name(fake, "bad") is None
    assert [r["type"] for r in records].count("undone") == 2  # data (nothing) and create


def test_glance_direct_imports_nothing_whose_bytes_do_not_match(disk: Path, tmp_path: Path) -> None:
    fake = FakeGlance()
    data = DataSource(str(disk), "sha256", "1" * 64, "glance-direct")
    results, _records = run(fake, plan_for(fake, data_entry("gd", data)), tmp_path)
    assert results["gd"].status is Status.ROLLED_BACK
    assert fake.calls["import_image"] == 0
    assert stored_by_name(fake, "gd") is None


def test_glance_storing_other_bytes_is_caught(disk: Path, tmp_path: Path) -> None:
    fake = FakeGlance()
    fake.corrupt_hash = "f" * 128
    data = DataSource(str(disk), "sha256", sha(disk, "sha256"), "upload")
    results, _records = run(fake, plan_for(fake, data_entry("odd", data)), tmp_path)
    assert results["odd"].status is Status.ROLLED_BACK
    assert "Glance's sha512 of the stored data is ffff" in results["odd"].reason
    assert stored_by_name(fake, "odd") is None


def test_a_failed_web_download_rolls_back_with_glances_reason(tmp_path: Path) -> None:
    fake = FakeGlance()
    fake.serve(URL, None)
    data = DataSource(URL, "sha512", "a" * 128, "web-download")
    results, _records = run(fake, plan_for(fake, data_entry("gone", data)), tmp_path)
    assert results["gone"].status is Status.ROLLED_BACK
    # Glance's own words for a URL that answers 404 (test_fake_parity, the data path)
    assert (
        "the import failed (Glance's task: Task failed due to Internal Error)"
        in results["gone"].reason
    )
    assert stored_by_name(fake, "gone") is None


def test_a_failed_upload_is_sent_again_from_the_first_byte(disk: Path, tmp_path: Path) -> None:
    fake = FakeGlance()
    fake.inject("put_data", Fault.SERVER_ERROR)
    data = DataSource(str(disk), "sha256", sha(disk, "sha256"), "upload")
    results, _records = run(fake, plan_for(fake, data_entry("retry", data)), tmp_path)
    assert results["retry"].status is Status.APPLIED, results["retry"].reason
    assert fake.calls["put_data"] == 2 and fake.slept
    stored = stored_by_name(fake, "retry")
    assert stored is not None and stored["os_hash_value"] == sha(disk)


def test_an_upload_cut_while_glance_still_saves_is_sent_again_once_queued(
    disk: Path, tmp_path: Path
) -> None:
    """Glance puts a cut upload's image back to `queued` only when its worker notices the
    short body (`_restore` in glance/api/v2/image_data.py); until then the image reads
    `saving` (a CI run on the sandbox rolled such an image back). The client reports a
    cut PUT as ConnectionFailed (PUT is idempotent, so not ResponseLost)."""
    fake = FakeGlance()
    put, read = fake.put_data, fake.get_image
    cut: list[bytes] = []
    saving: list[str] = []

    def cut_once(image_id: str, target: str, stream: Any, store: str | None = None) -> None:
        if not cut:
            cut.append(stream.read(1000))
            raise ConnectionFailed("cannot reach Glance: Connection aborted.", method="PUT")
        put(image_id, target, stream, store)

    def not_yet_restored(image_id: str) -> dict[str, Any]:
        image = read(image_id)
        if cut and len(saving) < 2:
            saving.append(image_id)
            return {**image, "status": "saving"}
        return image

    fake.put_data = cut_once  # type: ignore[method-assign]
    fake.get_image = not_yet_restored  # type: ignore[method-assign]
    data = DataSource(str(disk), "sha256", sha(disk, "sha256"), "upload")
    results, _records = run(fake, plan_for(fake, data_entry("cut", data)), tmp_path)
    assert results["cut"].status is Status.APPLIED, results["cut"].reason
    assert len(cut) == 1 and len(saving) == 2, (saving, fake.calls, fake.slept)
    assert fake.slept[:2] == [0.25, 0.5]  # polled while `saving`, then sent again
    stored = stored_by_name(fake, "cut")
    assert stored is not None and stored["os_hash_value"] == sha(disk)
    assert stored["size"] == disk.stat().st_size


def built(fake: FakeGlance, disk: Path, tmp_path: Path, version: str = "1") -> dict[str, Any]:
    """The image `img` built from `disk` (version 1), as stored."""
    data = DataSource(str(disk), "sha256", sha(disk, "sha256"), "upload", version)
    results, _records = run(fake, plan_for(fake, data_entry("img", data, team="a")), tmp_path)
    assert results["img"].status is Status.APPLIED, results["img"].reason
    stored = stored_by_name(fake, "img")
    assert stored is not None
    return stored


def new_source(tmp_path: Path) -> tuple[Path, DataSource]:
    path = tmp_path / "disk-2.raw"
    path.write_bytes(b"the second build" * 500)
    return path, DataSource(str(path), "sha512", sha(path), "upload", "2")


def test_a_changed_source_makes_a_new_build_that_takes_the_name(disk: Path, tmp_path: Path) -> None:
    fake = FakeGlance()
    before = built(fake, disk, tmp_path)
    path, changed = new_source(tmp_path)
    plan = plan_for(fake, data_entry("img", changed, team="a"), prune=True)
    (image,) = plan.images  # the previous build is no orphan, even with --prune
    assert image.action is Action.REBUILD and image.rename_previous == "img 1"
    assert image.id == before["id"]
    results, records = run(fake, plan, tmp_path)
    assert results["img"].status is Status.APPLIED, results["img"].reason
    new = stored_by_name(fake, "img")
    old = fake.stored(before["id"])
    assert new is not None and old is not None and new["id"] != before["id"]
    assert new["os_hash_value"] == sha(path) and new["team"] == "a"
    assert old["name"] == "img 1" and old["os_hash_value"] == before["os_hash_value"]
    changed_keys = {k for k in old if old[k] != before.get(k)}
    assert changed_keys == {"name", "updated_at"}  # its record names its entry already
    old_record = parse_record(old[MANAGED_RECORD])
    assert old_record is not None and old_record.entry == "img" and old_record.version == "1"
    # The rename of the old build comes before the new one takes the name.
    assert [r["kind"] for r in records if r["type"] == "begin"] == [
        "create",
        "data",
        "patch",
        "patch",
    ]
    again = plan_for(fake, data_entry("img", changed, team="a"), prune=True)
    assert [i.action for i in again.images] == [Action.NOOP]


@pytest.mark.parametrize(
    ("where", "fault"),
    [
        ("put_data", Fault.FORBIDDEN),  # the new build's data refused
        ("patch_image", Fault.FORBIDDEN),  # the previous build's rename refused
        ("take_name", Fault.FORBIDDEN),  # the new build's rename to the name refused
    ],
)
def test_a_failed_rebuild_leaves_everything_as_before(
    where: str, fault: Fault, disk: Path, tmp_path: Path
) -> None:
    fake = FakeGlance()
    before = built(fake, disk, tmp_path)
    _path, changed = new_source(tmp_path)
    plan = plan_for(fake, data_entry("img", changed, team="a"))
    if where == "take_name":
        fake.inject("patch_image", fault, nth=2)
    else:
        fake.inject(where, fault)
    results, _records = run(fake, plan, tmp_path)
    assert results["img"].status is Status.ROLLED_BACK, results["img"].reason
    assert [i["id"] for i in fake.images()] == [before["id"]]
    after = fake.stored(before["id"])
    assert after is not None
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


def test_a_rebuild_killed_half_way_is_rolled_back_from_its_journal(
    disk: Path, tmp_path: Path
) -> None:
    from reconciler.apply import Applier
    from tests.fakes import Crash

    fake = FakeGlance()
    before = built(fake, disk, tmp_path)
    _path, changed = new_source(tmp_path)
    plan = plan_for(fake, data_entry("img", changed, team="a"))
    fake.inject("patch_image", Fault.CRASH_AFTER, nth=1)  # after the old build's rename
    path = tmp_path / "rebuild.jsonl"
    journal = Journal(path)
    with pytest.raises(Crash):
        Applier(client(fake), journal, parallelism=1).run(plan)
    journal.close()
    fake.revive()
    assert fake.stored(before["id"])["name"] == "img 1"  # type: ignore[index]
    journal = Journal(path)
    report = roll_back_journal(client(fake), journal, histories(path))
    journal.close()
    assert {r.status for r in report.results} == {Status.ROLLED_BACK}
    assert [i["id"] for i in fake.images()] == [before["id"]]
    assert fake.stored(before["id"])["name"] == "img"  # type: ignore[index]


def test_an_image_uploaded_by_other_means_is_adopted_by_its_hash(
    disk: Path, tmp_path: Path
) -> None:
    fake = FakeGlance()
    data = DataSource(str(disk), "sha512", sha(disk), "upload")
    run(fake, plan_for(fake, data_entry("img", data)), tmp_path)
    stored = stored_by_name(fake, "img")
    assert stored is not None
    fake.edit_keys(stored["id"], {MANAGED_RECORD: None})  # as if made by hand
    (image,) = plan_for(fake, data_entry("img", data)).images
    assert image.action is Action.ADOPT  # only the record: the data is the declared one


def test_rollback_from_the_journal_discards_a_half_built_image(disk: Path, tmp_path: Path) -> None:
    fake = FakeGlance()
    fake.inject("get_image", Fault.CRASH)  # dies while waiting for active
    data = DataSource(str(disk), "sha256", sha(disk, "sha256"), "glance-direct")
    path = tmp_path / "crash.jsonl"
    journal = Journal(path)
    from reconciler.apply import Applier
    from tests.fakes import Crash

    with pytest.raises(Crash):
        Applier(client(fake), journal, parallelism=1).run(plan_for(fake, data_entry("c", data)))
    journal.close()
    # Not verified yet: still under its temporary name (verify before publish).
    assert stored_by_name(fake, "c") is None
    assert stored_by_name(fake, "c (new build)") is not None
    fake.revive()
    journal = Journal(path)
    report = roll_back_journal(client(fake), journal, histories(path))
    journal.close()
    assert [r.status for r in report.results] == [Status.ROLLED_BACK]
    assert stored_by_name(fake, "c (new build)") is None
    begins = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["kind"] for r in begins if r["type"] == "begin"] == ["create", "data"]


@pytest.mark.parametrize("fault", [Fault.LOST, Fault.LOST_AFTER])
def test_a_lost_answer_to_a_glance_direct_import_still_verifies_the_bytes(
    fault: Fault, disk: Path, tmp_path: Path
) -> None:
    """The import request's answer is lost, before or after Glance took it: the import
    is asked for again only if it did not start, and the declared sha256 (of the bytes
    sent) still decides, not Glance's sha512 alone."""
    fake = FakeGlance()
    fake.inject("import_image", fault)
    data = DataSource(str(disk), "sha256", sha(disk, "sha256"), "glance-direct")
    results, _records = run(fake, plan_for(fake, data_entry("gd", data)), tmp_path)
    assert results["gd"].status is Status.APPLIED, results["gd"].reason
    stored = stored_by_name(fake, "gd")
    assert stored is not None and stored["os_hash_value"] == sha(disk)
    assert fake.calls["import_image"] == (2 if fault is Fault.LOST else 1)


def test_progress_is_told_as_the_bytes_stream(tmp_path: Path) -> None:
    """What the terminal's data bars show: bytes read so far and the length, at most
    once per MiB and at the end; off a terminal nobody listens and nothing is told."""
    from reconciler.apply import Applier
    from reconciler.cloud.image_data import PROGRESS_EVERY

    path = tmp_path / "big.raw"
    path.write_bytes(b"\x01" * (3 * PROGRESS_EVERY + 5))
    fake = FakeGlance()
    data = DataSource(str(path), "sha256", sha(path, "sha256"), "upload")
    plan = plan_for(fake, data_entry("big", data))
    told: list[tuple[str, int, int | None]] = []
    journal = Journal(tmp_path / "progress.jsonl")
    report = Applier(
        client(fake),
        journal,
        on_data=lambda image, done, length: told.append((image.name, done, length)),
    ).run(plan)
    journal.close()
    assert [r.status for r in report.results] == [Status.APPLIED]
    size = path.stat().st_size
    assert told[-1] == ("big", size, size)
    counts = [done for _name, done, _length in told]
    assert counts == sorted(counts) and 3 <= len(told) <= 6


@given(
    sizes=st.lists(st.integers(0, 3 * (1 << 20)), min_size=1, max_size=4),
    asked=st.sampled_from([1, 8192, 16384, -1]),
)
@settings(max_examples=25)
def test_background_hashes_equal_hashlib_whatever_the_reads(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], asked: int
) -> None:
    """The reader hashes in threads of its own while the bytes are sent: the digests
    are those of every byte read, in order, whatever block size the HTTP library asks
    for; blocks are read a MiB at a time, and the same algorithm twice is hashed once."""
    from reconciler.cloud.image_data import BLOCK, open_source

    data = b"".join(bytes([n % 251]) * size for n, size in enumerate(sizes)) + os.urandom(7)
    path = tmp_path_factory.mktemp("hash") / "data.raw"
    path.write_bytes(data)
    reader = open_source(str(path), ("sha256", "sha512", "sha256"))
    assert reader.algorithms == ("sha256", "sha512")
    blocks = []
    while block := reader.read(asked):
        blocks.append(len(block))
    reader.close()
    assert reader.read_bytes == len(data) and sum(blocks) == len(data)
    assert all(size >= min(BLOCK, len(data)) for size in blocks[:-1])
    assert reader.hexdigest("sha256") == hashlib.sha256(data).hexdigest()
    assert reader.hexdigest("sha512") == hashlib.sha512(data).hexdigest()


def test_a_public_build_is_published_only_once_verified(disk: Path, tmp_path: Path) -> None:
    """Issue 28: created private under its temporary name; visibility and name come in
    one PATCH after the data is verified; a build that fails is never seen outside the
    project (community, as public, is listed by every project)."""
    fake = FakeGlance()
    good = DataSource(str(disk), "sha256", sha(disk, "sha256"), "upload", "1")
    bad = DataSource(str(disk), "sha256", "0" * 64, "upload", "1")
    entries = [
        DesiredImage(
            name=name,
            origin="images.yaml:1",
            core=(
                ("name", name),
                ("container_format", "bare"),
                ("disk_format", "raw"),
                ("visibility", "community"),
            ),
            data=data,
        )
        for name, data in (("good", good), ("bad", bad))
    ]
    results, records = run(fake, plan_for(fake, *entries), tmp_path)
    assert results["good"].status is Status.APPLIED, results["good"].reason
    assert results["bad"].status is Status.ROLLED_BACK
    creates = [r["step"] for r in records if r["type"] == "begin" and r["kind"] == "create"]
    assert {(c["body"]["name"], c["body"]["visibility"]) for c in creates} == {
        ("good (new build)", "private"),
        ("bad (new build)", "private"),
    }
    patches = [r for r in records if r["type"] == "begin" and r["kind"] == "patch"]
    (publish,) = patches  # only the verified build is published
    assert {op["path"]: op["value"] for op in publish["step"]["ops"]} == {
        "/name": "good",
        "/visibility": "community",
    }
    stored = stored_by_name(fake, "good")
    assert stored is not None and stored["visibility"] == "community"
