"""What a new user tripped over (issue 26), against the real Keystone and Glance:
drift's `--out` and its OpenMetrics report."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from tests.conftest import Sandbox
from tests.sandbox.helpers import run_cli, write_manifest


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
