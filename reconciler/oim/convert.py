"""openstack-image-manager (OIM) image files -> manifest entries (`reconciler import
--from oim`). Pure: no I/O (the files are read and parsed by `reconciler.cli.oim_import`).

The mapping follows what OIM's own code leaves on an image (`process_images`,
`set_properties`, `rename_images`, `manage_outdated_images` of its `main.py`), so the
manifests describe exactly the images OIM made and the first plan only adopts them:
- the properties are `meta` (the version's `meta` over the image's), written as OIM
  writes them (`str()` of the value: `true` is "True"), plus `image_source` (the version's
  url), `image_build_date`, `internal_version` (the version), `image_original_user`
  (`login`), `os_version` (the version's, else `meta`'s; the version itself for
  `multi: false`), `image_description` and `image_name` (default: the name);
- the tags are `tags` plus OIM's management tag and `os:<os_distro>`;
- `min_disk` is at least 1 (OIM raises it to the data's size in GiB, rounded up);
- `multi: true`: one entry named NAME, its newest version the `source:`, previous builds
  named `NAME<separator>(VERSION)` (`rotation.rename`); `multi: false`: an entry per
  version, named `NAME<separator>VERSION`.
Every key without an equivalent is a `Note` at its file:line; nothing is dropped
silently. Values OIM itself would refuse (a missing required key, no usable checksum)
are errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.manifests.yaml_nodes import Document
from reconciler.model.source import compression_of, parse_checksum
from reconciler.oim.conventions import OIM_TAG

DEFAULT_SEPARATOR = " "
RETIRE_FLAGS = ("hide", "deactivate", "delete")  # OIM's --hide, --deactivate, --delete
# OIM's update job (contrib/update.py) reads these files' newest builds from a folder
# listing, not from latest_url's checksum file.
DIR_LISTING_FILES = frozenset({"ubuntu", "debian"})

IMAGE_KEYS = frozenset(
    {
        "name", "enable", "shortname", "format", "login", "min_disk", "min_ram", "status",
        "visibility", "multi", "keep", "separator", "tags", "meta", "latest_url",
        "latest_checksum_url", "versions", "password",
    }
)  # fmt: skip
VERSION_KEYS = frozenset(
    {
        "version", "url", "mirror_url", "checksum", "checksum_url", "checksums_url",
        "build_date", "hidden", "visibility", "os_version", "meta", "id", "source",
        "image_description",
    }
)  # fmt: skip
REQUIRED = ("name", "format", "login", "status", "versions", "visibility", "multi")
# Every kind of note the conversion gives (the README's table lists each).
WARNING_KINDS = frozenset(
    {
        "disabled", "shortname", "password", "older-version", "older-version-key",
        "multi-id", "retire-by-flag", "uuid-validity-not-last", "keep", "watch-fixed-url",
        "latest-incomplete", "latest-url-not-multi", "checksum-url", "version-checksum-url",
        "pattern-url", "mirror-not-http", "min-disk-raised", "hidden", "version-source",
        "version-image-description", "unknown-key",
    }
)  # fmt: skip
ERROR_KINDS = frozenset(
    {"missing-key", "no-checksum", "bad-checksum", "no-versions", "not-a-mapping", "no-images",
     "pattern-url", "bad-value"}
)  # fmt: skip
_PATTERN = re.compile(r"HEREBE(?P<regex>.*?)DRAGONS")
_URL = re.compile(r"^https?://", re.IGNORECASE)


@dataclass(frozen=True)
class Note:
    """Something the conversion says about one key: `kind` is a stable name (the
    README's table lists every kind), `error` one the output cannot be made without."""

    where: str  # file:line
    kind: str
    message: str
    error: bool = False

    def __str__(self) -> str:
        level = "error" if self.error else "warning"
        return f"{self.where}: {level}: {self.message} [{self.kind}]"


@dataclass(frozen=True)
class Options:
    """What OIM decides by command-line flag, given to the conversion."""

    include_disabled: bool = False  # OIM's --force: `enable: false` images too
    retire: frozenset[str] = frozenset()  # the OIM job's --hide / --deactivate / --delete
    tag: str = OIM_TAG  # OIM's --tag


@dataclass(frozen=True)
class Entry:
    """One manifest entry and the OIM definition it comes from (file:line)."""

    origin: str
    entry: dict[str, Any]


@dataclass
class Conversion:
    entries: list[Entry] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    definitions: int = 0  # OIM image definitions read
    left_out: int = 0  # `enable: false` definitions not converted

    @property
    def errors(self) -> list[Note]:
        return [note for note in self.notes if note.error]

    @property
    def warnings(self) -> list[Note]:
        return [note for note in self.notes if not note.error]


class _File:
    """One OIM file's document, with file:line of any path inside it."""

    def __init__(self, path: str, document: Document, out: Conversion) -> None:
        self.path = path
        self.document = document
        self.out = out
        self.stem = path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]

    def at(self, path: Sequence[str | int], key: bool = False) -> str:
        return f"{self.path}:{self.document.where(tuple(path), key=key).line}"

    def warn(self, path: Sequence[str | int], kind: str, message: str) -> None:
        assert kind in WARNING_KINDS, kind
        self.out.notes.append(Note(self.at(path, key=True), kind, message))

    def fail(self, path: Sequence[str | int], kind: str, message: str) -> None:
        assert kind in ERROR_KINDS, kind
        self.out.notes.append(Note(self.at(path, key=True), kind, message, error=True))


