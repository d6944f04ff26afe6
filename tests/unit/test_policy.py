"""Policies: each rule kind on literal facts, the policy file loader (file:line problems,
built-ins, overrides, disable), the manifest's `policy:` key, the plan gate and drift's
violation state in every view."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import junitparser
import pytest

from reconciler.errors import ManifestError
from reconciler.manifests.loader import load_manifests
from reconciler.model.image_view import LiveImage, encode_record
from reconciler.model.plan import Action, ImagePlan, Plan, Target
from reconciler.planning.drift import DriftDocument, FailOn, State, is_failing, target_drift
from reconciler.policy.check import check
from reconciler.policy.enforce import gate_plan
from reconciler.policy.facts import ENTRY, ImageFacts, live_facts
from reconciler.policy.loader import builtin_names, cli_refs, load_policy
from reconciler.policy.models import Level, LoadedRule, Policy, Rule
from reconciler.policy.positions import desired_image_facts
from reconciler.policy.refs import PolicyRef
from reconciler.render.drift.html import render_drift_html
from reconciler.render.drift.junit import render_drift_junit
from reconciler.render.drift.markdown import render_drift_markdown
from reconciler.render.drift.text import render_drift_text


def rule(require: dict[str, Any], select: dict[str, Any] | None = None, **kw: Any) -> Policy:
    data = {"id": "r", "message": "m", "require": require, "select": select or {}, **kw}
    return Policy(("test",), (LoadedRule(Rule.model_validate(data), "test:1:1"),))


def facts(name: str = "img", **props: str) -> ImageFacts:
    attrs = props.pop("_attrs", None) or {}
    return ImageFacts(
        name=name,
        attributes={"name": name, **attrs},  # type: ignore[dict-item]
        properties=props,
        positions={
            ENTRY: f"m.yaml:{len(name)}:5",
            **({"property:os_distro": "m.yaml:9:7"} if "os_distro" in props else {}),
        },
    )


def details(policy: Policy, *images: ImageFacts) -> list[str]:
    return [v.detail for v in check(policy, images)]


# --- rule kinds -------------------------------------------------------------------


def test_property_present() -> None:
    policy = rule({"property": "os_distro"})
    assert details(policy, facts(os_distro="ubuntu")) == []
    (violation,) = check(policy, [facts()])
    assert violation.detail == "os_distro is not set"
    assert violation.where == "m.yaml:3:5"  # the entry's start: the property is missing
    assert violation.rule_id == "r" and violation.level is Level.error


def test_property_value_checks_are_alternatives() -> None:
    policy = rule({"property": "until", "one_of": ["none", "notice"], "date": ["YYYY-MM-DD"]})
    for good in ("none", "notice", "2027-02-28"):
        assert details(policy, facts(until=good)) == [], good
    for bad in ("2027-02-30", "2027-2-28", "soon", "20270228"):
        assert details(policy, facts(until=bad)), bad
    assert "one of none, notice or a date as YYYY-MM-DD" in details(policy, facts(until="x"))[0]


def test_property_pattern_is_a_full_match_and_value_points_at_the_property() -> None:
    policy = rule({"property": "os_distro", "pattern": "[a-z]+"})
    assert details(policy, facts(os_distro="ubuntu")) == []
    (violation,) = check(policy, [facts(os_distro="Ubuntu 24")])
    assert violation.where == "m.yaml:9:7"


def test_property_integer_range_and_optional() -> None:
    policy = rule({"property": "n", "integer": {"min": 1, "max": 8}, "optional": True})
    assert details(policy, facts()) == []  # optional: absent is fine
    assert details(policy, facts(n="4")) == []
    assert details(policy, facts(n="9")) and details(policy, facts(n="1.5"))
    assert details(policy, facts(n="0"))


def test_date_formats_with_time() -> None:
    policy = rule({"property": "d", "date": ["YYYY-MM-DD", "YYYY-MM-DD hh:mm:ss"]})
    assert details(policy, facts(d="2026-11-01 23:59:59")) == []
    assert details(policy, facts(d="2026-11-01 24:00:00"))
    assert details(policy, facts(d="2026-11-01T10:00:00"))


def test_attribute_min_one_of_equals_pattern() -> None:
    at_least = rule({"attribute": "min_disk", "min": 1})
    assert details(at_least, facts(_attrs={"min_disk": 10})) == []  # type: ignore[arg-type]
    assert details(at_least, facts(_attrs={"min_disk": 0})) == [  # type: ignore[arg-type]
        "min_disk is 0, expected at least 1"
    ]
    assert details(at_least, facts()) == ["min_disk is not set"]
    vis = rule({"attribute": "visibility", "one_of": ["public", "community"]})
    assert details(vis, facts(_attrs={"visibility": "shared"}))  # type: ignore[arg-type]
    hidden = rule({"attribute": "os_hidden", "equals": False})
    assert details(hidden, facts(_attrs={"os_hidden": False})) == []  # type: ignore[arg-type]
    assert details(hidden, facts(_attrs={"os_hidden": True}))  # type: ignore[arg-type]
    name = rule({"attribute": "name", "pattern": "[A-Z].*"})
    assert details(name, facts("Ubuntu")) == [] and details(name, facts("ubuntu"))


def test_source_algorithms() -> None:
    strong = rule({"source": True, "algorithms": ["sha256", "sha512"]})
    base = facts()
    assert details(strong, base) == ["no source: with a checksum (needs sha256 or sha512)"]
    md5 = ImageFacts("img", {}, {}, hash_algorithm="md5")
    assert details(strong, md5) == ["the data is hashed with md5, expected sha256 or sha512"]
    assert details(strong, ImageFacts("img", {}, {}, hash_algorithm="sha512")) == []
    lenient = rule({"source": True, "algorithms": ["sha512"], "required": False})
    assert details(lenient, base) == []


def test_unique_reports_every_image_but_the_first_once() -> None:
    policy = rule(
        {"unique": ["architecture", "os_distro", "os_version"]},
        {"hidden": False, "properties": {"os_purpose": "generic"}},
    )
    group = {"architecture": "x86_64", "os_distro": "ubuntu", "os_version": "24.04"}
    a = facts("a", os_purpose="generic", **group)
    b = facts("bb", os_purpose="generic", **group)
    hidden = ImageFacts("c", {"os_hidden": True}, {"os_purpose": "generic", **group})
    other = facts("d", os_purpose="generic", **{**group, "os_version": "22.04"})
    minimal = facts("e", os_purpose="minimal", **group)
    found = check(policy, [a, b, hidden, other, minimal])
    assert [(v.image, v.where) for v in found] == [("bb", "m.yaml:2:5")]
    assert "is already 'a' at m.yaml:1:5" in found[0].detail


def test_rotation_marker_only_for_previous_builds() -> None:
    policy = rule({"rotation_marker": True})
    current = ImageFacts("Ubuntu 24.04", {}, {})
    assert details(policy, current) == []
    for good in ("Ubuntu 24.04 20261101", "Ubuntu 24.04 2026-11-01", "Ubuntu 24.04 old"):
        assert details(policy, ImageFacts(good, {}, {}, previous_build_of="Ubuntu 24.04")) == []
    hidden = ImageFacts("Ubuntu 24.04 v2", {"os_hidden": True}, {}, previous_build_of="x")
    assert details(policy, hidden) == []
    assert details(policy, ImageFacts("Ubuntu 24.04 v2", {}, {}, previous_build_of="x"))


def stored(name: str, created: str, size: int | None, **props: Any) -> ImageFacts:
    attrs = props.pop("_attrs", {})
    return ImageFacts(
        name=name,
        attributes={"name": name, **attrs},
        properties=props,
        live=True,
        size=size,
        created_at=created,
    )


def test_stored_checks_of_live_images() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    fits = rule({"stored": "min_disk_covers_size"})
    big = stored("big", "2026-11-01T00:00:00Z", 3 * (1 << 30) + 1, _attrs={"min_disk": 3})
    ok = stored("ok", "2026-11-01T00:00:00Z", 3 * (1 << 30), _attrs={"min_disk": 3})
    empty = stored("empty", "2026-11-01T00:00:00Z", None, _attrs={"min_disk": 0})
    assert details(fits, big, ok, empty) == ["min_disk is 3 GiB, the image's data is 3.00 GiB"]
    dated = rule({"stored": "build_date_not_after_creation"})
    later = stored("later", "2026-11-01T10:00:00Z", 1, image_build_date="2026-11-02")
    same = stored("same", "2026-11-01T10:00:00Z", 1, image_build_date="2026-11-01 23:59")
    assert details(dated, later, same) == [
        "image_build_date 2026-11-02 is after the image was created (2026-11-01T10:00:00Z)"
    ]
    fresh = rule({"stored": "replaced_in_time"})
    monthly = {"replace_frequency": "monthly", "image_build_date": "2026-09-01"}
    old = stored("u", "2026-09-01T00:00:00Z", 1, **monthly)
    marked = stored("u 20260901", "2026-09-01T00:00:00Z", 1, **monthly)
    hidden = stored("u", "2026-09-01T00:00:00Z", 1, _attrs={"os_hidden": True}, **monthly)
    young = stored("y", "2026-11-20T00:00:00Z", 1, replace_frequency="weekly")
    never = stored("n", "2020-01-01T00:00:00Z", 1, replace_frequency="never")
    found = [v.detail for v in check(fresh, [old, marked, hidden, young, never], now)]
    assert found == [
        "built 88 days ago, replace_frequency monthly allows 31: hide it or mark its name",
        "built 8 days ago, replace_frequency weekly allows 7: hide it or mark its name",
    ]
    assert check(fresh, [old], None) == []  # no clock, no age
    desired = facts("d", replace_frequency="daily")  # a desired image is never checked
    assert check(fresh, [desired], now) == [] and check(fits, [desired], now) == []


def test_selector_criteria() -> None:
    policy = rule(
        {"property": "p"},
        {"visibility": ["public"], "name": "^Ub", "tags": ["t"], "present": ["os_distro"]},
    )
    chosen = ImageFacts("Ubuntu", {"visibility": "public"}, {"os_distro": "u"}, frozenset({"t"}))
    assert details(policy, chosen) == ["p is not set"]
    for attrs, name, tags in (
        ({"visibility": "private"}, "Ubuntu", {"t"}),
        ({}, "Ubuntu", {"t"}),  # a desired image that leaves visibility out
        ({"visibility": "public"}, "Debian", {"t"}),
        ({"visibility": "public"}, "Ubuntu", set()),
    ):
        assert details(policy, ImageFacts(name, attrs, {"os_distro": "u"}, frozenset(tags))) == []


def test_warning_level_and_requirement_validation() -> None:
    (violation,) = check(rule({"property": "p"}, level="warning"), [facts()])
    assert violation.level is Level.warning
    for bad in (
        {"property": "p", "attribute": "min_disk"},
        {"property": "p", "min": 1},
        {"attribute": "colour"},
        {"source": True},
        {"property": "p", "pattern": "("},
        {"property": "p", "date": ["DD/MM"]},  # fine
    )[:-1]:
        with pytest.raises(ValueError):
            rule(bad)


def test_live_facts_read_the_view_record_and_hash() -> None:
    image = LiveImage.from_api(
        {
            "id": "i1",
            "name": "Ubuntu 24.04 20261101",
            "visibility": "public",
            "os_hidden": False,
            "min_disk": 5,
            "tags": ["a"],
            "os_distro": "ubuntu",
            "os_hash_algo": "sha512",
            "os_hash_value": "ab",
            "reconciler.managed": encode_record(
                ["os_distro"], "p", "sha256:00", "1", "Ubuntu 24.04"
            ),
        }
    )
    seen = live_facts(image)
    assert seen.attributes["min_disk"] == 5 and seen.properties["os_distro"] == "ubuntu"
    assert seen.hash_algorithm == "sha512" and seen.tags == frozenset({"a"})
    assert seen.previous_build_of == "Ubuntu 24.04" and seen.live and seen.id == "i1"


# --- policy files -----------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_builtin_scs_policy_loads_and_is_shipped() -> None:
    assert "scs-0102" in builtin_names()
    policy = load_policy(cli_refs(["scs-0102"]))
    ids = [loaded.rule.id for loaded in policy.rules]
    assert "scs-0102/architecture" in ids and "scs-0102/generic-unique" in ids
    assert all(i.startswith("scs-0102/") for i in ids)


def test_policy_file_problems_at_file_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules.yaml",
        """\
        version: 1
        rules:
          - id: a
            message: m
            require: {property: p, colour: red}
          - id: b
            message: m
            levle: error
            require: {attribute: min_disk, min: 1}
          - id: a
            message: m
            require: {property: q, pattern: "("}
        """,
    )
    with pytest.raises(ManifestError) as caught:
        load_policy([PolicyRef(str(path), "--policy")])
    problems = caught.value.problems
    assert any(p.startswith(f"{path}:5:28: unknown key 'colour'") for p in problems), problems
    assert any(
        p.startswith(f"{path}:8:5: unknown key 'levle'; did you mean 'level'") for p in problems
    )
    assert any(p.startswith(f"{path}:12:") and "not a regular expression" in p for p in problems)


def test_unknown_builtin_and_missing_file_are_reported_where_named(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_policy(
            [PolicyRef("scs-102", "m.yaml:2:10"), PolicyRef(str(tmp_path / "x.yaml"), "--policy")]
        )
    first, second = caught.value.problems
    assert first.startswith("m.yaml:2:10: unknown built-in policy 'scs-102'")
    assert "did you mean 'scs-0102'" in first
    assert second.startswith("--policy: no such policy file")


def test_later_policy_redefines_and_disables_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mine.yaml",
        """\
        version: 1
        disable: [scs-0102/image-description, scs-0102/nope]
        rules:
          - id: scs-0102/hw-disk-bus
            message: virtio or scsi only
            level: warning
            require: {property: hw_disk_bus, one_of: [virtio, scsi]}
        """,
    )
    with pytest.raises(ManifestError) as caught:
        load_policy(cli_refs(["scs-0102", str(path)]))
    assert caught.value.problems == [
        f"{path}:2:39: disable: no rule 'scs-0102/nope' in the policies named before this one"
    ]
    path.write_text(path.read_text().replace(", scs-0102/nope", ""))
    policy = load_policy(cli_refs(["scs-0102", str(path)]))
    by_id = {loaded.rule.id: loaded.rule for loaded in policy.rules}
    assert "scs-0102/image-description" not in by_id
    assert by_id["scs-0102/hw-disk-bus"].level == "warning"
    assert [loaded.rule.id for loaded in policy.rules][-1] == "scs-0102/hw-disk-bus"


def test_manifest_policy_key_resolves_paths_and_positions(tmp_path: Path) -> None:
    write(
        tmp_path,
        "policies/team.yaml",
        """\
        version: 1
        rules:
          - id: team/owner
            message: every image names its owner team
            require: {property: owner_team}
        """,
    )
    write(
        tmp_path,
        "images/a.yaml",
        """\
        version: 1
        policy: [scs-0102, ../policies/team.yaml]
        defaults:
          properties: {owner_team: web}
        images:
          - name: one
            properties:
              owner_team: null
        """,
    )
    write(tmp_path, "images/b.yaml", "version: 1\npolicy: [../policies/team.yaml]\nimages: []\n")
    manifests = load_manifests([tmp_path / "images"])
    assert [ref.ref for ref in manifests.policies] == [
        "scs-0102",
        str((tmp_path / "policies/team.yaml").resolve()),
    ]
    assert manifests.policies[1].origin == f"{tmp_path / 'images/a.yaml'}:2:20"
    policy = load_policy(manifests.policies)
    found = check(policy, desired_image_facts(manifests.images, manifests.documents))
    # The entry's `owner_team: null` removes what the defaults set: that line is named.
    assert [(v.rule_id, v.where) for v in found] == [
        ("team/owner", f"{tmp_path / 'images/a.yaml'}:8:7")
    ]


# --- plan gate and drift ----------------------------------------------------------

TARGET = Target("c", "R1", "p1", "http://g")


def _violation(image: str, entry: str | None, level: str = "error", image_id: str | None = None):  # type: ignore[no-untyped-def]
    from reconciler.policy.models import Violation

    return Violation(
        "scs-0102/architecture",
        Level(level),
        "m",
        "architecture is not set",
        image,
        image_id,
        entry,
        "m.yaml:4:5",
        "architecture",
    )


def test_gate_plan_makes_violating_entries_errors_or_warnings() -> None:
    plan = Plan(
        TARGET,
        (
            ImagePlan("a", Action.CREATE, source="m.yaml:3"),
            ImagePlan("b", Action.NOOP, id="i-b", source="m.yaml:9"),
        ),
    )
    gated = gate_plan(plan, [_violation("a", "m.yaml:3")])
    a, b = gated.images
    assert a.action is Action.ERROR and "scs-0102/architecture" in (a.error or "")
    assert "m.yaml:4:5" in (a.error or "") and b == plan.images[1]
    assert gated.has_errors and not gated.has_changes
    warned = gate_plan(plan, [_violation("a", "m.yaml:3")], as_warnings=True).images[0]
    assert warned.action is Action.CREATE and warned.warnings[0].startswith("policy scs-0102/")


def _report(level: str = "error") -> DriftDocument:
    plan = Plan(
        TARGET,
        (
            ImagePlan("same", Action.NOOP, id="i-1", source="m.yaml:3"),
            ImagePlan("ok", Action.NOOP, id="i-2", source="m.yaml:7"),
        ),
    )
    violations = [
        _violation("same", None, level, "i-1"),
        _violation("same 20260101", None, level, "i-9"),
    ]
    report = target_drift(plan, None, violations, ["scs-0102"])
    return DriftDocument(generated_at="2026-11-27T10:00:00+00:00", targets=[report])


def test_drift_violation_state_in_every_view() -> None:
    document = _report()
    states = {i.name: i.state for i in document.targets[0].images}
    assert states == {
        "same": State.VIOLATION,
        "ok": State.IN_SYNC,
        "same 20260101": State.VIOLATION,
    }
    assert document.targets[0].summary["violation"] == 2
    assert is_failing(document, FailOn.any) and is_failing(document, FailOn.policy)
    assert not is_failing(document, FailOn.drift)
    data = json.loads(document.model_dump_json())
    assert data["targets"][0]["images"][0]["violations"][0]["rule"] == "scs-0102/architecture"
    text = render_drift_text(document).plain
    assert "! scs-0102/architecture: architecture is not set" in text
    assert "2 violating policies (scs-0102)" in text
    assert "policy `scs-0102/architecture`" in render_drift_markdown(document)
    html = render_drift_html(document)
    assert 'data-state="violation"' in html and "scs-0102/architecture" in html
    xml = junitparser.JUnitXml.fromstring(render_drift_junit(document))
    failures = [
        (case.name, result.message) for suite in xml for case in suite for result in case.result
    ]
    assert failures == [
        ("same", "violates a policy: scs-0102/architecture"),
        ("same 20260101", "violates a policy: scs-0102/architecture"),
    ]


def test_warning_violations_are_shown_but_do_not_fail() -> None:
    document = _report("warning")
    assert not is_failing(document, FailOn.any)
    assert "[warning]" in render_drift_text(document).plain
    xml = junitparser.JUnitXml.fromstring(render_drift_junit(document))
    assert all(not case.result for suite in xml for case in suite)


def test_a_gated_entry_keeps_its_identity_and_nothing_it_would_have_done() -> None:
    from reconciler.model.plan import (
        BuildPlan,
        BuildRole,
        DataPlan,
        MemberChanges,
        Op,
        PatchOp,
        StorePlan,
    )

    rebuild = ImagePlan(
        "a",
        Action.REBUILD,
        id="i-a",
        source="m.yaml:3",
        owner="p1",
        patch=(PatchOp(Op.ADD, "/name", "a"),),
        members=MemberChanges(add=("p2",)),
        members_managed=True,
        status="active",
        protected=True,
        warnings=("earlier",),
        fingerprint="sha256:1",
        take_over_from="other",
        data=DataPlan("/srv/a.raw", "upload", "sha256:" + "0" * 64),
        builds=(BuildPlan("i-a", "a", BuildRole.PREVIOUS, fingerprint="sha256:1"),),
        stores=StorePlan(("store1",), missing=("store1",)),
    )
    [gated] = gate_plan(Plan(TARGET, (rebuild,)), [_violation("a", "m.yaml:3")]).images
    assert gated == ImagePlan(
        "a",
        Action.ERROR,
        id="i-a",
        source="m.yaml:3",
        owner="p1",
        status="active",
        protected=True,
        warnings=("earlier",),
        error=gated.error,
        fingerprint="sha256:1",
    )
    assert (gated.error or "").startswith("violates policy: scs-0102/architecture")
    assert not gated.has_work
