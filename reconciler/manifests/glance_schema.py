"""Checks of desired images against Glance's image schema (the JSON Schema served at
`GET /v2/schemas/image`). Pure; the schema comes from the committed snapshot
(`schemas/glance-image.schema.json`) or, with `validate --online`, from the server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

from reconciler.model.image_view import CORE_ATTRIBUTES, MANAGED_RECORD, RESERVED_PREFIXES
from reconciler.model.manifest import DesiredImage

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class ImageSchema:
    """The parts of Glance's image schema that decide what a manifest may say."""

    raw: dict[str, Any]

    @property
    def properties(self) -> dict[str, Any]:
        props: dict[str, Any] = self.raw.get("properties", {})
        return props

    @cached_property
    def read_only_names(self) -> frozenset[str]:
        return frozenset(k for k, v in self.properties.items() if v.get("readOnly"))

    @cached_property
    def core_names(self) -> frozenset[str]:
        return frozenset(self.properties) | CORE_ATTRIBUTES

    def enum(self, attribute: str) -> list[Any] | None:
        values = self.properties.get(attribute, {}).get("enum")
        return [v for v in values if v is not None] if values else None

    def max_length(self, attribute: str) -> int | None:
        spec = self.properties.get(attribute, {})
        if attribute == "tags":
            spec = spec.get("items", {})
        length = spec.get("maxLength")
        return int(length) if length is not None else None


@cache
def snapshot() -> ImageSchema:
    """The schema snapshot shipped with the package (taken from a Glance 33 sandbox)."""
    text = resources.files("reconciler.data").joinpath("glance-image.schema.json").read_text()
    return ImageSchema(json.loads(text))


def check_image(image: DesiredImage, schema: ImageSchema) -> list[tuple[tuple[str, ...], str]]:
    """Problems of one desired image: (field path inside the entry, message)."""
    problems = enum_problems(image.core_dict, schema)
    name_max = schema.max_length("name")
    if name_max and len(image.name) > name_max:
        problems.append((("name",), f"name is longer than {name_max} characters"))
    tag_max = schema.max_length("tags")
    for tag in image.tags or ():
        if tag_max and len(tag) > tag_max:
            problems.append((("tags",), f"tag {tag[:20]!r}... is longer than {tag_max} characters"))
    for key, _value in image.properties:
        problem = property_key_problem(key, schema)
        if problem is not None:
            problems.append((("properties", key), problem))
    return problems


ENUM_ATTRIBUTES = ("visibility", "disk_format", "container_format")


def enum_problems(
    block: Mapping[str, Any], schema: ImageSchema
) -> list[tuple[tuple[str, ...], str]]:
    """The enum attributes of an entry (or of a raw entry or defaults block, read before
    the rest of its document is valid) whose value Glance does not allow."""
    problems: list[tuple[tuple[str, ...], str]] = []
    for attribute in ENUM_ATTRIBUTES:
        allowed = schema.enum(attribute)
        value = block.get(attribute)
        if isinstance(value, str) and allowed and value not in allowed:
            problems.append(
                ((attribute,), f"{attribute} {value!r} is not one of {', '.join(allowed)}")
            )
    return problems


def property_key_problem(key: str, schema: ImageSchema) -> str | None:
    """Why a manifest may not name `key` as a custom property, or None if it may."""
    if key in schema.read_only_names:
        return f"{key!r} is a read-only attribute set by the server"
    if key in schema.core_names:
        return (
            f"{key!r} is a core attribute, not a custom property; "
            "set it at the image level if the manifest supports it"
        )
    if key == MANAGED_RECORD:
        return f"{key!r} is the tool's own management record"
    if key.startswith(RESERVED_PREFIXES):
        return f"{key!r} is reserved by Glance (os_glance*)"
    if len(key) > MAX_KEY_LENGTH or not key:
        return f"property names must be 1 to {MAX_KEY_LENGTH} characters"
    return None
