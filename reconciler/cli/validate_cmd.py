"""`reconciler validate`: the manifests checked offline (or against the server's schema,
import methods, stores and Keystone's projects with --online), and against policies.
What the pre-commit hook runs on every commit: it imports only what validation needs
(no renderer, no pipeline unless --online)."""

from __future__ import annotations

from pathlib import Path

import typer

from reconciler.cli.console import info, warning
from reconciler.cli.options import (
    DEFAULT_CLOUD,
    CatalogOption,
    Paths,
    PolicyLevelOption,
    PolicyOption,
    cloud_command,
)
from reconciler.cli.outcome import print_violations
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.model.cloud_options import CloudOptions
from reconciler.policy.refs import PolicyLevel


@cloud_command
def validate(
    paths: list[Path] = Paths,
    online: bool = typer.Option(False, "--online", help="Use the target server's image schema."),
    catalog: str | None = CatalogOption,
    policies: list[str] = PolicyOption,
    policy_level: PolicyLevel = PolicyLevelOption,
    cloud: CloudOptions = DEFAULT_CLOUD,
) -> None:
    """Check manifests offline (or against the server's schema, enabled import
    methods and stores with --online).

    --policy (and the manifests' policy:) also checks each image against policies:
    violations at file:line with the rule id; errors exit 1."""
    from reconciler.app.validation import validate as check

    found = check(paths, catalog, policies, cloud if online else None)
    manifests, policy, violations = found.manifests, found.policy, found.violations
    for line in manifests.warnings:
        warning(line)
    failing = print_violations(violations, policy_level)
    if found.unchecked_members:
        info(
            f"{found.unchecked_members} member project(s) not checked: these credentials "
            "may not look them up in Keystone (a reader role on the domain or system may)"
        )
    if found.problems:
        raise ManifestError(found.problems)
    if failing:
        raise ReconcilerError(
            f"{failing} policy violation(s) (the error lines above); "
            "--policy-level warning reports them as warnings"
        )
    checked = ""
    if policy is not None:
        warned = len(violations)
        checked = f", policies {', '.join(policy.names)} ({len(policy.rules)} rules)" + (
            f": {warned} warning(s)" if warned else ""
        )
    info(
        f"valid: {len(manifests.images)} image(s) in {found.files} file(s), "
        f"catalog {manifests.catalog}"
        + (" (checked against the server's schema)" if online else "")
        + checked
    )
