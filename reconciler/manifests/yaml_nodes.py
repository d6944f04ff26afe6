"""YAML text -> plain Python values with a file:line:col for every key and value.

Works on ruamel.yaml's composed node graph (nothing is constructed), so no tag can run
code, every scalar keeps its exact source text, and aliases are counted: a document that
expands past what its text could hold without aliases (an alias bomb) or nests past
`MAX_DEPTH` is refused with a clean error. Plain scalars are resolved here with the YAML
1.2 core schema (`yes`, `no`, `on` stay strings; `010` is the integer 10 for core fields
and the text "010" for properties).

Composing uses ruamel.yaml's C parser (ruamel.yaml.clib, libyaml) when it is installed:
about 20 times faster than the pure-Python round-trip composer (1,000 image entries,
27,000 lines: 0.2 s against 4.5 s), with the same marks. The C composer recurses on the
C stack and crashes on absurd nesting, so text nested deeper than `C_SAFE_DEPTH` goes to
the pure-Python composer, whose recursion error becomes a clean message. Pure apart from
the text it is given.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, ClassVar

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import BaseResolver
from ruamel.yaml.tag import Tag

try:
    from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
except ImportError:  # ruamel.yaml.clib missing: the pure-Python composer does the work
    CParser = None

C_SAFE_DEPTH = 500
# Beyond this (brackets or indentation, counted without parsing) the text is refused
# before composing: manifests nest a few levels (MAX_DEPTH), and the pure composer is
# quadratic in nesting (5,000 levels: 21 s of CPU; 1,000: under a second).
REFUSE_DEPTH = 1000
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INDENTS = re.compile(r"^ +", re.M)

# YAML 1.2 core schema, for plain (unquoted) scalars.
_NUMBER_START = frozenset("0123456789+-.")
_NULL_START = frozenset(("", "~", "n", "N"))
_BOOL_START = frozenset("tTfF")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)

# Without aliases a value costs at least two characters of source (`a,` in a flow list);
# a document whose values outnumber its text by more than that is an alias expansion.
MIN_NODE_BUDGET = 10_000
SHALLOW = 2  # the event builder records the positions of nodes this deep or shallower
MAX_DEPTH = 64

Path = tuple[str | int, ...]

T = "tag:yaml.org,2002:"
NULL, BOOL, INT, FLOAT, STR = T + "null", T + "bool", T + "int", T + "float", T + "str"
SEQ, MAP, MERGE = T + "seq", T + "map", T + "merge"
_TEXT_OF = {name: name for name in (NULL, BOOL, INT, FLOAT, STR, SEQ, MAP)}
TEXT_TAGS = frozenset({STR, T + "timestamp"})  # !!binary would mean bytes: refused
KNOWN_TAGS = frozenset({NULL, BOOL, INT, FLOAT, STR, MAP, SEQ, *TEXT_TAGS})


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based


class Document:
    """One YAML document: its value, and where to find positions. Positions are looked
    up only when an error needs one: documents built from parser events keep no node
    graph (it is most of the memory of a large file) and compose the text again, once,
    the first time a position is asked for."""

    __slots__ = ("_ordinal", "_positions", "_root", "_text", "value")

    def __init__(
        self,
        value: Any,
        root: Node | None = None,
        *,
        text: str | None = None,
        ordinal: int = 0,
        positions: dict[tuple[Path, bool], Position] | None = None,
    ) -> None:
        self.value = value
        self._root = root
        self._text = text
        self._ordinal = ordinal
        self._positions = positions or {}

    @property
    def root(self) -> Node:
        if self._root is None:
            assert self._text is not None
            self._root = _compose_all(self._text)[self._ordinal]
            self._text = None
        return self._root

    @property
    def start(self) -> Position:
        return self.where(())

    def where(self, path: Path, key: bool = False) -> Position:
        """The position of path's value (of its key, if asked), or of the closest
        ancestor that exists."""
        known = self._positions.get((tuple(path), key))
        if known is not None:
            return known
        node, best = self.root, _position(self.root)
        last = len(path) - 1
        for depth, part in enumerate(path):
            if isinstance(node, MappingNode) and isinstance(part, str):
                for key_node, value_node in node.value:
                    if isinstance(key_node, ScalarNode) and key_node.value == part:
                        if key and depth == last:
                            return _position(key_node)
                        node = value_node
                        break
                else:
                    return best
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    return best
                node = node.value[part]
            else:
                return best
            best = _position(node)
        return best


class YamlProblem(Exception):
    """A YAML text that cannot be read; carries the position."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def resolve_plain(text: str) -> str:
    """The YAML 1.2 core-schema tag of a plain scalar's text. Most manifest scalars
    are words, so the first character settles them without a regular expression."""
    first = text[:1]
    if first in _NUMBER_START:
        if _INT.match(text):
            return INT
        if _FLOAT.match(text):
            return FLOAT
        return STR
    if first in _NULL_START and _NULL.match(text):
        return NULL
    if first in _BOOL_START and _BOOL.match(text):
        return BOOL
    return STR


