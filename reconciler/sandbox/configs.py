"""Text of the sandbox's config files: keystone.conf, glance-api.conf, property
protections and clouds.yaml. Pure: each function returns a string.

Glance serves image data by all three methods: upload (`PUT /file`), glance-direct
(`PUT /stage` + import) and web-download (import from a URL; the sandbox's own loopback
mirror is allowed as a source), plus copy-image. Staging and the tasks' work folder
are in the state folder. What Glance does with data is in docs/image-data-probes.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.sandbox.state import SandboxPaths, SandboxState

REGION = "RegionOne"
# A second region whose image endpoint is the same Glance: lets multi-target runs be
# tested against one sandbox.
SECOND_REGION = "RegionTwo"


def region_names(count: int) -> list[str]:
    """The regions `up --regions N` registers: RegionOne, RegionTwo, Region3, ... (each
    with the same Glance as its image endpoint: multi-target runs against one sandbox)."""
    return [REGION, SECOND_REGION, *(f"Region{n}" for n in range(3, count + 1))][:count]


DOMAIN = "Default"

# The single store's name in a default sandbox (its data in glance/images).
DEFAULT_STORE = "fs"


def store_names(count: int) -> list[str]:
    """Glance's stores in a sandbox of `up --stores N`: the one `fs` store by default,
    store1 ... storeN (store1 the default backend) when N is more than 1."""
    if count <= 1:
        return [DEFAULT_STORE]
    return [f"store{n}" for n in range(1, count + 1)]


def store_dir(paths: SandboxPaths, name: str) -> Path:
    """The folder a file store keeps its images in."""
    if name == DEFAULT_STORE:
        return paths.glance / "images"
    return paths.glance / "stores" / name


def _stores_conf(paths: SandboxPaths, names: list[str]) -> tuple[str, str]:
    """`enabled_backends`'s value and the stores' own sections."""
    enabled = ", ".join(f"{name}:file" for name in names)
    sections = "\n".join(
        f"[{name}]\nfilesystem_store_datadir = {store_dir(paths, name)}\n" for name in names
    )
    return enabled, sections


# The users `up` creates: clouds.yaml entry -> (user name, project, role).
IMPORT_METHODS = ("glance-direct", "web-download", "copy-image")

SANDBOX_USERS: dict[str, tuple[str, str, str]] = {
    "sandbox": ("demo-member", "demo", "member"),
    "sandbox-reader": ("demo-reader", "demo", "reader"),
    "sandbox-other": ("other-member", "other", "member"),
    "sandbox-admin": ("admin", "admin", "admin"),
}

# Property protections that make real 403s: `x_billing_*` is readable by everyone with
# a role in the project, and only admin may create, update or delete it. With a
# protections file, a property that matches no section is refused, hence the catch-all.
PROPERTY_PROTECTIONS = """\
[^x_billing_.*]
create = admin
read = admin,member,reader
update = admin
delete = admin

[.*]
create = @
read = @
update = @
delete = @
"""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def keystone_conf(paths: SandboxPaths, connection: str | None = None) -> str:
    """keystone.conf; `connection` is the database URL (default: sqlite in the folder)."""
    keys = paths.keystone
    return f"""\
[DEFAULT]
debug = false

[database]
connection = {connection or sqlite_url(keys / "keystone.db")}

[token]
provider = fernet
expiration = 86400

[fernet_tokens]
key_repository = {keys / "fernet-keys"}

[fernet_receipts]
key_repository = {keys / "fernet-keys"}

[credential]
key_repository = {keys / "credential-keys"}
"""


def glance_paste_ini() -> Path:
    """The paste config the glance wheel installs under `<venv>/etc/glance/`."""
    return Path(sys.prefix) / "etc" / "glance" / "glance-api-paste.ini"


def glance_api_conf(
    paths: SandboxPaths, state: SandboxState, glance_password: str, connection: str | None = None
) -> str:
    """glance-api.conf. web-download may fetch from http(s) URLs on ports 80, 443 (a real
    deployment's defaults) and the mirror's; Glance refuses loopback addresses unless
    they are in `allowed_hosts`, which is a whitelist: so the sandbox fetches from
    127.0.0.1 only (it has no other host to fetch from anyway). Glance's list options
    here are declared with `bounds=True`: their values must be written in brackets, or
    every request that reads them fails with a bare 500."""
    data = paths.glance
    names = store_names(state.stores)
    enabled_backends, store_sections = _stores_conf(paths, names)
    return f"""\
# Written by `reconciler sandbox up` (rewritten by each `up`; Glance restarts when it
# changes). Glance runs from reconciler.sandbox.wsgi_glance, which starts sqlite
# transactions with BEGIN IMMEDIATE.
[DEFAULT]
debug = false
enabled_backends = {enabled_backends}
property_protection_file = {data / "property-protections.conf"}
property_protection_rule_format = roles
show_image_direct_url = false
enabled_import_methods = [{",".join(IMPORT_METHODS)}]
hashing_algorithm = sha512
node_staging_uri = file://{paths.staging}

[task]
work_dir = {paths.task_work_dir}

[import_filtering_opts]
allowed_schemes = [http,https]
allowed_hosts = [127.0.0.1]
allowed_ports = [80,443,{state.mirror_port}]

[glance_store]
default_backend = {names[0]}

{store_sections}
[os_glance_staging_store]
filesystem_store_datadir = {paths.staging}

[os_glance_tasks_store]
filesystem_store_datadir = {data / "tasks"}

[database]
connection = {connection or sqlite_url(data / "glance.db")}

[oslo_concurrency]
lock_path = {data / "locks"}

[paste_deploy]
config_file = {glance_paste_ini()}
flavor = keystone

[keystone_authtoken]
www_authenticate_uri = {state.keystone_url}
auth_url = {state.keystone_url}
auth_type = password
project_domain_name = {DOMAIN}
user_domain_name = {DOMAIN}
project_name = service
username = glance
password = {glance_password}
interface = public
{f"cafile = {paths.ca_cert}" if state.tls else ""}
"""


def clouds_yaml(
    state: SandboxState, passwords: dict[str, str], paths: SandboxPaths | None = None
) -> str:
    """clouds.yaml with one entry per sandbox user (see SANDBOX_USERS)."""
    lines = ["clouds:"]
    for cloud, (user, project, _role) in SANDBOX_USERS.items():
        lines += [
            f"  {cloud}:",
            "    auth:",
            f"      auth_url: {state.keystone_url}",
            f"      username: {user}",
            f"      password: {passwords[user]}",
            f"      project_name: {project}",
            f"      user_domain_name: {DOMAIN}",
            f"      project_domain_name: {DOMAIN}",
            "    regions:",  # the first is the default
            *(f"      - {region}" for region in region_names(state.regions)),
            "    interface: public",
            *([f"    cacert: {paths.ca_cert}"] if state.tls and paths is not None else []),
            "    identity_api_version: 3",
            "    image_api_version: 2",
        ]
    return "\n".join(lines) + "\n"
