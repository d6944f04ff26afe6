"""An entry's rotation policy (`rotation:`): what its builds become once a newer build
takes the name. Pure.

The builds of an entry are the catalog's images whose management record names that
entry. The newest carries the plain name (the current build); the others are
*previous* builds: renamed by the `rename` template, given the `previous` metadata, and,
beyond `keep` builds (the current one included), *retired*: hidden (`os_hidden`),
deactivated, or deleted. Without `rotation:`, a new build renames the one it replaces
(`"{name} {version}"`) and nothing else is done to older builds.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PLACEHOLDERS = ("name", "version", "build_date")
DEFAULT_RENAME = "{name} {version}"
RETIRE_ACTIONS = ("hide", "deactivate", "delete")


def template_problem(template: str) -> str | None:
    """Why `template` cannot name previous builds, or None. Only the placeholders
    `{name}`, `{version}`, `{build_date}` (no format specs); a `{version}` or
    `{build_date}` is needed so each build gets its own name, never the plain one."""
    try:
        fields = [
            (field, spec, conversion)
            for _text, field, spec, conversion in string.Formatter().parse(template)
            if field is not None
        ]
    except ValueError as err:
        return f"rename template {template!r} is not valid ({err}); use {{name}} {{version}}"
    for field, spec, conversion in fields:
        if field not in PLACEHOLDERS or spec or conversion:
            shown = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            return f"rename template {template!r}: unknown placeholder {{{field}}} (use {shown})"
    if not {field for field, _s, _c in fields} & {"version", "build_date"}:
        return (
            f"rename template {template!r} needs {{version}} or {{build_date}}: every previous "
            "build needs a name of its own, never the plain name"
        )
    return None


def render(template: str, name: str, version: str, build_date: str) -> str:
    """The template filled in (checked by `template_problem` when loaded), cut to
    Glance's 255 characters."""
    return template.format(name=name, version=version, build_date=build_date)[:255]


@dataclass(frozen=True)
class Rotation:
    """An entry's rotation policy, merged and checked (see the module docstring)."""

    rename: str = DEFAULT_RENAME
    # Metadata every previous build gets: managed core attributes and custom properties
    # (None: remove), in the form of `DesiredImage.core` / `.properties`.
    previous_core: tuple[tuple[str, Any], ...] = ()
    previous_properties: tuple[tuple[str, str | None], ...] = ()
    keep: int | None = None  # builds kept, the current one included; None: all
    retired: str = "hide"  # hide | deactivate | delete, for builds beyond `keep`
    declared: bool = True  # False: the image-data default (rename only, older builds untouched)


# A new build without `rotation:`: the build it replaces is renamed, nothing else.
DEFAULT_ROTATION = Rotation(declared=False)


class PreviousSpec(BaseModel):
    """Metadata set on builds that are no longer current (`rotation.previous`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    visibility: str | None = Field(
        None,
        description="public, private, shared or community.",
        json_schema_extra={"enum": ["public", "private", "shared", "community"]},
    )
    os_hidden: bool | None = Field(None, description="Hide previous builds from listings.")
    protected: bool | None = Field(None, description="Protect previous builds.")
    properties: dict[str, str | None] | None = Field(
        None,
        description=(
            "Custom properties of previous builds (e.g. os_purpose: oldgeneric); null or "
            "false removes one."
        ),
    )


class RotationSpec(BaseModel):
    """What builds become once a newer build takes the name (`rotation:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    rename: str = Field(
        DEFAULT_RENAME,
        min_length=1,
        max_length=255,
        description=(
            "The name a build gets once a newer one takes the name. Placeholders: {name}, "
            "{version} (the build's source version, else its build date), {build_date} "
            "(YYYYMMDD: image_build_date, else when the image was created)."
        ),
    )
    previous: PreviousSpec | None = Field(
        None, description="Metadata set on every build that is no longer current."
    )
    keep: int | None = Field(
        None,
        ge=1,
        description="Builds kept, the current one included; older ones are retired. "
        "Left out: all are kept.",
    )
    retired: Literal["hide", "deactivate", "delete"] | None = Field(
        None,
        description=(
            "What happens to builds beyond `keep`: hide (os_hidden: true), deactivate, or "
            "delete (never a protected image; instances booted from it keep running, but "
            "cannot be rebuilt from it). Default: hide."
        ),
    )
