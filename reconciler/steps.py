"""The steps an image's plan is carried out in, and their undo. Pure data plus the small
functions that send one step (or its undo) through the client.

Order per image, so that the server accepts each step: member removals (while the image
is still shared), the metadata PATCH (one request, all ops), member additions (once it
is shared), and delete last (it cannot be undone). A create comes first and is undone by
a delete; its id is chosen here, so a create retried after a lost answer cannot make a
duplicate (Glance answers 409 for a taken id).

Undo is computed against the image as it is now, not replayed blindly: for every key a
PATCH touched, the undo brings the key back to its old value, and does nothing where it
already has it. That makes undo safe after a lost response and repeatable after a crash.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from reconciler.cloud.glance import GlanceClient
from reconciler.errors import BadRequest, Conflict, Forbidden, NotFound
from reconciler.plan import Action, ImagePlan, Op, PatchOp, escape_pointer, unescape_pointer
from reconciler.views import image_view

CREATE, PATCH, MEMBER_ADD, MEMBER_REMOVE, DELETE = (
    "create",
    "patch",
    "member_add",
    "member_remove",
    "delete",
)
DEACTIVATE, REACTIVATE = "deactivate", "reactivate"
# Both actions are no-ops on an image already in that state, so each undoes the other
# and either can be sent again safely.
INVERSE_ACTION = {DEACTIVATE: REACTIVATE, REACTIVATE: DEACTIVATE}


@dataclass(frozen=True)
class Step:
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


def op_payload(op: PatchOp) -> dict[str, Any]:
    return {"op": str(op.op), "path": op.path, "value": op.value, "old": op.old}


def create_body(image: ImagePlan, image_id: str) -> dict[str, Any]:
    body = {unescape_pointer(op.path): op.value for op in image.patch if op.op is Op.ADD}
    body["id"] = image_id
    return body


def steps_for(image: ImagePlan, new_id: str | None = None) -> list[Step]:
    """The ordered steps of one image's plan."""
    steps: list[Step] = []
    if image.action is Action.CREATE:
        image_id = new_id or str(uuid.uuid4())
        steps.append(Step(CREATE, {"body": create_body(image, image_id)}))
        steps += [Step(MEMBER_ADD, {"member": m}) for m in image.members.add]
        return steps
    if image.action is Action.DELETE:
        return [Step(DELETE)]
    if image.activation == REACTIVATE:
        steps.append(Step(REACTIVATE))
    steps += [Step(MEMBER_REMOVE, {"member": m}) for m in image.members.remove]
    if image.patch:
        steps.append(Step(PATCH, {"ops": [op_payload(op) for op in image.patch]}))
    steps += [Step(MEMBER_ADD, {"member": m}) for m in image.members.add]
    if image.activation == DEACTIVATE:
        steps.append(Step(DEACTIVATE))
    return steps


def send(client: GlanceClient, image_id: str, step: Step) -> dict[str, Any] | None:
    """Carry out one step (called only by reconciler.apply). Returns the image as the
    server answered a create or PATCH (Glance answers both with the stored image), None
    for the other steps."""
    if step.kind == CREATE:
        return client.create_image(step.payload["body"])
    if step.kind == PATCH:
        return client.patch_image(image_id, [_json_patch(op) for op in step.payload["ops"]])
    if step.kind == MEMBER_ADD:
        client.add_member(image_id, step.payload["member"])
    elif step.kind == MEMBER_REMOVE:
        client.remove_member(image_id, step.payload["member"])
    elif step.kind == DELETE:
        client.delete_image(image_id)
    elif step.kind in INVERSE_ACTION:
        _action(client, image_id, step.kind)
    else:
        raise ValueError(f"unknown step kind {step.kind!r}")
    return None


def _action(client: GlanceClient, image_id: str, kind: str) -> None:
    if kind == DEACTIVATE:
        client.deactivate_image(image_id)
    else:
        client.reactivate_image(image_id)


def _json_patch(op: dict[str, Any]) -> dict[str, Any]:
    if op["op"] == "remove":
        return {"op": "remove", "path": op["path"]}
    return {"op": op["op"], "path": op["path"], "value": op["value"]}


