"""`validate` without its arguments or its view: the manifests read once (against the
server's image schema with `online`), their policy check, and with `online` what only
the server knows: its enabled import methods, its stores, whether Keystone knows each
member project. Reads files; with `online` network I/O (reads only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.app.policies import desired_violations, named_policy
from reconciler.manifests.glance_schema import ImageSchema
from reconciler.manifests.loader import Manifests, load_manifests, manifest_files
from reconciler.model.source import disabled_method, enabled_methods
from reconciler.planning.stores import unknown_stores

if TYPE_CHECKING:
    from reconciler.cloud.auth import Connection
    from reconciler.model.cloud_options import CloudOptions
    from reconciler.model.manifest import DesiredImage
    from reconciler.policy.models import Policy, Violation


@dataclass(frozen=True)
class Validation:
    """What `validate` found: the manifests, the policy and its violations, and with
    `online` the problems only the server could tell (file:line: message each)."""

    manifests: Manifests
    files: int
    online: bool = False
    policy: Policy | None = None
    violations: list[Violation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unchecked_members: int = 0  # member projects these credentials may not look up


def validate(
    paths: Sequence[Path],
    catalog: str | None,
    policies: Sequence[str],
    online: CloudOptions | None = None,
) -> Validation:
    """The manifests checked offline, or against the cloud `online` names."""
    if online is None:
        manifests = load_manifests(paths, None, catalog)
        return _checked(paths, manifests, policies)
    from reconciler.app.pipeline import available_stores, glance_client
    from reconciler.cloud.auth import connect

    connection = connect(online)
    client = glance_client(connection, online.timeout)
    schema = ImageSchema(client.image_schema())
    enabled = enabled_methods(client.import_info())
    manifests = load_manifests(paths, schema, catalog)
    available = available_stores(client, manifests.images)
    problems = [
        f"{image.origin}: {problem}"
        for image in manifests.images
        if image.data is not None
        and (problem := disabled_method(image.data.method, enabled)) is not None
    ]
    problems += [
        f"{image.origin}: {problem}"
        for image, problem in unknown_stores(manifests.images, available)
    ]
    missing, unchecked = _member_problems(manifests.images, connection)
    return _checked(paths, manifests, policies, [*problems, *missing], unchecked)


def _checked(
    paths: Sequence[Path],
    manifests: Manifests,
    policies: Sequence[str],
    problems: Sequence[str] | None = None,
    unchecked: int = 0,
) -> Validation:
    policy = named_policy(policies, manifests)
    violations = desired_violations(policy, manifests) if policy else []
    files, _ = manifest_files(paths)
    return Validation(
        manifests,
        len(files),
        problems is not None,
        policy,
        violations,
        list(problems or ()),
        unchecked,
    )


def _member_problems(images: list[DesiredImage], connection: Connection) -> tuple[list[str], int]:
    """Members Keystone says do not exist, at each entry naming them, and how many these
    credentials may not look up (counted, not guessed at)."""
    from reconciler.cloud.projects import check_projects

    members = {m for image in images for m in image.members or ()}
    if not members:
        return [], 0
    found = check_projects(connection.session, connection.interface, members)
    missing = set(found.missing)
    return [
        f"{image.origin}: member {member!r}: no such project in Keystone "
        f"(cloud {connection.cloud or '-'})"
        for image in images
        for member in image.members or ()
        if member in missing
    ], len(found.unchecked)
