"""Read manifest files and folders into `DesiredImage` values. File I/O (reading only).

Every problem is collected, not just the first, as `file:line:col: message`; the caller
gets either the images or a `ManifestError` listing all problems.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from reconciler.errors import ManifestError
from reconciler.manifests.glance_schema import (
    ImageSchema,
    check_image,
    enum_problems,
    property_key_problem,
    snapshot,
)
from reconciler.manifests.yaml_nodes import Document, Position, YamlProblem, parse_documents
from reconciler.model.image_view import DEFAULT_CATALOG
from reconciler.model.manifest import (
    Defaults,
    DesiredImage,
    ImageEntry,
    ManifestDocument,
    SourceSpec,
    TargetsFile,
    TargetSpec,
    WatchSpec,
    merge,
)
from reconciler.model.rotation import PreviousSpec, RotationSpec, template_problem
from reconciler.model.source import (
    DataSource,
    compression_of,
    is_url,
    parse_checksum,
    source_problems,
    source_warnings,
)
from reconciler.policy.refs import PolicyRef, is_builtin_name
from reconciler.upstream.versions import watch_problems

T = TypeVar("T")

SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 16 * 1024 * 1024

FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "document": tuple(ManifestDocument.model_fields),
    "image": tuple(ImageEntry.model_fields),
    "defaults": tuple(Defaults.model_fields),
    "target": tuple(TargetSpec.model_fields),
    "source": tuple(SourceSpec.model_fields),
    "watch": tuple(WatchSpec.model_fields),
    "rotation": tuple(RotationSpec.model_fields),
    "previous": tuple(PreviousSpec.model_fields),
}
WRONG_TYPE_HINTS = {
    "string_type": "; quote it to make it a string",
}


@dataclass(frozen=True)
class Problem:
    file: str
    position: Position
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.position.line}:{self.position.col}: {self.message}"


def manifest_files(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    """The YAML files named, or found recursively in the folders named, sorted."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            if not found:
                problems.append(Problem(str(path), Position(1, 1), "no *.yaml or *.yml files"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), Position(1, 1), "no such file or folder"))
    return files, problems


def _label(loc: tuple[Any, ...]) -> str:
    """`images[0].tags[1]` -> `tags[1]`: the path inside the image entry or block."""
    parts = list(
        loc[2:]
        if loc[:1] in (("images",), ("targets",))
        else loc[1:]
        if loc[:1] == ("defaults",)
        else loc
    )
    label = ""
    for part in parts:
        label += f"[{part}]" if isinstance(part, int) else (f".{part}" if label else str(part))
    return label or "entry"


