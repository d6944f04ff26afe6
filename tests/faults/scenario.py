"""A seeded batch of images with mixed plans (patches, tag and member changes, creates),
set up directly in Glance, and the independent check of what an apply left behind.

The check never uses the tool's code: it reads images with the raw API as admin and
compares them with what the scenario itself says is original and desired.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import Sandbox
from tests.sandbox.helpers import create_image

RECORD = "reconciler.managed"
TAGS = ["a", "b", "c", "d", "e"]
# Images left in status `deleted` by Glance's two-step delete (reconciler.model.image_view.is_gone):
# counted, reported with the figures, and otherwise treated as absent as Glance does.
ZOMBIES: set[str] = set()
# What a view compares: everything but what the server moves on every write.
IGNORED = {"updated_at", "checksum", "size", "virtual_size", "file", "self", "schema"}


@dataclass
class Planned:
    """One image of the batch: what it was and what the manifest wants."""

    name: str
    image_id: str | None  # None: to be created by the tool
    desired_props: dict[str, str | None]
    desired_tags: list[str]
    desired_core: dict[str, Any] = field(default_factory=dict)
    desired_members: list[str] | None = None
    original: dict[str, Any] | None = None  # raw image as read before the apply
    original_members: list[str] | None = None

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, **self.desired_core}
        entry["tags"] = self.desired_tags
        entry["properties"] = self.desired_props
        if self.desired_members is not None:
            entry["members"] = self.desired_members
        return entry


@dataclass
class Batch:
    prefix: str
    images: list[Planned]

    def manifest(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.prefix}.yaml"
        document = {"version": 1, "images": [image.entry() for image in self.images]}
        path.write_text(json.dumps(document, indent=1))  # JSON is YAML
        return path


def build(sandbox: Sandbox, seed: int, existing: int = 4, creates: int = 2) -> Batch:
    """Create the batch's existing images (as the demo member) and plan the rest."""
    rng = random.Random(seed)
    prefix = f"fc{seed}x{uuid.uuid4().hex[:6]}"
    other = sandbox.project_ids["other"]
    images: list[Planned] = []
    for i in range(existing):
        shared = i == existing - 1
        props = {f"p{j}": str(rng.randint(0, 9)) for j in range(rng.randint(1, 4))}
        tags = sorted(rng.sample(TAGS, rng.randint(0, 3)))
        body: dict[str, Any] = {
            "name": f"{prefix}-e{i}",
            "visibility": "shared" if shared else "private",
            "tags": tags,
            "min_ram": 0,
            **props,
        }
        if rng.random() < 0.7:
            body[RECORD] = json.dumps(sorted(props), separators=(",", ":"))
        image_id = create_image(sandbox, body)
        members: list[str] | None = None
        if shared:
            members = [other] if rng.random() < 0.5 else []
            if members:
                sandbox.session("sandbox").post(
                    f"{sandbox.glance_url}/v2/images/{image_id}/members", json={"member": other}
                )
        # Desired: every original key named (a new value, the same, or null), one new key,
        # another tag set, sometimes min_ram, the shared image's membership toggled.
        desired: dict[str, str | None] = {}
        for key, value in props.items():
            desired[key] = rng.choice([value, str(rng.randint(10, 99)), None])
        desired[f"n{rng.randint(0, 99)}"] = f"v{rng.randint(0, 9)}"
        new_tags = sorted(rng.sample(TAGS, rng.randint(0, 4)))
        if new_tags == tags:
            new_tags = sorted(set(tags) ^ {"e"})
        planned = Planned(
            name=f"{prefix}-e{i}",
            image_id=image_id,
            desired_props=desired,
            desired_tags=new_tags,
            desired_core={"min_ram": 256} if rng.random() < 0.5 else {},
        )
        if shared:
            planned.desired_core["visibility"] = "shared"
            planned.desired_members = [] if members else [other]
        images.append(planned)
    for i in range(creates):
        shared = i == 0
        planned = Planned(
            name=f"{prefix}-c{i}",
            image_id=None,
            desired_props={"purpose": f"new{i}", "os_version": str(rng.randint(1, 30))},
            desired_tags=sorted(rng.sample(TAGS, 2)),
            desired_core={"visibility": "shared" if shared else "private"},
            desired_members=[other] if shared else None,
        )
        images.append(planned)
    batch = Batch(prefix, images)
    snapshot(sandbox, batch)
    return batch


def _admin_get(sandbox: Sandbox, path: str) -> Any:
    session = sandbox.session("sandbox-admin")
    answer = session.get(f"{sandbox.glance_url}{path}", raise_exc=False)
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    return answer.json()


def _members(sandbox: Sandbox, image: dict[str, Any]) -> list[str]:
    if image.get("visibility") != "shared":
        return []
    found = _admin_get(sandbox, f"/v2/images/{image['id']}/members") or {"members": []}
    return sorted(m["member_id"] for m in found["members"])


def snapshot(sandbox: Sandbox, batch: Batch) -> None:
    for image in batch.images:
        if image.image_id is not None:
            image.original = _admin_get(sandbox, f"/v2/images/{image.image_id}")
            assert image.original is not None
            image.original_members = _members(sandbox, image.original)


