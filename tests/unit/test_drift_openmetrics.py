"""`drift --format openmetrics` (issue 26, 12), read back with prometheus_client's own
parsers: its OpenMetrics parser, and its Prometheus text parser (what node-exporter's
textfile collector and a Pushgateway read)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as prometheus_families

from reconciler.model.plan import Action, ImagePlan
from reconciler.planning.drift import (
    DriftDocument,
    PolicyViolation,
    State,
    TargetInfo,
    failed_target,
    target_drift,
)
from reconciler.render.drift import DriftFormat, render_drift
from reconciler.render.drift.openmetrics import render_drift_openmetrics
from tests.unit.test_drift import DRIFTED, plan_of

GENERATED = "2026-11-27T10:00:00+00:00"


def _document() -> DriftDocument:
    report = target_drift(
        plan_of(
            DRIFTED,
            ImagePlan(name="same", action=Action.NOOP, id="id-1"),
            ImagePlan(name='new "quoted"\\name', action=Action.CREATE, source="m.yaml:9"),
            ImagePlan(name="old", action=Action.ORPHAN, id="id-3"),
        )
    )
    flagged = report.images[1].model_copy(
        update={
            "state": State.VIOLATION,
            "violations": [
                PolicyViolation(
                    rule="scs-0102/architecture",
                    level="error",
                    message="m",
                    detail="architecture is not set",
                ),
                PolicyViolation(
                    rule="scs-0102/hash", level="warning", message="m", detail="no hash_algo"
                ),
            ],
        }
    )
    images = [report.images[0], flagged, *report.images[2:]]
    report = report.model_copy(
        update={"images": images, "summary": {**report.summary, "in_sync": 0, "violation": 1}}
    )
    unreadable = failed_target(
        TargetInfo(name="dfw", cloud="c", region="DFW"), "cannot reach the identity service"
    )
    return DriftDocument(
        generated_at=GENERATED, duration_seconds=12.5, targets=[report, unreadable]
    )


def _samples(text: str, parse: Any = text_string_to_metric_families) -> dict[str, list[Any]]:
    return {family.name: family.samples for family in parse(text)}


def test_every_family_parses_with_prometheus_clients_openmetrics_parser() -> None:
    text = render_drift(_document(), DriftFormat.openmetrics)
    assert isinstance(text, str) and text.endswith("# EOF\n")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert {name: family.type for name, family in families.items()} == {
        "reconciler_drift_images": "gauge",
        "reconciler_drift_image_state": "gauge",
        "reconciler_drift_policy_violations": "gauge",
        "reconciler_drift_target_error": "gauge",
        "reconciler_drift_run_timestamp_seconds": "gauge",
        "reconciler_drift_run_duration_seconds": "gauge",
    }
    assert families["reconciler_drift_run_duration_seconds"].unit == "seconds"


def test_images_by_state_per_target_and_catalog() -> None:
    counts = {
        (s.labels["target"], s.labels["state"]): s.value
        for s in _samples(render_drift_openmetrics(_document()))["reconciler_drift_images"]
    }
    assert counts[("iad", "drifted")] == 1
    assert counts[("iad", "missing")] == 1
    assert counts[("iad", "orphan")] == 1
    assert counts[("iad", "violation")] == 1
    assert counts[("iad", "in_sync")] == 0  # every state is listed, 0 included
    assert counts[("dfw", "drifted")] == 0
    assert len(counts) == 2 * len(State)
    sample = _samples(render_drift_openmetrics(_document()))["reconciler_drift_images"][0]
    assert sample.labels == {
        "target": "iad",
        "cloud": "c",
        "region": "R1",
        "catalog": "default",
        "state": "in_sync",
    }


def test_one_state_gauge_per_image_with_name_and_id_labels() -> None:
    states = _samples(render_drift_openmetrics(_document()))["reconciler_drift_image_state"]
    got = {(s.labels["name"], s.labels["id"]): (s.labels["state"], s.value) for s in states}
    assert got == {
        ("web", "id-web"): ("drifted", 1),
        ("same", "id-1"): ("violation", 1),
        ('new "quoted"\\name', ""): ("missing", 1),  # escaped, and read back as it was
        ("old", "id-3"): ("orphan", 1),
    }


def test_policy_violations_by_rule_and_the_unreadable_target() -> None:
    samples = _samples(render_drift_openmetrics(_document()))
    rules = {
        (s.labels["rule"], s.labels["level"]): s.value
        for s in samples["reconciler_drift_policy_violations"]
    }
    assert rules == {("scs-0102/architecture", "error"): 1, ("scs-0102/hash", "warning"): 1}
    errors = {s.labels["target"]: s.value for s in samples["reconciler_drift_target_error"]}
    assert errors == {"iad": 0, "dfw": 1}


def test_run_timestamp_and_duration() -> None:
    samples = _samples(render_drift_openmetrics(_document()))
    [stamp] = samples["reconciler_drift_run_timestamp_seconds"]
    assert stamp.value == datetime.fromisoformat(GENERATED).timestamp()
    [duration] = samples["reconciler_drift_run_duration_seconds"]
    assert duration.value == 12.5
    unmeasured = DriftDocument(generated_at=GENERATED, targets=[])
    assert "reconciler_drift_run_duration_seconds" not in _samples(
        render_drift_openmetrics(unmeasured)
    )


@pytest.mark.parametrize(
    "document", [_document(), DriftDocument(generated_at=GENERATED, targets=[])]
)
def test_the_same_text_reads_as_prometheus_text_format(document: DriftDocument) -> None:
    """The textfile collector reads Prometheus text format 0.0.4, not OpenMetrics: every
    family is a gauge and `# UNIT`/`# EOF` are comments there, so both read the same."""
    text = render_drift_openmetrics(document)
    ours = _samples(text)
    theirs = _samples(text, prometheus_families)
    assert {name: [(s.labels, s.value) for s in samples] for name, samples in ours.items()} == {
        name: [(s.labels, s.value) for s in samples] for name, samples in theirs.items()
    }
