"""Authenticate the OpenStack way: clouds.yaml (`--os-cloud` / `OS_CLOUD`), `OS_*`
variables, a region and an interface, through openstacksdk's config loader and a
keystoneauth1 session. Network I/O (token and catalog).

Password, token and application-credential auth all come from keystoneauth1 plugins;
TLS is verified by default and `cacert` is honoured. Nothing here logs a secret.
"""

from __future__ import annotations

import json
import os
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.cloud.http_errors import transport_message
from reconciler.errors import (
    AuthenticationFailed,
    CloudConfigError,
    CloudError,
    ConnectionFailed,
    InsecureTLSWarning,
)
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.plan import Target

if TYPE_CHECKING:  # keystoneauth1 and openstacksdk are imported where they are used
    from keystoneauth1 import session as ks_session


@dataclass
class Connection:
    """An authenticated session, the image endpoint and the project it acts for."""

    session: ks_session.Session
    image_endpoint: str
    project_id: str | None
    cloud: str | None
    region: str | None
    interface: str

    @property
    def target(self) -> Target:
        return Target(self.cloud, self.region, self.project_id, self.image_endpoint)


def _cloud_region(options: CloudOptions) -> Any:
    from keystoneauth1 import exceptions as ks_exc
    from openstack import config as os_config
    from openstack import exceptions as os_exc

    kwargs: dict[str, Any] = {}
    if options.region:
        kwargs["region_name"] = options.region
    if options.interface:
        kwargs["interface"] = options.interface
    if options.insecure:
        kwargs["verify"] = False
    if options.cacert:
        kwargs["cacert"] = options.cacert
    try:
        return os_config.OpenStackConfig().get_one(cloud=options.cloud, **kwargs)
    except os_exc.ConfigException as err:
        raise CloudConfigError(config_message(str(err), options.cloud)) from err
    except ks_exc.ClientException as err:
        raise CloudConfigError(config_message(str(err), options.cloud)) from err


NO_CLOUD = (
    "no cloud selected: set OS_CLOUD or --os-cloud (a clouds.yaml entry), or the OS_* "
    "variables (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, ...)"
)
_NOT_GIVEN = re.compile(r"requires parameters which were not given: (?P<names>.+)$")
_NOT_FOUND = re.compile(r"^Cloud (?P<name>\S+) was not found")
_REQUIRED = re.compile(r"^(?P<names>\w+) is a required attribute$")


def _from_environment() -> bool:
    """Whether the OS_* variables say anything about auth (OS_CLOUD aside)."""
    return any(key.startswith("OS_") and key != "OS_CLOUD" for key in os.environ)


def config_message(detail: str, cloud: str | None) -> str:
    """A configuration problem in the words of where the user sets it: the clouds.yaml
    entry they chose, the OS_* variables, or neither (then how to choose a cloud)."""
    text = " ".join(detail.split())
    unknown = _NOT_FOUND.search(text)
    if unknown is not None:
        return (
            f"cloud {unknown.group('name')!r} is in no clouds.yaml (OS_CLIENT_CONFIG_FILE, "
            "./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)"
        )
    missing = _NOT_GIVEN.search(text) or _REQUIRED.search(text)
    if missing is None:
        return f"cloud configuration: {text}"
    names = [name.strip() for name in missing.group("names").split(",") if name.strip()]
    if cloud is not None:
        return f"cloud {cloud!r} in clouds.yaml does not give {', '.join(names)} (under its auth:)"
    if not _from_environment():
        return NO_CLOUD
    variables = ", ".join(f"OS_{name.upper()}" for name in names)
    return f"the OS_* variables do not give {', '.join(names)}: set {variables}"


def credentials_hint(cloud: str | None) -> str:
    """Where the credentials that were refused come from, to check them there."""
    if cloud is not None:
        return f"check the credentials of cloud {cloud!r} in clouds.yaml"
    if _from_environment():
        return (
            "check the credentials in the OS_* variables (OS_USERNAME, OS_PASSWORD, "
            "OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, or an application credential)"
        )
    return "check the credentials"