def convert(files: Iterable[tuple[str, Document]], options: Options = Options()) -> Conversion:
    """Every image definition of the files (path, parsed document) as entries."""
    out = Conversion()
    for path, document in files:
        source = _File(path, document, out)
        data = document.value
        images = data.get("images") if isinstance(data, dict) else None
        if not isinstance(images, list):
            source.fail((), "no-images", "not an OIM image file: no `images:` list")
            continue
        if isinstance(data, dict):
            for key in sorted(set(data) - {"images"}):
                source.warn((key,), "unknown-key", f"{key!r} is not an OIM key: not carried over")
        for number, image in enumerate(images):
            out.definitions += 1
            _image(source, ("images", number), image, options)
    return out


def oim_order(version: str) -> tuple[str | int, ...]:
    """OIM's version order (natsort's default): text and numbers alternate, numbers
    compare as numbers, and a version starting with a digit comes before one starting
    with a letter (so `latest` is the newest)."""
    parts = re.split(r"(\d+)", version)
    return tuple(int(part) if number % 2 else part for number, part in enumerate(parts))


def _text(value: Any) -> str:
    """A value as OIM writes it into a property (`str()` of what PyYAML read)."""
    return str(value)


def _image(src: _File, at: tuple[str | int, ...], image: Any, options: Options) -> None:
    if not isinstance(image, dict):
        src.fail(at, "not-a-mapping", "an image definition is a mapping")
        return
    missing = [key for key in REQUIRED if key not in image]
    if missing:
        src.fail(at, "missing-key", f"lacks {', '.join(missing)} (OIM needs them)")
        return
    if _bad_values(src, at, image):
        return
    name = str(image["name"])
    if "enable" in image and not image["enable"] and not options.include_disabled:
        src.out.left_out += 1
        src.warn(
            (*at, "enable"),
            "disabled",
            f"{name!r} has enable: false: left out (OIM skips it without --force; "
            "--include-disabled converts it)",
        )
        return
    for key in sorted(set(image) - IMAGE_KEYS):
        src.warn((*at, key), "unknown-key", f"{key!r} is not in OIM's schema: not carried over")
    if "password" in image:
        src.warn(
            (*at, "password"),
            "password",
            "password (the image's default login password) has no equivalent: not carried "
            "over (its value is not written anywhere)",
        )
    if "shortname" in image:
        src.warn(
            (*at, "shortname"),
            "shortname",
            "shortname names OIM's mirror folders and update job: no equivalent, not carried over",
        )
    versions = image["versions"]
    if not isinstance(versions, list) or not versions:
        src.fail((*at, "versions"), "no-versions", f"{name!r} has no versions")
        return
    ordered = sorted(
        (
            (str(v.get("version")), number, v)
            for number, v in enumerate(versions)
            if isinstance(v, dict) and "version" in v
        ),
        key=lambda item: oim_order(item[0]),
    )
    if len(ordered) != len(versions):
        src.fail((*at, "versions"), "missing-key", "every version needs a `version:`")
        return
    separator = str(image.get("separator", DEFAULT_SEPARATOR))
    if image["multi"]:  # truthy, as OIM reads it
        _multi(src, at, image, name, separator, ordered, options)
    else:
        for keyword in ("latest_url", "latest_checksum_url"):
            if keyword in image:
                src.warn(
                    (*at, keyword),
                    "latest-url-not-multi",
                    f"{keyword} of a multi: false image: no watch (a new version is a new "
                    "entry of its own: add it by hand)",
                )
        if "keep" in image:
            _keep_note(src, at, options)
        for version, number, spec in ordered:
            entry = _entry(
                src, at, image, f"{name}{separator}{version}", version, number, spec, options.tag
            )
            if entry is None:
                continue
            entry["properties"]["os_version"] = version
            if "id" in spec:
                entry["id"] = str(spec["id"])
            src.out.entries.append(Entry(src.at((*at, "versions", number)), _ordered(entry)))


