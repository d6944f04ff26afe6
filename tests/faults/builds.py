"""Image data and rotation for the campaigns: seeded entries with a `source:` (creates
with data, rebuilds, rotations with 2-3 existing builds), their builds seeded by
applying without faults, and the independent check of what a faulty apply (or a crash
and `reconciler rollback`) left behind.

The check never uses the tool's code (no record parsing, no views): it knows each
entry's builds by the ids listed before the run, reads every image with the raw API as
admin, hashes each file itself, and decides, entry by entry, whether the entry is
exactly as the manifest asks (one new build with the plain name, active, its
os_hash_value the sha512 of the file, previous builds renamed and retired as declared)
or exactly as before (no new image, every build's fields unchanged but `updated_at`).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import Sandbox
from tests.sandbox.helpers import run_cli

RECORD = "reconciler.managed"
METHODS = ["upload", "glance-direct", "web-download"]
RETIRED = ["hide", "deactivate", "delete"]
KEEP = 2
# Fields a build may change without being "changed": what Glance moves on every write.
MOVING = {"updated_at"}


def mirror(sandbox: Sandbox) -> tuple[Path, str]:
    """The sandbox's loopback mirror: the folder it serves and its URL."""
    state = json.loads((sandbox.root / "state.json").read_text())
    return sandbox.root / "mirror", f"http://127.0.0.1:{state['mirror_port']}"


def _payload(rng: random.Random, size: int, tag: str) -> bytes:
    head = f"{tag}\n".encode()
    return head + rng.randbytes(max(size - len(head), 0))


@dataclass
class DataEntry:
    """One entry with a source: its builds before the run and the build the run makes."""

    name: str
    method: str
    existing: int  # builds made before the faulty run (0: the run creates the image)
    rotation: dict[str, Any] | None
    folder: Path  # where the manifest (and upload/glance-direct files) live
    mirror_dir: Path
    mirror_url: str
    sizes: list[int]  # one per build round, 1-based round k -> sizes[k - 1]
    seed: int
    sha512s: list[str] = field(default_factory=list)
    before: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> raw image
    files: list[Path] = field(default_factory=list)

    @property
    def rounds(self) -> int:
        return self.existing + 1

    def version(self, round_: int) -> str:
        return f"v{round_}"

    def write_files(self) -> None:
        """The data of every round, written once (the checker's own sha512 of each)."""
        rng = random.Random(f"{self.seed}:{self.name}")
        for round_ in range(1, self.rounds + 1):
            data = _payload(rng, self.sizes[round_ - 1], f"{self.name} round {round_}")
            where = self.mirror_dir if self.method == "web-download" else self.folder
            path = where / f"{self.name}-{self.version(round_)}.raw"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.files.append(path)
            self.sha512s.append(hashlib.sha512(data).hexdigest())

    def entry(self, round_: int) -> dict[str, Any]:
        path = self.files[round_ - 1]
        if self.method == "web-download":
            url = f"{self.mirror_url}/{path.name}"
            checksum = f"sha512:{self.sha512s[round_ - 1]}"
        else:
            url = path.name
            algorithm = "sha256" if (self.seed + round_) % 2 else "sha512"
            checksum = f"{algorithm}:{hashlib.new(algorithm, path.read_bytes()).hexdigest()}"
        entry: dict[str, Any] = {
            "name": self.name,
            "disk_format": "raw",
            "container_format": "bare",
            "properties": {"os_purpose": "generic", "build_round": str(round_)},
            "source": {
                "url": url,
                "checksum": checksum,
                "method": self.method,
                "version": self.version(round_),
            },
        }
        if self.rotation is not None:
            entry["rotation"] = self.rotation
        return entry

    def remove_files(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)

    @property
    def new_size(self) -> int:
        return self.sizes[self.rounds - 1]


Spec = tuple[str, int, str | None]  # method, existing builds, retired (None: no rotation)


def rotation(retired: str) -> dict[str, Any]:
    return {
        "rename": "{name} {version}",
        "previous": {"properties": {"os_purpose": "oldgeneric"}},
        "keep": KEEP,
        "retired": retired,
    }


