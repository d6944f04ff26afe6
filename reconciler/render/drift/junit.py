"""The JUnit XML view of a drift report: one testsuite per target, one testcase per
image, a failure per image that drifted, is missing, orphaned, unmanaged or breaks an
error-level policy rule (the message names the rule ids), an error for entries that
could not be compared; warning-level violations go to the testcase's system-out. CI
dashboards then show drift like failing tests.
Pure (xml.etree builds the document, so names are escaped properly)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reconciler.planning.drift import DriftDocument, State, violates
from reconciler.render.drift.common import LABELS, explain, explain_violation, title


def render_drift_junit(document: DriftDocument) -> str:
    suites = ET.Element("testsuites", name="reconciler drift")
    total = failures = errors = 0
    for report in document.targets:
        suite_name = title(report)
        suite = ET.SubElement(suites, "testsuite", name=suite_name)
        suite.set("timestamp", document.generated_at)
        if report.error is not None:
            case = ET.SubElement(suite, "testcase", name="(target)", classname=suite_name)
            ET.SubElement(case, "error", message=report.error, type="target").text = report.error
        for image in report.images:
            case = ET.SubElement(
                suite, "testcase", name=image.name, classname=report.target.name or "drift"
            )
            if image.source:
                case.set("file", image.source.rsplit(":", 1)[0])
            body = "\n".join(
                [f"id: {image.id or '-'}", f"source: {image.source or '-'}"]
                + [explain(field) for field in image.fields]
                + [explain_violation(v) for v in image.violations]
                + ([image.message] if image.message else [])
            )
            quiet = image.state is State.VIOLATION and not violates(image)
            if image.state is State.IN_SYNC or quiet:
                if image.violations:  # warnings only: shown, not failed
                    ET.SubElement(case, "system-out").text = body
                continue
            tag = "error" if image.state is State.ERROR else "failure"
            message = LABELS[image.state]
            if image.fields:
                message += ": " + ", ".join(field.field for field in image.fields)
            rules = [v.rule for v in image.violations if v.level == "error"]
            if rules:
                message += (
                    "; violates " if image.fields or image.state is not State.VIOLATION else ": "
                ) + ", ".join(rules)
            ET.SubElement(case, tag, message=message, type=image.state.value).text = body
        cases = suite.findall("testcase")
        n_fail = len(suite.findall("testcase/failure"))
        n_err = len(suite.findall("testcase/error"))
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(n_fail))
        suite.set("errors", str(n_err))
        suite.set("skipped", "0")
        total, failures, errors = total + len(cases), failures + n_fail, errors + n_err
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