# The types OIM's schema gives the keys the conversion reads as values.
_IMAGE_TYPES: dict[str, tuple[type, ...]] = {
    "min_disk": (int,), "min_ram": (int,), "tags": (list,), "meta": (dict,),
    "versions": (list,), "separator": (str,),
}  # fmt: skip
_VERSION_TYPES: dict[str, tuple[type, ...]] = {"meta": (dict,), "mirror_url": (str,)}


def _bad_values(src: _File, at: tuple[str | int, ...], image: dict[str, Any]) -> bool:
    """Values of a type OIM's schema does not allow (errors at their lines)."""
    bad = False
    checks = [((*at, key), image.get(key), types) for key, types in _IMAGE_TYPES.items()]
    for number, version in enumerate(image.get("versions") or ()):
        if isinstance(version, dict):
            here = (*at, "versions", number)
            checks += [((*here, k), version.get(k), t) for k, t in _VERSION_TYPES.items()]
    for path, value, types in checks:
        wrong = isinstance(value, bool) or not isinstance(value, types)
        if value is not None and wrong:
            kind = " or ".join(t.__name__ for t in types)
            src.fail(
                path, "bad-value", f"{path[-1]} must be a {kind} (OIM's schema), not {value!r}"
            )
            bad = True
    if isinstance(image.get("tags"), list) and not all(isinstance(t, str) for t in image["tags"]):
        src.fail((*at, "tags"), "bad-value", "tags must be strings (OIM's schema)")
        bad = True
    return bad


