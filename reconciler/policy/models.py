"""The policy file format: pydantic models (the single definition, exported to
`schemas/policy.schema.json`), and the `Violation` a check reports. No I/O.

A policy is a list of rules. Each rule has an id, a message, a level (error or
warning), a selector (which images it applies to; left out: every image) and one
requirement. Requirement kinds, one per rule:

- `property`: the custom property must be present; with `one_of`, `pattern`, `integer`
  or `date` its value must also pass **one** of the checks given (so `provided_until`
  can be a date or one of `none`, `notice`). `optional: true` checks the value only
  when the property is there.
- `attribute`: a core attribute (`min_disk`, `min_ram`, `visibility`, `os_hidden`,
  `protected`, `disk_format`, `container_format`, `name`) must be set and pass `min`,
  `max`, `one_of`, `equals`, `pattern` (all that are given).
- `source`: the image's data must hash with one of `algorithms` (a desired image: its
  `source:` checksum; a live image: Glance's `os_hash_algo`).
- `unique`: at most one selected image per combination of these properties' values.
- `rotation_marker`: an image that is a previous build of an entry (its record names
  another entry than its name) must be hidden or end its name with a marker.
- `stored`: a check of the image as Glance stores it (live images only):
  `min_disk_covers_size`, `build_date_not_after_creation`, `replaced_in_time` (an image
  older than its `replace_frequency` allows is hidden or ends its name with a marker,
  `pattern`; needs the time of the check).

Several policies combine: their rules in order; a rule whose id an earlier one has
replaces it (a user file can redefine a built-in rule, e.g. as a warning), and
`disable:` drops rules by id.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler.model.image_view import MANAGED_CORE
from reconciler.policy.refs import PolicyRef

__all__ = ["PolicyRef"]  # re-exported: where a run names its policies

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9._/-]{0,127}$"
# The core attributes a rule may name: those the tool manages.
ATTRIBUTES: tuple[str, ...] = MANAGED_CORE
VISIBILITIES = ("public", "private", "shared", "community")
# Date format tokens (case matters: MM month, mm minute) -> (regex, strptime code).
DATE_TOKENS: dict[str, tuple[str, str]] = {
    "YYYY": (r"\d{4}", "%Y"),
    "MM": (r"\d{2}", "%m"),
    "DD": (r"\d{2}", "%d"),
    "hh": (r"\d{2}", "%H"),
    "mm": (r"\d{2}", "%M"),
    "ss": (r"\d{2}", "%S"),
}
_TOKEN_RE = re.compile("|".join(sorted(DATE_TOKENS, key=len, reverse=True)))
DEFAULT_ROTATION_MARKER = r" (\d{8}|\d{4}-\d{2}-\d{2}|old|prev)$"


class Level(StrEnum):
    error = "error"
    warning = "warning"


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a regular expression: {err}") from None
    return value


def date_format(fmt: str) -> tuple[re.Pattern[str], str]:
    """A format such as `YYYY-MM-DD hh:mm` as (a strict regex, a strptime format)."""
    pattern, strp, at = "", "", 0
    for match in _TOKEN_RE.finditer(fmt):
        literal = fmt[at : match.start()]
        pattern += re.escape(literal)
        strp += literal.replace("%", "%%")
        regex, code = DATE_TOKENS[match.group()]
        pattern += regex
        strp += code
        at = match.end()
    pattern += re.escape(fmt[at:])
    strp += fmt[at:].replace("%", "%%")
    return re.compile(f"^{pattern}$"), strp


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class IntegerRange(_Strict):
    min: int | None = Field(None, description="Smallest allowed value.")
    max: int | None = Field(None, description="Largest allowed value.")


class Selector(_Strict):
    """Which images a rule applies to: all criteria given must hold."""

    visibility: list[Literal["public", "private", "shared", "community"]] | None = Field(
        None,
        min_length=1,
        description=(
            "The image's visibility is one of these (a desired image that does not set it "
            "matches none)."
        ),
    )
    name: str | None = Field(
        None, description="A regular expression the name must match (re.search)."
    )
    tags: list[str] | None = Field(None, description="The image has every one of these tags.")
    properties: dict[str, str] | None = Field(
        None, description="Custom properties that must have exactly these values."
    )
    present: list[str] | None = Field(
        None, description="Custom properties that must be present (any value)."
    )
    hidden: bool | None = Field(
        None, description="os_hidden is this (an image that does not set it is not hidden)."
    )

    _check_name = field_validator("name")(_regex)


class Requirement(_Strict):
    """What a selected image must satisfy: exactly one of `property`, `attribute`,
    `source`, `unique`, `rotation_marker`, `stored`, `stores`, with the checks that kind
    takes."""

    property: str | None = Field(None, min_length=1, description="A custom property.")
    attribute: str | None = Field(
        None,
        description="A core attribute.",
        json_schema_extra={"enum": list(ATTRIBUTES)},
    )
    source: bool | None = Field(
        None, description="The image's data must hash with one of `algorithms`."
    )
    unique: list[str] | None = Field(
        None,
        min_length=1,
        description="At most one selected image per combination of these properties.",
    )
    stored: (
        Literal["min_disk_covers_size", "build_date_not_after_creation", "replaced_in_time"] | None
    ) = Field(
        None,
        description=(
            "A check of the stored image (live images only; desired ones have no size or "
            "creation time): min_disk_covers_size (min_disk GiB hold the data), "
            "build_date_not_after_creation (image_build_date is not after created_at), "
            "replaced_in_time (an image older than its replace_frequency allows is "
            "hidden or named with a rotation marker)."
        ),
    )
    stores: list[str] | None = Field(
        None,
        min_length=1,
        description=(
            "The image's data must be in every one of these Glance stores (multi-store): "
            "a desired image declares them in `stores:` (or `stores: all`), a live image "
            "is in them (its `stores` attribute)."
        ),
    )
    rotation_marker: bool | None = Field(
        None,
        description=(
            "A previous build must be hidden (os_hidden) or its name must match `pattern` "
            f"(default {DEFAULT_ROTATION_MARKER!r})."
        ),
    )
    # property: its value passes one of these (any that are given).
    one_of: list[str | int | bool] | None = Field(
        None, min_length=1, description="Allowed values (property or attribute)."
    )
    pattern: str | None = Field(
        None, description="A regular expression the whole value must match (re.fullmatch)."
    )
    integer: IntegerRange | None = Field(
        None, description="The property is a whole number within this range."
    )
    date: list[str] | None = Field(
        None,
        min_length=1,
        description="The property is a date in one of these formats (YYYY MM DD hh mm ss).",
    )
    optional: bool = Field(
        False, description="property: check the value only when the property is present."
    )
    # attribute
    min: int | None = Field(None, description="attribute: at least this.")
    max: int | None = Field(None, description="attribute: at most this.")
    equals: str | int | bool | None = Field(None, description="attribute: exactly this.")
    # source
    algorithms: list[Literal["sha256", "sha512", "md5"]] | None = Field(
        None, min_length=1, description="source: the allowed hash algorithms."
    )
    required: bool = Field(
        True,
        description=(
            "source: an image whose data hash is not known (no `source:`, no data yet) "
            "violates the rule; false: it is skipped."
        ),
    )

    _check_pattern = field_validator("pattern")(_regex)

    @field_validator("date")
    @classmethod
    def _check_dates(cls, value: list[str] | None) -> list[str] | None:
        for fmt in value or ():
            if not _TOKEN_RE.search(fmt):
                raise ValueError(f"date format {fmt!r} has none of YYYY, MM, DD, hh, mm, ss")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Requirement:
        kinds = [k for k in KINDS if getattr(self, k) not in (None, False)]
        if len(kinds) != 1:
            raise ValueError(
                "a requirement has exactly one of " + ", ".join(KINDS) + f" (got {kinds or 'none'})"
            )
        (kind,) = kinds
        allowed = KIND_FIELDS[kind]
        extra = [
            name
            for name in CHECK_FIELDS
            if name not in allowed and getattr(self, name) != Requirement.model_fields[name].default
        ]
        if extra:
            raise ValueError(f"{', '.join(extra)} cannot go with {kind}")
        if kind == "attribute" and self.attribute not in ATTRIBUTES:
            raise ValueError(
                f"unknown attribute {self.attribute!r} (known: {', '.join(ATTRIBUTES)})"
            )
        if kind == "source" and not self.algorithms:
            raise ValueError("source needs algorithms, e.g. [sha256, sha512]")
        return self

    @builtins.property  # `property` is a field of this model
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) not in (None, False))


KINDS = ("property", "attribute", "source", "unique", "rotation_marker", "stored", "stores")
CHECK_FIELDS = (
    "one_of",
    "pattern",
    "integer",
    "date",
    "optional",
    "min",
    "max",
    "equals",
    "algorithms",
    "required",
)
KIND_FIELDS: dict[str, frozenset[str]] = {
    "property": frozenset({"one_of", "pattern", "integer", "date", "optional"}),
    "attribute": frozenset({"one_of", "pattern", "min", "max", "equals"}),
    "source": frozenset({"algorithms", "required"}),
    "unique": frozenset(),
    "rotation_marker": frozenset({"pattern"}),
    "stored": frozenset({"pattern"}),
    "stores": frozenset(),
}


class Rule(_Strict):
    id: str = Field(pattern=RULE_ID_PATTERN, description="Unique id, shown with each violation.")
    message: str = Field(min_length=1, description="What a violation means to a reader.")
    level: Literal["error", "warning"] = Field(
        "error", description="error fails validate/plan/drift; warning only warns."
    )
    select: Selector = Field(default_factory=Selector, description="Left out: every image.")
    require: Requirement


class PolicyDocument(_Strict):
    """A policy file."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        title="reconciler policy",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    version: Literal[1] = Field(description="The policy format version.")
    description: str | None = Field(None, description="What the policy is for.")
    disable: list[str] = Field(
        default_factory=list,
        description="Ids of rules (of policies named before this one) to turn off.",
    )
    rules: list[Rule] = Field(default_factory=list)


