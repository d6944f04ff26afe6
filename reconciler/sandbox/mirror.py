"""The sandbox's loopback HTTP mirror: serves the state folder's `mirror/` folder on
127.0.0.1, so Glance's web-download (and URL sources) have a server to fetch from.
Network and file I/O; run as its own process (`python -m reconciler.sandbox.mirror`).

It serves the bytes of the files as they are: GET and HEAD with Content-Length,
Accept-Ranges and single byte ranges (206, or 416 outside the file). A missing file is
404. For fault tests, `?cut=N` on a file's URL announces the full length but sends only
N bytes of the body and then closes the connection (a source that dies half way).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
CHUNK = 256 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) bytes a Range header asks for; (0, size - 1) without
    one (or with one this server does not understand: several ranges, other units).
    None when the range cannot be satisfied."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return 0, size - 1
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return 0, size - 1
    if not first_text:  # a suffix: the last N bytes
        count = int(last_text)
        return (max(size - count, 0), size - 1) if count > 0 and size > 0 else None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or last < first:
        return None
    return first, last


class MirrorHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reconciler-sandbox-mirror/1"

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():  # the folder's listing, as http.server makes it
            super().do_GET() if body else super().do_HEAD()
            return
        try:
            handle = path.open("rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return
        with handle:
            stat = os.fstat(handle.fileno())
            size = stat.st_size
            asked = self.headers.get("Range")
            span = byte_range(asked, size)
            if span is None:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first, last = span
            length = max(last - first + 1, 0)
            partial = asked is not None and _RANGE.match(asked.strip()) is not None
            self.send_response(HTTPStatus.PARTIAL_CONTENT if partial else HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
            if partial:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            if not body:
                return
            cut = _cut(self.path)
            remaining = length if cut is None else min(cut, length)
            handle.seek(first)
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
            if cut is not None and cut < length:
                self.close_connection = True  # the client sees a short body


def _cut(url: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get("cut")
    if not values:
        return None
    try:
        return max(int(values[0]), 0)
    except ValueError:
        return None


def serve(folder: Path, port: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)

    class Handler(MirrorHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    print(f"serving {folder} on http://{HOST}:{port}/", file=sys.stderr, flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="reconciler.sandbox.mirror")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve(args.folder.resolve(), args.port)


if __name__ == "__main__":
    main()
