"""Plan <-> JSON: the `plan --format json` document and the `plan --out` file share this
shape (documented by `schemas/plan.schema.json`). Loading validates strictly, so a plan
file edited by hand (unknown ops, paths outside the image, another format version, ...)
is refused before anything is written. No secrets are ever part of a plan. File I/O only
in `save` and `read`.

The pydantic models below are the document's one definition: the JSON Schema is
exported from them, a plan file is validated by them, and both directions between the
document and the plan values (`reconciler.model.plan`) are derived from their fields,
once, when this module is imported. Each model names the plan value it describes
(`value_type`); a field is that value's attribute (or property) of the same name, a
nested model's value, or a list of them, unless its annotation carries a `Form` that
says otherwise (written from several attributes, or derived and not read back).
Each direction is compiled once per model into one expression (see below), so
`plan --format json` at 10,000 images costs what the hand-written dicts did.
"""

from __future__ import annotations

import json
import keyword
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

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


@dataclass(frozen=True)
class Form:
    """A field that is not simply its value's attribute of the same name: `write`
    makes the document's value from the whole plan value; `read` turns the validated
    field into keyword arguments of the plan value (None: derived when written, as
    `summary`, not read back)."""

    write: Callable[[Any], Any] | None = None
    read: Callable[[Any], Mapping[str, Any]] | None = None


DERIVED = Form()  # written from the value's property of the same name, not read back


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    value_type: ClassVar[Callable[..., Any]]


class _OpModel(_Strict):
    value_type = PatchOp

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
    # No value of its own: written from two attributes of the image and read back into
    # them (`_ImageModel.members`). A comment, not a docstring: that would be schema.
    managed: bool = False
    add: list[str] = []
    remove: list[str] = []


def _write_members(image: ImagePlan) -> dict[str, Any]:
    return {
        "managed": image.members_managed,
        "add": image.members.add,
        "remove": image.members.remove,
    }


def _read_members(members: _MembersModel) -> dict[str, Any]:
    return {
        "members": MemberChanges(tuple(members.add), tuple(members.remove)),
        "members_managed": members.managed,
    }


class _DataModel(_Strict):
    value_type = DataPlan

    location: str = Field(min_length=1)
    method: Literal["upload", "glance-direct", "web-download"]
    checksum: str = Field(pattern=r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|md5:[0-9a-f]{32})$")
    version: str | None = None
    size: int | None = Field(None, ge=0)
    compression: Literal["xz", "bz2", "gz", "zst"] | None = None
    mirrors: list[str] = []
    answered: str | None = None


class _StoresModel(_Strict):
    value_type = StorePlan

    wanted: list[str] = Field(min_length=1)
    live: list[str] = []
    missing: list[str] = []
    extra: list[str] = []
    prune: list[str] = []
    all_stores: bool = False


class _BuildModel(_Strict):
    value_type = BuildPlan

    id: str = Field(min_length=1)
    name: str
    role: BuildRole = Field(strict=False)
    new_name: Annotated[str | None, DERIVED] = None
    patch: list[_OpModel] = []
    activation: Activation | None = Field(None, strict=False)
    delete: bool = False
    status: str | None = None
    protected: bool = False
    version: str | None = None
    fingerprint: str = Field(min_length=1)
    note: str | None = None


class _ImageModel(_Strict):
    value_type = ImagePlan

    name: str
    id: str | None
    action: Action = Field(strict=False)
    source: str | None = None
    owner: str | None = None
    protected: bool = False
    patch: list[_OpModel] = []
    members: Annotated[_MembersModel, Form(_write_members, _read_members)] = _MembersModel()
    activation: Activation | None = Field(None, strict=False)
    status: str | None = None
    warnings: list[str] = []
    error: str | None = None
    fingerprint: str | None = None
    take_over_from: str | None = Field(None, pattern=CATALOG_PATTERN)
    data: _DataModel | None = None
    # Derived from `builds` (the outgoing current build's new name); kept for readers.
    rename_previous: Annotated[str | None, DERIVED] = Field(None, min_length=1, max_length=255)
    builds: list[_BuildModel] = []
    build_of: str | None = None
    stores: _StoresModel | None = None


class _TargetModel(_Strict):
    value_type = Target

    cloud: str | None = None
    region: str | None = None
    project_id: str | None = None
    image_endpoint: str | None = None
    name: str | None = None


def _read_others(counts: dict[str, int]) -> dict[str, Any]:
    return {"others": tuple(sorted(counts.items()))}


class _PlanModel(_Strict):
    value_type = Plan

    format_version: Annotated[Literal[1], Form(lambda _plan: FORMAT_VERSION)]
    tool_version: Annotated[str | None, Form(lambda _plan: __version__)] = None
    # Plan files written before catalogs existed belong to the default catalog.
    catalog: str = Field(DEFAULT_CATALOG, pattern=CATALOG_PATTERN)
    target: _TargetModel
    images: list[_ImageModel]
    other_catalogs: Annotated[
        dict[str, int], Form(lambda plan: dict(plan.others), _read_others)
    ] = {}
    summary: Annotated[dict[str, int], DERIVED] = {}
    has_changes: Annotated[bool, DERIVED] = False


# -- the two directions, derived from the models' fields -------------------------
#
# Each direction is compiled once per model into one function of a single expression
# (a dict display for writing, a constructor call for reading), as `dataclasses` makes
# `__init__`: a plan of 10,000 images is written with no per-field call or type test,
# as fast as the dicts were when written by hand. The source is made only of the
# models' field names (checked to be identifiers) and names of the functions below.


