"""The apply and rollback report off a terminal (issue 26, 10): the table fits 100
columns with every id whole, no escape codes, and a rollback's summary in its own words."""

from __future__ import annotations

import io
import re
import uuid

from rich.console import Console

from reconciler.model.report import ApplyReport, ImageResult, Status
from reconciler.render.apply import ReportFormat, render_report
from reconciler.render.apply.views import summary_line


def _report(status: Status = Status.APPLIED, n: int = 20) -> ApplyReport:
    results = []
    for index in range(n):
        failed = index % 3 == 0
        results.append(
            ImageResult(
                name=f"base-ubuntu-24.04-minimal-cloudimg-amd64-{index}",
                id=str(uuid.UUID(int=index + 1)),
                action="update",
                status=Status.ROLLED_BACK if failed else status,
                reason=(
                    "PATCH https://glance.example.org:9292/v2/images/...: 403 Attribute "
                    "'x_billing_code' is reserved."
                    if failed
                    else ""
                ),
                request_id=f"req-{uuid.UUID(int=index + 100)}" if failed else None,
                left_changed=("os_version: 23.10 -> 24.04",) if index == 3 else (),
            )
        )
    return ApplyReport(tuple(results), "journal.jsonl")


def _as_a_ci_log(report: ApplyReport, title: str = "Apply") -> str:
    """What `console.stdout_console` prints off a terminal (no COLUMNS): 100 columns."""
    from reconciler.cli.console import PAGE_WIDTH

    out = io.StringIO()
    console = Console(file=out, width=PAGE_WIDTH, highlight=False, soft_wrap=True)
    console.print(render_report(report, ReportFormat.text, title))
    return out.getvalue()


def test_the_table_fits_100_columns_with_whole_ids() -> None:
    text = _as_a_ci_log(_report())
    widths = [len(line) for line in text.splitlines()]
    assert max(widths) <= 100, max(widths)
    for result in _report().results:
        assert result.id is not None
        assert re.search(rf"\b{result.id}\b", text), result.id  # on one line, not folded
    assert "req-" in text  # the request id is still there, with the reason
    assert "\x1b[" not in text


def test_a_rollback_summary_says_restored() -> None:
    report = _report(Status.ROLLED_BACK, 20)
    assert summary_line(report, "Rollback") == "Rollback: 20 restored."
    failed = ApplyReport((ImageResult("a", "1", "update", Status.ROLLBACK_FAILED),), None)
    assert summary_line(failed, "Rollback") == "Rollback: 1 not restored."
    assert "Rollback: 20 restored." in _as_a_ci_log(report, "Rollback")


def test_an_apply_summary_in_words() -> None:
    assert summary_line(_report()) == "Apply: 13 applied, 7 rolled back."
    assert summary_line(_report(), "Apply: target one").startswith("Apply: target one: 13 applied")
