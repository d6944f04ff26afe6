"""Manifests for the benchmarks, generated from the live images (so the tool's plan
starts from exactly "no changes") with a chosen share of them changed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.model.image_view import CORE_ATTRIBUTES, MANAGED_RECORD


def entry(image: dict[str, Any]) -> dict[str, Any]:
    props = {
        k: v
        for k, v in image.items()
        if k not in CORE_ATTRIBUTES and k != MANAGED_RECORD and isinstance(v, str)
    }
    return {
        "name": image["name"],
        "id": image["id"],
        "tags": sorted(image.get("tags") or []),
        "properties": dict(sorted(props.items())),
    }


def changed(entries: list[dict[str, Any]], share: float, key: str, value: str) -> int:
    """Change `key` to `value` in every 1/share-th entry; return how many changed."""
    step = max(1, round(1 / share)) if share > 0 else 0
    count = 0
    for index, item in enumerate(entries):
        if step and index % step == 0:
            item["properties"][key] = value
            count += 1
    return count


def write(entries: Iterable[dict[str, Any]], path: Path) -> Path:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        yaml.dump({"version": 1, "images": list(entries)}, handle)
    return path