def _multi(
    src: _File,
    at: tuple[str | int, ...],
    image: dict[str, Any],
    name: str,
    separator: str,
    ordered: list[tuple[str, int, dict[str, Any]]],
    options: Options,
) -> None:
    version, number, spec = ordered[-1]
    for old, old_number, old_spec in ordered[:-1]:
        src.warn(
            (*at, "versions", old_number),
            "older-version",
            f"version {old} is not the newest: not a source; its build "
            f"{name}{separator}({old}) is adopted by the first plan as a previous build",
        )
        for key in sorted(set(old_spec) & {"hidden", "visibility", "meta", "id", "os_version"}):
            src.warn(
                (*at, "versions", old_number, key),
                "older-version-key",
                f"{key} of version {old} (not the newest): per-build metadata has no "
                "equivalent, not carried over",
            )
    if "id" in spec:
        src.warn(
            (*at, "versions", number, "id"),
            "multi-id",
            "id of a multi: true image's version: not pinned (each new build gets an id of "
            "its own, so a pinned id would lose the entry at the next build)",
        )
    entry = _entry(src, at, image, name, version, number, spec, options.tag)
    if entry is None:
        return
    if "os_version" in spec:
        entry["properties"]["os_version"] = str(spec["os_version"])
    entry["rotation"] = _rotation(src, at, image, separator, entry["properties"], options)
    watch = _watch(src, at, image, number, spec)
    if watch is not None:
        entry["source"]["watch"] = watch
    src.out.entries.append(Entry(src.at(at), _ordered(entry)))


def _entry(
    src: _File,
    at: tuple[str | int, ...],
    image: dict[str, Any],
    name: str,
    version: str,
    number: int,
    spec: dict[str, Any],
    tag: str,
) -> dict[str, Any] | None:
    """The entry of one version of the image (None when its data cannot be declared)."""
    here = (*at, "versions", number)
    for key in sorted(set(spec) - VERSION_KEYS):
        src.warn((*here, key), "unknown-key", f"{key!r} is not in OIM's schema: not carried over")
    for key in ("source", "image_description"):
        if key in spec:
            src.warn(
                (*here, key),
                f"version-{key.replace('_', '-')}",
                f"a version's {key} is in OIM's schema but its code never reads it: not "
                "carried over",
            )
    source = _source(src, here, spec, version)
    if source is None:
        return None
    meta = dict(image.get("meta") or {})
    meta.update(spec.get("meta") or {})
    properties = {str(key): _text(value) for key, value in meta.items()}
    properties["image_source"] = _image_source(str(spec["url"]))
    if "build_date" in spec:
        built = spec["build_date"]
        properties["image_build_date"] = (
            built.isoformat() if hasattr(built, "isoformat") else str(built)
        )
    properties["internal_version"] = version
    properties["image_original_user"] = _text(image["login"])
    properties["image_description"] = _text(meta.get("image_description", image["name"]))
    properties["image_name"] = _text(meta.get("image_name", image["name"]))
    tags = [str(tag) for tag in image.get("tags") or ()]
    tags.append(tag)
    if "os_distro" in meta:
        tags.append(f"os:{meta['os_distro']}")
    min_disk = image.get("min_disk", 0)
    entry: dict[str, Any] = {
        "name": name,
        "visibility": str(spec.get("visibility", image["visibility"])),
        "min_disk": max(int(min_disk), 1),
        "min_ram": int(image.get("min_ram", 0)),
        "disk_format": str(image["format"]),
        "container_format": "bare",
        "tags": sorted(set(tags)),
        "properties": properties,
        "deactivated": image["status"] == "deactivated",
        "source": source,
    }
    if int(min_disk) < 1:
        src.warn(
            (*at, "min_disk") if "min_disk" in image else at,
            "min-disk-raised",
            f"min_disk {min_disk} written as 1: OIM raises min_disk to the image's size in "
            "GiB (rounded up), at least 1 for any data",
        )
    if "hidden" in spec:
        entry["os_hidden"] = bool(spec["hidden"])
        src.warn(
            (*here, "hidden"),
            "hidden",
            f"hidden: {spec['hidden']} written as os_hidden: OIM sets it only when run with "
            "--use-os-hidden",
        )
    return entry


def _image_source(url: str) -> str:
    """OIM's `image_source`: the url, a `file:` URL cut to its file name."""
    if url.startswith("file:") and "/" in url:
        return f"file:{url.rsplit('/', 1)[1]}"
    return url


