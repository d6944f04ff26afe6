"""Plan (+ live catalog) -> drift report: what differs between Git and the cloud, per
image and per field, as immutable pydantic values (the single definition of the
`drift --format json` document, exported to `schemas/drift.schema.json`). Pure.

Drift is read off the plan the diff already computes (without `--prune`): an image to
update has drifted, an image to create is missing from the cloud, an orphan carries the
tool's management record but is in no manifest. Images the tool would only adopt (write
its record) are in sync: their metadata is as Git says. The management record itself is
bookkeeping, never reported as a drifted field.

With policies (`drift --policy`), each live image of the catalog (the images entries
match, orphans, previous builds) is checked too: its violations are listed on its
entry whatever its state, and an image that is otherwise in sync, or that no entry
names (a previous build), has the state `violation`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler import __version__
from reconciler.model.image_view import (
    DEFAULT_CATALOG,
    MANAGED_CORE,
    MANAGED_RECORD,
    LiveImage,
    Ownership,
    ownership,
)
from reconciler.model.plan import Action, BuildPlan, ImagePlan, Op, PatchOp, Plan, Target
from reconciler.policy.models import Level, Violation

FORMAT_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class State(StrEnum):
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    MISSING = "missing"  # in Git, not in the cloud
    ORPHAN = "orphan"  # its management record names this catalog; in no manifest
    UNMANAGED = "unmanaged"  # the project's image, unknown to Git (with --unmanaged)
    ERROR = "error"  # the entry could not be compared (ambiguous name, id not found)
    VIOLATION = "violation"  # as Git says (or no entry's current build), but breaks a policy


class FailOn(StrEnum):
    """What makes `drift` exit 2."""

    drift = "drift"  # drifted or missing images
    orphans = "orphans"  # orphaned (and, with --unmanaged, unmanaged) images
    any = "any"  # any of these
    policy = "policy"  # images that violate an error-level policy rule


class Kind(StrEnum):
    ATTRIBUTE = "attribute"  # a core attribute (visibility, min_disk, ...)
    PROPERTY = "property"  # a custom property
    TAGS = "tags"
    MEMBERS = "members"
    STATUS = "status"  # active / deactivated
    DATA = "data"  # the image's data: the declared source's checksum vs the live build's
    BUILD = "build"  # one of the entry's other builds is not in its rotated state
    STORES = "stores"  # the Glance stores holding the data (multi-store), compared as a set


class FieldDrift(_Frozen):
    """One field that differs. `git`/`live` are null when the field is absent there;
    for tags and members, the items only one side has are listed as well."""

    field: str
    kind: Kind
    git: Any = None
    live: Any = None
    only_in_git: list[str] = Field(default_factory=list)
    only_in_cloud: list[str] = Field(default_factory=list)


class PolicyViolation(_Frozen):
    """One policy rule the live image breaks."""

    rule: str = Field(description="the rule's id, e.g. scs-0102/architecture")
    level: Literal["error", "warning"]
    message: str = Field(description="the rule's message")
    detail: str = Field(description="what was found")
    field: str | None = Field(None, description="the property or attribute concerned")


class ImageDrift(_Frozen):
    name: str
    id: str | None = None
    state: State
    source: str | None = Field(None, description="file:line of the manifest entry")
    owner: str | None = None
    fields: list[FieldDrift] = Field(default_factory=list)
    message: str | None = None
    violations: list[PolicyViolation] = Field(
        default_factory=list, description="policy rules the live image breaks (--policy)"
    )


class TargetInfo(_Frozen):
    name: str | None = None
    cloud: str | None = None
    region: str | None = None
    project_id: str | None = None


class TargetDrift(_Frozen):
    target: TargetInfo
    catalog: str = Field(DEFAULT_CATALOG, description="the catalog (manifest set) compared")
    summary: dict[str, int]
    other_catalogs: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "the project's images other catalogs manage, per catalog ('?': unreadable "
            "record): someone else's, neither drift nor orphans"
        ),
    )
    images: list[ImageDrift]
    error: str | None = Field(None, description="the target could not be read at all")
    policies: list[str] = Field(
        default_factory=list, description="the policies the live images were checked against"
    )


class DriftDocument(_Frozen):
    """The `drift --format json` document: one report per target."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="reconciler drift report",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    format_version: Literal[1] = 1
    tool_version: str = __version__
    generated_at: str = Field(description="UTC time of the report, ISO 8601")
    duration_seconds: float | None = Field(
        None, description="how long the run took, reading the manifests and every target"
    )
    targets: list[TargetDrift]


