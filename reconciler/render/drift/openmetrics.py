"""The OpenMetrics text view of a drift report (`drift --format openmetrics`,
`--report openmetrics=FILE`), for node-exporter's textfile collector or a Pushgateway:
a scheduled drift job becomes metrics an alert rule can watch. Pure.

Families (every one a gauge, so the text is also valid Prometheus text format 0.0.4,
which is what the textfile collector reads; `# UNIT` and `# EOF` are comments there):
- `reconciler_drift_images{target,cloud,region,catalog,state}`: the images of each
  target by drift state, every state listed (0 included) so an alert sees a drop to 0;
- `reconciler_drift_image_state{target,catalog,name,id,state}`: 1 per image, its state
  as a label (one series per image, not one per image and state);
- `reconciler_drift_policy_violations{target,catalog,rule,level}`: violations per rule;
- `reconciler_drift_target_error{target,cloud,region,catalog}`: 1 when the target
  could not be read at all (its counts are then all 0);
- `reconciler_drift_run_timestamp_seconds` and `reconciler_drift_run_duration_seconds`:
  when the report was made and how long the run took (duration only when measured).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from reconciler.planning.drift import DriftDocument, State, TargetDrift

PREFIX = "reconciler_drift"


def _escape(value: str) -> str:
    """A label value as OpenMetrics quotes it: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str | None]]) -> str:
    return "{" + ",".join(f'{key}="{_escape(value or "")}"' for key, value in pairs) + "}"


def _target_name(report: TargetDrift) -> str:
    t = report.target
    return t.name or t.region or t.cloud or "default"


def _where(report: TargetDrift) -> list[tuple[str, str | None]]:
    t = report.target
    return [
        ("target", _target_name(report)),
        ("cloud", t.cloud),
        ("region", t.region),
        ("catalog", report.catalog),
    ]


def _family(name: str, help_text: str, samples: list[str], unit: str | None = None) -> list[str]:
    head = [f"# TYPE {PREFIX}_{name} gauge"]
    if unit is not None:
        head.append(f"# UNIT {PREFIX}_{name} {unit}")
    head.append(f"# HELP {PREFIX}_{name} {help_text}")
    return head + samples


def _number(value: float) -> str:
    return repr(round(value, 3)) if isinstance(value, float) else str(value)


def render_drift_openmetrics(document: DriftDocument) -> str:
    """The report as OpenMetrics text (ending with `# EOF`)."""
    counts, states, violations, errors = [], [], [], []
    for report in document.targets:
        where = _where(report)
        for state in State:
            amount = report.summary.get(state.value, 0)
            counts.append(f"{PREFIX}_images{_labels([*where, ('state', state.value)])} {amount}")
        errors.append(f"{PREFIX}_target_error{_labels(where)} {0 if report.error is None else 1}")
        short = [("target", _target_name(report)), ("catalog", report.catalog)]
        for image in report.images:
            labels = _labels(
                [*short, ("name", image.name), ("id", image.id), ("state", image.state)]
            )
            states.append(f"{PREFIX}_image_state{labels} 1")
        by_rule = Counter((v.rule, v.level) for image in report.images for v in image.violations)
        for (rule, level), amount in sorted(by_rule.items()):
            labels = _labels([*short, ("rule", rule), ("level", level)])
            violations.append(f"{PREFIX}_policy_violations{labels} {amount}")
    generated = datetime.fromisoformat(document.generated_at).timestamp()
    lines = [
        *_family("images", "Images of the catalog per target, by drift state.", counts),
        *_family(
            "image_state",
            "1 for each image, with its drift state as the state label.",
            states,
        ),
        *_family(
            "policy_violations",
            "Policy violations of the catalog's live images, per rule.",
            violations,
        ),
        *_family("target_error", "1 when the target could not be read at all.", errors),
        *_family(
            "run_timestamp_seconds",
            "When the drift report was made (Unix time).",
            [f"{PREFIX}_run_timestamp_seconds {_number(generated)}"],
            unit="seconds",
        ),
    ]
    if document.duration_seconds is not None:
        lines += _family(
            "run_duration_seconds",
            "How long the drift run took.",
            [f"{PREFIX}_run_duration_seconds {_number(document.duration_seconds)}"],
            unit="seconds",
        )
    return "\n".join([*lines, "# EOF"]) + "\n"