def send_remaining(client: GlanceClient, image_id: str, step: Step) -> dict[str, Any] | None:
    """After an unknown outcome, send only what the step has not yet done, judged by
    reading the image (a PATCH that only sets values is sent again as it is). Glance on
    sqlite has answered 500 after committing a PATCH's properties but not its tags, so
    "all or nothing" cannot be assumed here. Returns, for a create or PATCH, the image
    as last read or answered (as `send` does)."""
    if step.kind == CREATE:
        existing = client.find_image(image_id)
        if existing is None:
            return client.create_image(step.payload["body"])
        body = step.payload["body"]
        wanted = [
            {"op": "add", "path": escape_pointer(key), "value": value}
            for key, value in body.items()
            if key != "id"
        ]
        remaining = ops_towards(wanted, image_view(existing), "value")
        return client.patch_image(image_id, remaining) if remaining else existing
    if step.kind == DELETE:
        if client.find_image(image_id) is not None:
            client.delete_image(image_id)
    elif step.kind in INVERSE_ACTION:
        _action(client, image_id, step.kind)
    elif step.kind in (MEMBER_ADD, MEMBER_REMOVE):
        present = step.payload["member"] in current_members(client, image_id)
        if step.kind == MEMBER_ADD and not present:
            client.add_member(image_id, step.payload["member"])
        elif step.kind == MEMBER_REMOVE and present:
            client.remove_member(image_id, step.payload["member"])
    elif all(op["op"] != "remove" for op in step.payload["ops"]):
        # Every op sets a value (add overwrites in the v2.1 patch format; replace of a
        # key the image has): sending them all again ends where sending them once does,
        # whatever part of the first attempt was committed, and needs no read first.
        return client.patch_image(image_id, [_json_patch(op) for op in step.payload["ops"]])
    else:
        # A remove already committed would make the resent PATCH fail (409): read first.
        image = client.get_image(image_id)
        remaining = ops_towards(step.payload["ops"], image_view(image), "value")
        return client.patch_image(image_id, remaining) if remaining else image
    return None


def ops_towards(
    ops: list[dict[str, Any]], current: dict[str, Any], side: str
) -> list[dict[str, Any]]:
    """JSON-patch ops that bring every key the ops touch to one side of them: "value"
    (what they set: finishing a step) or "old" (what they replaced: undoing it),
    skipping keys that are already there. A key is absent on the "value" side of a
    remove and on the "old" side of an add."""
    absent_op = "remove" if side == "value" else "add"
    needed: list[dict[str, Any]] = []
    for op in ops:
        key, path = unescape_pointer(op["path"]), op["path"]
        if op["op"] == absent_op:
            if key in current:
                needed.append({"op": "remove", "path": path})
        elif key not in current:
            needed.append({"op": "add", "path": path, "value": op[side]})
        elif current[key] != op[side]:
            needed.append({"op": "replace", "path": path, "value": op[side]})
    return needed


def current_members(client: GlanceClient, image_id: str) -> set[str]:
    """Member project ids; an image that is not shared (403) or gone (404) has none."""
    try:
        return {m["member_id"] for m in client.list_members(image_id)}
    except (Forbidden, NotFound):
        return set()


def undo(client: GlanceClient, image_id: str, step: Step) -> None:
    """Undo one step, judged against the image as it is now. Raises on failure."""
    if step.kind == CREATE:
        image = client.find_image(image_id)
        if image is None:
            return
        if image.get("protected"):
            client.patch_image(image_id, [{"op": "replace", "path": "/protected", "value": False}])
        try:
            client.delete_image(image_id)
        except NotFound:
            pass
        except BadRequest:
            # "transition from deleted to deleted": an earlier DELETE half-happened.
            if client.find_image(image_id) is not None:
                raise
    elif step.kind == PATCH:
        current = image_view(client.get_image(image_id))
        ops = ops_towards(step.payload["ops"], current, "old")
        if ops:
            client.patch_image(image_id, ops)
    elif step.kind == MEMBER_ADD:
        if step.payload["member"] in current_members(client, image_id):
            client.remove_member(image_id, step.payload["member"])
    elif step.kind == MEMBER_REMOVE:
        try:
            client.add_member(image_id, step.payload["member"])
        except Conflict:
            pass
    elif step.kind in INVERSE_ACTION:
        _action(client, image_id, INVERSE_ACTION[step.kind])
    elif step.kind == DELETE:
        raise NotImplementedError("a deleted image cannot be brought back")