def _form(info: Any) -> Form | None:
    return next((meta for meta in info.metadata if isinstance(meta, Form)), None)


def _nested(annotation: Any) -> tuple[type[_Strict] | None, bool, bool]:
    """(the model a field holds, as a list?, may it be None?)."""
    origin, args = get_origin(annotation), get_args(annotation)
    optional = origin in (Union, types.UnionType) and type(None) in args
    if optional:
        [annotation] = [arg for arg in args if arg is not type(None)]
        origin, args = get_origin(annotation), get_args(annotation)
    many = origin is list
    inner = args[0] if many else annotation
    model = inner if isinstance(inner, type) and issubclass(inner, _Strict) else None
    if many and optional:  # the compiled source would iterate over None
        raise TypeError(f"{annotation}: an optional list is not a shape the plan uses")
    if model is None and any(_holds_model(arg) for arg in get_args(inner)):
        raise TypeError(f"{annotation}: a model inside a dict or tuple is not converted")
    return model, many, optional


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, _Strict):
        return True
    return any(_holds_model(arg) for arg in get_args(annotation))


@dataclass(frozen=True)
class _Field:
    name: str
    function: str  # the name its conversion has in the compiled source
    form: Form | None
    nested: type[_Strict] | None  # the model it holds
    many: bool  # a list
    optional: bool  # may be None

    def value(self, attribute: str, collect: str) -> str:
        """The source of the field's value from `attribute`: as it is, or converted by
        `function` (each member of a list, collected by `collect`; None kept)."""
        if self.nested is None:
            return f"{collect}({attribute})" if self.many and collect else attribute
        if self.many:
            return f"{collect}([{self.function}(x) for x in {attribute}])"
        if self.optional:
            return f"None if {attribute} is None else {self.function}({attribute})"
        return f"{self.function}({attribute})"


def _fields(model: type[_Strict]) -> Iterator[_Field]:
    for index, (name, info) in enumerate(model.model_fields.items()):
        if not name.isidentifier() or keyword.iskeyword(name):
            raise TypeError(f"{model.__name__}.{name}: not a field name to compile")
        yield _Field(name, f"_f{index}", _form(info), *_nested(info.annotation))


def _compiled(source: str, functions: dict[str, Any]) -> Callable[[Any], Any]:
    made: Callable[[Any], Any] = eval(source, {"__builtins__": {}, **functions})
    return made


def _writer(model: type[_Strict]) -> Callable[[Any], dict[str, Any]]:
    """The document of a plan value: its fields in the model's order, each its
    attribute (tuples stand for JSON lists, str enums for their text, as `json` writes
    them), a nested model's document (each one's, for a list; None kept), or what the
    field's `Form` writes from the whole value."""
    functions: dict[str, Any] = {}
    items = []
    for field in _fields(model):
        if field.form is not None and field.form.write is not None:
            functions[field.function] = field.form.write
            expr = f"{field.function}(v)"
        else:
            if field.nested is not None:
                functions[field.function] = _writer(field.nested)
            expr = field.value(f"v.{field.name}", "")
        items.append(f"{field.name!r}: {expr}")
    return _compiled("lambda v: {" + ", ".join(items) + "}", functions)


def _reader(model: type[_Strict]) -> Callable[[Any], Any]:
    """The plan value (`value_type`) of a validated model: each field given as the
    keyword of the same name (lists as tuples, nested models as their values; None
    kept), or as the keywords its `Form` reads; derived fields are left out."""
    functions: dict[str, Any] = {"_value": model.value_type, "_tuple": tuple}
    arguments = []
    for field in _fields(model):
        if field.form is None:
            if field.nested is not None:
                functions[field.function] = _reader(field.nested)
            arguments.append(f"{field.name}={field.value(f'm.{field.name}', '_tuple')}")
        elif field.form.read is not None:
            functions[field.function] = field.form.read
            arguments.append(f"**{field.function}(m.{field.name})")
    return _compiled("lambda m: _value(" + ", ".join(arguments) + ")", functions)


_write_plan = _writer(_PlanModel)
_read_plan = _reader(_PlanModel)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan document as `json` writes it (tuples for lists, str enums as text)."""
    return _write_plan(plan)


# -- strict reading ------------------------------------------------------------

_NEEDS_IDENTITY = (Action.UPDATE, Action.ADOPT, Action.REBUILD, Action.ROTATE, Action.DELETE)


def _refuse(item: _ImageModel) -> None:
    """What the schema cannot say about an image, checked again because a plan file
    may have been edited by hand: a rebuild names its data and its previous build, a
    change of a live image its id and fingerprint, pruning keeps a copy somewhere."""
    if item.action is Action.REBUILD and (
        item.data is None or not any(b.id == item.id for b in item.builds)
    ):
        raise PlanFileError(
            f"not a valid plan file: image {item.name!r} to rebuild has no data or "
            "no name for its previous build"
        )
    if item.action in _NEEDS_IDENTITY and (not item.id or not item.fingerprint):
        raise PlanFileError(
            f"not a valid plan file: image {item.name!r} to {item.action} has no id or fingerprint"
        )
    stores = item.stores
    if stores is not None and stores.prune and not (set(stores.live) - set(stores.prune)):
        raise PlanFileError(
            f"not a valid plan file: image {item.name!r}: prune would delete the image's last copy"
        )


def plan_from_dict(data: Any) -> Plan:
    try:
        model = _PlanModel.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PlanFileError(
            f"not a valid plan file: {where}: {first['msg']} ({err.error_count()} problem(s))"
        ) from None
    for item in model.images:
        _refuse(item)
    plan: Plan = _read_plan(model)
    return plan


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
