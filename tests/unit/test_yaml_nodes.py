"""The two composers (ruamel.yaml's C parser and its pure-Python round-trip composer)
give the same values and positions; hostile nesting never crashes the process."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from reconciler.manifests import yaml_nodes
from reconciler.manifests.yaml_nodes import YamlProblem, parse_documents
from tests.unit.test_fuzz_loader import structures

SAMPLES = [
    "version: 1\nimages:\n  - name: a\n    min_disk: 010\n    properties:\n"
    "      v: 20.10\n      w: 010\n      x: yes\n      y: no\n      z: false\n      n: ~\n",
    "a: &x [1, 2.5, true, null, 'q', \"d\", 0x1F, 0o17, .inf, -.inf, 1e3, +1]\nb: *x\n",
    "block: |\n  line one\n  line two\nfolded: >\n  a\n  b\nlast: x\n",
    "---\nfirst: 1\n---\n# comment only\n---\nthird: [a, {b: c}]\n",
    "on: off\nyes: no\nTrue: FALSE\n",
]


def _paths(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _walk(doc: yaml_nodes.Document) -> tuple[object, list[object]]:
    positions = [(p, doc.where(p), doc.where(p, key=True)) for p in _paths(doc.value)]  # type: ignore[arg-type]
    return doc.value, positions


@pytest.mark.skipif(yaml_nodes.CParser is None, reason="ruamel.yaml.clib is a dependency")
@pytest.mark.parametrize("text", SAMPLES)
def test_c_and_pure_composers_agree(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = [_walk(d) for d in parse_documents(text)]
    monkeypatch.setattr(yaml_nodes, "CParser", None)
    slow = [_walk(d) for d in parse_documents(text)]
    assert fast == slow


def test_yaml_12_core_schema() -> None:
    [doc] = parse_documents("a: yes\nb: no\nc: on\nd: 010\ne: 0o10\nf: True\ng: 1_000\n")
    assert doc.value == {"a": "yes", "b": "no", "c": "on", "d": 10, "e": 8, "f": True, "g": "1_000"}


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "".join("  " * i + f"k{i}:\n" for i in range(2000)),
    ],
)
def test_absurd_nesting_is_a_clean_error(text: str) -> None:
    with pytest.raises(YamlProblem, match="nesting deeper than"):
        parse_documents(text)


def _outcome(text: str) -> object:
    try:
        return [_walk(d) for d in parse_documents(text)]
    except YamlProblem as err:
        return ("problem", err.message, err.position)


@pytest.mark.skipif(yaml_nodes.CParser is None, reason="ruamel.yaml.clib is a dependency")
@settings(max_examples=300, deadline=None)
@given(value=structures)
def test_event_builder_agrees_with_nodes_on_random_structures(value: object) -> None:
    """Values and positions built from the C parser's events (what loading uses) equal
    those built from the nodes the same parser composes, for block and flow YAML."""

    def use_nodes(*_args: object) -> object:
        raise yaml_nodes._UseNodes

    for text in (json.dumps(value, ensure_ascii=False), _block(value)):
        fast = _outcome(text)
        original = yaml_nodes._documents_from_events
        yaml_nodes._documents_from_events = use_nodes  # type: ignore[assignment]
        try:
            slow = _outcome(text)
        finally:
            yaml_nodes._documents_from_events = original
        assert _same(fast, slow), (text, fast, slow)


def _same(a: object, b: object) -> bool:
    return json.dumps(a, default=repr, sort_keys=True) == json.dumps(
        b, default=repr, sort_keys=True
    )


def _block(value: object) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    out = StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump({"version": 1, "images": [value], "properties": value}, out)
    return out.getvalue()
