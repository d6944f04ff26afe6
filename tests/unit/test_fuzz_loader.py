"""Fuzzing the manifest loader and validator (hypothesis): every input ends in valid
images or a clean `file:line:col: message` ManifestError; never another exception,
never unbounded time or memory.

The number of examples per test is RECONCILER_FUZZ_EXAMPLES (CI: 150; the full run in
the closing note used 5,000). `pytest --hypothesis-show-statistics` prints the counts.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import ManifestError
from reconciler.manifests.loader import load
from tests.conftest import ROOT, SUMMARY

EXAMPLES = int(os.environ.get("RECONCILER_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=5000,  # ms per example: the time bound
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=bool(os.environ.get("CI_DERANDOMIZE")),
)
PROBLEM = re.compile(r"^.+:\d+:\d+: \S")
FIELDS = [
    "version",
    "images",
    "defaults",
    "targets",
    "name",
    "id",
    "visibility",
    "protected",
    "os_hidden",
    "min_disk",
    "min_ram",
    "disk_format",
    "container_format",
    "tags",
    "properties",
    "members",
    "deactivated",
    "cloud",
    "region",
    "status",
    "checksum",
]
EXAMPLE_TEXT = (ROOT / "manifests" / "examples" / "images.yaml").read_text()


CASES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_cases() -> Iterator[None]:
    yield
    SUMMARY.append(
        f"loader fuzzing: {sum(CASES.values())} inputs "
        f"({CASES['images']} valid, {CASES['problems']} refused with file:line:col), "
        f"{EXAMPLES} examples per hypothesis test"
    )


def check(path: Path, text: str | bytes) -> list[Any] | list[str]:
    """Load one file; the outcome must be images or clean problems."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        images = load([path])
        CASES["images"] += 1
        return images
    except ManifestError as err:
        CASES["problems"] += 1
        assert err.problems, "a ManifestError names at least one problem"
        for problem in err.problems:
            assert PROBLEM.match(problem), problem
            assert problem.startswith(str(path)), problem
            assert "\n" not in problem and "Traceback" not in problem, problem
        return err.problems


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["public", "shared", "qcow2", "bare", "24.04", "0x1F", "~", "null", ""]),
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(min_size=0, max_size=20))
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=40,
)


@FUZZ
@given(text=st.text(max_size=400))
def test_random_unicode_text(tmp_path: Path, text: str) -> None:
    check(tmp_path / "m.yaml", text)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    check(tmp_path / "m.yaml", data)


@FUZZ
@given(value=structures)
def test_random_structures(tmp_path: Path, value: Any) -> None:
    # JSON is YAML: any structure, written as flow YAML.
    check(tmp_path / "m.yaml", json.dumps(value, ensure_ascii=False))


@FUZZ
@given(
    images=st.lists(
        st.dictionaries(st.sampled_from(FIELDS), structures, max_size=6).map(
            lambda d: {"name": "img", **d}
        ),
        max_size=5,
    ),
    defaults=st.one_of(st.none(), st.dictionaries(st.sampled_from(FIELDS), structures)),
)
def test_almost_valid_manifests(tmp_path: Path, images: list[Any], defaults: Any) -> None:
    document: dict[str, Any] = {"version": 1, "images": images}
    if defaults is not None:
        document["defaults"] = defaults
    check(tmp_path / "m.yaml", json.dumps(document, ensure_ascii=False))


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(EXAMPLE_TEXT)), st.integers(0, 8), st.text(max_size=6)),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_example(tmp_path: Path, edits: list[tuple[int, int, str]]) -> None:
    text = EXAMPLE_TEXT
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    check(tmp_path / "m.yaml", text)


@FUZZ
@given(
    key=st.text(min_size=1, max_size=300),
    value=st.text(max_size=300),
    tag=st.text(min_size=1, max_size=300),
)
def test_unicode_keys_values_and_tags(tmp_path: Path, key: str, value: str, tag: str) -> None:
    document = {
        "version": 1,
        "images": [{"name": value or "x", "tags": [tag], "properties": {key: value}}],
    }
    check(tmp_path / "m.yaml", json.dumps(document, ensure_ascii=False))


HOSTILE = {
    "python_object": "version: 1\nimages: !!python/object/apply:os.system ['true']\n",
    "python_name": "version: 1\nimages:\n  - name: !!python/name:os.system x\n",
    "custom_tag": "version: 1\nimages:\n  - !Ref {name: x}\n",
    "binary_tag": "version: 1\nimages:\n  - name: !!binary aGVsbG8=\n",
    "merge_key": "version: 1\nx: &x {name: a}\nimages:\n  - <<: *x\n",
    "deep_lists": "version: 1\nimages: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep_maps": "version: 1\nimages: " + "{a: " * 20_000 + "x" + "}" * 20_000 + "\n",
    "deep_block": "version: 1\nimages:\n" + "".join(" " * i + "- \n" for i in range(2_000)),
    "alias_bomb": "version: 1\n"
    + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 12))
    + "images: *a11\n",
    "long_line": "version: 1\nimages:\n  - name: " + "x" * 5_000_000 + "\n",
    "many_entries": "version: 1\nimages:\n" + "  - {name: i, tags: [a]}\n" * 100_000,
    "huge_file": "# " + "x" * (17 * 1024 * 1024) + "\n",
    "nul_bytes": "version: 1\x00\nimages: []\n",
    "bom_and_crlf": "\ufeffversion: 1\r\nimages: []\r\n",
}


CHILD = """
import json, sys, time
from pathlib import Path
from reconciler.errors import ManifestError
from reconciler.manifests.loader import load
started = time.process_time()
try:
    outcome = {"images": len(load([Path(sys.argv[1])]))}
except ManifestError as err:
    outcome = {"problems": err.problems[:5], "count": len(err.problems)}
outcome["cpu"] = time.process_time() - started
# VmHWM, not ru_maxrss: a child forked from a large parent starts ru_maxrss at the
# parent's size (the pytest process grows with hypothesis's examples).
outcome["rss_kb"] = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps(outcome))
"""
LIMIT_BYTES = 2 * 1024**3  # address space of the child; exceeding it fails the load


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_are_bounded(tmp_path: Path, name: str) -> None:
    """Each ends cleanly in a child process capped at 2 GB of address space and 60 s of
    CPU, within 20 s CPU and 600 MB peak RSS."""
    path = tmp_path / "m.yaml"
    path.write_text(HOSTILE[name], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limits,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout)
    CASES["images" if "images" in outcome else "problems"] += 1
    assert outcome["cpu"] < 20, f"{name}: {outcome['cpu']:.1f} s CPU"
    assert outcome["rss_kb"] < 600 * 1024, f"{name}: {outcome['rss_kb'] / 1024:.0f} MB"
    for problem in outcome.get("problems", []):
        assert PROBLEM.match(problem) and problem.startswith(str(path)), problem
    if name in ("python_object", "python_name", "custom_tag", "binary_tag"):
        assert any("unsupported YAML tag" in p for p in outcome["problems"]), outcome
    if name == "bom_and_crlf":
        assert outcome == {**outcome, "images": 0}
