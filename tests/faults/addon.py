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
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from typing import Any

from mitmproxy import http

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


class Faults:
    def __init__(self) -> None:
        self.config: dict[str, Any] = {"seed": 0, "rate": 0.0, "kinds": ALL_KINDS, "rules": []}
        self.reset()

    def reset(self) -> None:
        self.seen: Counter[str] = Counter()
        self.rule_hits: Counter[int] = Counter()
        self.counts: Counter[str] = Counter()
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
        rate = float(self.config.get("rate", 0))
        if rate <= 0:
            return None
        draw = random.Random(f"{self.config.get('seed')}:{key}:{self.seen[key]}")
        if draw.random() >= rate:
            return None
        kinds = [
            k
            for k in self.config.get("kinds", ALL_KINDS)
            if method in WRITES or k not in WRITE_ONLY
        ]
        return draw.choice(kinds) if kinds else None

    # -- hooks -------------------------------------------------------------------

    def request(self, flow: http.HTTPFlow) -> None:
        path = flow.request.path
        if path.startswith("/__faults__"):
            flow.response = self._control(flow.request.method, path, flow.request.content)
            return
        self.requests += 1
        kind = self.choose(flow.request.method, path)
        if kind is None:
            return
        flow.metadata["fault"] = kind
        self.counts[kind] += 1
        self.log.append({"method": flow.request.method, "path": path, "kind": kind})
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
        stats = {"counts": dict(self.counts), "requests": self.requests, "log": self.log[-200:]}
        return http.Response.make(
            200, json.dumps(stats).encode(), {"Content-Type": "application/json"}
        )


def _answer(status: int, message: str, headers: dict[str, str] | None = None) -> http.Response:
    body = json.dumps({"message": message, "code": status, "title": message}).encode()
    return http.Response.make(status, body, {"Content-Type": "application/json", **(headers or {})})


addons = [Faults()]