def _describe(error: Any, section: str, read_only: frozenset[str]) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    field = str(loc[-1]) if loc else section
    if kind == "extra_forbidden":
        if field in read_only:
            return f"{field!r} is a read-only attribute set by the server; remove it"
        known = FIELD_NAMES[section]
        close = difflib.get_close_matches(field, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
        return f"unknown key {field!r}{hint}"
    if kind == "missing":
        return f"missing required key {field!r}"
    if kind == "literal_error" and field == "version":
        return "unsupported manifest version (this tool reads version: 1)"
    value = error.get("input")
    if len(loc) >= 2 and loc[-2] == "properties":
        return (
            f"property {field!r} must be a string, or null/false to remove it "
            f"(got a {type(value).__name__})"
        )
    hint = WRONG_TYPE_HINTS.get(kind, "")
    shown = ""
    if isinstance(value, int | float | bool) or (isinstance(value, str) and len(value) < 40):
        shown = f" (got {value!r})"
    if kind == "value_error":  # the models' own checks say what they want, value included
        return f"{_label(loc)}: {str(error['msg']).removeprefix('Value error, ')}"
    return f"{_label(loc)}: {error['msg']}{shown}{hint}"


def _section(loc: tuple[Any, ...]) -> str:
    if loc[:1] == ("images",) and len(loc) >= 4 and loc[2] == "source":
        return "watch" if loc[3] == "watch" and len(loc) >= 5 else "source"
    block = loc[2:] if loc[:1] == ("images",) else loc[1:] if loc[:1] == ("defaults",) else ()
    if block[:1] == ("rotation",) and len(block) >= 2:
        return "previous" if block[1] == "previous" and len(block) >= 3 else "rotation"
    if loc and loc[0] == "images" and len(loc) >= 2:
        return "image"
    if loc and loc[0] == "defaults":
        return "defaults"
    if loc and loc[0] == "targets" and len(loc) >= 2:
        return "target"
    return "document"


def _normalise_removals(value: Any) -> Any:
    """Seed semantics: a `false` custom property value means remove, like `null`."""
    if not isinstance(value, dict):
        return value
    images = value.get("images")
    blocks = [value.get("defaults"), *(images if isinstance(images, list) else [])]
    for block in list(blocks):
        rotation = block.get("rotation") if isinstance(block, dict) else None
        if isinstance(rotation, dict):
            blocks.append(rotation.get("previous"))
    for block in blocks:
        if isinstance(block, dict) and isinstance(block.get("properties"), dict):
            block["properties"] = {
                k: (None if v is False else v) for k, v in block["properties"].items()
            }
    return value


def _validate_document(
    file: str, document: Document, schema: ImageSchema
) -> tuple[ManifestDocument | None, list[Problem]]:
    value = _normalise_removals(document.value)
    if not isinstance(value, dict):
        return None, [
            Problem(
                file,
                document.start,
                "a manifest document must be a mapping with version: 1 and images:",
            )
        ]
    read_only = schema.read_only_names
    try:
        return ManifestDocument.model_validate(value), []
    except ValidationError as err:
        problems = []
        for error in err.errors():
            loc = tuple(error["loc"])
            # pydantic reports dict[str, str|None] failures per union member: keep one.
            if loc and loc[-1] == "str" and len(loc) >= 2:
                continue
            loc = tuple(part for part in loc if part not in ("str", "none"))
            is_key = error["type"] == "extra_forbidden"
            where = document.where(loc, key=is_key)
            problems.append(Problem(file, where, _describe(error, _section(loc), read_only)))
        problems += _raw_enum_problems(file, document, value, schema)
        return None, _unique(problems)


def _raw_enum_problems(
    file: str, document: Document, value: dict[str, Any], schema: ImageSchema
) -> list[Problem]:
    """Glance's enums (visibility, disk_format, ...) and the custom property names
    checked on the raw blocks of a document the models refused, so that one run reports
    these too (a valid document has them checked on its merged entries, `check_image`)."""
    blocks: list[tuple[tuple[str | int, ...], Any]] = [(("defaults",), value.get("defaults"))]
    images = value.get("images")
    if isinstance(images, list):
        blocks += [(("images", index), entry) for index, entry in enumerate(images)]
    found = []
    for at, block in blocks:
        if isinstance(block, dict):
            for field_path, message in enum_problems(block, schema):
                found.append(Problem(file, document.where((*at, *field_path)), message))
            properties = block.get("properties")
            for key in properties if isinstance(properties, dict) else ():
                problem = property_key_problem(str(key), schema)
                if problem is not None:
                    where = document.where((*at, "properties", key), key=True)
                    found.append(Problem(file, where, problem))
    return found


def _unique(items: Iterable[T]) -> list[T]:
    """The items without repeats (as their text reads), in order."""
    seen: dict[str, T] = {}
    for item in items:
        seen.setdefault(str(item), item)
    return list(seen.values())


@dataclass(frozen=True)
class Manifests:
    """What a run's manifests declare: the desired images and the catalog they form."""

    images: list[DesiredImage]
    catalog: str
    warnings: tuple[str, ...] = ()  # `file:line:col: message`, for what works but is weak
    policies: tuple[PolicyRef, ...] = ()  # what the documents' `policy:` lists name
    # The parsed documents of each file, with the position of every key and value: the
    # policy positions (`policy/positions.py`) read them, not the files a second time.
    documents: Mapping[str, tuple[Document, ...]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class _Parsed:
    """One valid document, not yet merged (the catalog is known only after all)."""

    file: str
    document: Document
    model: ManifestDocument


def load(paths: Sequence[Path], schema: ImageSchema | None = None) -> list[DesiredImage]:
    """All desired images of the manifests, or ManifestError with every problem."""
    return load_manifests(paths, schema).images


def load_manifests(
    paths: Sequence[Path], schema: ImageSchema | None = None, catalog: str | None = None
) -> Manifests:
    """The manifests' images and catalog (`catalog`: the command line's `--catalog`),
    or ManifestError with every problem, sorted by file and line."""
    schema = schema or snapshot()
    files, problems = manifest_files(paths)
    parsed = _parse_files(files, schema, problems)
    chosen = _resolve_catalog(parsed, catalog, problems)
    policies = _resolve_policies(parsed)
    warnings: list[Problem] = []
    images = _merge_all(parsed, schema, chosen, problems, warnings)
    if problems:
        order = {file: index for index, file in enumerate(dict.fromkeys(p.file for p in problems))}
        problems.sort(key=lambda p: (order[p.file], p.position.line, p.position.col))
        raise ManifestError([str(p) for p in problems])
    documents: dict[str, tuple[Document, ...]] = {}
    for item in parsed:
        documents[item.file] = (*documents.get(item.file, ()), item.document)
    return Manifests(images, chosen, tuple(str(w) for w in _unique(warnings)), policies, documents)


def _parse_files(
    files: Sequence[Path], schema: ImageSchema, problems: list[Problem]
) -> list[_Parsed]:
    """Every document that parses and validates; the problems of the others."""
    parsed: list[_Parsed] = []
    for path in files:
        file = str(path)
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_FILE_BYTES:
                raise YamlProblem(f"file larger than {MAX_FILE_BYTES} bytes", Position(1, 1))
            text = raw.decode("utf-8")
            documents = parse_documents(text)
        except UnicodeDecodeError:
            problems.append(Problem(file, Position(1, 1), "not UTF-8 text"))
            continue
        except OSError as err:
            problems.append(Problem(file, Position(1, 1), f"cannot read: {err.strerror}"))
            continue
        except YamlProblem as err:
            problems.append(Problem(file, err.position, err.message))
            continue
        if not documents:
            problems.append(Problem(file, Position(1, 1), "empty manifest (no documents)"))
            continue
        for document in documents:
            model, found = _validate_document(file, document, schema)
            problems.extend(found)
            if model is not None:
                parsed.append(_Parsed(file, document, model))
    return parsed


def _resolve_catalog(parsed: Sequence[_Parsed], given: str | None, problems: list[Problem]) -> str:
    """The run's catalog: `--catalog`, else the one the documents name, else `default`.
    Every document that names another is a problem at its `catalog:` line."""
    named = [item for item in parsed if item.model.catalog is not None]
    chosen = given or (named[0].model.catalog if named else None) or DEFAULT_CATALOG
    first = f"--catalog {given}" if given else None
    for item in named:
        where = item.document.where(("catalog",))
        if item.model.catalog == chosen:
            first = first or f"{item.file}:{where.line}"
            continue
        problems.append(
            Problem(
                item.file,
                where,
                f"catalog {item.model.catalog!r} differs from {chosen!r} ({first}); "
                "all manifests of a run belong to one catalog",
            )
        )
    return chosen


def _resolve_policies(parsed: Sequence[_Parsed]) -> tuple[PolicyRef, ...]:
    """The policies the documents name, each once, in order of first mention: built-in
    names as they are, file paths made absolute against their manifest's folder.
    Whether they exist is the policy loader's to say, at the `policy:` item."""
    refs: dict[str, PolicyRef] = {}
    for item in parsed:
        for index, ref in enumerate(item.model.policy or ()):
            where = item.document.where(("policy", index))
            if not is_builtin_name(ref):
                path = Path(ref).expanduser()
                ref = str((path if path.is_absolute() else Path(item.file).parent / path).resolve())
            refs.setdefault(ref, PolicyRef(ref, f"{item.file}:{where.line}:{where.col}"))
    return tuple(refs.values())


def _merge_all(
    parsed: Sequence[_Parsed],
    schema: ImageSchema,
    catalog: str,
    problems: list[Problem],
    warnings: list[Problem],
) -> list[DesiredImage]:
    """Each entry merged with its document's defaults and checked against the image
    schema; image names (and pinned ids) are unique across the run."""
    images: list[DesiredImage] = []
    first_name: dict[str, str] = {}
    first_id: dict[str, str] = {}
    for item in parsed:
        file, document, model = item.file, item.document, item.model
        targets = tuple(model.targets) if model.targets else None
        if model.defaults is not None:
            at_defaults = ("defaults", "stores")
            problems += _store_problems(file, document, at_defaults, model.defaults.stores)
        for index, entry in enumerate(model.images):
            start = document.where(("images", index))
            data = None
            if entry.source is not None:
                data, found, weak = _data_source(entry.source, Path(file).parent)
                for field_path, message in found:
                    where = document.where(("images", index, "source", *field_path))
                    problems.append(Problem(file, where, message))
                for field_path, message in weak:
                    where = document.where(("images", index, "source", *field_path))
                    warnings.append(Problem(file, where, message))
            desired = merge(entry, model.defaults, f"{file}:{start.line}", targets, catalog, data)
            warnings += _member_warnings(file, document, index, entry, model.defaults)
            problems += _rotation_problems(file, document, index, entry, model)
            problems += _store_problems(file, document, ("images", index, "stores"), entry.stores)
            if entry.source is not None:
                core = desired.core_dict
                for needed in ("disk_format", "container_format"):
                    if needed not in core:
                        where = document.where(("images", index, "source"), key=True)
                        problems.append(Problem(file, where, f"a source needs {needed}"))
            for field_path, message in check_image(desired, schema):
                where = document.where(("images", index, *field_path), key=True)
                if where == start and field_path and model.defaults is not None:
                    where = document.where(("defaults", *field_path), key=True)
                problems.append(Problem(file, where, message))
            if desired.id is None:
                first = first_name.setdefault(desired.name, desired.origin)
                if first != desired.origin:
                    problems.append(
                        Problem(
                            file, start, f"duplicate image name {desired.name!r} (first at {first})"
                        )
                    )
            else:
                first = first_id.setdefault(desired.id, desired.origin)
                if first != desired.origin:
                    problems.append(
                        Problem(file, start, f"duplicate image id {desired.id} (first at {first})")
                    )
            images.append(desired)
    return images


# Keystone makes project ids of 32 lower-case hex digits (uuid4().hex); Glance takes
# any string as a member and keeps it pending, shared with no one.
PROJECT_ID = re.compile(r"^[0-9a-f]{32}$")
MEMBER_CHECK_ENV = "RECONCILER_MEMBER_IDS"  # `any`: this cloud's ids look otherwise


def _member_warnings(
    file: str, document: Document, index: int, entry: ImageEntry, defaults: Defaults | None
) -> list[Problem]:
    """A warning for each member that does not look like a Keystone project id, at the
    entry's `members:` item (or the defaults')."""
    if os.environ.get(MEMBER_CHECK_ENV, "").strip().lower() == "any":
        return []
    at: tuple[str | int, ...]
    if entry.members is not None:
        members, at = entry.members, ("images", index, "members")
    elif defaults is not None and defaults.members is not None:
        members, at = defaults.members, ("defaults", "members")
    else:
        return []
    return [
        Problem(
            file,
            document.where((*at, position)),
            f"member {member!r} is not a Keystone project id (32 lower-case hex digits): Glance "
            "would keep it as a pending member of no project; if this cloud's ids look "
            f"otherwise, set {MEMBER_CHECK_ENV}=any",
        )
        for position, member in enumerate(members)
        if not PROJECT_ID.match(member)
    ]


def _rotation_problems(
    file: str, document: Document, index: int, entry: ImageEntry, model: ManifestDocument
) -> list[Problem]:
    """An entry's rotation block (its own, else the defaults'): a rename template that
    gives each build a name of its own, `retired` only with `keep`, and a source to
    make builds from (a defaults block applies only to entries with a source)."""
    at: tuple[str | int, ...]
    if entry.rotation is not None:
        spec, at = entry.rotation, ("images", index, "rotation")
        if entry.source is None:
            where = document.where(at, key=True)
            return [Problem(file, where, "rotation needs a source: builds are made from one")]
    elif model.defaults is not None and model.defaults.rotation is not None:
        if entry.source is None:
            return []
        spec, at = model.defaults.rotation, ("defaults", "rotation")
    else:
        return []
    found: list[Problem] = []
    reason = template_problem(spec.rename)
    if reason is not None:
        found.append(Problem(file, document.where((*at, "rename")), reason))
    if spec.retired is not None and spec.keep is None:
        where = document.where((*at, "retired"), key=True)
        found.append(Problem(file, where, "retired needs keep: it acts on builds beyond keep"))
    return found


def _store_problems(
    file: str, document: Document, at: FieldPath, stores: list[str] | str | None
) -> list[Problem]:
    """A `stores:` list (an entry's or the defaults'): at least one name, each non-empty
    (no spaces at either end) and named once. Whether Glance has the stores is
    `validate --online`'s check."""
    if stores is None or stores == "all":
        return []
    if not stores:
        message = "stores needs at least one store name (or `all`); leave it out for the default"
        return [Problem(file, document.where(at, key=True), message)]
    found: list[Problem] = []
    seen: set[str] = set()
    for position, name in enumerate(stores):
        where = document.where((*at, position))
        if not name.strip() or name != name.strip():
            found.append(Problem(file, where, f"store name {name!r} must be non-empty, no spaces"))
        elif name in seen:
            found.append(Problem(file, where, f"store {name!r} is listed twice"))
        seen.add(name)
    return found


FieldPath = tuple[str | int, ...]


def _data_source(
    spec: SourceSpec, base: Path
) -> tuple[DataSource | None, list[tuple[FieldPath, str]], list[tuple[FieldPath, str]]]:
    """The entry's data source (a file path made absolute), its problems and its
    warnings, each as (path inside `source:`, message)."""
    parsed = parse_checksum(spec.checksum)
    problems: list[tuple[FieldPath, str]] = []
    compression = compression_of(spec.url, spec.compression)
    mirrors = tuple(spec.mirrors or ())
    if isinstance(parsed, str):
        problems.append((("checksum",), parsed))
        algorithm, digest = "", ""
    else:
        algorithm, digest = parsed
        problems += source_problems(spec.url, algorithm, spec.method, compression, mirrors)
    if spec.watch is not None:
        problems += _watch_problems(spec.watch, base)
    location = spec.url
    if not is_url(location) and spec.method != "web-download":
        path = Path(location).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            problems.append(
                (("url",), f"no such file: {path} (a path is relative to the manifest)")
            )
        location = str(path.resolve())
    if problems:
        return None, sorted(problems, key=lambda p: (str(p[0]), p[1])), []
    data = DataSource(location, algorithm, digest, spec.method, spec.version, compression, mirrors)
    return data, [], [((field,), message) for field, message in source_warnings(algorithm)]


def _watch_problems(watch: WatchSpec, base: Path) -> list[tuple[FieldPath, str]]:
    found: list[tuple[FieldPath, str]] = [
        (("watch", field), message)
        for field, message in watch_problems(
            watch.url, watch.checksums, watch.index, watch.version, watch.signature,
            watch.keyring,
        )
    ]  # fmt: skip
    if watch.keyring is not None:
        keyring = Path(watch.keyring).expanduser()
        keyring = keyring if keyring.is_absolute() else base / keyring
        if not keyring.is_file():
            found.append(
                (("watch", "keyring"), f"no such file: {keyring} (relative to the manifest)")
            )
    return found


def load_targets(path: Path) -> list[TargetSpec]:
    """A `--targets` file's targets, or ManifestError with `file:line:col` problems."""
    file = str(path)
    try:
        documents = parse_documents(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ManifestError([f"{file}:1:1: cannot read: {err.strerror}"]) from None
    except UnicodeDecodeError:
        raise ManifestError([f"{file}:1:1: not UTF-8 text"]) from None
    except YamlProblem as err:
        raise ManifestError([str(Problem(file, err.position, err.message))]) from None
    if len(documents) != 1 or not isinstance(documents[0].value, dict):
        raise ManifestError(
            [f"{file}:1:1: a targets file is one mapping with version: 1 and targets:"]
        )
    document = documents[0]
    try:
        return list(TargetsFile.model_validate(document.value).targets)
    except ValidationError as err:
        problems = []
        for error in err.errors():
            loc = tuple(error["loc"])
            where = document.where(loc, key=error["type"] == "extra_forbidden")
            problems.append(str(Problem(file, where, _describe(error, _section(loc), frozenset()))))
        raise ManifestError(_unique(problems)) from None
