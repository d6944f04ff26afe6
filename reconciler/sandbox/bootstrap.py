"""One-time set-up of a new sandbox: Keystone's database and keys, the identity objects
(projects, users, roles, the image service in the catalog), Glance's database, and the
seeded base images. Process and network I/O.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from reconciler.errors import SandboxError
from reconciler.sandbox.configs import DOMAIN, REGION, SANDBOX_USERS, region_names
from reconciler.sandbox.processes import run_checked, venv_script
from reconciler.sandbox.state import SandboxPaths, SandboxState

# Two public images owned by the admin project: usable by everyone, changeable by none
# of the demo users (a PATCH answers 403 "not authorized to complete modify_image").
BASE_IMAGES: tuple[dict[str, Any], ...] = (
    {
        "name": "base-ubuntu-24.04",
        "visibility": "public",
        "disk_format": "raw",
        "container_format": "bare",
        "min_disk": 3,
        "tags": ["base", "lts"],
        "os_distro": "ubuntu",
        "os_version": "24.04",
        "hw_disk_bus": "virtio",
        "x_billing_code": "base-001",
    },
    {
        "name": "base-debian-12",
        "visibility": "public",
        "disk_format": "raw",
        "container_format": "bare",
        "min_disk": 2,
        "tags": ["base"],
        "os_distro": "debian",
        "os_version": "12",
        "hw_disk_bus": "virtio",
        "x_billing_code": "base-002",
    },
)

PROJECTS = ("service", "demo", "other")


def new_password() -> str:
    return secrets.token_urlsafe(18)


def new_passwords() -> dict[str, str]:
    users = {user for user, _project, _role in SANDBOX_USERS.values()}
    return {user: new_password() for user in sorted(users | {"glance"})}


def keystone_database(paths: SandboxPaths, state: SandboxState, admin_password: str) -> None:
    """db_sync, fernet and credential keys, bootstrap (admin, region, identity endpoint)."""
    manage = venv_script("keystone-manage")
    conf = str(paths.keystone / "keystone.conf")
    log = paths.log("keystone-setup")
    owner = ["--keystone-user", "root", "--keystone-group", "root"] if os.geteuid() == 0 else []
    run_checked([manage, "--config-file", conf, "db_sync"], log)
    run_checked([manage, "--config-file", conf, "fernet_setup", *owner], log)
    run_checked([manage, "--config-file", conf, "credential_setup", *owner], log)
    env = dict(os.environ, OS_BOOTSTRAP_PASSWORD=admin_password)
    run_checked(
        [
            manage,
            "--config-file",
            conf,
            "bootstrap",
            "--bootstrap-username",
            "admin",
            "--bootstrap-project-name",
            "admin",
            "--bootstrap-role-name",
            "admin",
            "--bootstrap-public-url",
            state.keystone_url,
            "--bootstrap-region-id",
            REGION,
        ],
        log,
        env=env,
    )


def glance_database(paths: SandboxPaths) -> list[str]:
    """The glance-manage command that creates Glance's schema (run by the caller)."""
    return [
        venv_script("glance-manage"),
        "--config-file",
        str(paths.glance / "glance-api.conf"),
        "db_sync",
    ]


def admin_session(
    state: SandboxState, admin_password: str, verify: str | bool = True
) -> ks_session.Session:
    auth = v3.Password(
        auth_url=state.keystone_url,
        username="admin",
        password=admin_password,
        project_name="admin",
        user_domain_name=DOMAIN,
        project_domain_name=DOMAIN,
    )
    return ks_session.Session(auth=auth, verify=verify)