def seeded_specs(seed: int, count: int) -> list[Spec]:
    """`count` entries: the first a create with data, the second a rebuild without
    rotation, the others rotations (keep 2, a seeded way of retiring) with 2 or 3
    existing builds; methods seeded."""
    rng = random.Random(f"data:{seed}")
    specs: list[Spec] = []
    for i in range(count):
        method = rng.choice(METHODS)
        if i < 2:
            specs.append((method, i, None))
        else:
            specs.append((method, rng.choice([2, 3]), rng.choice(RETIRED)))
    return specs


def plan_entries(
    sandbox: Sandbox,
    seed: int,
    prefix: str,
    folder: Path,
    count: int = 0,
    size: tuple[int, int] = (150_000, 400_000),
    new_size: tuple[int, int] | None = None,
    specs: list[Spec] | None = None,
) -> list[DataEntry]:
    """The entries of `specs` (else `seeded_specs(seed, count)`), their files written.
    `new_size` sizes the build the run under test makes (the crash campaign's big
    files); earlier builds stay small."""
    rng = random.Random(f"sizes:{seed}")
    mirror_dir, mirror_url = mirror(sandbox)
    entries = []
    for i, (method, existing, retired) in enumerate(specs or seeded_specs(seed, count)):
        sizes = [rng.randint(*size) for _ in range(existing)]
        sizes.append(rng.randint(*(new_size or size)))
        entries.append(
            DataEntry(
                name=f"{prefix}-d{i}",
                method=method,
                existing=existing,
                rotation=None if retired is None else rotation(retired),
                folder=folder,
                mirror_dir=mirror_dir,
                mirror_url=mirror_url,
                sizes=sizes,
                seed=seed,
            )
        )
    for entry in entries:
        entry.write_files()
    return entries


def seed_builds(sandbox: Sandbox, entries: list[DataEntry], folder: Path, prefix: str) -> None:
    """Apply, without faults and directly to Glance, each round of the builds that
    exist before the faulty run; then snapshot every build."""
    rounds = max((e.existing for e in entries), default=0)
    for round_ in range(1, rounds + 1):
        due = [e for e in entries if e.existing >= round_]
        path = folder / f"{prefix}-seed{round_}.yaml"
        document = {"version": 1, "images": [e.entry(round_) for e in due]}
        path.write_text(json.dumps(document, indent=1))
        done = run_cli(sandbox, "apply", "--auto-approve", "--format", "json", str(path))
        if done.returncode != 0:
            raise RuntimeError(
                f"seeding round {round_} failed (exit {done.returncode}): "
                f"{done.stdout[-1500:]} {done.stderr[-1500:]}"
            )
    snapshot(sandbox, entries)


def _all_demo_images(sandbox: Sandbox) -> list[dict[str, Any]]:
    session = sandbox.session("sandbox-admin")
    owner = sandbox.project_ids["demo"]
    images: list[dict[str, Any]] = []
    for hidden in ("false", "true"):
        path: str | None = f"/v2/images?limit=1000&owner={owner}&os_hidden={hidden}"
        while path:
            answer = session.get(f"{sandbox.glance_url}{path}")
            page = answer.json()
            images += page["images"]
            path = page.get("next")
    return images


