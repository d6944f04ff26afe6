"""`import --update`: write live values into an existing manifest's entries, in place,
keeping its comments, key order, quoting and layout (ruamel.yaml round trip). The YAML
parsing and dumping is here; reading and writing the file is the caller's.

What changes, per drifted field of an entry (the cloud is right):
- a core attribute: set to the live value on the entry (overriding a default);
- tags, members: the entry's list becomes the live set (in place, keeping its style);
- a property the cloud lacks: dropped from the entry (or `null` if a default sets it);
- a property with another value, or one the manifest removes but the cloud has: the
  live value;
- a typed property of the field table (`reconciler.model.fields`, e.g.
  `hw_firmware_type`) that the entry or its defaults give as a key: the entry's key
  (added, replaced, or dropped when the cloud lacks it), out of the entry's
  `properties:` (an entry may not give both); a live value the key's type refuses is
  written as the plain property instead, as `import` reads it. One named only in
  `properties:` stays there. A typed key the defaults give cannot be unset for one
  entry (a key wins over `properties:`; dropping the entry's own key would inherit the
  defaults' value), so a property the cloud lacks is left as the manifest says: the
  entry is not written and drift goes on reporting it;
- the status: `deactivated:` true or false, as the image is.
Entries for images missing from the cloud are left as they are.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from reconciler.model.fields import TYPED_PROPERTIES, ImageFields
from reconciler.model.image_view import MANAGED_CORE, MANAGED_RECORD
from reconciler.model.manifest import DesiredImage
from reconciler.model.plan import Action, Activation, ImagePlan, Op


def _yaml(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    mapping, sequence, offset = _guess_indent(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.representer.add_representer(
        type(None), lambda rep, _v: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def _guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as the file writes block lists under a key."""
    match = re.search(r"^( *)[^\s#-][^\n]*:[ \t]*\n( *)- ", text, re.M)
    if not match:
        return 2, 2, 0
    offset = len(match.group(2)) - len(match.group(1))
    return 2, offset + 2, offset


def load_documents(text: str) -> tuple[YAML, list[Any]]:
    yaml = _yaml(text)
    return yaml, list(yaml.load_all(text))


def dump_documents(yaml: YAML, documents: list[Any]) -> str:
    out = io.StringIO()
    yaml.dump_all(documents, out)
    return out.getvalue()


def entries(documents: Sequence[Any]) -> list[tuple[CommentedMap, Any]]:
    """The image entries, each with its document's defaults block, in the order the
    loader reads them."""
    found = []
    for document in documents:
        if isinstance(document, dict):
            for entry in document.get("images") or ():
                if isinstance(entry, CommentedMap):
                    found.append((entry, document.get("defaults")))
    return found


def _last_comment_owner(node: Any) -> tuple[Any, Any] | None:
    """The (container, key) whose trailing comment holds the blank lines after `node`."""
    owner = None
    while isinstance(node, CommentedMap | CommentedSeq) and len(node):
        key = next(reversed(node)) if isinstance(node, CommentedMap) else len(node) - 1
        owner = (node, key)
        node = node[key]
    return owner


def _append(mapping: CommentedMap, key: str, value: Any) -> None:
    """Add a key at the end without pulling the blank lines that end the mapping
    (ruamel keeps them in the last value's comment) above the new key."""
    owner = _last_comment_owner(mapping)
    mapping[key] = value
    if owner is None:
        return
    container, last = owner
    slot = 2 if isinstance(container, CommentedMap) else 0
    item = container.ca.items.get(last)
    token = item[slot] if item and len(item) > slot else None
    if not isinstance(token, CommentToken) or token.value.count("\n") < 2:
        return
    first, _nl, rest = token.value.partition("\n")
    token.value = first + "\n"
    mapping.ca.items[key] = [None, None, CommentToken("\n" + rest, CommentMark(0), None), None]


def _delete(mapping: CommentedMap, key: str) -> None:
    """Remove a key; if it was the last one, the blank lines after it stay (moved to
    the key before it)."""
    keys = list(mapping)
    item = mapping.ca.items.pop(key, None)
    del mapping[key]
    token = item[2] if item and len(item) > 2 else None
    if keys[-1] != key or len(keys) < 2 or not isinstance(token, CommentToken):
        return
    _first, _nl, rest = token.value.partition("\n")
    if not rest:
        return
    before = keys[-2]
    slot = mapping.ca.items.setdefault(before, [None, None, None, None])
    if isinstance(slot[2], CommentToken):
        slot[2].value += rest
    else:
        slot[2] = CommentToken("\n" + rest, CommentMark(0), None)


