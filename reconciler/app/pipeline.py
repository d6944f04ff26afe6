"""The read-only half every cloud-facing command shares: load the manifests (once: the
policy check reads the same parse), resolve the targets, and per target connect, read
the live images, diff and probe the new builds' sources. Network I/O (reads); prints
nothing (the commands show what `Run` holds).

Targets run concurrently, at most `--target-parallelism` at a time (TARGET_PARALLELISM
by default); targets of one cloud that authenticate the same way share one session and
token (`auth.SessionPool`), other targets have their own. A target that fails
(credentials, endpoint down) is reported in its result and does not stop the others.

For the common single target (no targets declared, no --targets file), authentication
and the listings start in a background thread before the manifests' modules are even
imported: this thread waits until that one has done its CPU part (openstacksdk's
config loader, the session) and its first request is on the wire, then imports,
parses and validates the manifests while the server answers. A plan costs about the
larger of the two, not their sum (on two threads of one interpreter CPU work does not
overlap, network waits do).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cloud.auth import Connection, SessionPool, connect
from reconciler.errors import ReconcilerError, SourceUnreadable
from reconciler.model.cloud_options import TARGET_PARALLELISM, CloudOptions
from reconciler.model.image_view import DEFAULT_CATALOG, LiveCatalog, LiveImage

if TYPE_CHECKING:  # imported once the listing is under way (see the module's docstring)
    from reconciler.cloud.glance import GlanceClient
    from reconciler.manifests.loader import Manifests
    from reconciler.model.manifest import DesiredImage
    from reconciler.model.plan import ImagePlan, Plan
    from reconciler.planning.targets import TargetRun
    from reconciler.policy.models import Policy, Violation

# How long the manifests wait for the background fetch to put its first request on the
# wire (its CPU part takes 0.2-0.5 s); past it they load anyway.
READY_WAIT = 2.0


@dataclass(frozen=True)
class TargetResult:
    """One target's outcome: its plan, client and live catalog, or the error."""

    run: TargetRun
    plan: Plan | None = None
    client: GlanceClient | None = None
    catalog: LiveCatalog | None = None
    error: ReconcilerError | None = None
    manifest_catalog: str = DEFAULT_CATALOG  # the run's catalog (manifest set)

    @property
    def label(self) -> str:
        return self.run.name or "default"


def labelled(path: Path, label: str) -> Path:
    """`plan.json` -> `plan.<label>.json`: one file per target of a run."""
    return path.with_name(f"{path.stem}.{label}{path.suffix}")


def glance_client(connection: Connection, timeout: float) -> GlanceClient:
    from reconciler.cloud.glance import GlanceClient

    return GlanceClient(connection.session, connection.image_endpoint, timeout=timeout)


class _Fetch:
    """Connect and list one target's images: in a daemon thread (background), else in
    the caller's thread before the constructor returns."""

    def __init__(
        self, options: CloudOptions, pool: SessionPool | None = None, background: bool = True
    ) -> None:
        self.options = options
        self.pool = pool
        self.connection: Connection | None = None
        self.client: GlanceClient | None = None
        self.images: dict[str, LiveImage] = {}
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.ready = threading.Event()  # the first request is on the wire (or it failed)
        self.cancelled = False  # the run does not need this listing: skip it
        if background:
            self.thread = threading.Thread(target=self._run, name="reconciler-fetch", daemon=True)
            self.thread.start()
        else:
            self._run()

    def _run(self) -> None:
        try:
            self.connection = connect(self.options, self.pool, self.ready)
            self.client = glance_client(self.connection, self.options.timeout)
            from reconciler.cloud.live import list_images

            if self.cancelled:
                return
            if self.pool is None:
                self.images = list_images(self.client)
            else:
                with self.pool.first_contact(self.connection):
                    self.images = list_images(self.client)
        except BaseException as err:
            self.error = err
        finally:
            self.ready.set()

    def cancel(self) -> None:
        """Skip the listing if it has not started (a token already asked for is kept)."""
        self.cancelled = True

    def result(self) -> tuple[Connection, GlanceClient, dict[str, LiveImage]]:
        if self.thread is not None:
            self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.connection is not None and self.client is not None
        return self.connection, self.client, self.images


