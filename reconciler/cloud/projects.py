"""Whether Keystone knows the projects images are shared with (`validate --online`):
Glance takes any string as a member and keeps it pending, so a typo shares the image
with no one and says nothing. Network I/O (one GET per project id).

Keystone lets a user read only the projects it may see (by default its own, or all
with a reader role on the system or domain): an answer of 403 says nothing about
existence, so those members are reported as not checked, never as missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_IDENTITY_V3 = {"service_type": "identity", "min_version": "3", "max_version": "3.latest"}


@dataclass(frozen=True)
class ProjectCheck:
    """What Keystone said about each project id: found, missing, or not allowed."""

    missing: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()  # 403 (not allowed to look), or the lookup failed
    found: tuple[str, ...] = ()


def check_projects(session: Any, interface: str, ids: Iterable[str]) -> ProjectCheck:
    """Look each id up once (GET /v3/projects/{id})."""
    from keystoneauth1 import exceptions as ks_exc

    missing, unchecked, found = [], [], []
    for project_id in sorted(set(ids)):
        try:
            response = session.get(
                f"/projects/{project_id}",
                endpoint_filter={**_IDENTITY_V3, "interface": interface},
                raise_exc=False,
            )
        except ks_exc.ClientException:
            unchecked.append(project_id)
            continue
        if response.status_code == 200:
            found.append(project_id)
        elif response.status_code == 404:
            missing.append(project_id)
        else:
            unchecked.append(project_id)
    return ProjectCheck(tuple(missing), tuple(unchecked), tuple(found))
