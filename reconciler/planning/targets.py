"""Which images go to which cloud and region. Pure.

Targets come from a `--targets` file, else from the manifests' `targets:` lists. With
none anywhere, there is one target: the cloud and region of the command line (or
OS_CLOUD / OS_REGION_NAME), as before targets existed. A document without `targets:`
goes to every target; a document with it goes to those it names. A target's `cloud` or
`region` left out is taken from the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.errors import ManifestError, UsageError
from reconciler.model.cloud_options import CloudOptions
from reconciler.model.manifest import DesiredImage, TargetSpec


@dataclass(frozen=True)
class TargetRun:
    """One target of a run: its name (None for the command line's only target), the
    options its session is made with, and the desired images that go there."""

    name: str | None
    options: CloudOptions
    images: tuple[DesiredImage, ...]


def declared(images: Sequence[DesiredImage]) -> list[TargetSpec]:
    """The targets the manifests name, in order of first mention; a name given two
    different meanings is an error."""
    seen: dict[str, tuple[TargetSpec, str]] = {}
    problems: list[str] = []
    for image in images:
        for spec in image.targets or ():
            first = seen.get(spec.label)
            if first is None:
                seen[spec.label] = (spec, image.origin)
            elif (first[0].cloud, first[0].region) != (spec.cloud, spec.region):
                problems.append(
                    f"{image.origin}: target {spec.label!r} is cloud {spec.cloud!r} region "
                    f"{spec.region!r} here but cloud {first[0].cloud!r} region "
                    f"{first[0].region!r} at {first[1]}"
                )
    if problems:
        raise ManifestError(sorted(set(problems)))
    return [spec for spec, _source in seen.values()]


def resolve(
    images: Sequence[DesiredImage],
    base: CloudOptions,
    file_targets: Sequence[TargetSpec] | None = None,
    only: Sequence[str] = (),
) -> list[TargetRun]:
    """The runs to make (see the module docstring); `only` narrows them by name."""
    specs = list(file_targets) if file_targets else declared(images)
    if not specs:
        if only:
            raise UsageError("--target given, but no manifest or --targets file declares targets")
        return [TargetRun(None, base, tuple(images))]
    labels = [spec.label for spec in specs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise UsageError(f"target names must be unique: {', '.join(duplicates)}")
    unknown = [name for name in only if name not in labels]
    if unknown:
        raise UsageError(
            f"unknown target {', '.join(map(repr, unknown))} (known: {', '.join(labels)})"
        )
    runs = []
    for spec in specs:
        if only and spec.label not in only:
            continue
        mine = tuple(
            image
            for image in images
            if image.targets is None or spec.label in {t.label for t in image.targets}
        )
        options = replace(base, cloud=spec.cloud or base.cloud, region=spec.region or base.region)
        runs.append(TargetRun(spec.label, options, mine))
    return runs
