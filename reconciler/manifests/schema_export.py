"""Generate `schemas/manifest.schema.json`, `schemas/plan.schema.json`,
`schemas/drift.schema.json` and `schemas/policy.schema.json` from the pydantic models,
the single definition of each format. File I/O (writes schemas/).

Run `make schemas` (or `python -m reconciler.manifests.schema_export`); a test fails
when a committed schema is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reconciler.model.manifest import ManifestDocument
from reconciler.model.planfile import plan_json_schema
from reconciler.planning.drift import drift_json_schema
from reconciler.policy.models import PolicyDocument

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def manifest_schema() -> dict[str, Any]:
    schema = ManifestDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:reconciler:schemas:manifest:1"
    schema["description"] = (
        "A reconciler manifest document: the images an OpenStack project should have. "
        "Several documents may share a file."
    )
    return schema


def policy_schema() -> dict[str, Any]:
    schema = PolicyDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:reconciler:schemas:policy:1"
    schema["description"] = (
        "A reconciler policy: rules images are checked against (validate, plan and drift "
        "--policy, or a manifest's policy:)."
    )
    return schema


def rendered() -> dict[str, str]:
    schemas = {
        "manifest.schema.json": manifest_schema(),
        "plan.schema.json": plan_json_schema(),
        "drift.schema.json": drift_json_schema(),
        "policy.schema.json": policy_schema(),
    }
    return {name: json.dumps(s, indent=2, sort_keys=True) + "\n" for name, s in schemas.items()}


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else SCHEMA_DIR
    for name, text in rendered().items():
        (target / name).write_text(text)
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
