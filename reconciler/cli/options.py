"""Options shared by several commands (typer declarations), each declared once.

The cloud options (`--os-cloud`, `--os-region-name`, `--os-interface`, `--os-cacert`,
`--insecure`, `--timeout`) are a group: `cloud_command` gives a command all six and
hands it one `CloudOptions`, as Terraform's flag groups and kopf's shared options do.
The run options of plan, apply and drift (`--policy`, `--policy-level`, `--targets`,
`--target`, `--target-parallelism`) are another: `run_options` hands them over as one
`RunOptions`, which makes the application layer's `Request`.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

import typer

from reconciler.model.cloud_options import TARGET_PARALLELISM, CloudOptions
from reconciler.model.image_view import CATALOG_PATTERN
from reconciler.policy.refs import PolicyLevel

if TYPE_CHECKING:
    from reconciler.app.pipeline import PolicyUse, Request, Scope

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
Group = tuple[tuple[str, Any, Any, str], ...]  # (parameter, type, typer declaration, field)
_CLOUD_GROUP: Group = (
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


def option_group(
    param: str, build: Callable[..., Any], group: Group
) -> Callable[[Command], Command]:
    """A decorator giving a command an option group: its parameter `param` is replaced,
    for typer, by the group's options (where it stood, so --help lists them there), and
    their values are handed back to it as one value, `build(**fields)`. The command's
    annotations are resolved when it is decorated: the types they name must be imported
    at run time, not only under TYPE_CHECKING."""

    def decorate(func: Command) -> Command:
        signature = inspect.signature(func)
        hints = {k: v for k, v in get_type_hints(func).items() if k != param}
        params = list(signature.parameters.values())
        at = [p.name for p in params].index(param)
        added = [
            inspect.Parameter(name, params[at].kind, default=decl, annotation=kind)
            for name, kind, decl, _field in group
        ]

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {field: kwargs.pop(name) for name, _kind, _decl, field in group}
            return func(*args, **{param: build(**values)}, **kwargs)

        parameters = [*params[:at], *added, *params[at + 1 :]]
        command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {**hints, **{name: kind for name, kind, _d, _f in group}}
        return command  # type: ignore[return-value]

    return decorate


cloud_command = option_group("cloud", CloudOptions, _CLOUD_GROUP)
cloud_command.__doc__ = """Give a command the cloud option group: its `cloud: CloudOptions`
parameter is replaced, for typer, by the six options, and the values are handed back to
it as one CloudOptions."""


@dataclass(frozen=True)
class RunOptions:
    """What plan, apply and drift share beyond the cloud: the policies named on the
    command line and what their violations do, the targets and how many at once."""

    policies: Sequence[str] = ()
    policy_level: PolicyLevel = PolicyLevel.error
    targets_file: Path | None = None
    only: Sequence[str] = ()
    target_parallelism: int = TARGET_PARALLELISM

    def request(
        self,
        paths: Sequence[Path],
        cloud: CloudOptions,
        scope: Scope,
        use: PolicyUse | None = None,
    ) -> Request:
        """The application layer's request of a run over `paths` (`use`: what the
        policies do, gating the plans by default); the manifests' warnings are printed
        as soon as they are read."""
        from reconciler.app.pipeline import PolicyUse, Request
        from reconciler.cli.outcome import print_warnings

        return Request(
            paths,
            cloud,
            scope,
            self.targets_file,
            self.only,
            self.target_parallelism,
            self.policies,
            policy_warnings=self.policy_level is PolicyLevel.warning,
            use=use or PolicyUse.GATE,
            on_warnings=print_warnings,
        )


_RUN_GROUP: Group = (
    ("policies", list[str], PolicyOption, "policies"),
    ("policy_level", PolicyLevel, PolicyLevelOption, "policy_level"),
    ("targets_file", Path | None, TargetsFileOption, "targets_file"),
    ("only", list[str], OnlyTargets, "only"),
    ("target_parallelism", int, TargetParallelismOption, "target_parallelism"),
)
DEFAULT_RUN = RunOptions()
run_options = option_group("run", RunOptions, _RUN_GROUP)