def node_tag(node: Node) -> str:
    """The node's tag as text (cheaper than str() for the common, resolved tags)."""
    ctag = node.ctag
    if ctag.handle is None and ctag.suffix in _TEXT_OF:
        return _TEXT_OF[ctag.suffix]
    return str(ctag)


def scalar_value(tag: str, text: str) -> Any:
    """The value of a scalar with a resolved tag."""
    if tag == NULL:
        return None
    if tag == BOOL:
        return text.lower() == "true"
    if tag == INT:
        lowered = text.lower()
        if lowered.startswith("0o"):
            return int(lowered[2:], 8)
        if lowered.startswith("0x"):
            return int(lowered[2:], 16)
        try:
            return int(text.replace("_", ""), 10)
        except ValueError:
            return text
    if tag == FLOAT:
        lowered = text.lower()
        if lowered in (".inf", "+.inf"):
            return math.inf
        if lowered == "-.inf":
            return -math.inf
        if lowered == ".nan":
            return math.nan
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return text
    return text


def typed_scalar(tag: str, text: str, as_text: bool) -> Any:
    """A scalar's value; under a text path (`properties`) its exact source text, but
    `null` stays None and `false` stays False (both mean "remove")."""
    if not as_text:
        return scalar_value(tag, text)
    if tag == NULL:
        return None
    if tag == BOOL and scalar_value(tag, text) is False:
        return False
    return text