def target_info(target: Target) -> TargetInfo:
    return TargetInfo(
        name=target.name, cloud=target.cloud, region=target.region, project_id=target.project_id
    )


def _field_of(op: PatchOp) -> FieldDrift:
    key = op.key
    git = None if op.op is Op.REMOVE else op.value
    live = None if op.op is Op.ADD else op.old
    if key == "tags":
        return _set_field("tags", Kind.TAGS, git or (), live or ())
    kind = Kind.ATTRIBUTE if key in MANAGED_CORE else Kind.PROPERTY
    return FieldDrift(field=key, kind=kind, git=git, live=live)


def _build_field(build: BuildPlan) -> FieldDrift:
    """A build of the entry not in its rotated state: what rotation wants, what it has."""
    if build.delete:
        git, live = "deleted (retired)", f"{build.name!r} ({build.status})"
    else:
        ops = [op for op in build.patch if op.key != MANAGED_RECORD]
        git = ", ".join(f"{op.key}={op.value!r}" for op in ops if op.value is not None)
        live = ", ".join(f"{op.key}={op.old!r}" for op in ops if op.old is not None)
        if build.activation is not None:
            git = ", ".join(filter(None, (git, "deactivated")))
            live = ", ".join(filter(None, (live, str(build.status))))
    return FieldDrift(
        field=f"{build.role} build {build.id}", kind=Kind.BUILD, git=git or None, live=live or None
    )


def _stores_field(image: ImagePlan) -> FieldDrift | None:
    """The stores an existing image is missing from or is in but not declared in."""
    stores = image.stores
    if stores is None or image.action in (Action.CREATE, Action.REBUILD):
        return None
    if set(stores.wanted) == set(stores.live):
        return None
    return _set_field("stores", Kind.STORES, stores.wanted, stores.live)


def _set_field(field: str, kind: Kind, git: Iterable[str], live: Iterable[str]) -> FieldDrift:
    """A field compared as a set (tags, stores): both sides sorted, and the items only
    one side has (set arithmetic; order and repeats never count)."""
    wanted, present = set(git), set(live)
    return FieldDrift(
        field=field,
        kind=kind,
        git=sorted(wanted),
        live=sorted(present),
        only_in_git=sorted(wanted - present),
        only_in_cloud=sorted(present - wanted),
    )


def image_drift(image: ImagePlan) -> ImageDrift:
    """The drift of one planned image (see the module docstring)."""
    common = {"name": image.name, "id": image.id, "source": image.source, "owner": image.owner}
    stores = _stores_field(image)
    if image.action in (Action.NOOP, Action.ADOPT):
        if stores is not None:
            return ImageDrift(state=State.DRIFTED, fields=[stores], **common)
        return ImageDrift(state=State.IN_SYNC, **common)
    if image.action is Action.CREATE:
        return ImageDrift(state=State.MISSING, message="in Git, not in the cloud", **common)
    if image.action in (Action.ORPHAN, Action.DELETE):
        return ImageDrift(
            state=State.ORPHAN,
            message="managed by this catalog but in no manifest",
            **common,
        )
    if image.action is Action.ERROR:
        return ImageDrift(state=State.ERROR, message=image.error, **common)
    if image.action is Action.REBUILD and image.data is not None:
        return ImageDrift(
            state=State.DRIFTED,
            fields=[FieldDrift(field="data", kind=Kind.DATA, git=image.data.checksum)],
            message="the declared source changed: apply makes a new build",
            **common,
        )
    fields = [_field_of(op) for op in image.patch if op.key != MANAGED_RECORD]
    if image.members:
        fields.append(
            FieldDrift(
                field="members",
                kind=Kind.MEMBERS,
                only_in_git=list(image.members.add),
                only_in_cloud=list(image.members.remove),
            )
        )
    if image.activation is not None:
        wanted = image.activation.status
        fields.append(FieldDrift(field="status", kind=Kind.STATUS, git=wanted, live=image.status))
    fields += [_build_field(build) for build in image.builds if build.has_work]
    fields += [stores] if stores is not None else []
    if not fields:  # only the record differs: bookkeeping, not drift
        return ImageDrift(state=State.IN_SYNC, **common)
    return ImageDrift(state=State.DRIFTED, fields=fields, **common)


