"""Policy x images -> violations. Pure and deterministic: the same facts give the same
violations in the same order (rule order, then image order).

One rule gives at most one violation per image. A `unique` rule reports every image of
a group but the first (in the order given: manifest order, or the listing's), naming
the first; so one duplicate is one violation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from reconciler.policy.facts import ImageFacts
from reconciler.policy.models import (
    DEFAULT_ROTATION_MARKER,
    Level,
    LoadedRule,
    Policy,
    Requirement,
    Selector,
    Violation,
    date_format,
)

_INTEGER = re.compile(r"^[+-]?\d+$")


def text(value: Any) -> str:
    """A value as Glance stores it: `true`/`false` for booleans, else its string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def selects(selector: Selector, image: ImageFacts) -> bool:
    visibility = image.attributes.get("visibility")
    if selector.visibility is not None and visibility not in selector.visibility:
        return False
    if selector.name is not None and not _compiled(selector.name).search(image.name):
        return False
    if selector.tags is not None and not set(selector.tags) <= image.tags:
        return False
    for key, wanted in (selector.properties or {}).items():
        if image.properties.get(key) != wanted:
            return False
    if selector.present is not None and any(k not in image.properties for k in selector.present):
        return False
    return selector.hidden is None or image.hidden is selector.hidden


def _is_date(value: str, formats: Sequence[str]) -> bool:
    for fmt in formats:
        pattern, strp = date_format(fmt)
        if pattern.match(value):
            try:
                datetime.strptime(value, strp)
            except ValueError:
                continue
            return True
    return False


def _value_checks(req: Requirement, value: str) -> tuple[bool, list[str]]:
    """Whether the value passes one of the requirement's value checks (none given:
    it passes), and what was expected, for the message."""
    expected: list[str] = []
    passed = False
    if req.one_of is not None:
        expected.append("one of " + ", ".join(text(c) for c in req.one_of))
        passed |= value in {text(c) for c in req.one_of}
    if req.pattern is not None:
        expected.append(f"a match of {req.pattern!r}")
        passed |= _compiled(req.pattern).fullmatch(value) is not None
    if req.integer is not None:
        low, high = req.integer.min, req.integer.max
        bounds = f" in [{'' if low is None else low}, {'' if high is None else high}]"
        expected.append("a whole number" + (bounds if (low, high) != (None, None) else ""))
        if _INTEGER.match(value):
            number = int(value)
            passed |= (low is None or number >= low) and (high is None or number <= high)
    if req.date is not None:
        expected.append("a date as " + " or ".join(req.date))
        passed |= _is_date(value, req.date)
    return passed or not expected, expected


def _property(req: Requirement, image: ImageFacts) -> tuple[str, str] | None:
    key = req.property
    assert key is not None
    value = image.properties.get(key)
    if value is None:
        return None if req.optional else (f"{key} is not set", f"property:{key}")
    ok, expected = _value_checks(req, value)
    if ok:
        return None
    return f"{key} is {value!r}, expected " + " or ".join(expected), f"property:{key}"


def _attribute(req: Requirement, image: ImageFacts) -> tuple[str, str] | None:
    name = req.attribute
    assert name is not None
    where = f"attribute:{name}"
    value = image.attributes.get(name)
    if value is None:
        return f"{name} is not set", where
    problems = []
    if req.min is not None or req.max is not None:
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append("a number")
        else:
            if req.min is not None and value < req.min:
                problems.append(f"at least {req.min}")
            if req.max is not None and value > req.max:
                problems.append(f"at most {req.max}")
    if req.equals is not None and text(value) != text(req.equals):
        problems.append(text(req.equals))
    if req.one_of is not None and text(value) not in {text(c) for c in req.one_of}:
        problems.append("one of " + ", ".join(text(c) for c in req.one_of))
    if req.pattern is not None and not _compiled(req.pattern).fullmatch(text(value)):
        problems.append(f"a match of {req.pattern!r}")
    if not problems:
        return None
    shown = repr(value) if isinstance(value, str) else text(value)
    return f"{name} is {shown}, expected " + " and ".join(problems), where


def _source(req: Requirement, image: ImageFacts) -> tuple[str, str] | None:
    allowed = req.algorithms or []
    algorithm = image.hash_algorithm
    if algorithm is None:
        if not req.required:
            return None
        what = "the image has no data" if image.live else "no source: with a checksum"
        return f"{what} (needs {' or '.join(allowed)})", "source"
    if algorithm not in allowed:
        return f"the data is hashed with {algorithm}, expected {' or '.join(allowed)}", "source"
    return None


def _rotation(req: Requirement, image: ImageFacts) -> tuple[str, str] | None:
    if image.previous_build_of is None or image.hidden:
        return None
    pattern = req.pattern or DEFAULT_ROTATION_MARKER
    if _compiled(pattern).search(image.name):
        return None
    return (
        f"a previous build of {image.previous_build_of!r}, neither hidden nor named with a "
        f"marker matching {pattern!r}",
        "attribute:name",
    )


