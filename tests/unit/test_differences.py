"""`model.report.differences`: what an apply's check and a rollback's comparison say
differs between two views. Plain scalar keys read `key: before -> after` as before
deepdiff; inside nested values (tags, members, dicts) deepdiff says what was added,
removed or changed; equal views never reach deepdiff."""

from __future__ import annotations

from typing import Any

import deepdiff
import pytest

from reconciler.apply.applier import Original, left_changed
from reconciler.model.image_view import MANAGED_RECORD
from reconciler.model.report import differences
from tests.fakes import FakeGlance


@pytest.mark.parametrize(
    ("before", "after", "lines"),
    [
        ({"k": "1"}, {"k": "2"}, ["k: '1' -> '2'"]),
        ({"k": "1"}, {}, ["k: '1' -> (absent)"]),
        ({}, {"k": "1"}, ["k: (absent) -> '1'"]),
        ({"b": 1, "a": None}, {"b": 2, "a": "x"}, ["a: None -> 'x'", "b: 1 -> 2"]),
        ({"tags": ["a"]}, {}, ["tags: ['a'] -> (absent)"]),
    ],
    ids=["changed", "removed", "added", "sorted", "nested_removed_whole"],
)
def test_plain_keys_keep_their_line(
    before: dict[str, Any], after: dict[str, Any], lines: list[str]
) -> None:
    assert differences(before, after) == lines


@pytest.mark.parametrize(
    ("before", "after", "line"),
    [
        (
            {"tags": ["a", "b"]},
            {"tags": ["a", "c", "d"]},
            "tags: ['a', 'b'] -> ['a', 'c', 'd'] (added 'c'; added 'd'; removed 'b')",
        ),
        (
            {"protected": True},
            {"protected": "true"},
            "protected: True -> 'true' (bool -> str)",
        ),
        ({"tags": ["a"]}, {"tags": "a"}, "tags: ['a'] -> 'a' (list -> str)"),
        (
            {"tags": ["a", True]},
            {"tags": ["a", "true"]},
            "tags: ['a', True] -> ['a', 'true'] (added 'true'; removed True)",
        ),
        (
            {"tags": ["b", "a"]},
            {"tags": ["a", "b"]},
            "tags: ['b', 'a'] -> ['a', 'b'] (same items, in another order)",
        ),
        ({"tags": ["a", "a"]}, {"tags": ["a"]}, "tags: ['a', 'a'] -> ['a'] ('a' 2 -> 1 times)"),
        (
            {"d": {"x": 1, "y": "k"}},
            {"d": {"x": "1", "z": ["q"]}},
            "d: {'x': 1, 'y': 'k'} -> {'x': '1', 'z': ['q']} "
            "(['x']: 1 -> '1', int -> str; ['y']: 'k' -> (absent); ['z']: (absent) -> ['q'])",
        ),
        (
            {"d": {"l": ["a", "b"], "n": 1}},
            {"d": {"l": ["b", "c"], "n": 1}},
            "d: {'l': ['a', 'b'], 'n': 1} -> {'l': ['b', 'c'], 'n': 1} "
            "(['l'] added 'c'; ['l'] removed 'a')",
        ),
    ],
    ids=["tags", "type", "list_to_str", "type_in_list", "order", "repeat", "dict", "deeper"],
)
def test_deepdiff_says_what_differs_inside(
    before: dict[str, Any], after: dict[str, Any], line: str
) -> None:
    assert differences(before, after) == [line]


def test_values_equal_for_python_are_not_differences() -> None:
    """1 and 1.0 (and True and 1) are equal views for the fast path, so also for a key
    beside one that differs."""
    assert differences({"min_disk": 1, "k": "a"}, {"min_disk": 1.0, "k": "b"}) == ["k: 'a' -> 'b'"]
    assert differences({"n": [1], "m": 1}, {"n": [1.0], "m": True}) == []


def test_deepdiff_is_called_only_for_lists_and_dicts_that_differ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Equal views (every image an apply verifies) and scalar changes never reach it."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("deepdiff called")

    monkeypatch.setattr(deepdiff, "DeepDiff", refuse)
    view = {"tags": ["a", "b"], "k": "1", "min_disk": 0}
    assert differences(view, dict(view)) == []
    assert differences(view, {**view, "k": 2, "min_disk": None}) == [
        "k: '1' -> 2 (str -> int)",
        "min_disk: 0 -> None",
    ]
    with pytest.raises(AssertionError, match="deepdiff called"):
        differences(view, {**view, "tags": ["a"]})


def test_a_rollback_names_the_members_left_added_and_removed() -> None:
    """`left_changed` after a rollback: the member lists, then which were added and
    which removed."""
    fake = FakeGlance()
    image_id = fake.seed(
        {MANAGED_RECORD: '["k"]', "k": "1"}, visibility="shared", members=["p-b", "p-c"]
    )
    original = Original({}, None, ("p-a", "p-b"))
    left = left_changed(fake, image_id, original)  # type: ignore[arg-type]

    assert "members: ['p-a', 'p-b'] -> ['p-b', 'p-c'] (added 'p-c'; removed 'p-a')" in left
