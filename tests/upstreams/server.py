"""The loopback upstream's HTTP server: GET and HEAD of files held in memory, with
Content-Length and Last-Modified as a static file server sends them, 404 for the rest,
and a count of requests per (method, path) so a test can check each file is fetched
once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Upstream:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, float, str]] = {}  # path -> body, mtime, type
        self.requests: Counter[tuple[str, str]] = Counter()
        self.dead: set[str] = set()  # paths answered 503 (a mirror that is down)
        self.delay = 0.0  # seconds before each answer (a far upstream's round trip)
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def put(
        self, path: str, body: bytes | str, mtime: float = 1_764_547_200.0, kind: str = ""
    ) -> str:
        data = body.encode() if isinstance(body, str) else body
        guess = kind or ("text/html" if path.endswith("/") else "application/octet-stream")
        self.files[path] = (data, mtime, guess)
        return self.url + path

    def remove(self, path: str) -> None:
        self.files.pop(path, None)

    def start(self) -> None:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                self._answer(True)

            def do_HEAD(self) -> None:
                self._answer(False)

            def _answer(self, body: bool) -> None:
                path = urlsplit(self.path).path
                upstream.requests[(self.command, path)] += 1
                if upstream.delay:
                    time.sleep(upstream.delay)
                if path in upstream.dead:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                found = upstream.files.get(path)
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Type", "text/html")
                    page = b"<html><body><h1>Not Found</h1></body></html>"
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    if body:
                        self.wfile.write(page)
                    return
                data, mtime, kind = found
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Last-Modified", formatdate(mtime, usegmt=True))
                self.end_headers()
                if body:
                    self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def running() -> Iterator[Upstream]:
    upstream = Upstream()
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()
