"""What a new user tripped over (issue 26), against the real Keystone and Glance:
drift's `--out` and its OpenMetrics report."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from reconciler.model.image_view import MANAGED_RECORD, parse_record
from tests.conftest import ROOT, Sandbox
from tests.sandbox.helpers import plan_json, reconciler, run_cli, write_manifest


def _applied(sandbox: Sandbox, unique: str, tmp_path: Path, demo_images: list[str]) -> Path:
    manifest = write_manifest(
        tmp_path / "git",
        f"""\
        version: 1
        images:
          - name: {unique}-same
            visibility: private
            tags: [a]
          - name: {unique}-edited
            visibility: private
            tags: [a]
        """,
    )
    done = run_cli(sandbox, "apply", "--auto-approve", str(manifest))
    assert done.returncode == 0, done.stderr
    conn = sandbox.connection("sandbox")
    ids = {i.name: i.id for i in conn.image.images() if i.name.startswith(unique)}
    demo_images.extend(ids.values())
    conn.image.update_image(ids[f"{unique}-edited"], visibility="shared")
    return manifest


def test_drift_out_and_an_openmetrics_report(
    sandbox: Sandbox, unique: str, tmp_path: Path, demo_images: list[str]
) -> None:
    """Issue 26, 4 and 12: `drift --out FILE` writes the report where plan's --out would,
    and `--report openmetrics=FILE` the metrics of the same run."""
    manifest = _applied(sandbox, unique, tmp_path, demo_images)
    out, metrics = tmp_path / "drift.md", tmp_path / "drift.prom"
    done = run_cli(
        sandbox,
        "drift",
        "--format",
        "markdown",
        "--out",
        str(out),
        "--report",
        f"openmetrics={metrics}",
        str(manifest),
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # the report went to the file
    assert f"markdown drift report written to {out}" in done.stderr
    assert f"`{unique}-edited`" in out.read_text()
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    states = {
        s.labels["name"]: s.labels["state"]
        for s in families["reconciler_drift_image_state"].samples
        if s.labels["name"].startswith(unique)
    }
    assert states == {f"{unique}-same": "in_sync", f"{unique}-edited": "drifted"}
    [duration] = families["reconciler_drift_run_duration_seconds"].samples
    assert 0 < duration.value < 120
    assert not list(tmp_path.glob(".*.tmp"))  # written whole, then renamed

    stdout = run_cli(sandbox, "drift", "--format", "openmetrics", str(manifest))
    assert stdout.returncode == 2, stdout.stderr
    assert stdout.stdout.endswith("# EOF\n")
    assert "reconciler_drift_images" in {
        f.name for f in text_string_to_metric_families(stdout.stdout)
    }


def test_refused_os_variables_are_named_not_cloud_envvars(sandbox: Sandbox, tmp_path: Path) -> None:
    """Issue 26, 8: a wrong OS_PASSWORD said "check the credentials of cloud 'envvars'"."""
    auth = sandbox.cloud_region("sandbox").config["auth"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "OS_AUTH_URL": auth["auth_url"],
        "OS_USERNAME": auth["username"],
        "OS_PASSWORD": "not-the-password",
        "OS_PROJECT_NAME": auth["project_name"],
        "OS_USER_DOMAIN_NAME": auth.get("user_domain_name", "Default"),
        "OS_PROJECT_DOMAIN_NAME": auth.get("project_domain_name", "Default"),
    }
    manifest = write_manifest(tmp_path, "version: 1\nimages: []\n")
    done = reconciler(env, "plan", str(manifest))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: authentication refused (401): check the credentials in the OS_* variables "
        "(OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, or an application "
        "credential)"
    ]
    assert "not-the-password" not in done.stdout + done.stderr


ESCAPE = "\x1b"


def test_off_a_terminal_no_escape_codes_a_100_column_table_and_rollback_words(
    sandbox: Sandbox, unique: str, tmp_path: Path, demo_images: list[str]
) -> None:
    """Issue 26, 10: what a CI log gets from validate, plan, apply, drift and rollback
    (stdout and stderr are pipes, no COLUMNS): no escape codes, the apply table within
    100 columns, and a rollback that says what it restored."""
    names = [f"{unique}-a-long-image-name-for-the-table-{n}" for n in range(3)]
    entries = "".join(f"  - name: {name}\n    visibility: private\n" for name in names)
    text = f"version: 1\ncatalog: {unique}\nimages:\n" + entries  # no other test's orphans
    manifest = write_manifest(tmp_path / "git", text)
    env = {k: v for k, v in sandbox.env("sandbox").items() if k not in ("COLUMNS", "FORCE_COLOR")}
    journal = tmp_path / "journal.jsonl"
    runs = [
        reconciler(env, "validate", str(manifest)),
        reconciler(env, "plan", str(manifest)),
        reconciler(env, "apply", "--auto-approve", "--journal", str(journal), str(manifest)),
        reconciler(env, "drift", str(manifest)),
        reconciler(env, "rollback", str(journal)),
    ]
    conn = sandbox.connection("sandbox")
    demo_images.extend(i.id for i in conn.image.images() if i.name.startswith(unique))
    assert [done.returncode for done in runs] == [0, 0, 0, 0, 0], [d.stderr for d in runs]
    for done in runs:
        assert ESCAPE not in done.stdout + done.stderr
    applied = runs[2].stdout
    assert all(name in applied for name in names)
    lines = applied.splitlines()
    table = lines[lines.index("Apply") :]  # the plan shown before it is text, not a table
    assert max(len(line) for line in table) <= 100, table
    assert "Apply: 3 applied." in applied
    assert "Rollback: 3 restored." in runs[4].stdout
    assert "rolled_back" not in runs[4].stdout.splitlines()[-1]
    assert not [i for i in conn.image.images() if i.name.startswith(unique)]  # deleted again


def test_the_demo_log_has_no_escape_codes_off_a_terminal(tmp_path: Path) -> None:
    """The demo's step headings were bold on a terminal and `ESC[1m` in its log."""
    demo = (ROOT / "docs" / "demo.sh").read_text()
    [step] = [line for line in demo.splitlines() if line.startswith("step()")]
    log = tmp_path / "demo.log"
    subprocess.run(
        ["bash", "-c", f"{step}\nstep 'reconciler validate'"], stdout=log.open("w"), check=True
    )
    assert log.read_text() == "\n== reconciler validate\n"