@dataclass(frozen=True)
class Scope:
    """What a run plans over: the catalog it owns and how it treats others' images."""

    catalog: str | None = None  # --catalog (None: what the manifests name, else default)
    prune: bool = False
    take_over: bool = False
    prune_stores: bool = False  # delete data from stores an entry does not declare


def _finish(run: TargetRun, fetch: _Fetch, scope: Scope, catalog: str) -> TargetResult:
    from reconciler.cloud.live import complete_catalog
    from reconciler.planning.diff import diff

    try:
        connection, client, images = fetch.result()
        live = complete_catalog(client, images, run.images)
        target = replace(connection.target, name=run.name)
        plan = diff(
            run.images,
            live,
            target,
            prune=scope.prune,
            catalog=catalog,
            take_over=scope.take_over,
            stores=available_stores(client, run.images),
            prune_stores=scope.prune_stores,
        )
        plan = probe_sources(plan, fetch.options.timeout)
    except ReconcilerError as err:
        return TargetResult(run, error=err, manifest_catalog=catalog)
    return TargetResult(run, plan=plan, client=client, catalog=live, manifest_catalog=catalog)


def available_stores(client: GlanceClient, images: Sequence[DesiredImage]) -> tuple[str, ...]:
    """The stores Glance lists (`GET /v2/info/stores`), read only when an entry
    manages stores."""
    if not any(image.stores is not None or image.all_stores for image in images):
        return ()
    from reconciler.planning.stores import store_ids

    return store_ids(client.store_info())


def probe_sources(plan: Plan, timeout: float | None = None) -> Plan:
    """Each new build's source checked reachable (HEAD for a URL, stat for a file) and
    its size recorded; an unreachable source makes that entry an error. The data itself
    is never read by a plan."""
    if not any(image.data is not None for image in plan.images):
        return plan
    images = []
    for image in plan.images:
        if image.data is not None:
            image = _probe_data(image, timeout or 30.0)
        images.append(image)
    return replace(plan, images=tuple(images))


def _probe_data(image: ImagePlan, timeout: float) -> ImagePlan:
    """The mirrors, then the provenance, probed in the order apply reads them: the first
    that answers is recorded (`answered`, with its size); each that fails before it is
    a warning of the plan; none answering makes the entry an error."""
    from reconciler.cloud.image_data import probe

    assert image.data is not None
    failed: list[str] = []
    for location in (*image.data.mirrors, image.data.location):
        try:
            size = probe(location, timeout)
        except SourceUnreadable as err:
            failed.append(err.message)
            continue
        warnings = tuple(f"mirror passed over: {reason}" for reason in failed)
        data = replace(image.data, size=size, answered=location)
        return replace(image, data=data, warnings=(*image.warnings, *warnings))
    from reconciler.model.plan import Action

    shown = "; ".join(failed)
    return replace(image, action=Action.ERROR, error=f"source not readable: {shown}")


class PolicyUse(StrEnum):
    """What a run does with the policies it names (`--policy`, the manifests' `policy:`)."""

    GATE = "gate"  # plan, apply: the desired images' violations gate the plans
    LIVE = "live"  # drift: the policy is loaded; the command checks the live images
    NONE = "none"  # import --update, make_plan: no policy step at all


@dataclass(frozen=True)
class Request:
    """What a read-only run is asked: the manifests, the cloud, the scope, which targets,
    and the policies named on the command line."""

    paths: Sequence[Path]
    options: CloudOptions
    scope: Scope = Scope()
    targets_file: Path | None = None
    only: Sequence[str] = ()
    parallelism: int = TARGET_PARALLELISM
    policies: Sequence[str] = ()  # --policy (the manifests' policy: lists are added)
    # What an entry violating an error-level rule becomes with PolicyUse.GATE: an error
    # of its plan (apply skips it), or with policy_warnings a warning of it.
    policy_warnings: bool = False
    use: PolicyUse = PolicyUse.GATE
    # Called with the manifests' warnings as soon as they are read (before the cloud
    # answers, and before a bad --targets file or --target fails the run).
    on_warnings: Callable[[Sequence[str]], None] | None = None


