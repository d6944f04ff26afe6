"""Images built from a declared source, against the in-memory Glance: each method ends
active with Glance's hash equal to the data's sha512 (computed here, not by the tool),
every mismatch rolls the new image back with the reason naming expected and actual, a
failed upload is sent again from the first byte, and a second plan finds the build
current. The same paths run against the real Glance in tests/sandbox/test_image_data.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import Status, roll_back_journal
from reconciler.journal import Journal, histories
from reconciler.manifests.models import DesiredImage
from reconciler.manifests.source import DataSource
from reconciler.plan import Action
from reconciler.views import MANAGED_RECORD, parse_record
from tests.fakes import FakeGlance, Fault
from tests.unit.test_applier import client, plan_for, run

URL = "http://mirror.fake/disk.img"


def data_entry(name: str, data: DataSource, **props: str) -> DesiredImage:
    return DesiredImage(
        name=name,
        source="images.yaml:1",
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
    assert [r["kind"] for r in records if r["type"] == "begin"] == ["create", "data"]
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
    assert "the import failed: HTTP Error 404" in results["gone"].reason
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


def test_a_changed_source_is_not_written_over(disk: Path, tmp_path: Path) -> None:
    """Data is immutable once active: a new checksum needs a new build."""
    fake = FakeGlance()
    data = DataSource(str(disk), "sha256", sha(disk, "sha256"), "upload", "1")
    run(fake, plan_for(fake, data_entry("img", data)), tmp_path)
    before = stored_by_name(fake, "img")
    changed = DataSource(str(disk), "sha512", sha(disk), "upload", "2")
    (image,) = plan_for(fake, data_entry("img", changed)).images
    assert image.action is Action.ERROR and "the source changed" in (image.error or "")
    assert stored_by_name(fake, "img") == before


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
    assert stored_by_name(fake, "c") is not None
    fake.revive()
    journal = Journal(path)
    report = roll_back_journal(client(fake), journal, histories(path))
    journal.close()
    assert [r.status for r in report.results] == [Status.ROLLED_BACK]
    assert stored_by_name(fake, "c") is None
    begins = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["kind"] for r in begins if r["type"] == "begin"] == ["create", "data"]
