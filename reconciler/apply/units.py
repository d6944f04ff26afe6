"""An entry's plan compiled into a unit, the writer's one shape of work. No I/O: the
steps are values (sending them is `apply.Applier`'s), and the order is decided here,
never by the applier.

A unit holds, per image it touches, the ordered steps, split at its commit point:
- `phases`, up to and including the commit point: for a new build, created private
  under its temporary name, filled, verified, published (`steps.unpublished`), then
  the previous builds' names and metadata (the outgoing current build first), then
  the new build takes the plain name. A failure anywhere here undoes every step of
  the unit, newest first across its images (by journal seq).
- `tail`, after the commit point (the verified build published under its name): the
  retired builds' retirement (hide or deactivate, with the previous builds' metadata)
  and deletes, last. Nothing of the tail is undone: a failing step is retried, and if
  it still fails the entry is `incomplete`, naming the step and the reason; the next
  plan shows exactly what is left. The tail never runs after a failed verification.
An entry without builds is one phase on one image (its commit point is its end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.apply.steps import (
    IMPORT_WAIT,
    DeleteImage,
    Step,
    build_steps,
    steps_for,
    take_name,
    temporary_name,
)
from reconciler.cloud.image_data import Progress
from reconciler.model.plan import Action, BuildPlan, BuildRole, ImagePlan


@dataclass(frozen=True)
class Phase:
    """Steps on one image, in order."""

    image_id: str
    steps: tuple[Step, ...]
    build: BuildPlan | None = None  # the build these steps change (None: the entry's image)


@dataclass(frozen=True)
class Unit:
    image: ImagePlan
    main_id: str  # the image that carries the entry once applied (a new build's new id)
    building: bool  # the unit makes a new image
    phases: tuple[Phase, ...]  # up to the commit point: undone whole on a failure
    tail: tuple[Phase, ...] = ()  # after it: retried, never undone

    @property
    def steps(self) -> tuple[tuple[str, Step], ...]:
        """Every step, in the order it runs, with its image."""
        return tuple((p.image_id, s) for p in (*self.phases, *self.tail) for s in p.steps)


def compile_unit(
    image: ImagePlan,
    main_id: str,
    import_wait: float = IMPORT_WAIT,
    watch: Progress | None = None,
    notice: Callable[[str], None] | None = None,
) -> Unit:
    """The unit of one entry's plan (see the module docstring). `main_id`: the id the
    new build gets (the applier chooses it, so a retried create cannot duplicate), else
    the image's own."""
    building = image.action in (Action.CREATE, Action.REBUILD)
    temporary = temporary_name(image.name) if image.action is Action.REBUILD else None
    first = steps_for(
        image,
        main_id if building else None,
        import_wait,
        temporary,
        watch,
        notice,
    )
    phases = [Phase(main_id, tuple(first))]
    if not image.builds:
        return Unit(image, main_id, building, tuple(phases))
    kept = [b for b in image.builds if not b.delete and b.role is BuildRole.PREVIOUS]
    retired = [b for b in image.builds if not b.delete and b.role is BuildRole.RETIRED]
    phases += [Phase(b.id, tuple(build_steps(b)), b) for b in kept]
    if temporary is not None:
        phases.append(Phase(main_id, (take_name(image.name, temporary),)))
    tail = [Phase(b.id, tuple(build_steps(b)), b) for b in retired]
    tail += [Phase(b.id, (DeleteImage(),), b) for b in image.builds if b.delete]
    return Unit(
        image,
        main_id,
        building,
        tuple(p for p in phases if p.steps),
        tuple(p for p in tail if p.steps),
    )