@dataclass(frozen=True)
class Run:
    """A read-only run's outcome: each target's plan (or error), in declaration order,
    and the one reading of the manifests the plans and the policy check both came from."""

    results: list[TargetResult]
    manifests: Manifests
    policy: Policy | None = None
    violations: list[Violation] = field(default_factory=list)  # the desired images'

    def single(self, too_many: Callable[[int], ReconcilerError]) -> TargetResult:
        """The result of the run's one target, its error raised (`too_many(n)` raised
        when the manifests and targets make n of them)."""
        if len(self.results) != 1:
            raise too_many(len(self.results))
        (result,) = self.results
        if result.error is not None:
            raise result.error
        assert result.plan is not None and result.client is not None
        return result

    def raise_lone_error(self) -> None:
        """Raise the error of a run with a single target that failed: the command fails
        with it (one of several failing is reported beside the others' plans)."""
        if len(self.results) == 1 and self.results[0].error is not None:
            raise self.results[0].error


def plan_run(request: Request) -> Run:
    """Every target's plan (or error), in the order the targets are declared, at most
    `request.parallelism` targets at a time. The catalog is the run's, the same for every
    target; with policies each plan is gated by the desired images' violations."""
    early = None
    if request.targets_file is None and not request.only:
        early = _Fetch(request.options)  # the manifests may declare targets: a guess
        early.ready.wait(READY_WAIT)
    from reconciler.app.policies import desired_violations, gate_results, named_policy
    from reconciler.manifests.loader import load_manifests, load_targets
    from reconciler.planning.targets import resolve

    scope = request.scope
    manifests = load_manifests(request.paths, catalog=scope.catalog)
    if request.on_warnings is not None and manifests.warnings:
        request.on_warnings(manifests.warnings)
    policy = None
    if request.use is not PolicyUse.NONE:
        policy = named_policy(request.policies, manifests)
    violations = []
    if policy is not None and request.use is PolicyUse.GATE:
        violations = desired_violations(policy, manifests)
    file_targets = load_targets(request.targets_file) if request.targets_file else None
    runs = resolve(manifests.images, request.options, file_targets, request.only)
    catalog = manifests.catalog
    if early is not None and len(runs) == 1 and runs[0].options == request.options:
        results = [_finish(runs[0], early, scope, catalog)]
    else:
        if early is not None:
            early.cancel()  # the manifests' targets are planned instead
        sessions = SessionPool()

        def plan_one(run: TargetRun) -> TargetResult:
            fetch = _Fetch(run.options, sessions, background=False)
            return _finish(run, fetch, scope, catalog)

        with ThreadPoolExecutor(max(1, min(request.parallelism, len(runs)))) as pool:
            results = list(pool.map(plan_one, runs))
    if violations:
        results = gate_results(results, violations, request.policy_warnings)
    return Run(results, manifests, policy, violations)


def plan_targets(
    paths: Sequence[Path],
    options: CloudOptions,
    *,
    scope: Scope = Scope(),
    targets_file: Path | None = None,
    only: Sequence[str] = (),
    parallelism: int = TARGET_PARALLELISM,
) -> list[TargetResult]:
    """`plan_run`'s results without any policy step (tests)."""
    request = Request(paths, options, scope, targets_file, only, parallelism)
    return plan_run(replace(request, use=PolicyUse.NONE)).results


def make_plan(
    paths: list[Path], options: CloudOptions, scope: Scope = Scope()
) -> tuple[Plan, GlanceClient]:
    """The single-target pipeline: its plan and client, or its error raised."""
    result = plan_run(Request(paths, options, scope, use=PolicyUse.NONE)).single(
        lambda n: ReconcilerError(
            f"the manifests declare {n} targets; this needs one (use --target)"
        )
    )
    assert result.plan is not None and result.client is not None
    return result.plan, result.client
