"""Options shared by the commands that talk to a cloud (typer declarations)."""

from __future__ import annotations

import re
from enum import StrEnum

import typer

from reconciler.cloud.auth import CloudOptions
from reconciler.views import CATALOG_PATTERN


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
TargetsFileOption = typer.Option(
    None, "--targets", help="A targets file (clouds/regions) for manifests without targets:."
)
OnlyTargets = typer.Option([], "--target", "-t", help="Run only this target (repeat for several).")


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


def _catalog_name(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(CATALOG_PATTERN, value):
        raise typer.BadParameter(
            f"{value!r}: lower-case letters, digits, '.', '_', '-'; 1-63 characters"
        )
    return value


CatalogOption = typer.Option(
    None,
    "--catalog",
    callback=_catalog_name,
    help=(
        "The catalog (manifest set) of this run; must agree with the manifests' catalog:. "
        "Default: what the manifests name, else 'default'."
    ),
)
TakeOver = typer.Option(
    False,
    "--take-over",
    help="Move images another catalog manages into this one when an entry names them.",
)
ShowOrphans = typer.Option(
    False,
    "--show-orphans",
    help="List every orphan in the text view (past 20 it shows a count and the first names).",
)