def test_a_build_survives_import_then_apply_then_plan(
    sandbox: Sandbox, unique: str, tmp_path: Path, demo_images: list[str]
) -> None:
    """Issue 26, 1: built from a source, imported (`import --out-dir`), applied from
    the import, planned from the original manifest: no change (was `± rebuild`); the
    import names no `owner_specified.*` property, and nothing records them as managed."""
    payload = (unique.encode() + os.urandom(64)) * 1024
    (tmp_path / "disk.raw").write_bytes(payload)
    checksum = "sha256:" + hashlib.sha256(payload).hexdigest()
    original = write_manifest(
        tmp_path,
        f"""\
        version: 1
        catalog: {unique}
        images:
          - name: {unique}-built
            disk_format: raw
            container_format: bare
            properties: {{os_distro: debian}}
            source: {{url: disk.raw, checksum: "{checksum}", version: "1"}}
        """,
        "original.yaml",
    )
    built = run_cli(sandbox, "apply", "--auto-approve", str(original))
    conn = sandbox.connection("sandbox")
    demo_images.extend(i.id for i in conn.image.images() if i.name.startswith(unique))
    assert built.returncode == 0, built.stderr

    imported = tmp_path / "imp"
    done = run_cli(
        sandbox, "import", "--catalog", unique, "--name", f"{unique}-*", "--out-dir", str(imported)
    )
    assert done.returncode == 0, done.stderr
    text = (imported / "images.yaml").read_text()
    assert "owner_specified" not in text and "os_distro: debian" in text
    done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(imported))
    assert done.returncode == 0, done.stderr

    code, plan = plan_json(sandbox, original, extra=("--detailed-exitcode",))
    assert code == 0, [(i["name"], i["action"]) for i in plan["images"]]
    [image] = [i for i in conn.image.images() if i.name == f"{unique}-built"]
    record = parse_record(image.properties[MANAGED_RECORD])
    assert record is not None and record.build == checksum and record.version == "1"
    assert record.keys == frozenset({"os_distro"})


def test_validate_online_checks_member_projects_where_it_may(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Issue 26, 9: `validate --online` asks Keystone whether each member exists: an
    error for one that does not; members these credentials may not look up (a demo
    user, 403 for every project but its own) are counted, not guessed at."""
    other = sandbox.project_ids["other"]
    manifest = write_manifest(
        tmp_path,
        f"""\
        version: 1
        images:
          - name: shared
            visibility: shared
            members: [{other}, 0123456789abcdef0123456789abcdef]
        """,
    )
    admin = run_cli(sandbox, "validate", "--online", str(manifest), cloud="sandbox-admin")
    assert admin.returncode == 1
    assert admin.stderr.splitlines() == [
        f"error: {manifest}:3: member '0123456789abcdef0123456789abcdef': no such project "
        "in Keystone (cloud sandbox-admin)"
    ]
    demo = run_cli(sandbox, "validate", "--online", str(manifest))
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr.splitlines()[0] == (
        "2 member project(s) not checked: these credentials may not look them up in "
        "Keystone (a reader role on the domain or system may)"
    )