def unmanaged(plan: Plan, images: Iterable[LiveImage]) -> list[ImageDrift]:
    """The project's own images that no manifest names and the tool has never managed."""
    known = {image.id for image in plan.images if image.id}
    project = plan.target.project_id
    found = [
        image
        for image in images
        if image.id not in known
        and MANAGED_RECORD not in image.view
        and project is not None
        and image.owner == project
    ]
    found.sort(key=lambda image: (image.name or "", image.id))
    return [
        ImageDrift(
            name=image.name or image.id,
            id=image.id,
            owner=image.owner,
            state=State.UNMANAGED,
            message="owned by this project, in no manifest, never managed by the tool",
        )
        for image in found
    ]


def summarise(images: Iterable[ImageDrift]) -> dict[str, int]:
    counts = Counter(image.state for image in images)
    return {state.value: counts[state] for state in State}


def catalog_images(plan: Plan, images: Iterable[LiveImage]) -> list[LiveImage]:
    """The live images of the plan's catalog: those its entries match, and every image
    whose record names the catalog (orphans, previous builds), in the listing's order."""
    planned = {image.id for image in plan.images if image.id}
    return [
        image
        for image in images
        if image.id in planned or ownership(image.view, plan.catalog)[0] is Ownership.OURS
    ]


def _policy_violation(violation: Violation) -> PolicyViolation:
    return PolicyViolation(
        rule=violation.rule_id,
        level=violation.level.value,
        message=violation.message,
        detail=violation.detail,
        field=violation.field,
    )


def _with_violations(image: ImageDrift, found: Sequence[Violation]) -> ImageDrift:
    if not found:
        return image
    state = State.VIOLATION if image.state is State.IN_SYNC else image.state
    listed = [_policy_violation(v) for v in found]
    return image.model_copy(update={"state": state, "violations": listed})


def target_drift(
    plan: Plan,
    live: Iterable[LiveImage] | None = None,
    violations: Sequence[Violation] = (),
    policies: Sequence[str] = (),
) -> TargetDrift:
    """The drift report of one target; `live` given: include unmanaged images;
    `violations`: of the catalog's live images (by id), by the policies named."""
    by_id: dict[str, list[Violation]] = {}
    for violation in violations:
        if violation.image_id is not None:
            by_id.setdefault(violation.image_id, []).append(violation)
    images = []
    for planned in plan.images:
        found = by_id.pop(planned.id, []) if planned.id else []
        images.append(_with_violations(image_drift(planned), found))
    for image_id, found in by_id.items():  # in no entry: previous builds
        images.append(
            ImageDrift(
                name=found[0].image,
                id=image_id,
                state=State.VIOLATION,
                message="managed by this catalog, no entry's current build",
                violations=[_policy_violation(v) for v in found],
            )
        )
    if live is not None:
        images += unmanaged(plan, live)
    return TargetDrift(
        target=target_info(plan.target),
        catalog=plan.catalog,
        summary=summarise(images),
        other_catalogs=dict(plan.others),
        images=images,
        policies=list(policies),
    )


def failed_target(target: TargetInfo, error: str, catalog: str = DEFAULT_CATALOG) -> TargetDrift:
    return TargetDrift(
        target=target, catalog=catalog, summary=summarise(()), images=[], error=error
    )


def violates(image: ImageDrift) -> bool:
    """Whether the image breaks an error-level policy rule."""
    return any(v.level == Level.error.value for v in image.violations)


def is_failing(document: DriftDocument, fail_on: FailOn) -> bool:
    """Whether the report shows what `--fail-on` names (exit code 2): `any` and `policy`
    count images that break error-level policy rules."""
    drift = {State.DRIFTED, State.MISSING}
    strays = {State.ORPHAN, State.UNMANAGED}
    states: set[State] = {
        FailOn.drift: drift,
        FailOn.orphans: strays,
        FailOn.any: drift | strays,
        FailOn.policy: set(),
    }[fail_on]
    policy = fail_on in (FailOn.any, FailOn.policy)
    return any(
        image.state in states or (policy and violates(image))
        for t in document.targets
        for image in t.images
    )


def has_errors(document: DriftDocument) -> bool:
    return any(
        t.error is not None or any(image.state is State.ERROR for image in t.images)
        for t in document.targets
    )


def drift_json_schema() -> dict[str, Any]:
    schema = DriftDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:reconciler:schemas:drift:1"
    return schema
