"""The policy half of validate, plan, apply and drift: the policies a run names
(`--policy` and the manifests' `policy:`), loaded once, and the desired images checked
against them with each field's file:line from the loader's own parse. Reads policy files
only (the manifests are read once, by the loader).

The policy modules are imported only when a run names a policy: a run without policies
pays nothing for them (issue 16: `validate` of a file without policies starts without
them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.app.pipeline import TargetResult
    from reconciler.manifests.loader import Manifests
    from reconciler.policy.models import Policy, Violation


def named_policy(given: Sequence[str], manifests: Manifests) -> Policy | None:
    """The policy `--policy` and the manifests' `policy:` name together, if any."""
    if not given and not manifests.policies:
        return None
    from reconciler.policy.loader import cli_refs, load_policy

    return load_policy([*cli_refs(given), *manifests.policies])


def desired_violations(policy: Policy, manifests: Manifests) -> list[Violation]:
    """The desired images' violations, at the file:line of the field each concerns."""
    from reconciler.policy.check import by_image, check
    from reconciler.policy.positions import desired_image_facts

    facts = desired_image_facts(manifests.images, manifests.documents)
    return by_image(check(policy, facts), facts)


def gate_results(
    results: Sequence[TargetResult], violations: Sequence[Violation], as_warnings: bool
) -> list[TargetResult]:
    """Each target's plan with the entries that violate an error-level rule made errors
    (apply skips them), unless `as_warnings` (then they are the plan's warnings)."""
    if not violations:
        return list(results)
    from reconciler.policy.enforce import gate_plan

    return [
        replace(r, plan=gate_plan(r.plan, violations, as_warnings)) if r.plan else r
        for r in results
    ]