def _set(mapping: CommentedMap, key: str, value: Any) -> None:
    if key in mapping:
        mapping[key] = value
    else:
        _append(mapping, key, value)


def _set_list(mapping: CommentedMap, key: str, items: Sequence[str]) -> None:
    current = mapping.get(key)
    if isinstance(current, CommentedSeq):
        del current[:]
        current.extend(items)
    else:
        seq = CommentedSeq(items)
        seq.fa.set_flow_style()
        _set(mapping, key, seq)


def _properties(entry: CommentedMap) -> CommentedMap:
    props = entry.get("properties")
    if not isinstance(props, CommentedMap):
        props = CommentedMap()
        _set(entry, "properties", props)
    return props


def _default_sets(defaults: Any, key: str) -> bool:
    props = defaults.get("properties") if isinstance(defaults, dict) else None
    return isinstance(props, dict) and props.get(key) not in (None, False)


def _drop_property(entry: CommentedMap, key: str) -> None:
    props = entry.get("properties")
    if isinstance(props, CommentedMap) and key in props:
        _delete(props, key)
        if not props and "properties" in entry:
            del entry["properties"]


def _declares_typed(entry: CommentedMap, defaults: Any, key: str) -> bool:
    """The entry or its defaults give the typed property as its key (then the key,
    not `properties:`, is what sets it)."""
    return entry.get(key) is not None or (
        isinstance(defaults, dict) and defaults.get(key) is not None
    )


def _typed_accepts(key: str, value: Any) -> bool:
    """The field table's type of the key takes the live value (`bios`, not `BIOS`)."""
    try:
        ImageFields.model_validate({key: value})
    except ValidationError:
        return False
    return True


def _update_typed(entry: CommentedMap, defaults: Any, key: str, live: Any) -> str | None:
    """A typed key the entry or its defaults give, made the live value (None: the cloud
    lacks the property); what changed (see the module docstring)."""
    if live is None:
        if entry.get(key) is None or _declares_typed(CommentedMap(), defaults, key):
            # Given (also) by the defaults: dropping the entry's key would inherit the
            # defaults' value and plan it again, and a key cannot be unset for one entry.
            return None
        _delete(entry, key)
        return key
    if not _typed_accepts(key, live):
        if key in entry:
            _delete(entry, key)
        _set(_properties(entry), key, live)
        return f"properties.{key}"
    _drop_property(entry, key)
    _set(entry, key, live)
    return key


def update_entry(
    entry: CommentedMap, defaults: Any, desired: DesiredImage, plan: ImagePlan
) -> list[str]:
    """Write the live values of the plan's drifted fields into the entry; what changed."""
    if plan.action is not Action.UPDATE:
        return []
    changes = []
    for op in plan.patch:
        key = op.key
        if key == MANAGED_RECORD:
            continue
        if key == "tags":
            _set_list(entry, "tags", sorted(op.old or ()))
            changes.append("tags")
        elif key in MANAGED_CORE:
            _set(entry, key, op.old)
            changes.append(key)
        elif key in TYPED_PROPERTIES and _declares_typed(entry, defaults, key):
            changed = _update_typed(entry, defaults, key, op.old)
            if changed is not None:
                changes.append(changed)
        elif op.op is Op.ADD:  # Git sets it, the cloud lacks it
            _drop_property(entry, key)
            if _default_sets(defaults, key):  # the defaults would still set it
                _set(_properties(entry), key, None)
            changes.append(f"properties.{key}")
        else:  # replace, or the cloud has a property Git removes
            _set(_properties(entry), key, op.old)
            changes.append(f"properties.{key}")
    if plan.members and desired.members is not None:
        live = (set(desired.members) - set(plan.members.add)) | set(plan.members.remove)
        _set_list(entry, "members", sorted(live))
        changes.append("members")
    if plan.activation is not None:
        _set(entry, "deactivated", plan.activation is Activation.REACTIVATE)
        changes.append("deactivated")
    return changes