def live_builds(
    sandbox: Sandbox, entries: list[DataEntry], zombies: set[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """entry name -> id -> raw image, for every image of the demo project named like the
    entry (its plain name, or the plain name, a space and anything: renamed builds and
    the temporary `NAME (new build)`). Images in status `deleted` count as gone."""
    found: dict[str, dict[str, dict[str, Any]]] = {e.name: {} for e in entries}
    images = _all_demo_images(sandbox)
    for entry in entries:
        for image in images:
            name = image.get("name") or ""
            if name == entry.name or name.startswith(entry.name + " "):
                if image.get("status") == "deleted":
                    zombies.add(image["id"])
                    continue
                found[entry.name][image["id"]] = image
    return found


def snapshot(sandbox: Sandbox, entries: list[DataEntry]) -> None:
    live = live_builds(sandbox, entries, set())
    for entry in entries:
        entry.before = live[entry.name]
        plain = [i for i in entry.before.values() if i["name"] == entry.name]
        assert len(entry.before) >= min(entry.existing, 1), (entry.name, entry.before)
        assert len(plain) == (1 if entry.existing else 0), (entry.name, entry.before)


def _comparable(image: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    found = {k: v for k, v in image.items() if k not in skip}
    if "tags" in found:
        found["tags"] = sorted(found["tags"] or [])
    return found


def _differences(want: dict[str, Any], have: dict[str, Any], skip: set[str]) -> str:
    a, b = _comparable(want, skip), _comparable(have, skip)
    return "; ".join(
        f"{k}: {a.get(k, '(absent)')!r} -> {b.get(k, '(absent)')!r}"
        for k in sorted(a.keys() | b.keys())
        if a.get(k) != b.get(k)
    )


def is_original(
    entry: DataEntry, live: dict[str, dict[str, Any]], gone_ok: frozenset[str] = frozenset()
) -> list[str]:
    """What keeps the entry from being exactly as before ([] when it is); `gone_ok`:
    builds a rollback reported deleted by the run (Glance cannot bring them back)."""
    problems = []
    for image_id in live.keys() - entry.before.keys():
        image = live[image_id]
        problems.append(f"new image {image_id} {image['name']!r} ({image['status']}) left")
    for image_id, before in entry.before.items():
        now = live.get(image_id)
        if now is None:
            if image_id not in gone_ok:
                problems.append(f"build {image_id} {before['name']!r} deleted")
        elif _comparable(now, MOVING) != _comparable(before, MOVING):
            problems.append(f"build {image_id} changed: {_differences(before, now, MOVING)}")
    return problems


def expected_builds(entry: DataEntry) -> dict[str, dict[str, Any] | None]:
    """Each build before the run as it must be after a successful run (None: deleted),
    worked out from the declaration alone."""
    builds = sorted(entry.before.values(), key=lambda i: i["created_at"], reverse=True)
    expected: dict[str, dict[str, Any] | None] = {}
    for index, before in enumerate(builds):
        want = dict(before)
        rank = index + 1  # the new build is rank 0
        if before["name"] == entry.name:  # the outgoing build
            want["name"] = f"{entry.name} {entry.version(entry.existing)}"
        if entry.rotation is not None:
            want["os_purpose"] = "oldgeneric"
            if rank >= KEEP:
                retired = entry.rotation["retired"]
                if retired == "delete":
                    expected[before["id"]] = None
                    continue
                if retired == "hide":
                    want["os_hidden"] = True
                else:
                    want["status"] = "deactivated"
        expected[before["id"]] = want
    return expected


def retired_ids(entry: DataEntry) -> set[str]:
    """The builds a successful run retires (hides, deactivates or deletes)."""
    if entry.rotation is None:
        return set()
    builds = sorted(entry.before.values(), key=lambda i: i["created_at"], reverse=True)
    return {before["id"] for rank, before in enumerate(builds, 1) if rank >= KEEP}


def _about(problem: str) -> str:
    """The build id an `is_desired` problem is about ("" when none, or when the build
    is gone: a build deleted against the declaration is never a tail left undone)."""
    if "deleted, not retired so" in problem or "is gone" in problem:
        return ""
    words = problem.split()
    if problem.startswith("retired build "):
        return words[2]
    if problem.startswith("build "):
        return words[1].rstrip(":")
    return ""


def is_desired(entry: DataEntry, live: dict[str, dict[str, Any]]) -> list[str]:
    """What keeps the entry from being as the manifest asks ([] when it is)."""
    problems = []
    new_ids = live.keys() - entry.before.keys()
    if len(new_ids) != 1:
        return [f"{len(new_ids)} new images: {sorted(live[i]['name'] for i in new_ids)}"]
    new = live[next(iter(new_ids))]
    round_ = entry.rounds
    checks = {
        "name": entry.name,
        "status": "active",
        "os_hash_algo": "sha512",
        "os_hash_value": entry.sha512s[round_ - 1],
        "size": entry.new_size,
        "disk_format": "raw",
        "container_format": "bare",
        "os_hidden": False,
        "os_purpose": "generic",
        "build_round": str(round_),
    }
    for key, value in checks.items():
        if new.get(key) != value:
            problems.append(f"new build {new['id']}: {key} is {new.get(key)!r}, not {value!r}")
    # A build's management record may be rewritten (it names the keys the tool set);
    # everything else must be exactly as declared.
    skip = MOVING | {RECORD}
    for image_id, want in expected_builds(entry).items():
        now = live.get(image_id)
        if want is None:
            if now is not None:
                problems.append(f"retired build {image_id} {now['name']!r} not deleted")
            continue
        if now is None:
            problems.append(f"build {image_id} {want['name']!r} deleted, not retired so")
            continue
        if _comparable(now, skip) != _comparable(want, skip):
            problems.append(f"build {image_id}: {_differences(want, now, skip)}")
    return problems


@dataclass
class DataVerdict:
    checked: int = 0
    desired: int = 0
    original: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # "create|rebuild|rotate:x"+state


def kind_of(entry: DataEntry) -> str:
    if entry.existing == 0:
        return "create"
    if entry.rotation is None:
        return "rebuild"
    return f"rotate-{entry.rotation['retired']}-{entry.existing}builds"


ORIGINAL_STATUSES = {"rolled_back", "skipped", "stale"}


def verify(
    sandbox: Sandbox,
    entries: list[DataEntry],
    report: dict[str, Any] | None,
    verdict: DataVerdict,
    violations: list[str],
    zombies: set[str],
    must_be: str | None = None,
    gone_ok: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Each entry exactly desired or exactly original (or `must_be` that one), or
    committed with only retired builds' retirements left (reported `incomplete`,
    naming them); never two images with the plain name, never a build deleted but a retired
    one of a successful rotation; the report (when there is one) says which. Returns
    name -> state."""
    live = live_builds(sandbox, entries, zombies)
    statuses = {r["name"]: r["status"] for r in (report or {}).get("images", [])}
    reasons = {r["name"]: r.get("reason") or "" for r in (report or {}).get("images", [])}
    outcome = {}
    for entry in entries:
        verdict.checked += 1
        mine = live[entry.name]
        plain = [i["id"] for i in mine.values() if i["name"] == entry.name]
        if len(plain) > 1:
            violations.append(f"{entry.name}: {len(plain)} images with the plain name: {plain}")
        not_original = is_original(entry, mine, gone_ok)
        not_desired = is_desired(entry, mine) if not_original else ["original"]
        if not not_original:
            state = "original"
        elif not not_desired:
            state = "desired"
        elif all(_about(p) in retired_ids(entry) for p in not_desired):
            # Committed: the new build in place and verified, a retired build's
            # retirement (hide, deactivate, delete) refused after it (the tail is never
            # undone); the report must say `incomplete` and name each such build.
            state = "committed"
        else:
            state = "neither"
        outcome[entry.name] = state
        key = f"{kind_of(entry)}:{state}"
        verdict.by_kind[key] = verdict.by_kind.get(key, 0) + 1
        if state == "desired":
            verdict.desired += 1
        elif state == "original":
            verdict.original += 1
        if state == "neither" or (must_be is not None and state != must_be):
            violations.append(
                f"{entry.name} ({kind_of(entry)}, {entry.method}): {state}, "
                f"expected {must_be or 'desired or original'}; "
                f"not original: {not_original}; not desired: {not_desired}"
            )
            continue
        if report is None:
            continue
        status = statuses.get(entry.name)
        reason = reasons.get(entry.name, "")
        truthful = (
            (state == "desired" and status == "applied")
            or (state == "original" and status in ORIGINAL_STATUSES)
            or (
                state == "committed"
                and status == "incomplete"
                and all(_about(p) in reason for p in not_desired)
            )
        )
        if not truthful:
            violations.append(
                f"{entry.name} ({kind_of(entry)}, {entry.method}): is {state} but the report "
                f"says {status}"
            )
    return outcome


def cleanup(sandbox: Sandbox, entries: list[DataEntry]) -> None:
    """Delete every image of the entries (reactivating deactivated ones is not needed:
    Glance deletes those too) and their files."""
    session = sandbox.session("sandbox-admin")
    for images in live_builds(sandbox, entries, set()).values():
        for image in images.values():
            if image.get("protected"):
                session.patch(
                    f"{sandbox.glance_url}/v2/images/{image['id']}",
                    json=[{"op": "replace", "path": "/protected", "value": False}],
                    headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
                    raise_exc=False,
                )
            session.delete(f"{sandbox.glance_url}/v2/images/{image['id']}", raise_exc=False)
    for entry in entries:
        entry.remove_files()
