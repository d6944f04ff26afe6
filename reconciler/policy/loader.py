"""Read policies: built-in ones by name (shipped in `reconciler/data/policies/`) and
policy files by path, into one `Policy`. File I/O (reading only).

Every problem is collected, as `file:line:col: message` (a built-in policy or file that
cannot be found: at the manifest's `policy:` item that names it, or `--policy`), and
raised together as one `ManifestError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.errors import ManifestError
from reconciler.manifests.yaml_nodes import Document, YamlProblem, parse_documents
from reconciler.policy.models import (
    LoadedRule,
    Policy,
    PolicyDocument,
    Requirement,
    Rule,
    Selector,
)
from reconciler.policy.refs import PolicyRef, is_builtin_name

# Values kept as their source text: selector property values and allowed values.
TEXT_PATHS = ("properties", "one_of", "equals")
FIELDS: dict[str, tuple[str, ...]] = {
    "document": tuple(PolicyDocument.model_fields),
    "rule": tuple(Rule.model_fields),
    "select": tuple(Selector.model_fields),
    "require": tuple(Requirement.model_fields),
}


def builtin_names() -> list[str]:
    folder = resources.files("reconciler.data") / "policies"
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def _read(ref: PolicyRef) -> tuple[str, str]:
    """(the name problems are reported under, the text), or ManifestError."""
    if is_builtin_name(ref.ref):
        names = builtin_names()
        if ref.ref not in names:
            close = difflib.get_close_matches(ref.ref, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ManifestError(
                [
                    f"{ref.origin}: unknown built-in policy {ref.ref!r} (built in: "
                    f"{', '.join(names)}){hint}; a policy file is a path ending in .yaml"
                ]
            )
        text = (resources.files("reconciler.data") / "policies" / f"{ref.ref}.yaml").read_text(
            encoding="utf-8"
        )
        return ref.ref, text
    path = Path(ref.ref)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError([f"{ref.origin}: no such policy file: {path}"]) from None
    except OSError as err:
        raise ManifestError(
            [f"{ref.origin}: cannot read policy file {path}: {err.strerror}"]
        ) from None
    except UnicodeDecodeError:
        raise ManifestError([f"{path}:1:1: not UTF-8 text"]) from None


def _section(loc: tuple[Any, ...]) -> str:
    if len(loc) >= 3 and loc[0] == "rules" and loc[2] in ("select", "require"):
        return str(loc[2])
    if len(loc) >= 2 and loc[0] == "rules":
        return "rule"
    return "document"


def _describe(error: Any) -> str:
    loc = tuple(error["loc"])
    field = str(loc[-1]) if loc else "policy"
    kind = error["type"]
    if kind == "extra_forbidden":
        known = FIELDS[_section(loc[:-1])]
        close = difflib.get_close_matches(field, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
        return f"unknown key {field!r}{hint}"
    if kind == "missing":
        return f"missing required key {field!r}"
    if kind == "literal_error" and loc == ("version",):
        return "unsupported policy version (this tool reads version: 1)"
    message = str(error["msg"]).removeprefix("Value error, ")
    inner = loc[2:] if loc[:1] == ("rules",) else loc
    label = ".".join(str(part) for part in inner if not isinstance(part, int))
    value = error.get("input")
    shown = (
        f" (got {value!r})" if isinstance(value, str | int | float) and len(str(value)) < 40 else ""
    )
    return f"{label or 'rule'}: {message}{shown}"


def _validate(file: str, document: Document) -> tuple[PolicyDocument | None, list[str]]:
    if not isinstance(document.value, dict):
        start = document.start
        message = "a policy is a mapping with version: 1 and rules:"
        return None, [f"{file}:{start.line}:{start.col}: {message}"]
    try:
        return PolicyDocument.model_validate(document.value), []
    except ValidationError as err:
        problems = []
        for error in err.errors():
            loc = tuple(part for part in error["loc"] if part not in ("str", "int", "bool"))
            where = document.where(loc, key=error["type"] == "extra_forbidden")
            line = f"{file}:{where.line}:{where.col}: {_describe({**error, 'loc': loc})}"
            if line not in problems:
                problems.append(line)
        return None, problems


def load_policy(refs: Sequence[PolicyRef]) -> Policy:
    """The combined policy of the refs, in order (see `policy.models` for how rules
    combine), or ManifestError with every problem."""
    problems: list[str] = []
    rules: dict[str, LoadedRule] = {}
    names: list[str] = []
    seen: set[str] = set()
    for ref in refs:
        key = ref.ref if is_builtin_name(ref.ref) else str(Path(ref.ref).resolve())
        if key in seen:
            continue
        seen.add(key)
        try:
            file, text = _read(ref)
            documents = parse_documents(text, TEXT_PATHS)
        except ManifestError as err:
            problems += err.problems
            continue
        except YamlProblem as err:
            problems.append(f"{ref.ref}:{err.position.line}:{err.position.col}: {err.message}")
            continue
        if len(documents) != 1:
            problems.append(f"{file}:1:1: a policy file holds one YAML document")
            continue
        document = documents[0]
        model, found = _validate(file, document)
        problems += found
        if model is None:
            continue
        names.append(ref.ref if is_builtin_name(ref.ref) else file)
        for index, rule_id in enumerate(model.disable):
            if rules.pop(rule_id, None) is None:
                where = document.where(("disable", index))
                problems.append(
                    f"{file}:{where.line}:{where.col}: disable: no rule {rule_id!r} in the "
                    "policies named before this one"
                )
        mine: set[str] = set()
        for index, rule in enumerate(model.rules):
            where = document.where(("rules", index))
            origin = f"{file}:{where.line}:{where.col}"
            if rule.id in mine:
                at = document.where(("rules", index, "id"))
                problems.append(f"{file}:{at.line}:{at.col}: duplicate rule id {rule.id!r}")
                continue
            mine.add(rule.id)
            rules.pop(rule.id, None)  # a redefinition takes the later place
            rules[rule.id] = LoadedRule(rule, origin)
    if problems:
        raise ManifestError(problems)
    return Policy(tuple(names), tuple(rules.values()))


def cli_refs(values: Sequence[str]) -> list[PolicyRef]:
    """`--policy` values: built-in names, or paths relative to the working folder."""
    return [PolicyRef(value, f"--policy {value}") for value in values]