class _Builder:
    """Turns one composed document into values (positions stay in the nodes)."""

    def __init__(self, text_paths: tuple[str, ...], budget: int) -> None:
        self.visited = 0
        self.budget = budget
        # Values under a mapping key named in text_paths (e.g. "properties") keep their
        # exact source text: `20.10` stays "20.10". `null` and `false` stay None/False.
        self.text_paths = text_paths

    def build(self, node: Node) -> Document:
        return Document(self._value(node, 0, False), node)

    def _value(self, node: Node, depth: int, as_text: bool) -> Any:
        self.visited += 1
        if self.visited > self.budget:
            raise YamlProblem(
                f"document expands to more than {self.budget} values, more than its text "
                "can hold (too many aliases?)",
                _position(node),
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", _position(node))
        tag = node_tag(node)
        if tag not in KNOWN_TAGS:
            raise YamlProblem(f"unsupported YAML tag {tag!r}", _position(node))
        if isinstance(node, ScalarNode):
            text = node.value
            if node.style == ">":  # the round-trip composer marks folds with \a
                text = text.replace("\a", "")
            return typed_scalar(tag, text, as_text)
        if isinstance(node, SequenceNode):
            return [self._value(item, depth + 1, as_text) for item in node.value]
        if isinstance(node, MappingNode):
            return self._mapping(node, depth, as_text)
        raise YamlProblem("unexpected YAML node", _position(node))

    def _mapping(self, node: MappingNode, depth: int, as_text: bool) -> Any:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem("mapping keys must be plain strings", _position(key_node))
            if node_tag(key_node) == MERGE:
                raise YamlProblem("YAML merge keys (<<) are not supported", _position(key_node))
            key = key_node.value
            if key in result:
                raise YamlProblem(f"duplicate key {key!r}", _position(key_node))
            text = as_text or (key in self.text_paths)
            result[key] = self._value(value_node, depth + 1, text)
        return result


class _UseNodes(Exception):
    """The event builder met a case it leaves to the node builder (an alias used both
    inside and outside `properties`)."""


def _mark(event: Any) -> Position:
    return Position(event.start_mark.line + 1, event.start_mark.column + 1)


class _EventBuilder:
    """Builds a document's values straight from the C parser's events, the same values
    as _Builder gives from nodes, without ever holding a node graph."""

    def __init__(self, get: Any, text_paths: tuple[str, ...], budget: int) -> None:
        self.get = get
        self.text_paths = text_paths
        self.budget = budget
        self.visited = 0
        self.anchors: dict[str, tuple[Any, int, bool, Position]] = {}
        # Positions of the shallow nodes (the document's keys and their items, e.g. each
        # image entry's start, which every DesiredImage names as its source).
        self.positions: dict[tuple[Path, bool], Position] = {}

    def _count(self, amount: int, event: Any) -> None:
        self.visited += amount
        if self.visited > self.budget:
            raise YamlProblem(
                f"document expands to more than {self.budget} values, more than its text "
                "can hold (too many aliases?)",
                _mark(event),
            )

    def value(self, event: Any, depth: int, as_text: bool, path: Path | None = ()) -> Any:
        self._count(1, event)
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", _mark(event))
        kind = type(event)
        if kind is AliasEvent:
            return self._alias(event, as_text, path)
        if path is not None:
            self.positions[(path, False)] = _mark(event)
            if depth >= SHALLOW:
                path = None
        before = self.visited
        if kind is ScalarEvent:
            result = self._scalar(event, as_text)
        elif kind is SequenceStartEvent:
            self._check_tag(event, SEQ)
            result = []
            get, append = self.get, result.append
            while True:
                item = get()
                if type(item) is SequenceEndEvent:
                    break
                where = None if path is None else (*path, len(result))
                append(self.value(item, depth + 1, as_text, where))
        elif kind is MappingStartEvent:
            self._check_tag(event, MAP)
            result = self._mapping(depth, as_text, path)
        else:
            raise YamlProblem("unexpected YAML event", _mark(event))
        if event.anchor is not None:
            size = self.visited - before + 1
            self.anchors[event.anchor] = (result, size, as_text, _mark(event))
        return result

    def _alias(self, event: Any, as_text: bool, path: Path | None) -> Any:
        found = self.anchors.get(event.anchor)
        if found is None:
            raise YamlProblem(f"invalid YAML: found undefined alias {event.anchor!r}", _mark(event))
        value, size, anchored_as_text, mark = found
        if anchored_as_text != as_text:
            raise _UseNodes
        if path is not None:  # as the node graph has it: the anchored node's position
            self.positions[(path, False)] = mark
        self._count(size - 1, event)
        return copy.deepcopy(value) if isinstance(value, list | dict) else value

    def _check_tag(self, event: Any, default: str) -> None:
        tag = event.tag
        if tag is not None and tag != "!" and tag != default:
            raise YamlProblem(f"unsupported YAML tag {tag!r}", _mark(event))

    def _scalar(self, event: Any, as_text: bool) -> Any:
        tag = event.tag
        text = event.value
        if tag is None:
            tag = resolve_plain(text) if event.implicit[0] else STR
        elif tag == "!":
            tag = STR
        elif tag not in KNOWN_TAGS:
            raise YamlProblem(f"unsupported YAML tag {tag!r}", _mark(event))
        return typed_scalar(tag, text, as_text)

    def _mapping(self, depth: int, as_text: bool, path: Path | None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        get, text_paths = self.get, self.text_paths
        while True:
            key_event = get()
            if type(key_event) is MappingEndEvent:
                return result
            if type(key_event) is not ScalarEvent:
                raise YamlProblem("mapping keys must be plain strings", _mark(key_event))
            key = key_event.value
            if key_event.tag == MERGE or (key == "<<" and key_event.implicit[0]):
                raise YamlProblem("YAML merge keys (<<) are not supported", _mark(key_event))
            if key_event.tag not in (None, "!", STR):
                raise YamlProblem(f"unsupported YAML tag {key_event.tag!r}", _mark(key_event))
            if key in result:
                raise YamlProblem(f"duplicate key {key!r}", _mark(key_event))
            where = None
            if path is not None:
                where = (*path, key)
                self.positions[(where, True)] = _mark(key_event)
            result[key] = self.value(get(), depth + 1, as_text or key in text_paths, where)


def _documents_from_events(text: str, text_paths: tuple[str, ...]) -> list[Document]:
    """Every non-empty document, built from the C parser's events."""
    parser = CParser(text)
    get = parser.get_event
    get()  # stream start
    documents: list[Document] = []
    ordinal = 0
    while True:
        event = get()
        if type(event) is StreamEndEvent:
            return documents
        root = get()  # after the document start
        builder = _EventBuilder(get, text_paths, MIN_NODE_BUDGET + len(text) // 2)
        value = builder.value(root, 0, False)
        if type(get()) is not DocumentEndEvent:
            raise YamlProblem("invalid YAML: expected the end of the document", _mark(root))
        empty = type(root) is ScalarEvent and value is None
        if not empty:
            documents.append(
                Document(value, text=text, ordinal=ordinal, positions=builder.positions)
            )
        ordinal += 1


class _CoreResolver(BaseResolver):
    """YAML 1.2 core-schema resolution of untagged scalars, with shared Tag objects: a
    few times faster than ruamel's versioned resolver, same tags for manifests.
    Explicitly tagged nodes (`!!str 010`) never reach it."""

    _TAGS: ClassVar[dict[str, Tag]] = {name: Tag(suffix=name) for name in _TEXT_OF}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            return self._TAGS[resolve_plain(value) if implicit[0] else STR]
        return self._TAGS[SEQ if kind is SequenceNode else MAP]


class _CComposer(CParser if CParser is not None else object, _CoreResolver):  # type: ignore[misc]
    """ruamel.yaml's C composer (libyaml) with the core-schema resolver."""

    def __init__(self, text: str) -> None:
        CParser.__init__(self, text)
        _CoreResolver.__init__(self)


def _nesting_is_c_safe(text: str) -> bool:
    brackets = _NOT_BRACKETS.sub("", text)
    flow = max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)
    indent = max(map(len, _INDENTS.findall(text)), default=0)
    if flow > REFUSE_DEPTH or indent > REFUSE_DEPTH:
        raise YamlProblem(
            f"nesting deeper than {MAX_DEPTH} levels (brackets or indentation over "
            f"{REFUSE_DEPTH} deep)",
            _deep_position(text),
        )
    return flow <= C_SAFE_DEPTH and indent <= C_SAFE_DEPTH


def _deep_position(text: str) -> Position:
    """Where the bracket or indentation depth first passes REFUSE_DEPTH."""
    depth = 0
    for match in re.finditer(r"[\[\]{}]|^ +", text, re.M):
        token = match.group()
        if token[0] == " ":
            if len(token) > REFUSE_DEPTH:
                break
            continue
        depth += _BRACKET_STEP[token]
        if depth > REFUSE_DEPTH:
            break
    else:
        return Position(1, 1)
    before = text[: match.start()]
    return Position(before.count("\n") + 1, match.start() - before.rfind("\n"))


def _compose_all(text: str, use_c: bool | None = None) -> list[Node]:
    c_safe = _nesting_is_c_safe(text)  # refuses absurd nesting before any parsing
    if use_c is None:
        use_c = CParser is not None and c_safe
    if use_c:
        composer = _CComposer(text)
        nodes = []
        while composer.check_node():
            nodes.append(composer.get_node())
        return nodes
    return list(YAML(typ="rt", pure=True).compose_all(text))


# What the parser was inside when it gave up -> what was opened there, and the words
# of the problems that mean it was never closed (not a bad escape in a quoted string).
_UNCLOSED = {
    "while parsing a flow sequence": ("'['", ("expected ','", "expected ']'")),
    "while parsing a flow mapping": ("'{'", ("expected ','", "expected '}'")),
    "while scanning a quoted scalar": ("quote", ("end of stream", "document separator")),
}


def _marked_problem(err: MarkedYAMLError) -> YamlProblem:
    """The parser's error at the place to fix: for a bracket or quote never closed, where
    it was opened (the parser reports where it gave up, often lines later), else where
    the parser stopped."""
    problem_mark, context_mark = err.problem_mark, err.context_mark
    opened, closing_words = _UNCLOSED.get(str(err.context or ""), ("", ()))
    if any(w in str(err.problem) for w in closing_words) and context_mark is not None:
        where = Position(context_mark.line + 1, context_mark.column + 1)
        gave_up = (
            f" (the parser gave up at {problem_mark.line + 1}:{problem_mark.column + 1})"
            if problem_mark is not None
            else ""
        )
        return YamlProblem(f"invalid YAML: this {opened} is never closed{gave_up}", where)
    mark = problem_mark or context_mark
    where = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
    return YamlProblem(f"invalid YAML: {err.problem or err.context or 'invalid YAML'}", where)


def parse_documents(text: str, text_paths: tuple[str, ...] = ("properties",)) -> list[Document]:
    """Every non-empty document of a YAML stream: built from the C parser's events
    (no node graph kept) when the C parser is there and the nesting is safe for it,
    else from composed nodes."""
    try:
        if CParser is not None and _nesting_is_c_safe(text):
            try:
                return _documents_from_events(text, text_paths)
            except _UseNodes:
                pass
        nodes = _compose_all(text)
    except MarkedYAMLError as err:
        raise _marked_problem(err) from None
    except ReaderError as err:  # a character YAML does not allow: point at it
        before = text[: max(0, int(err.position))]
        where = Position(before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
        code = (
            err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
        )
        raise YamlProblem(f"invalid YAML: character U+{code:04X} is not allowed", where) from None
    except YAMLError as err:
        first = " ".join(str(err).split())[:200]
        raise YamlProblem(f"invalid YAML: {first}", Position(1, 1)) from None
    except RecursionError:
        raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", Position(1, 1)) from None
    documents = []
    for node in nodes:
        if node is None or (isinstance(node, ScalarNode) and node_tag(node) == NULL):
            continue
        budget = MIN_NODE_BUDGET + len(text) // 2
        documents.append(_Builder(text_paths, budget).build(node))
    return documents