def _comparable(image: dict[str, Any]) -> dict[str, Any]:
    """The image without what moves on every write; tags as a set (Glance returns them
    in no particular order)."""
    found = {k: v for k, v in image.items() if k not in IGNORED}
    if "tags" in found:
        found["tags"] = sorted(found["tags"] or [])
    return found


def live_by_name(sandbox: Sandbox, batch: Batch) -> dict[str, list[dict[str, Any]]]:
    """Every image of the batch as Glance has it now, by name (hidden ones included)."""
    names = {image.name for image in batch.images}
    found: dict[str, list[dict[str, Any]]] = {}
    owner = sandbox.project_ids["demo"]
    for hidden in ("false", "true"):
        path: str | None = f"/v2/images?limit=1000&owner={owner}&os_hidden={hidden}"
        while path:
            page = _admin_get(sandbox, path)
            for image in page["images"]:
                if image.get("name") in names:
                    if image.get("status") == "deleted":  # see reconciler.model.image_view.is_gone
                        ZOMBIES.add(image["id"])
                        continue
                    found.setdefault(image["name"], []).append(image)
            path = page.get("next")
    return found


CUSTOM_SKIP = {RECORD, "os_hash_algo", "os_hash_value", "os_hidden", "stores"}
CORE = {
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "min_disk",
    "min_ram",
    "disk_format",
    "container_format",
    "tags",
    "owner",
    "created_at",
    "updated_at",
    "checksum",
    "size",
    "virtual_size",
    "file",
    "self",
    "schema",
    "locations",
    "direct_url",
    "os_hash_algo",
    "os_hash_value",
    "stores",
}


def is_desired(sandbox: Sandbox, planned: Planned, live: dict[str, Any]) -> bool:
    custom = {k: v for k, v in live.items() if k not in CORE and k != RECORD}
    want = {k: v for k, v in planned.desired_props.items() if v is not None}
    if custom != want or sorted(live.get("tags") or []) != sorted(planned.desired_tags):
        return False
    if any(live.get(k) != v for k, v in planned.desired_core.items()):
        return False
    return planned.desired_members is None or _members(sandbox, live) == sorted(
        planned.desired_members
    )


def is_original(sandbox: Sandbox, planned: Planned, live: dict[str, Any] | None) -> bool:
    if planned.original is None:
        return live is None
    if live is None:
        return False
    return _comparable(live) == _comparable(planned.original) and _members(sandbox, live) == (
        planned.original_members or []
    )


@dataclass
class Verdict:
    checked: int = 0
    desired: int = 0
    original: int = 0
    violations: list[str] = field(default_factory=list)


ORIGINAL_STATUSES = {"rolled_back", "skipped", "stale"}


def verify(
    sandbox: Sandbox, batch: Batch, report: dict[str, Any] | None, verdict: Verdict
) -> dict[str, str]:
    """Check every image: exactly desired or exactly original, and the report says which
    (when there is a report). Returns name -> "desired" | "original" | "neither"."""
    live = live_by_name(sandbox, batch)
    statuses = {r["name"]: r["status"] for r in (report or {}).get("images", [])}
    outcome: dict[str, str] = {}
    for planned in batch.images:
        verdict.checked += 1
        copies = live.get(planned.name, [])
        if len(copies) > 1:
            verdict.violations.append(f"{planned.name}: {len(copies)} images with this name")
            outcome[planned.name] = "neither"
            continue
        current = copies[0] if copies else None
        if current is not None and is_desired(sandbox, planned, current):
            state = "desired"
        elif is_original(sandbox, planned, current):
            state = "original"
        else:
            state = "neither"
        outcome[planned.name] = state
        if state == "desired":
            verdict.desired += 1
        elif state == "original":
            verdict.original += 1
        else:
            verdict.violations.append(
                f"{planned.name}: neither desired nor original: {_comparable(current or {})}"
            )
            continue
        if report is None:
            continue
        status = statuses.get(planned.name)
        truthful = (state == "desired" and status == "applied") or (
            state == "original" and status in ORIGINAL_STATUSES
        )
        if not truthful:
            verdict.violations.append(f"{planned.name}: is {state} but the report says {status}")
    return outcome


def cleanup(sandbox: Sandbox, batch: Batch) -> None:
    session = sandbox.session("sandbox-admin")
    for copies in live_by_name(sandbox, batch).values():
        for image in copies:
            session.delete(f"{sandbox.glance_url}/v2/images/{image['id']}", raise_exc=False)


def difference(planned: Planned, live: dict[str, Any] | None) -> str:
    """What differs between the original and the live image (for failure messages)."""
    if planned.original is None or live is None:
        return f"original {'absent' if planned.original is None else 'present'}, " + (
            f"live {'absent' if live is None else 'present'}"
        )
    before, now = _comparable(planned.original), _comparable(live)
    keys = sorted(before.keys() | now.keys())
    return (
        "; ".join(
            f"{k}: {before.get(k, '(absent)')!r} -> {now.get(k, '(absent)')!r}"
            for k in keys
            if before.get(k) != now.get(k)
        )
        or "members differ"
    )