def _source(
    src: _File, here: tuple[str | int, ...], spec: dict[str, Any], version: str
) -> dict[str, Any] | None:
    url = str(spec.get("url", ""))
    mirror = str(spec["mirror_url"]) if "mirror_url" in spec else None
    if not url:
        src.fail(here, "missing-key", f"version {version} has no url")
        return None
    checksum = spec.get("checksum")
    if checksum is None:
        where = [k for k in ("checksum_url", "checksums_url") if k in spec]
        how = f" (OIM reads it from {where[0]} at each run)" if where else ""
        src.fail(
            here,
            "no-checksum",
            f"version {version} has no checksum{how}: a source needs one; write it as "
            "checksum: sha256:HEX",
        )
        return None
    parsed = parse_checksum(str(checksum))
    if isinstance(parsed, str):
        src.fail((*here, "checksum"), "bad-checksum", parsed)
        return None
    for key in ("checksum_url", "checksums_url"):
        if key in spec:
            src.warn(
                (*here, key),
                "version-checksum-url",
                f"{key} beside a checksum: the checksum is the source's; {key} is read by "
                "OIM only for version 'latest'",
            )
    location = url
    mirrors: list[str] = []
    if _PATTERN.search(url):
        if mirror is None:
            src.fail(
                (*here, "url"),
                "pattern-url",
                "url is a HEREBE...DRAGONS pattern, not a file, and there is no mirror_url",
            )
            return None
        src.warn(
            (*here, "url"),
            "pattern-url",
            "url is a HEREBE...DRAGONS pattern, not a file: the source is the mirror_url "
            "(image_source keeps the pattern, as OIM writes it)",
        )
        location, mirror = mirror, None
    elif url.startswith("file:"):
        location = re.sub(r"^file:(//)?", "", url)
    if mirror is not None:
        if _URL.match(mirror):
            mirrors.append(mirror)
        else:
            src.warn(
                (*here, "mirror_url"),
                "mirror-not-http",
                "mirror_url is not an http(s) URL: a mirror must be; not carried over",
            )
    source: dict[str, Any] = {
        "url": location,
        "checksum": f"{parsed[0]}:{parsed[1]}",
        "version": version,
    }
    if mirrors:
        source["mirrors"] = mirrors
    compression = compression_of(location, None)
    if compression is not None:
        source["compression"] = compression
    return source


def _keep_note(src: _File, at: tuple[str | int, ...], options: Options) -> None:
    if "delete" in options.retire:
        message = (
            "keep: true with --retire delete: builds beyond keep are deactivated, not "
            "deleted (retired: deactivate), as OIM's --delete does for them"
        )
    else:
        message = (
            "keep only matters to OIM's --delete (a build it would delete is kept): "
            "without --retire delete it changes nothing here"
        )
    src.warn((*at, "keep"), "keep", message)


def _rotation(
    src: _File,
    at: tuple[str | int, ...],
    image: dict[str, Any],
    separator: str,
    properties: Mapping[str, str],
    options: Options,
) -> dict[str, Any]:
    """OIM's previous builds as a rotation: its name form, and the retirement its flags
    (given as --retire) do under `uuid_validity`."""
    escaped = separator.replace("{", "{{").replace("}", "}}")
    rotation: dict[str, Any] = {"rename": "{name}" + escaped + "({version})"}
    validity = properties.get("uuid_validity")
    if "keep" in image:
        _keep_note(src, at, options)
    if validity is None or validity == "none" or not options.retire:
        if validity not in (None, "none") and not options.retire:
            src.warn(
                (*at, "meta", "uuid_validity"),
                "retire-by-flag",
                f"uuid_validity {validity}: OIM retires builds only when run with --hide, "
                "--deactivate or --delete; none given (--retire): every build is kept",
            )
        return rotation
    if validity.startswith("last-") and validity[5:].isdigit() and int(validity[5:]) >= 1:
        keep = int(validity[5:])
    else:
        keep = 1
        src.warn(
            (*at, "meta", "uuid_validity"),
            "uuid-validity-not-last",
            f"uuid_validity {validity}: OIM's code reads only last-N and retires every "
            "previous build otherwise: keep: 1",
        )
    if "hide" in options.retire:
        rotation["previous"] = {"visibility": "community"}
    if "delete" in options.retire:
        rotation["keep"] = keep
        rotation["retired"] = "deactivate" if image.get("keep") is True else "delete"
    elif "deactivate" in options.retire:
        rotation["keep"] = keep
        rotation["retired"] = "deactivate"
    return rotation


