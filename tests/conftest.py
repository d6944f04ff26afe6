"""Shared fixtures. Tests under tests/sandbox/ talk to the real Keystone + Glance that
`reconciler sandbox up` runs; they are marked `sandbox` automatically."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent

# No per-example deadline: the unit tests run beside the sandbox tests on 2 cores (make
# test), where an example's wall time says more about the neighbours than the code.
settings.register_profile("reconciler", deadline=None)
settings.load_profile("reconciler")


# Lines tests want in the run's summary (campaign figures, where the screenshot is).
SUMMARY: list[str] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its summary lines to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["reconciler_summary"] = list(SUMMARY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller (pytest-xdist) collects each worker's summary lines."""
    SUMMARY.extend(getattr(node, "workeroutput", {}).get("reconciler_summary", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SUMMARY:
        terminalreporter.section("reconciler: figures from this run")
        for line in SUMMARY:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/sandbox/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.sandbox)


@dataclass
class Sandbox:
    """Handles to the running sandbox for tests: sessions and connections per user."""

    root: Path
    clouds_file: Path
    project_ids: dict[str, str]
    base_image_ids: list[str]
    glance_url: str
    _sessions: dict[str, Any] = field(default_factory=dict, repr=False)

    def cloud_region(self, cloud: str = "sandbox") -> Any:
        from openstack import config as os_config

        return os_config.OpenStackConfig(config_files=[str(self.clouds_file)]).get_one(cloud)

    def session(self, cloud: str = "sandbox") -> Any:
        """A keystoneauth1 session authenticated as one sandbox user (one per user,
        reused: keystoneauth renews the token when it expires); reads are sent again
        after a dropped connection."""
        if cloud not in self._sessions:
            session = self.cloud_region(cloud).get_session()
            request = session.request

            def reading_again(url: str, method: str, **kwargs: Any) -> Any:
                # A reused keep-alive connection Glance closed while idle (the session
                # lives for the whole test run) aborts the next request unsent; a read
                # may be sent again, a write never (CI once failed on such a GET).
                if method in ("GET", "HEAD"):
                    kwargs.setdefault("connect_retries", 2)
                return request(url, method, **kwargs)

            session.request = reading_again
            self._sessions[cloud] = session
        return self._sessions[cloud]

    def connection(self, cloud: str = "sandbox") -> Any:
        """An openstacksdk connection, for seeding and for independent read-back."""
        import openstack

        return openstack.connection.Connection(config=self.cloud_region(cloud))

    def env(self, cloud: str = "sandbox") -> dict[str, str]:
        env = dict(os.environ)
        env.update({"OS_CLIENT_CONFIG_FILE": str(self.clouds_file), "OS_CLOUD": cloud})
        return env


def sandbox_root() -> Path:
    """RECONCILER_SANDBOX_DIR (default .sandbox); under pytest-xdist (`make test` runs
    the sandbox tests in 2 workers) each worker past the first has a sandbox of its own
    beside it (`.sandbox-gw1`), so no test sees another worker's images, catalogs or
    restarts."""
    root = Path(os.environ.get("RECONCILER_SANDBOX_DIR", ROOT / ".sandbox"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return root if worker == "gw0" else root.with_name(f"{root.name}-{worker}")


def start_sandbox() -> Sandbox:
    """Bring the sandbox up (`sandbox_root()`), or reuse the running one; for the
    session fixture and the campaigns run from the command line."""
    from reconciler.sandbox import manager

    root = sandbox_root()
    result = manager.up(root)
    return Sandbox(
        root=root.resolve(),
        clouds_file=result.clouds_file,
        project_ids=dict(result.state.project_ids),
        base_image_ids=list(result.state.base_image_ids),
        glance_url=result.state.glance_url,
    )


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """Bring the sandbox up once per test session, or reuse the running one."""
    return start_sandbox()


@pytest.fixture
def unique() -> str:
    """A prefix that keeps one test's images apart from every other test's."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def demo_images(sandbox: Sandbox, unique: str) -> Iterator[list[str]]:
    """Ids of images a test created as the demo member; deleted afterwards."""
    created: list[str] = []
    yield created
    conn = sandbox.connection("sandbox")
    for image_id in created:
        for attempt in range(6):  # sqlite answers 500 "database is locked" under load
            try:
                image = conn.image.find_image(image_id)
                if image is None:
                    break
                if image.is_protected:
                    conn.image.update_image(image_id, is_protected=False)
                conn.image.delete_image(image_id, ignore_missing=True)
                break
            except Exception as err:
                status = getattr(err, "status_code", None)
                if status in (400, 404):  # deleted already (a retried delete)
                    break
                if attempt == 5:
                    raise
                time.sleep(0.5)
