"""drift against the sandbox: images changed behind the tool's back with openstacksdk,
reported exactly in every format; the HTML page checked in a real headless Chromium."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import junitparser
import pytest

from reconciler.model.image_view import MANAGED_RECORD
from tests.conftest import ROOT, SUMMARY, Sandbox
from tests.sandbox.helpers import create_image, retried, run_cli, write_manifest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


def _manifest(unique: str) -> str:
    return f"""\
    version: 1
    defaults:
      visibility: private
    images:
      - name: {unique}-edit
        tags: [a, b]
        properties: {{os_version: "1", team: web}}
      - name: {unique}-tag
        tags: [x, y]
      - name: {unique}-share
        visibility: shared
        members: []
      - name: {unique}-gone
        properties: {{team: db}}
      - name: {unique}-same
        properties: {{team: ops}}
    """


@pytest.fixture
def drifted(sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path) -> Path:
    """Apply the manifest, then change the cloud by hand as the issue lists."""
    manifest = write_manifest(tmp_path / "git", _manifest(unique))
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(manifest))
    assert done.returncode == 0, done.stderr
    conn = sandbox.connection("sandbox")
    ids = {i.name: i.id for i in conn.image.images() if i.name.startswith(unique)}
    demo_images.extend(ids.values())
    retried(conn.image.update_image, ids[f"{unique}-edit"], os_version="2")
    retried(conn.image.remove_tag, conn.image.get_image(ids[f"{unique}-tag"]), "y")
    retried(conn.image.add_member, ids[f"{unique}-share"], member_id=sandbox.project_ids["other"])
    retried(conn.image.delete_image, ids[f"{unique}-gone"])
    demo_images.append(create_image(sandbox, {"name": f"{unique}-hand"}))
    demo_images.append(
        create_image(sandbox, {"name": f"{unique}-orphan", MANAGED_RECORD: '["team"]', "team": "x"})
    )
    return manifest


EXPECTED_STATES = {
    "edit": "drifted",
    "tag": "drifted",
    "share": "drifted",
    "gone": "missing",
    "same": "in_sync",
    "orphan": "orphan",
    "hand": "unmanaged",
}


def _ours(images: list[dict[str, Any]], unique: str) -> dict[str, dict[str, Any]]:
    return {i["name"].removeprefix(f"{unique}-"): i for i in images if i["name"].startswith(unique)}


def test_drift_reports_exactly_the_changes_in_every_format(
    sandbox: Sandbox,
    unique: str,
    drifted: Path,
    tmp_path: Path,
    record_property: Any,
) -> None:
    junit_path, html_path, md_path = (tmp_path / n for n in ("d.xml", "d.html", "d.md"))
    done = run_cli(
        sandbox,
        "drift",
        "--format",
        "json",
        "--unmanaged",
        "--report",
        f"junit={junit_path}",
        "--report",
        f"html={html_path}",
        "--report",
        f"markdown={md_path}",
        str(drifted),
    )
    assert done.returncode == 2, done.stderr
    (report,) = json.loads(done.stdout)["targets"]
    ours = _ours(report["images"], unique)
    assert {name: image["state"] for name, image in ours.items()} == EXPECTED_STATES
    fields = {name: {f["field"]: f for f in image["fields"]} for name, image in ours.items()}
    assert list(fields["edit"]) == ["os_version"]
    assert (fields["edit"]["os_version"]["live"], fields["edit"]["os_version"]["git"]) == ("2", "1")
    assert fields["tag"]["tags"]["only_in_git"] == ["y"]
    assert fields["tag"]["tags"]["only_in_cloud"] == []
    assert fields["share"]["members"]["only_in_cloud"] == [sandbox.project_ids["other"]]
    assert fields["same"] == {} and fields["gone"] == {}

    # JUnit: one case per image, a failure for each of ours that is not in sync.
    suite = next(iter(junitparser.JUnitXml.fromfile(str(junit_path))))
    cases = {c.name.removeprefix(f"{unique}-"): c for c in suite if c.name.startswith(unique)}
    assert set(cases) == set(EXPECTED_STATES)
    assert {n for n, c in cases.items() if not c.is_passed} == set(EXPECTED_STATES) - {"same"}
    assert cases["edit"].result[0].message == "drifted: os_version"

    md = md_path.read_text()
    assert f"| `{unique}-edit` | drifted | `os_version` |" in md
    assert f"| `{unique}-gone` | missing from the cloud |" in md
    assert f"{unique}-same" not in md

    text = run_cli(sandbox, "drift", str(drifted))
    assert text.returncode == 2
    assert f"'{unique}-edit'" in text.stdout and 'os_version: cloud "2", git "1"' in text.stdout
    assert f"'{unique}-hand'" not in text.stdout  # unmanaged only with --unmanaged
    assert "\x1b[" not in text.stdout

    # --fail-on: orphans exist (exit 2); only drift asked and drift exists (exit 2).
    assert run_cli(sandbox, "drift", "--fail-on", "orphans", str(drifted)).returncode == 2
    shot = _check_html_in_chromium(html_path, unique)
    record_property("screenshot", str(shot))  # in the JUnit XML of the test run
    SUMMARY.append(f"drift report in headless Chromium: screenshot {shot}")


def _check_html_in_chromium(page: Path, unique: str) -> Path:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is installed by `make test`"
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "drift-report.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 900})
            tab.goto(page.as_uri())
            assert tab.title() == "reconciler drift report"
            drifted_rows = tab.locator("tr.image[data-state=drifted]")
            assert drifted_rows.count() >= 3
            assert tab.locator(f"tr.image:visible:has-text('{unique}-edit')").count() == 1
            # In-sync rows are hidden by default; the drifted field diff shows both values.
            assert tab.locator(f"tr.image:visible:has-text('{unique}-same')").count() == 0
            edit = tab.locator(f"tr.image:has-text('{unique}-edit')")
            assert edit.locator("td.live").inner_text() == '"2"'
            assert edit.locator("td.git").inner_text() == '"1"'
            tab.screenshot(path=str(shot), full_page=True)
            # Filtering by text leaves one row and writes the filter into the URL.
            tab.fill("#q", f"{unique}-tag")
            assert tab.locator("tr.image:visible").count() == 1
            assert "1 of" in tab.locator("#shown").inner_text()
            assert f"q={unique}-tag" in tab.url
            # Ticking "in sync" shows the in-sync image too.
            tab.fill("#q", unique)
            tab.check("input.state-filter[value=in_sync]")
            assert tab.locator(f"tr.image:visible:has-text('{unique}-same')").count() == 1
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    print(f"\nscreenshot of the drift report: {shot}")
    shutil.copy(page, ARTIFACTS / "drift-report.html")
    return shot


def test_no_drift_exits_zero_and_errors_exit_one(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path, f"version: 1\nimages:\n  - name: {unique}-ok\n    properties: {{k: v}}\n"
    )
    assert run_cli(sandbox, "apply", "--auto-approve", str(manifest)).returncode == 0
    demo_images.extend(
        i.id for i in sandbox.connection().image.images() if i.name.startswith(unique)
    )
    done = run_cli(sandbox, "drift", "--fail-on", "drift", str(manifest))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Drift: 0 drifted, 0 missing from the cloud" in done.stdout
    verbose = run_cli(sandbox, "--verbose", "drift", str(manifest))
    lines = verbose.stderr.splitlines()
    listing = "GET /v2/images?limit=1000 -> 200 in "
    assert any(line.startswith(listing) for line in lines), verbose.stderr
    assert all(" -> " in line for line in lines), lines  # only the request log
    bad = run_cli(sandbox, "drift", str(tmp_path / "nope.yaml"))
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")
    assert "Traceback" not in bad.stderr