def _watch(
    src: _File, at: tuple[str | int, ...], image: dict[str, Any], number: int, spec: dict[str, Any]
) -> dict[str, Any] | None:
    latest = image.get("latest_url")
    sums = image.get("latest_checksum_url")
    if latest is None and sums is None:
        return _version_watch(src, at, number, spec)
    if latest is None or sums is None:
        given = "latest_url" if latest is not None else "latest_checksum_url"
        src.warn(
            (*at, given),
            "latest-incomplete",
            f"{given} without its partner: OIM's update job needs both; no watch",
        )
        return None
    latest, sums = str(latest), str(sums)
    found = _PATTERN.search(latest)
    if found is None:
        if src.stem in DIR_LISTING_FILES:
            src.warn(
                (*at, "latest_url"),
                "watch-fixed-url",
                "OIM's update job finds this image's builds in the folder listing above "
                "latest_url; the watch follows the fixed URL (its version is the file's "
                "Last-Modified date)",
            )
        return {"url": latest, "checksums": sums}
    regex, tail = _split_pattern(found["regex"])
    url = latest[: found.start()] + "{version}" + tail + latest[found.end() :]
    return {"url": url, "checksums": sums, "version": regex}


def _version_watch(
    src: _File, at: tuple[str | int, ...], number: int, spec: dict[str, Any]
) -> dict[str, Any] | None:
    if "checksums_url" in spec and spec.get("version") == "latest":
        return {"url": str(spec["url"]), "checksums": str(spec["checksums_url"])}
    if "checksum_url" in spec and spec.get("version") == "latest":
        src.warn(
            (*at, "versions", number, "checksum_url"),
            "checksum-url",
            "checksum_url (a file holding one bare digest) has no watch equivalent: no watch",
        )
    return None


_TOKEN = re.compile(r"\\.|\[(?:\\.|[^\]])*\]|\((?:\\.|[^)])*\)|[*+?]|\{\d*,?\d*\}|.", re.S)


def _split_pattern(regex: str) -> tuple[str, str]:
    """OIM's HEREBE...DRAGONS regex as (version regex, literal tail): a trailing `$`
    is dropped (a watch matches whole names) and trailing literal characters
    (`\\.qcow2`) move into the URL template."""
    regex = regex.removesuffix("$")
    tokens = _TOKEN.findall(regex)
    tail: list[str] = []
    while tokens:
        token = tokens[-1]
        literal = (len(token) == 2 and token[0] == "\\" and not token[1].isalnum()) or (
            len(token) == 1 and (token.isalnum() or token in "-_")
        )
        if not literal:
            break
        tail.insert(0, token[-1])
        tokens.pop()
    version = "".join(tokens)
    if not version:
        return regex, ""
    return version, "".join(tail)


_ORDER = (
    "name", "id", "visibility", "os_hidden", "min_disk", "min_ram", "disk_format",
    "container_format", "tags", "properties", "deactivated", "source", "rotation",
)  # fmt: skip
_SOURCE_ORDER = ("url", "checksum", "version", "mirrors", "compression", "watch")


def _ordered(entry: dict[str, Any]) -> dict[str, Any]:
    out = {key: entry[key] for key in _ORDER if key in entry}
    out["properties"] = dict(sorted(entry["properties"].items()))
    out["source"] = {key: entry["source"][key] for key in _SOURCE_ORDER if key in entry["source"]}
    return out