# Days an image may be in use per `replace_frequency` (scs-0102); the others never age.
MAX_AGE_DAYS = {"yearly": 365, "quarterly": 92, "monthly": 31, "weekly": 7, "daily": 1}
GIB = 1 << 30


def _when(text: str | None) -> datetime | None:
    """A Glance time (`2026-11-01T10:20:30Z`) or an image_build_date
    (`YYYY-MM-DD[ hh:mm[:ss]]`, UTC) as an aware datetime; None when unreadable."""
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _stored(req: Requirement, image: ImageFacts, now: datetime | None) -> tuple[str, str] | None:
    if not image.live:
        return None  # a desired image has no size or creation time yet
    check = req.stored
    built = _when(image.properties.get("image_build_date"))
    if check == "min_disk_covers_size":
        min_disk = image.attributes.get("min_disk")
        if image.size is None or not isinstance(min_disk, int):
            return None  # no data yet; a missing min_disk is the attribute rule's
        if min_disk * GIB >= image.size:
            return None
        return (
            f"min_disk is {min_disk} GiB, the image's data is {image.size / GIB:.2f} GiB",
            "attribute:min_disk",
        )
    if check == "build_date_not_after_creation":
        created = _when(image.created_at)
        if built is None or created is None or built.date() <= created.date():
            return None
        return (
            f"image_build_date {image.properties['image_build_date']} is after the image "
            f"was created ({image.created_at})",
            "property:image_build_date",
        )
    limit = MAX_AGE_DAYS.get(image.properties.get("replace_frequency", ""))
    since = built or _when(image.created_at)
    if now is None or limit is None or since is None or image.hidden:
        return None
    pattern = req.pattern or DEFAULT_ROTATION_MARKER
    age = (now - since).days
    if age <= limit or _compiled(pattern).search(image.name):
        return None
    return (
        f"built {age} days ago, replace_frequency "
        f"{image.properties['replace_frequency']} allows {limit}: hide it or mark its name",
        "property:replace_frequency",
    )


def _stores(req: Requirement, image: ImageFacts) -> tuple[str, str] | None:
    """The image is (live) or is declared (desired) in every store the rule names;
    `stores: all` declares every one."""
    wanted = set(req.stores or ())
    if image.all_stores:
        return None
    if image.stores is None:
        return f"stores not declared (needs {', '.join(sorted(wanted))})", "stores"
    missing = wanted - image.stores
    if not missing:
        return None
    held = ", ".join(sorted(image.stores)) or "none"
    verb = "in" if image.live else "declared in"
    return f"not {verb} store(s) {', '.join(sorted(missing))} ({verb}: {held})", "stores"


CHECKS = {"property": _property, "attribute": _attribute, "source": _source, "stores": _stores}


def _violation(loaded: LoadedRule, image: ImageFacts, detail: str, key: str) -> Violation:
    rule = loaded.rule
    return Violation(
        rule_id=rule.id,
        level=Level(rule.level),
        message=rule.message,
        detail=detail,
        image=image.name,
        image_id=image.id,
        entry=image.entry,
        where=image.where(key),
        field=key.partition(":")[2] or key or None,
    )


def _unique(loaded: LoadedRule, images: Sequence[ImageFacts]) -> list[Violation]:
    keys = loaded.rule.require.unique or []
    first: dict[tuple[str, ...], ImageFacts] = {}
    found = []
    for image in images:
        values = tuple(image.properties.get(key) for key in keys)
        if any(value is None for value in values):
            continue  # another rule reports the missing property
        group = tuple(str(v) for v in values)
        if group not in first:
            first[group] = image
            continue
        other = first[group]
        at = f" at {other.where(None)}" if other.where(None) else ""
        ident = f" ({other.id})" if other.id and other.live else ""
        detail = f"{'/'.join(keys)} {'/'.join(group)} is already {other.name!r}{ident}{at}"
        found.append(_violation(loaded, image, detail, ""))
    return found


def check(
    policy: Policy, images: Sequence[ImageFacts], now: datetime | None = None
) -> list[Violation]:
    """Every violation of the policy's rules by the images; `now` is the time of the
    check (None: rules that need it, `replaced_in_time`, pass)."""
    violations: list[Violation] = []
    for loaded in policy.rules:
        rule = loaded.rule
        selected = [image for image in images if selects(rule.select, image)]
        kind = rule.require.kind
        if kind == "unique":
            violations += _unique(loaded, selected)
            continue
        for image in selected:
            if kind == "stored":
                found = _stored(rule.require, image, now)
            elif kind == "rotation_marker":
                found = _rotation(rule.require, image)
            else:
                found = CHECKS[kind](rule.require, image)
            if found is not None:
                violations.append(_violation(loaded, image, *found))
    return violations


def by_image(violations: Sequence[Violation], images: Sequence[ImageFacts]) -> list[Violation]:
    """The violations grouped by image, in the images' order (rules in order within)."""
    order = {(image.entry, image.id, image.name): n for n, image in enumerate(images)}
    return sorted(violations, key=lambda v: order.get((v.entry, v.image_id, v.image), len(order)))


def errors(violations: Sequence[Violation]) -> list[Violation]:
    return [v for v in violations if v.level is Level.error]
