"""The apply command's progress view on a terminal: one bar for the images, one for all
the data (its total once every size is known) and one per image while its data streams.
An `Observer` of `reconciler.app.writes`; terminal I/O only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text as RichText

from reconciler.app.writes import Observer
from reconciler.render.plan.describe import human_size

if TYPE_CHECKING:
    from reconciler.model.plan import ImagePlan, Plan
    from reconciler.model.report import ImageResult


class ProgressView(Observer):
    """Bars that follow an apply of `plan`; a context manager (shown while entered)."""

    def __init__(self, plan: Plan) -> None:
        self.bar = Progress(
            TextColumn("{task.fields[label]}"),
            BarColumn(),
            AmountColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            transient=True,
        )
        total = sum(1 for image in plan.images if image.has_work)
        self.task = self.bar.add_task("", total=total, label="applying", data=False)
        sizes = [image.data.size for image in plan.images if image.has_work and image.data]
        self.overall: TaskID | None = None
        if sizes:
            known = None if None in sizes else sum(s for s in sizes if s is not None)
            self.overall = self.bar.add_task("", total=known, label="data", data=True)
        self.per_image: dict[str, tuple[TaskID, int]] = {}

    def __enter__(self) -> ProgressView:
        self.bar.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.bar.stop()

    @property
    def wants_data(self) -> bool:
        return True

    def image_done(self, result: ImageResult) -> None:
        self.bar.update(self.task, advance=1, description=f"{result.name}: {result.status}")
        ended = self.per_image.pop(result.name, None)
        if ended is not None:
            self.bar.remove_task(ended[0])

    def data(self, image: ImagePlan, done: int, length: int | None) -> None:
        entry = self.per_image.get(image.name)
        if entry is None or done < entry[1]:  # first block, or an upload sent again
            if entry is not None:
                self.bar.remove_task(entry[0])
            task = self.bar.add_task("", total=length, label=f"  {image.name}", data=True)
            entry = (task, 0)
        self.bar.update(entry[0], completed=done)
        if self.overall is not None:
            self.bar.update(self.overall, advance=done - entry[1])
        self.per_image[image.name] = (entry[0], done)


class AmountColumn(ProgressColumn):
    """`3/10` for the image count; bytes, and the rate, for data bars."""

    def render(self, task: Task) -> RichText:
        if not task.fields.get("data"):
            return RichText(f"{task.completed:.0f}/{task.total or 0:.0f}")
        done = human_size(int(task.completed))
        total = f"/{human_size(int(task.total))}" if task.total else ""
        speed = f" {human_size(int(task.speed))}/s" if task.speed else ""
        return RichText(f"{done}{total}{speed}")
