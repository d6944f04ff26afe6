"""The plan views and the plan file, from hand-built plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from reconciler.errors import PlanFileError
from reconciler.model import planfile
from reconciler.model.plan import Action, ImagePlan, MemberChanges, Op, PatchOp, Plan, Target
from reconciler.render.plan.json import render_json
from reconciler.render.plan.markdown import render_markdown
from reconciler.render.plan.text import render_text

PLAN = Plan(
    Target("sandbox", "RegionOne", "p1", "http://127.0.0.1:9292"),
    (
        ImagePlan(
            name="web",
            action=Action.UPDATE,
            id="id-web",
            source="m.yaml:3",
            owner="p1",
            patch=(
                PatchOp(Op.REPLACE, "/min_disk", 10, 1),
                PatchOp(Op.ADD, "/os_version", "24.04"),
                PatchOp(Op.REMOVE, "/old", None, "x"),
                PatchOp(Op.REPLACE, "/tags", ["a", "c"], ["a", "b"]),
            ),
            members=MemberChanges(add=("p2",), remove=("p3",)),
            members_managed=True,
            fingerprint="sha256:1",
        ),
        ImagePlan(
            name="new",
            action=Action.CREATE,
            source="m.yaml:9",
            patch=(PatchOp(Op.ADD, "/name", "new"),),
        ),
        ImagePlan(name="same", action=Action.NOOP, id="id-same", fingerprint="sha256:2"),
        ImagePlan(
            name="base",
            action=Action.UPDATE,
            id="id-base",
            owner="p-admin",
            patch=(PatchOp(Op.REPLACE, "/os_version", "12.7", "12"),),
            warnings=("owned by project p-admin: likely refused (403)",),
            fingerprint="sha256:3",
        ),
    ),
)


def plain(text: Any) -> str:
    console = Console(width=200, no_color=True, force_terminal=False)
    with console.capture() as captured:
        console.print(text, end="")
    return captured.get()


def test_text_view_is_terraform_like() -> None:
    out = plain(render_text(PLAN))
    assert "~ update image 'web' (id-web)  m.yaml:3" in out
    assert "    ~ min_disk: 1 -> 10" in out
    assert '    + os_version: "24.04"' in out
    assert '    - old: "x"' in out
    assert "    ~ tags: +c -b" in out
    assert "    + member p2" in out and "    - member p3" in out
    assert "    ! owned by project p-admin" in out
    assert "same" not in out
    assert out.rstrip().endswith("Plan: 1 to create, 2 to update, 0 to delete, 1 unchanged.")


def test_markdown_view_has_table_and_details() -> None:
    out = render_markdown(PLAN)
    assert "| ~ | `web` | update | 6 | m.yaml:3 |" in out
    assert "| ~ | `base` ⚠️ | update | 1 |  |" in out
    assert "<summary>update <code>web</code> (id-web)</summary>" in out
    assert "```diff\n! min_disk: 1 -> 10" in out
    assert "`same`" not in out


def test_json_view_shape_and_round_trip(tmp_path: Path) -> None:
    data = json.loads(render_json(PLAN))
    assert data["format_version"] == 1
    assert data["summary"] == {
        "create": 1,
        "update": 2,
        "rebuild": 0,
        "rotate": 0,
        "delete": 0,
        "unchanged": 1,
        "adopt": 0,
        "orphaned": 0,
        "errors": 0,
        "take_over": 0,
        "extra_stores": 0,
        "other_catalogs": 0,
    }
    web = data["images"][0]
    assert web["patch"][0] == {"op": "replace", "path": "/min_disk", "value": 10, "old": 1}
    assert web["members"] == {"managed": True, "add": ["p2"], "remove": ["p3"]}
    path = tmp_path / "plan.json"
    planfile.save(PLAN, path)
    assert planfile.read(path) == PLAN


def _hostile(mutate: Any) -> dict[str, Any]:
    data = json.loads(render_json(PLAN))
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format_version=2), "format_version"),
        (lambda d: d["images"][0]["patch"][0].update(op="move"), "op"),
        (lambda d: d["images"][0]["patch"][0].update(path="/status"), "not an attribute"),
        (lambda d: d["images"][0]["patch"][0].update(path="/locations/0"), "one-level"),
        (lambda d: d["images"][0]["patch"][0].update(path="/os_glance_x"), "reserved"),
        (lambda d: d["images"][0].update(fingerprint=None), "no id or fingerprint"),
        (lambda d: d["images"][0].update(action="explode"), "action"),
        (lambda d: d.update(password="s3cret"), "Extra inputs"),
    ],
)
def test_hostile_plan_files_are_refused(mutate: Any, message: str) -> None:
    with pytest.raises(PlanFileError, match=message):
        planfile.plan_from_dict(_hostile(mutate))


def test_unreadable_plan_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(PlanFileError, match="not JSON"):
        planfile.read(bad)
