"""In-memory stand-ins for the services the tool talks to, for unit tests that must not
need the sandbox. Each one implements the protocol the production code is typed
against (`reconciler.cloud.api.GlanceAPI`) and follows rules observed on the real
service; a sandbox test runs the same scenario through both to keep it honest."""

from tests.fakes.glance import Crash, FakeGlance, Fault

__all__ = ["Crash", "FakeGlance", "Fault"]