@dataclass(frozen=True)
class LoadedRule:
    """A rule with where it was defined (`file:line`, or `scs-0102:line` built in)."""

    rule: Rule
    origin: str


@dataclass(frozen=True)
class Policy:
    """The rules of a run, combined from every policy named, in order."""

    names: tuple[str, ...]
    rules: tuple[LoadedRule, ...]

    def __bool__(self) -> bool:
        return bool(self.rules)


@dataclass(frozen=True)
class Violation:
    """One rule one image breaks. `where` is `file:line:col` for a desired image (the
    field's, or the entry's when the field is missing), None for a live image."""

    rule_id: str
    level: Level
    message: str  # the rule's message
    detail: str  # what was found: `hw_disk_bus is "ide"`
    image: str  # the image's name
    image_id: str | None = None
    entry: str | None = None  # a desired image's `file:line` (`DesiredImage.origin`)
    where: str | None = None
    field: str | None = None  # the property or attribute concerned

    def __str__(self) -> str:
        """`images.yaml:7:5: 'Ubuntu 24.04' violates scs-0102/min-disk: min_disk is not
        set (min_disk (GiB) must be set, at least 1)`."""
        where = f"{self.where}: " if self.where else ""
        return f"{where}{self.image!r} violates {self.rule_id}: {self.detail} ({self.message})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "level": self.level.value,
            "message": self.message,
            "detail": self.detail,
            "field": self.field,
            "where": self.where,
        }
