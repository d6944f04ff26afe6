"""Options shared by the commands that talk to a cloud, and the pipeline steps they
share (load manifests, connect, read live state, diff)."""

from __future__ import annotations

import threading
from enum import StrEnum
from pathlib import Path

import typer

from reconciler.cloud.auth import CloudOptions, Connection, connect
from reconciler.cloud.glance import GlanceClient
from reconciler.diff import diff
from reconciler.live import complete_catalog, list_images
from reconciler.manifests.loader import load
from reconciler.plan import Plan


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


Paths = typer.Argument(..., help="Manifest files or folders (*.yaml, *.yml, recursive).")
OsCloud = typer.Option(None, "--os-cloud", envvar="OS_CLOUD", help="clouds.yaml entry.")
OsRegion = typer.Option(None, "--os-region-name", envvar="OS_REGION_NAME", help="Region.")
OsInterface = typer.Option(
    None,
    "--os-interface",
    envvar="OS_INTERFACE",
    help="Endpoint interface (public, internal, admin).",
)
OsCacert = typer.Option(None, "--os-cacert", envvar="OS_CACERT", help="CA bundle for TLS.")
Insecure = typer.Option(False, "--insecure", help="Do not verify TLS (warns loudly).")
Timeout = typer.Option(60.0, "--timeout", help="Seconds per HTTP request.")


def cloud_options(
    cloud: str | None,
    region: str | None,
    interface: str | None,
    cacert: str | None,
    insecure: bool,
    timeout: float,
) -> CloudOptions:
    return CloudOptions(
        cloud=cloud,
        region=region,
        interface=interface,
        insecure=insecure,
        cacert=cacert,
        timeout=timeout,
    )


def glance_client(connection: Connection, timeout: float) -> GlanceClient:
    return GlanceClient(connection.session, connection.image_endpoint, timeout=timeout)


def make_plan(paths: list[Path], options: CloudOptions, prune: bool) -> tuple[Plan, GlanceClient]:
    """Manifests -> live state -> plan, the read-only half every command shares.

    Authentication and the listings (network waits) run in a background thread while
    this one loads the manifests (CPU), so a plan costs about the larger of the two,
    not their sum. The thread is a daemon: a manifest error exits at once.
    """
    fetched: dict[str, object] = {}

    def fetch() -> None:
        try:
            connection = connect(options)
            client = glance_client(connection, options.timeout)
            fetched.update(connection=connection, client=client, images=list_images(client))
        except BaseException as err:
            fetched["error"] = err

    worker = threading.Thread(target=fetch, name="reconciler-fetch", daemon=True)
    worker.start()
    desired = load(paths)
    worker.join()
    if "error" in fetched:
        raise fetched["error"]  # type: ignore[misc]
    connection = fetched["connection"]
    client = fetched["client"]
    assert isinstance(connection, Connection) and isinstance(client, GlanceClient)
    catalog = complete_catalog(client, fetched["images"], desired)  # type: ignore[arg-type]
    return diff(desired, catalog, connection.target, prune=prune), client