class IdentityAdmin:
    """The few Keystone v3 admin calls bootstrap needs, each idempotent (find or create)."""

    def __init__(self, sess: ks_session.Session, keystone_url: str) -> None:
        self.sess = sess
        self.url = keystone_url

    def _find_or_create(
        self, collection: str, key: str, query: dict[str, str], body: dict[str, Any]
    ) -> str:
        found = self.sess.get(f"{self.url}/{collection}", params=query).json()[collection]
        if found:
            return str(found[0]["id"])
        created = self.sess.post(f"{self.url}/{collection}", json={key: body}).json()
        return str(created[key]["id"])

    def domain_id(self) -> str:
        return str(
            self.sess.get(f"{self.url}/domains", params={"name": DOMAIN}).json()["domains"][0]["id"]
        )

    def project(self, name: str, domain_id: str) -> str:
        return self._find_or_create(
            "projects",
            "project",
            {"name": name},
            {"name": name, "domain_id": domain_id, "description": f"sandbox {name}"},
        )

    def user(self, name: str, password: str, domain_id: str) -> str:
        return self._find_or_create(
            "users",
            "user",
            {"name": name},
            {"name": name, "password": password, "domain_id": domain_id},
        )

    def role(self, name: str) -> str:
        return self._find_or_create("roles", "role", {"name": name}, {"name": name})

    def grant(self, project_id: str, user_id: str, role_id: str) -> None:
        self.sess.put(f"{self.url}/projects/{project_id}/users/{user_id}/roles/{role_id}")

    def image_endpoint(self, glance_url: str, regions: list[str]) -> None:
        """The image service, with glance_url as its public endpoint in every region
        (the regions created when missing); other image endpoints are removed."""
        service_id = self._find_or_create(
            "services",
            "service",
            {"type": "image"},
            {"type": "image", "name": "glance", "enabled": True},
        )
        existing = self.sess.get(
            f"{self.url}/endpoints", params={"service_id": service_id, "interface": "public"}
        ).json()["endpoints"]
        for endpoint in existing:
            self.sess.delete(f"{self.url}/endpoints/{endpoint['id']}")
        known = {region["id"] for region in self.sess.get(f"{self.url}/regions").json()["regions"]}
        for region in regions:
            if region not in known:
                self.sess.post(f"{self.url}/regions", json={"region": {"id": region}})
        for region in regions:
            self.sess.post(
                f"{self.url}/endpoints",
                json={
                    "endpoint": {
                        "service_id": service_id,
                        "interface": "public",
                        "url": glance_url,
                        "region_id": region,
                        "enabled": True,
                    }
                },
            )


def identity_objects(
    state: SandboxState, passwords: dict[str, str], verify: str | bool = True
) -> dict[str, str]:
    """Projects, users and role grants of SANDBOX_USERS plus the glance service user.

    Returns project name -> id.
    """
    admin = IdentityAdmin(admin_session(state, passwords["admin"], verify), state.keystone_url)
    domain_id = admin.domain_id()
    project_ids = {name: admin.project(name, domain_id) for name in PROJECTS}
    project_ids["admin"] = admin.project("admin", domain_id)
    roles = {name: admin.role(name) for name in ("admin", "member", "reader")}
    glance_user = admin.user("glance", passwords["glance"], domain_id)
    admin.grant(project_ids["service"], glance_user, roles["admin"])
    for user, project, role in SANDBOX_USERS.values():
        if user == "admin":
            continue
        user_id = admin.user(user, passwords[user], domain_id)
        admin.grant(project_ids[project], user_id, roles[role])
    admin.image_endpoint(state.glance_url, region_names(state.regions))
    return project_ids


def register_regions(state: SandboxState, admin_password: str, verify: str | bool = True) -> None:
    """The regions of state.regions in Keystone, each with the image endpoint."""
    admin = IdentityAdmin(admin_session(state, admin_password, verify), state.keystone_url)
    admin.image_endpoint(state.glance_url, region_names(state.regions))


def seed_base_images(
    state: SandboxState,
    admin_password: str,
    log: Callable[[str], None],
    verify: str | bool = True,
) -> list[str]:
    """Create BASE_IMAGES as admin (with 1 KiB of data so they are `active`)."""
    sess = admin_session(state, admin_password, verify)
    ids: list[str] = []
    for spec in BASE_IMAGES:
        listed = sess.get(f"{state.glance_url}/v2/images", params={"name": spec["name"]}).json()[
            "images"
        ]
        if listed:
            ids.append(listed[0]["id"])
            continue
        image = sess.post(f"{state.glance_url}/v2/images", json=spec).json()
        sess.put(
            f"{state.glance_url}/v2/images/{image['id']}/file",
            data=bytes(1024),
            headers={"Content-Type": "application/octet-stream"},
        )
        ids.append(image["id"])
        log(f"seeded base image {spec['name']} ({image['id']})")
    return ids


def check_paste_ini(path: Path) -> None:
    if not path.exists():
        raise SandboxError(f"Glance's paste config {path} is missing; reinstall the sandbox extra")
