"""Plan <-> JSON: the `plan --format json` document and the `plan --out` file share this
shape (documented by `schemas/plan.schema.json`). Loading validates strictly, so a plan
file edited by hand (unknown ops, paths outside the image, another format version, ...)
is refused before anything is written. No secrets are ever part of a plan. File I/O only
in `save` and `read`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler import __version__
from reconciler.errors import PlanFileError
from reconciler.model.image_view import (
    CATALOG_PATTERN,
    CORE_ATTRIBUTES,
    DEFAULT_CATALOG,
    MANAGED_CORE,
    RESERVED_PREFIXES,
)
from reconciler.model.plan import (
    Action,
    Activation,
    BuildPlan,
    BuildRole,
    DataPlan,
    ImagePlan,
    MemberChanges,
    Op,
    PatchOp,
    Plan,
    StorePlan,
    Target,
    unescape_pointer,
)

FORMAT_VERSION = 1
SETTABLE_CORE = frozenset({*MANAGED_CORE, "tags"})


def image_to_dict(image: ImagePlan) -> dict[str, Any]:
    return {
        "name": image.name,
        "id": image.id,
        "action": str(image.action),
        "source": image.source,
        "owner": image.owner,
        "protected": image.protected,
        "patch": [op.to_dict() for op in image.patch],
        "members": {
            "managed": image.members_managed,
            "add": list(image.members.add),
            "remove": list(image.members.remove),
        },
        "activation": str(image.activation) if image.activation else None,
        "status": image.status,
        "warnings": list(image.warnings),
        "error": image.error,
        "fingerprint": image.fingerprint,
        "take_over_from": image.take_over_from,
        "data": asdict(image.data) if image.data is not None else None,
        "rename_previous": image.rename_previous,
        "builds": [build_to_dict(build) for build in image.builds],
        "build_of": image.build_of,
        "stores": asdict(image.stores) if image.stores is not None else None,
    }


def build_to_dict(build: BuildPlan) -> dict[str, Any]:
    return {
        "id": build.id,
        "name": build.name,
        "role": str(build.role),
        "new_name": build.new_name,
        "patch": [op.to_dict() for op in build.patch],
        "activation": str(build.activation) if build.activation else None,
        "delete": build.delete,
        "status": build.status,
        "protected": build.protected,
        "version": build.version,
        "fingerprint": build.fingerprint,
        "note": build.note,
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    target = plan.target
    return {
        "format_version": FORMAT_VERSION,
        "tool_version": __version__,
        "catalog": plan.catalog,
        "target": {
            "cloud": target.cloud,
            "region": target.region,
            "project_id": target.project_id,
            "image_endpoint": target.image_endpoint,
            "name": target.name,
        },
        "images": [image_to_dict(image) for image in plan.images],
        "other_catalogs": dict(plan.others),
        "summary": plan.summary,
        "has_changes": plan.has_changes,
    }


# -- strict reading ------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _OpModel(_Strict):
    op: Op = Field(strict=False)
    path: str
    value: Any = None
    old: Any = None

    @field_validator("path")
    @classmethod
    def _one_level(cls, path: str) -> str:
        try:
            key = unescape_pointer(path)
        except ValueError as err:
            raise ValueError(str(err)) from None
        if key in CORE_ATTRIBUTES and key not in SETTABLE_CORE:
            raise ValueError(f"path {path} is not an attribute the tool may change")
        if key.startswith(RESERVED_PREFIXES):
            raise ValueError(f"path {path} is reserved by Glance")
        return path


class _MembersModel(_Strict):
    managed: bool = False
    add: list[str] = []
    remove: list[str] = []


class _DataModel(_Strict):
    location: str = Field(min_length=1)
    method: Literal["upload", "glance-direct", "web-download"]
    checksum: str = Field(pattern=r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|md5:[0-9a-f]{32})$")
    version: str | None = None
    size: int | None = Field(None, ge=0)
    compression: Literal["xz", "bz2", "gz", "zst"] | None = None
    mirrors: list[str] = []
    answered: str | None = None


class _StoresModel(_Strict):
    wanted: list[str] = Field(min_length=1)
    live: list[str] = []
    missing: list[str] = []
    extra: list[str] = []
    prune: list[str] = []
    all_stores: bool = False

    def plan(self) -> StorePlan:
        """Pruning is checked again here: a hand-edited file may not delete the data
        from every store it is in."""
        if self.prune and not (set(self.live) - set(self.prune)):
            raise ValueError("prune would delete the image's last copy")
        return StorePlan(
            tuple(self.wanted),
            tuple(self.live),
            tuple(self.missing),
            tuple(self.extra),
            tuple(self.prune),
            self.all_stores,
        )


class _BuildModel(_Strict):
    id: str = Field(min_length=1)
    name: str
    role: BuildRole = Field(strict=False)
    new_name: str | None = None
    patch: list[_OpModel] = []
    activation: Activation | None = Field(None, strict=False)
    delete: bool = False
    status: str | None = None
    protected: bool = False
    version: str | None = None
    fingerprint: str = Field(min_length=1)
    note: str | None = None


class _ImageModel(_Strict):
    name: str
    id: str | None
    action: Action = Field(strict=False)
    source: str | None = None
    owner: str | None = None
    protected: bool = False
    patch: list[_OpModel] = []
    members: _MembersModel = _MembersModel()
    activation: Activation | None = Field(None, strict=False)
    status: str | None = None
    warnings: list[str] = []
    error: str | None = None
    fingerprint: str | None = None
    take_over_from: str | None = Field(None, pattern=CATALOG_PATTERN)
    data: _DataModel | None = None
    # Derived from `builds` (the outgoing current build's new name); kept for readers.
    rename_previous: str | None = Field(None, min_length=1, max_length=255)
    builds: list[_BuildModel] = []
    build_of: str | None = None
    stores: _StoresModel | None = None


class _TargetModel(_Strict):
    cloud: str | None = None
    region: str | None = None
    project_id: str | None = None
    image_endpoint: str | None = None
    name: str | None = None


class _PlanModel(_Strict):
    format_version: Literal[1]
    tool_version: str | None = None
    # Plan files written before catalogs existed belong to the default catalog.
    catalog: str = Field(DEFAULT_CATALOG, pattern=CATALOG_PATTERN)
    target: _TargetModel
    images: list[_ImageModel]
    other_catalogs: dict[str, int] = {}
    summary: dict[str, int] = {}
    has_changes: bool = False


def _data_plan(model: _DataModel) -> DataPlan:
    fields = model.model_dump()
    fields["mirrors"] = tuple(fields["mirrors"])
    return DataPlan(**fields)


def plan_from_dict(data: Any) -> Plan:
    try:
        model = _PlanModel.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PlanFileError(
            f"not a valid plan file: {where}: {first['msg']} ({err.error_count()} problem(s))"
        ) from None
    images = []
    for item in model.images:
        if item.action is Action.REBUILD and (
            item.data is None or not any(b.id == item.id for b in item.builds)
        ):
            raise PlanFileError(
                f"not a valid plan file: image {item.name!r} to rebuild has no data or "
                "no name for its previous build"
            )
        if item.action in (
            Action.UPDATE,
            Action.ADOPT,
            Action.REBUILD,
            Action.ROTATE,
            Action.DELETE,
        ) and (not item.id or not item.fingerprint):
            raise PlanFileError(
                f"not a valid plan file: image {item.name!r} to {item.action} "
                "has no id or fingerprint"
            )
        images.append(
            ImagePlan(
                name=item.name,
                action=item.action,
                id=item.id,
                source=item.source,
                owner=item.owner,
                protected=item.protected,
                patch=tuple(PatchOp(o.op, o.path, o.value, o.old) for o in item.patch),
                members=MemberChanges(tuple(item.members.add), tuple(item.members.remove)),
                members_managed=item.members.managed,
                activation=item.activation,
                status=item.status,
                warnings=tuple(item.warnings),
                error=item.error,
                fingerprint=item.fingerprint,
                take_over_from=item.take_over_from,
                data=_data_plan(item.data) if item.data is not None else None,
                builds=tuple(_build_of(b) for b in item.builds),
                build_of=item.build_of,
                stores=_store_plan(item),
            )
        )
    t = model.target
    return Plan(
        Target(t.cloud, t.region, t.project_id, t.image_endpoint, t.name),
        tuple(images),
        catalog=model.catalog,
        others=tuple(sorted(model.other_catalogs.items())),
    )


def _store_plan(item: _ImageModel) -> StorePlan | None:
    if item.stores is None:
        return None
    try:
        return item.stores.plan()
    except ValueError as err:
        raise PlanFileError(f"not a valid plan file: image {item.name!r}: {err}") from None


def _build_of(item: _BuildModel) -> BuildPlan:
    return BuildPlan(
        id=item.id,
        name=item.name,
        role=item.role,
        patch=tuple(PatchOp(o.op, o.path, o.value, o.old) for o in item.patch),
        activation=item.activation,
        delete=item.delete,
        status=item.status,
        protected=item.protected,
        version=item.version,
        fingerprint=item.fingerprint,
        note=item.note,
    )


def dumps(plan: Plan) -> str:
    """The plan document as text: one image per line inside an indented frame. Each
    line goes through json's C encoder (`indent` would force the pure-Python one, 60
    times slower on large catalogs), and a plan stays readable and diffable."""
    data = plan_to_dict(plan)
    images = data.pop("images")
    frame = json.dumps(data, indent=2, ensure_ascii=False)
    if not images:
        return frame[:-2] + ',\n  "images": []\n}\n'
    lines = ",\n    ".join(json.dumps(image, ensure_ascii=False) for image in images)
    return frame[:-2] + f',\n  "images": [\n    {lines}\n  ]\n}}\n'


def save(plan: Plan, path: Path) -> None:
    path.write_text(dumps(plan))


def read(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise PlanFileError(f"{path}: cannot read: {err.strerror}") from None
    except ValueError as err:
        raise PlanFileError(f"{path}: not JSON: {err}") from None
    try:
        return plan_from_dict(data)
    except PlanFileError as err:
        raise PlanFileError(f"{path}: {err}") from None


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan document (`plan --format json` and `plan --out`)."""
    schema = _PlanModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:reconciler:schemas:plan:1"
    schema["title"] = "reconciler plan"
    return schema
