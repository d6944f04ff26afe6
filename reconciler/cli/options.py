"""Options shared by several commands (typer declarations), each declared once.

The cloud options (`--os-cloud`, `--os-region-name`, `--os-interface`, `--os-cacert`,
`--insecure`, `--timeout`) are a group: `cloud_command` gives a command all six and
hands it one `CloudOptions`, as Terraform's flag groups and kopf's shared options do.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

import typer

from reconciler.model.cloud_options import TARGET_PARALLELISM, CloudOptions
from reconciler.model.image_view import CATALOG_PATTERN
from reconciler.policy.refs import PolicyLevel

Paths = typer.Argument(
    ..., metavar="PATHS", help="Manifest files or folders (*.yaml, *.yml, recursive)."
)
TargetsFileOption = typer.Option(
    None,
    "--targets",
    metavar="FILE",
    help="A targets file (clouds/regions) for manifests without targets:.",
)
OnlyTargets = typer.Option(
    [], "--target", "-t", metavar="NAME", help="Run only this target (repeat for several)."
)
# How many targets a run reads and plans at once (app/pipeline.py): each is a thread and
# a connection; a CI runner's few cores gain nothing from more.
TargetParallelismOption = typer.Option(
    TARGET_PARALLELISM,
    "--target-parallelism",
    min=1,
    help="How many targets are read and planned at once.",
)


def catalog_name(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(CATALOG_PATTERN, value):
        raise typer.BadParameter(
            f"{value!r}: lower-case letters, digits, '.', '_', '-'; 1-63 characters"
        )
    return value


CatalogOption = typer.Option(
    None,
    "--catalog",
    metavar="NAME",
    callback=catalog_name,
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
PolicyOption = typer.Option(
    [],
    "--policy",
    metavar="NAME|FILE",
    help=(
        "Check images against a policy: a built-in name (scs-0102) or a policy file "
        "(repeatable; adds to the manifests' policy:)."
    ),
)


PolicyLevelOption = typer.Option(
    PolicyLevel.error,
    "--policy-level",
    help="error: violations of error-level rules fail the run; warning: they only warn.",
)
ShowOrphans = typer.Option(
    False,
    "--show-orphans",
    help="List every orphan in the text view (past 20 it shows a count and the first names).",
)


# The cloud option group: (parameter name, type, typer declaration, CloudOptions field).
_CLOUD_GROUP: tuple[tuple[str, Any, Any, str], ...] = (
    (
        "os_cloud",
        str | None,
        typer.Option(
            None, "--os-cloud", envvar="OS_CLOUD", metavar="NAME", help="clouds.yaml entry."
        ),
        "cloud",
    ),
    (
        "os_region_name",
        str | None,
        typer.Option(
            None, "--os-region-name", envvar="OS_REGION_NAME", metavar="NAME", help="Region."
        ),
        "region",
    ),
    (
        "os_interface",
        str | None,
        typer.Option(
            None,
            "--os-interface",
            envvar="OS_INTERFACE",
            metavar="INTERFACE",
            help="Endpoint interface (public, internal, admin).",
        ),
        "interface",
    ),
    (
        "os_cacert",
        str | None,
        typer.Option(
            None, "--os-cacert", envvar="OS_CACERT", metavar="FILE", help="CA bundle for TLS."
        ),
        "cacert",
    ),
    (
        "insecure",
        bool,
        typer.Option(False, "--insecure", help="Do not verify TLS (warns loudly)."),
        "insecure",
    ),
    (
        "timeout",
        float,
        typer.Option(60.0, "--timeout", metavar="SECONDS", help="Seconds per HTTP request."),
        "timeout",
    ),
)

# The group's defaults; what a command's `cloud` parameter says before cloud_command
# replaces it.
DEFAULT_CLOUD = CloudOptions()

Command = TypeVar("Command", bound=Callable[..., Any])


def cloud_command(func: Command) -> Command:
    """Give a command the cloud option group: its `cloud: CloudOptions` parameter is
    replaced, for typer, by the six options, and the values are handed back to it as
    one CloudOptions."""
    signature = inspect.signature(func)
    hints = {k: v for k, v in get_type_hints(func).items() if k != "cloud"}
    kept = [p for p in signature.parameters.values() if p.name != "cloud"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=decl, annotation=kind)
        for name, kind, decl, _field in _CLOUD_GROUP
    ]

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        values = {field: kwargs.pop(name) for name, _kind, _decl, field in _CLOUD_GROUP}
        return func(*args, cloud=CloudOptions(**values), **kwargs)

    command.__signature__ = signature.replace(parameters=kept + added)  # type: ignore[attr-defined]
    command.__annotations__ = {**hints, **{name: kind for name, kind, _d, _f in _CLOUD_GROUP}}
    return command  # type: ignore[return-value]
