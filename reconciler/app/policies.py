"""The policy half of validate, plan, apply and drift: which policies a run names (`--policy`
and the manifests' `policy:`), loading them, and checking the desired images. File I/O
(reads manifests and policy files).

Plan and drift learn the manifests' `policy:` lists by loading the manifests once more,
and only when a manifest file's text mentions `policy` at all or `--policy` is given: a
run without policies pays nothing, not even the import of the policy modules (issue
16: `validate` of a file without policies starts without them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli.console import error, warning
from reconciler.cli.options import PolicyLevel
from reconciler.manifests.loader import Manifests, load_manifests, manifest_files

if TYPE_CHECKING:
    from reconciler.app.pipeline import TargetResult
    from reconciler.policy.models import Policy, Violation


def may_name_policies(paths: Sequence[Path]) -> bool:
    """Whether any manifest file's text mentions `policy` (a cheap, conservative test)."""
    files, _problems = manifest_files(paths)
    for path in files:
        try:
            if b"policy" in path.read_bytes():
                return True
        except OSError:
            return True  # the loader will say what is wrong
    return False


def run_policy(
    paths: Sequence[Path], given: Sequence[str], catalog: str | None
) -> tuple[Policy | None, Manifests | None]:
    """The run's combined policy (None: it names none) and the manifests read for it."""
    if not given and not may_name_policies(paths):
        return None, None
    manifests = load_manifests(paths, catalog=catalog)
    return named_policy(given, manifests), manifests


def named_policy(given: Sequence[str], manifests: Manifests) -> Policy | None:
    """The policy `--policy` and the manifests' `policy:` name together, if any."""
    if not given and not manifests.policies:
        return None
    from reconciler.policy.loader import cli_refs, load_policy

    return load_policy([*cli_refs(given), *manifests.policies])


def desired_violations(policy: Policy, manifests: Manifests) -> list[Violation]:
    from reconciler.policy.check import by_image, check
    from reconciler.policy.positions import desired_image_facts

    facts = desired_image_facts(manifests.images)
    return by_image(check(policy, facts), facts)


def print_violations(violations: Sequence[Violation], level: PolicyLevel) -> int:
    """Each violation as `error:` or `warning:` line; the number of errors."""
    if not violations:
        return 0
    from reconciler.policy.models import Level

    errors = 0
    for violation in violations:
        if violation.level is Level.error and level is PolicyLevel.error:
            error(str(violation))
            errors += 1
        else:
            warning(str(violation))
    return errors


def gate_results(
    results: Sequence[TargetResult], violations: Sequence[Violation], level: PolicyLevel
) -> list[TargetResult]:
    """Each target's plan with the entries that violate an error-level rule made errors
    (apply skips them), unless `level` is warning (then they are the plan's warnings)."""
    if not violations:
        return list(results)
    from reconciler.policy.enforce import gate_plan

    as_warnings = level is PolicyLevel.warning
    return [
        replace(r, plan=gate_plan(r.plan, violations, as_warnings)) if r.plan else r
        for r in results
    ]