class SessionPool:
    """The sessions of one run, shared by targets that authenticate the same way: the
    regions of one cloud have one Keystone, and its token's catalog names every
    region's endpoints, so N regions cost one token (and one validation per Glance
    worker), not N. Targets whose clouds.yaml settings differ (another cloud, per-region
    auth, another CA) get their own. Thread-safe: the targets connect concurrently, the
    first one of a cloud gets the token and the others wait for it (keystoneauth's
    plugin takes a lock around authentication)."""

    KEYS = ("auth_type", "auth", "verify", "cacert", "cert", "key", "interface")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}
        self._contacts: dict[tuple[int, str], threading.Event] = {}

    def session(self, region: Any) -> Any:
        """The session for an openstacksdk CloudRegion (made on first use)."""
        config = region.config
        key = json.dumps([config.get(k) for k in self.KEYS], sort_keys=True, default=str)
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = region.get_session()
            return self._sessions[key]

    @contextmanager
    def first_contact(self, connection: Connection) -> Iterator[None]:
        """Around a target's first requests to its image endpoint: when other targets
        share both the session and the endpoint (regions served by one Glance), the
        first goes alone and the others wait for it to finish. Glance validates a new
        token with Keystone on its first sight of it, and N requests arriving at once
        with the same new token are N validations (keystonemiddleware does not
        coalesce them): 10 regions of one Glance took 1.9x one region's time, the
        extra all Keystone's. Targets with endpoints of their own never wait."""
        key = (id(connection.session), connection.image_endpoint)
        with self._lock:
            done = self._contacts.get(key)
            first = done is None
            if done is None:
                done = self._contacts[key] = threading.Event()
        if first:
            try:
                yield
            finally:
                done.set()
        else:
            done.wait()
            yield


def image_endpoint_root(url: str) -> str:
    """The endpoint without a trailing version (`.../v2`) or slash."""
    root = url.rstrip("/")
    for suffix in ("/v2", "/v2.0"):
        if root.endswith(suffix):
            root = root[: -len(suffix)]
    return root


def connect(
    options: CloudOptions, pool: SessionPool | None = None, ready: threading.Event | None = None
) -> Connection:
    """Authenticate and find the image endpoint; with a pool, reuse a session another
    target of the run made with the same settings. `ready` is set once the CPU part is
    done (openstacksdk's config loader, the session and its auth plugin) and the first
    request (the token) is about to go out."""
    from keystoneauth1 import exceptions as ks_exc

    region = _cloud_region(options)
    auth_args = region.config.get("auth") or {}
    if not auth_args.get("auth_url") and region.config.get("auth_type") not in (
        "none",
        "admin_token",
    ):
        raise CloudConfigError(
            config_message("requires parameters which were not given: auth_url", options.cloud)
        )
    if options.insecure:
        warnings.warn(
            "TLS certificates are NOT verified (--insecure): anyone on the path to the "
            "cloud can read the credentials and change what is applied",
            InsecureTLSWarning,
            stacklevel=1,
        )
    try:
        session = pool.session(region) if pool is not None else region.get_session()
        session.timeout = options.timeout
        if ready is not None:
            ready.set()
        interface = region.get_interface() or "public"
        # clouds.yaml's `image_endpoint_override` (as openstacksdk honours it) wins over
        # the service catalog: a proxy, a private endpoint.
        endpoint = region.get_endpoint("image") or session.get_endpoint(
            service_type="image", interface=interface, region_name=region.get_region_name()
        )
        if not endpoint:
            raise CloudError(
                f"no image endpoint ({interface}) in region {region.get_region_name()!r} "
                "of the service catalog"
            )
        project_id = session.get_project_id()
    except ks_exc.Unauthorized as err:
        raise AuthenticationFailed(
            f"authentication refused (401): {credentials_hint(options.cloud)}"
        ) from err
    except ks_exc.EndpointNotFound as err:
        raise CloudError(f"no image endpoint in the service catalog: {err}") from err
    except ks_exc.SSLError as err:
        raise ConnectionFailed(tls_message(str(err), region.config.get("auth", {}))) from err
    except (ks_exc.ConnectFailure, ks_exc.ConnectTimeout) as err:
        reason = transport_message(err)
        raise ConnectionFailed(f"cannot reach the identity service: {reason}") from err
    except ks_exc.MissingRequiredOptions as err:
        raise CloudConfigError(f"cloud configuration: {err}") from err
    except ks_exc.ClientException as err:
        raise CloudError(f"authentication failed: {transport_message(err)}") from err
    except Exception as err:
        # keystoneauth's password plugin raises a bare Exception for a missing password
        # ("password is a required attribute"); anything else is not ours to word.
        if type(err) is not Exception or not _REQUIRED.search(str(err)):
            raise
        raise CloudConfigError(config_message(str(err), options.cloud)) from err
    return Connection(
        session=session,
        image_endpoint=image_endpoint_root(endpoint),
        project_id=project_id,
        cloud=options.cloud or region.name,
        region=region.get_region_name(),
        interface=interface,
    )


def tls_message(detail: str, auth: dict[str, Any]) -> str:
    """One line saying why TLS failed and what to do about it."""
    reason = "the server's certificate is not trusted"
    match = re.search(r"certificate verify failed: ([^(')\]]+)", detail)
    if match:
        reason = f"certificate verify failed: {match.group(1).strip()}"
    elif "hostname" in detail.lower():
        reason = "the certificate does not match the host name"
    where = auth.get("auth_url") or "the identity service"
    return (
        f"TLS: {reason} ({where}); give the CA with `cacert:` in clouds.yaml, "
        "OS_CACERT or --os-cacert (--insecure skips verification)"
    )
