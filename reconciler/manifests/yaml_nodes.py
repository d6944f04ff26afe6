"""YAML text -> plain Python values with a file:line:col for every key and value.

Works on ruamel.yaml's composed node graph (round-trip resolver, nothing constructed),
so no tag can run code, every scalar keeps its exact source text, and aliases are
counted: a document that expands past `MAX_NODES` (an alias bomb) or nests past
`MAX_DEPTH` is refused with a clean error. Pure apart from the text it is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_NODES = 200_000
MAX_DEPTH = 64

Path = tuple[str | int, ...]

T = "tag:yaml.org,2002:"
NULL, BOOL, INT, FLOAT, STR = T + "null", T + "bool", T + "int", T + "float", T + "str"
TEXT_TAGS = frozenset({STR, T + "timestamp", T + "binary"})
KNOWN_TAGS = frozenset({NULL, BOOL, INT, FLOAT, STR, T + "map", T + "seq", *TEXT_TAGS})


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based


@dataclass
class Document:
    """One YAML document: its value and where each key and value came from."""

    value: Any
    start: Position
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def where(self, path: Path, key: bool = False) -> Position:
        """The closest known position of path (its key if asked and known)."""
        if key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.start


class YamlProblem(Exception):
    """A YAML text that cannot be read; carries the position."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def scalar_value(node: ScalarNode) -> Any:
    """The YAML 1.2 core-schema value of a plain scalar, as tagged by the resolver."""
    tag, text = str(node.tag), node.value
    if tag == NULL:
        return None
    if tag == BOOL:
        return text.lower() in ("true", "yes", "on")
    if tag == INT:
        cleaned = text.replace("_", "")
        try:
            if cleaned.lower().startswith(("0o", "-0o", "+0o")):
                return int(cleaned.replace("0o", "").replace("0O", ""), 8)
            return int(cleaned, 0)
        except ValueError:
            return int(cleaned, 10) if cleaned.lstrip("+-").isdigit() else text
    if tag == FLOAT:
        lowered = text.lower()
        if lowered in (".inf", "+.inf"):
            return math.inf
        if lowered == "-.inf":
            return -math.inf
        if lowered == ".nan":
            return math.nan
        return float(text.replace("_", ""))
    return text


class _Builder:
    """Turns one composed document into values, recording positions."""

    def __init__(self, text_paths: tuple[str, ...]) -> None:
        self.document = Document(None, Position(1, 1))
        self.visited = 0
        # Values under a mapping key named in text_paths (e.g. "properties") keep their
        # exact source text: `20.10` stays "20.10". `null` and `false` stay None/False.
        self.text_paths = text_paths

    def build(self, node: Node) -> Any:
        self.document.start = _position(node)
        self.document.value = self._value(node, (), 0, False)
        return self.document

    def _value(self, node: Node, path: Path, depth: int, as_text: bool) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise YamlProblem(
                f"document expands to more than {MAX_NODES} values (too many aliases?)",
                _position(node),
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", _position(node))
        self.document.values.setdefault(path, _position(node))
        tag = str(node.tag)
        if tag not in KNOWN_TAGS:
            raise YamlProblem(f"unsupported YAML tag {tag!r}", _position(node))
        if isinstance(node, ScalarNode):
            if as_text and tag not in (NULL, BOOL):
                return node.value
            if as_text and tag == BOOL:
                value = scalar_value(node)
                return False if value is False else node.value
            return scalar_value(node)
        if isinstance(node, SequenceNode):
            return [
                self._value(item, (*path, index), depth + 1, as_text)
                for index, item in enumerate(node.value)
            ]
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth, as_text)
        raise YamlProblem("unexpected YAML node", _position(node))

    def _mapping(self, node: MappingNode, path: Path, depth: int, as_text: bool) -> Any:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if str(key_node.tag) == T + "merge":
                raise YamlProblem("YAML merge keys (<<) are not supported", _position(key_node))
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem("mapping keys must be plain strings", _position(key_node))
            key = key_node.value
            if key in result:
                raise YamlProblem(f"duplicate key {key!r}", _position(key_node))
            self.document.keys[(*path, key)] = _position(key_node)
            text = as_text or (key in self.text_paths)
            result[key] = self._value(value_node, (*path, key), depth + 1, text)
        return result


def parse_documents(text: str, text_paths: tuple[str, ...] = ("properties",)) -> list[Document]:
    """Every non-empty document of a YAML stream."""
    yaml = YAML(typ="rt", pure=True)
    try:
        nodes = list(yaml.compose_all(text))
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        problem = err.problem or err.context or "invalid YAML"
        raise YamlProblem(f"invalid YAML: {problem}", where) from None
    except YAMLError as err:
        raise YamlProblem(f"invalid YAML: {err}", Position(1, 1)) from None
    except RecursionError:
        raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", Position(1, 1)) from None
    documents = []
    for node in nodes:
        if node is None or (isinstance(node, ScalarNode) and str(node.tag) == NULL):
            continue
        documents.append(_Builder(text_paths).build(node))
    return documents
