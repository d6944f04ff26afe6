"""A mitmproxy addon (run by `mitmdump -s`) that injects faults between reconciler and
Glance. Runs inside mitmproxy's own venv (.venv-faults): standard library only.

Control, on the proxy itself (never forwarded):
    POST /__faults__/config  {"seed": 7, "rate": 0.2, "kinds": [...], "rules": [...],
                              "slow_seconds": 4}
    GET  /__faults__/stats   {"counts": {kind: n}, "requests": n, "log": [...]}
    POST /__faults__/reset   stats back to zero

A fault is chosen per request either by a rule ({"method": "PATCH", "path": regex,
"nth": 1, "kind": "403"}: the nth matching request gets it) or, with probability
`rate`, at random among the kinds that suit the request. The random draw is seeded by
(seed, method, path, how many times this method+path was seen), so parallel requests
interleaving differently still get the same faults.

Kinds (BEFORE: the request never reaches Glance; AFTER: Glance applied it, then):
    403 409 413 500 502 503   BEFORE, answered with that status
    429                       BEFORE, with Retry-After: 1
    reset_before              BEFORE, the connection is cut (no answer)
    reset_after               AFTER, the answer is lost (connection cut)
    500_after                 AFTER, answered 500 instead (like sqlite's partial commits)
    slow                      AFTER, the answer is held beyond the client's timeout
    cut_body                  DURING, image data only (PUT .../file, PUT .../stage): part
                              of the body reaches Glance, then both connections are cut
                              (Glance sees a body ending early, the client a reset)

Image data requests (PUT /v2/images/ID/file, PUT .../stage, POST .../import) draw with
`data_rate` among `data_kinds` when those are configured, else like any request, so a
campaign can aim at the few data requests of a run without flooding the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections import Counter
from typing import Any

from mitmproxy import ctx, http

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
WRITE_ONLY = {"403", "409", "413", "500_after"}
ALL_KINDS = [
    "403",
    "409",
    "413",
    "500",
    "502",
    "503",
    "429",
    "reset_before",
    "reset_after",
    "500_after",
    "slow",
]
DATA_PATH = re.compile(r"^/v2/images/[^/?]+/(file|stage|import)(\?|$)")
BODY_PATHS = re.compile(r"^/v2/images/[^/?]+/(file|stage)(\?|$)")
DATA_KINDS = ["cut_body", "500_after", "slow", "reset_after", "reset_before", "500", "503"]


class Faults:
    def __init__(self) -> None:
        self.config: dict[str, Any] = {"seed": 0, "rate": 0.0, "kinds": ALL_KINDS, "rules": []}
        self.reset()

    def reset(self) -> None:
        self.seen: Counter[str] = Counter()
        self.rule_hits: Counter[int] = Counter()
        self.counts: Counter[str] = Counter()
        self.data_counts: Counter[str] = Counter()
        self.requests = 0
        self.log: list[dict[str, Any]] = []

    # -- choice ------------------------------------------------------------------

    def choose(self, method: str, path: str) -> str | None:
        key = f"{method} {path.split('?')[0]}"
        self.seen[key] += 1
        chosen = None
        for index, rule in enumerate(self.config.get("rules", [])):
            if rule.get("method", method) == method and re.search(rule.get("path", ""), path):
                self.rule_hits[index] += 1
                if chosen is None and self.rule_hits[index] == rule.get("nth", 1):
                    chosen = str(rule["kind"])
        if chosen is not None:
            return chosen
        data = DATA_PATH.search(path) is not None and "data_rate" in self.config
        rate = float(self.config.get("data_rate" if data else "rate", 0))
        if rate <= 0:
            return None
        draw = random.Random(f"{self.config.get('seed')}:{key}:{self.seen[key]}")
        if draw.random() >= rate:
            return None
        kinds = [
            k
            for k in self.config.get("data_kinds" if data else "kinds", ALL_KINDS)
            if (method in WRITES or k not in WRITE_ONLY)
            and (k != "cut_body" or (method == "PUT" and BODY_PATHS.search(path)))
        ]
        return draw.choice(kinds) if kinds else None

    # -- hooks -------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """The choice is made on the headers, so a body can be cut while it streams."""
        path = flow.request.path
        if path.startswith("/__faults__"):
            return
        self.requests += 1
        kind = self.choose(flow.request.method, path)
        if kind is None:
            return
        flow.metadata["fault"] = kind
        self.counts[kind] += 1
        if DATA_PATH.search(path):
            self.data_counts[kind] += 1
        self.log.append({"method": flow.request.method, "path": path, "kind": kind})
        if kind == "cut_body":
            draw = random.Random(f"{self.config.get('seed')}:cut:{path}:{self.requests}")
            flow.request.stream = _Cutter(flow, draw.randint(16_384, 131_072))

    def request(self, flow: http.HTTPFlow) -> None:
        path = flow.request.path
        if path.startswith("/__faults__"):
            flow.response = self._control(flow.request.method, path, flow.request.content)
            return
        kind = flow.metadata.get("fault")
        if kind is None or kind == "cut_body":
            return
        if kind == "reset_before":
            flow.kill()
        elif kind == "429":
            flow.response = _answer(429, "Too many requests (injected)", {"Retry-After": "1"})
        elif kind.isdigit():
            flow.response = _answer(int(kind), f"Injected fault {kind}")

    async def response(self, flow: http.HTTPFlow) -> None:
        kind = flow.metadata.get("fault")
        if kind == "reset_after":
            flow.kill()
        elif kind == "500_after":
            flow.response = _answer(500, "Injected fault after the write was applied")
        elif kind == "slow":
            await asyncio.sleep(float(self.config.get("slow_seconds", 5)))

    def _control(self, method: str, path: str, body: bytes | None) -> http.Response:
        if path.startswith("/__faults__/config") and method == "POST":
            self.config = {"kinds": ALL_KINDS, "rules": [], **json.loads(body or b"{}")}
            self.rule_hits.clear()
            self.seen.clear()
        elif path.startswith("/__faults__/reset") and method == "POST":
            self.reset()
        stats = {
            "counts": dict(self.counts),
            "data_counts": dict(self.data_counts),
            "requests": self.requests,
            "log": self.log[-200:],
        }
        return http.Response.make(
            200, json.dumps(stats).encode(), {"Content-Type": "application/json"}
        )


class _Cutter:
    """A request body stream that forwards `limit` bytes, then cuts both connections:
    the server's closed after what was forwarded (Glance reads a body that ends early),
    the client's aborted (the tool sees a reset while sending)."""

    def __init__(self, flow: http.HTTPFlow, limit: int) -> None:
        self.flow = flow
        self.limit = limit
        self.sent = 0
        self.cut = False

    def __call__(self, data: bytes) -> bytes:
        if self.cut:
            return b""
        room = self.limit - self.sent
        if data and len(data) < room:
            self.sent += len(data)
            return data
        # The limit is reached (or the body ends first: it is cut before its end all
        # the same, so Glance never sees a complete body).
        self.cut = True
        asyncio.get_running_loop().call_soon(self._cut_connections)
        part = data[: max(room, 0)]
        self.sent += len(part)
        return part

    def _cut_connections(self) -> None:
        try:
            server = ctx.master.addons.get("proxyserver")
            handler = server.connections.get(self.flow.client_conn.id)
            if handler is None:
                return
            for conn, how in ((self.flow.server_conn, "close"), (self.flow.client_conn, "abort")):
                io = handler.transports.get(conn)
                writer = getattr(io, "writer", None)
                transport = getattr(writer, "transport", None)
                if transport is not None:
                    getattr(transport, how)()
        except Exception:  # never let the fault crash the proxy
            logging.exception("cut_body: could not cut the connections")


def _answer(status: int, message: str, headers: dict[str, str] | None = None) -> http.Response:
    body = json.dumps({"message": message, "code": status, "title": message}).encode()
    return http.Response.make(status, body, {"Content-Type": "application/json", **(headers or {})})


addons = [Faults()]
