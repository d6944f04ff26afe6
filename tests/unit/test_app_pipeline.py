"""The application layer's read-only run (`reconciler.app.pipeline.plan_run`): the
manifests are read once, policies included, and for a single target only after the
listing's first request is on the wire (network beside CPU). The fetch itself is
replaced here; tests/sandbox/ runs the real one."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.app import pipeline
from reconciler.manifests import loader
from reconciler.model.cloud_options import CloudOptions
from reconciler.policy.refs import PolicyLevel

MANIFEST = """\
version: 1
policy: [scs-0102]
images:
  - name: a
    visibility: public
    properties: {os_distro: Ubuntu}
"""


def _finish(target_run: Any, fetch: Any, scope: Any, catalog: str) -> Any:
    fetch.thread.join()  # the listing is done: then the diff
    return pipeline.TargetResult(target_run, manifest_catalog=catalog)


def test_the_manifests_load_once_the_listing_is_on_the_wire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    events: list[str] = []
    listed = threading.Event()

    def fake_run(self: Any) -> None:
        time.sleep(0.2)  # the CPU part: the config loader, the session
        events.append("first request sent")
        self.ready.set()
        listed.wait(5)  # the server answers while the manifests load
        events.append("listed")

    real_load = loader.load_manifests

    def load(*args: Any, **kwargs: Any) -> Any:
        events.append("load")
        try:
            return real_load(*args, **kwargs)
        finally:
            listed.set()

    reads: list[Path] = []
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == path:
            reads.append(self)
        return real_read(self)

    monkeypatch.setattr(pipeline._Fetch, "_run", fake_run)
    monkeypatch.setattr(pipeline, "_finish", _finish)
    monkeypatch.setattr(loader, "load_manifests", load)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    real_text = Path.read_text

    def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == path:
            reads.append(self)
        return real_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)

    run = pipeline.plan_run(pipeline.Request([path], CloudOptions()))
    assert events == ["first request sent", "load", "listed"]
    assert reads == [path]  # one read: the policy positions come from the same parse
    assert run.policy is not None and run.policy.names == ("scs-0102",)
    # the violation points at the property's own line, read from the loader's parse
    assert any(v.where == f"{path}:6:18" for v in run.violations), run.violations


def test_a_fetch_that_never_gets_to_the_network_does_not_hold_the_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nimages: [{name: a}]\n")
    release = threading.Event()
    loaded_at: list[float] = []

    def stuck(self: Any) -> None:
        release.wait(5)

    real_load = loader.load_manifests

    def load(*args: Any, **kwargs: Any) -> Any:
        loaded_at.append(time.monotonic())
        release.set()
        return real_load(*args, **kwargs)

    monkeypatch.setattr(pipeline, "READY_WAIT", 0.1)
    monkeypatch.setattr(pipeline._Fetch, "_run", stuck)
    monkeypatch.setattr(pipeline, "_finish", _finish)
    monkeypatch.setattr(loader, "load_manifests", load)
    start = time.monotonic()
    pipeline.plan_run(pipeline.Request([path], CloudOptions()))
    assert 0.1 <= loaded_at[0] - start < 2.0


def test_what_each_command_does_with_the_policies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GATE (plan, apply) hands the desired images' violations to the plans, as errors
    or with policy_warnings as warnings; LIVE (drift) loads the policy and leaves the
    plans alone; NONE (import --update) has no policy step at all, so a manifest naming
    a policy file that is not there does not stop it."""
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    gated: list[bool] = []

    def gate(results: Any, violations: Any, as_warnings: bool) -> Any:
        gated.append(as_warnings)
        return list(results)

    monkeypatch.setattr(pipeline._Fetch, "_run", lambda self: self.ready.set())
    monkeypatch.setattr(pipeline, "_finish", _finish)
    monkeypatch.setattr("reconciler.app.policies.gate_results", gate)
    run = pipeline.plan_run(pipeline.Request([path], CloudOptions(), policy_warnings=True))
    assert gated == [True] and run.violations
    live = pipeline.plan_run(pipeline.Request([path], CloudOptions(), use=pipeline.PolicyUse.LIVE))
    assert gated == [True] and live.policy is not None and live.violations == []
    missing = tmp_path / "n.yaml"
    missing.write_text(MANIFEST.replace("[scs-0102]", "[./no-such-policy.yaml]"))
    none = pipeline.plan_run(
        pipeline.Request([missing], CloudOptions(), use=pipeline.PolicyUse.NONE)
    )
    assert none.policy is None and none.violations == [] and gated == [True]
    assert PolicyLevel("warning") is PolicyLevel.warning


def test_the_warnings_are_handed_over_before_a_bad_target_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nimages:\n  - name: a\n    members: [not-a-project]\n")
    seen: list[str] = []
    monkeypatch.setattr(pipeline._Fetch, "_run", lambda self: self.ready.set())
    request = pipeline.Request([path], CloudOptions(), only=["nowhere"], on_warnings=seen.extend)
    with pytest.raises(Exception, match="--target given"):
        pipeline.plan_run(request)
    assert seen and "not a Keystone project id" in seen[0]


def test_a_guessed_listing_the_manifests_do_not_need_is_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\ntargets: [{region: R1}, {region: R2}]\nimages: [{name: a}]\n")
    guesses: list[Any] = []
    real_init = pipeline._Fetch.__init__

    def init(self: Any, options: Any, pool: Any = None, background: bool = True) -> None:
        if background:
            guesses.append(self)
        real_init(self, options, pool, background)

    monkeypatch.setattr(pipeline._Fetch, "__init__", init)
    monkeypatch.setattr(pipeline._Fetch, "_run", lambda self: self.ready.set())
    monkeypatch.setattr(
        pipeline, "_finish", lambda run, fetch, scope, catalog: pipeline.TargetResult(run)
    )
    run = pipeline.plan_run(pipeline.Request([path], CloudOptions()))
    assert [r.label for r in run.results] == ["R1", "R2"]
    assert len(guesses) == 1 and guesses[0].cancelled
