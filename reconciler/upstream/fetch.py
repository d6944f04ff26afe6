"""Upstream files over HTTP, each fetched once per run. Network I/O, reads only.

`bump` reads many entries that share files (one Ubuntu index for every release's
entries, one CentOS CHECKSUM for every architecture): a `Fetcher` fetches each URL at
most once per run, however many threads ask at the same time (the first asks, the
others wait for its answer), and keeps what it read, errors included. Bodies are
capped (MAX_BYTES): listings and checksum files are small, and an image URL given by
mistake must not be downloaded whole.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter

from reconciler.cloud.http_errors import transport_message
from reconciler.errors import UpstreamError

USER_AGENT = "reconciler (bump)"
MAX_BYTES = 16 * 1024 * 1024
TIMEOUT = 30.0


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked (the cache's key)
    final_url: str  # after redirects (links of a listing are relative to it)
    body: bytes
    last_modified: str | None  # YYYYMMDD of the Last-Modified header, if any

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def last_modified_day(header: str | None) -> str | None:
    """A Last-Modified header as YYYYMMDD (UTC), or None."""
    if not header:
        return None
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return moment.strftime("%Y%m%d")


class Fetcher:
    """GET and HEAD with a per-run cache; thread-safe. `requests` counts what was asked
    of the network (each URL once per method)."""

    def __init__(self, timeout: float = TIMEOUT, pool: int = 16) -> None:
        self.timeout = timeout
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool, pool_maxsize=pool)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = USER_AGENT
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], Future[Fetched]] = {}
        self.requests = 0

    def get(self, url: str) -> Fetched:
        return self._once("GET", url)

    def head(self, url: str) -> Fetched:
        return self._once("HEAD", url)

    def _once(self, method: str, url: str) -> Fetched:
        with self._lock:
            answer = self._answers.get((method, url))
            mine = answer is None
            if answer is None:
                answer = self._answers[(method, url)] = Future()
                self.requests += 1
        if mine:
            try:
                answer.set_result(self._fetch(method, url))
            except UpstreamError as err:
                answer.set_exception(err)
        return answer.result()

    def _fetch(self, method: str, url: str) -> Fetched:
        try:
            with self._session.request(
                method, url, timeout=self.timeout, stream=True, allow_redirects=True
            ) as answer:
                if answer.status_code >= 400:
                    raise UpstreamError(f"{url}: {method} answered {answer.status_code}")
                body = b""
                if method == "GET":
                    chunks = []
                    size = 0
                    for chunk in answer.iter_content(1 << 16):
                        size += len(chunk)
                        if size > MAX_BYTES:
                            raise UpstreamError(
                                f"{url}: more than {MAX_BYTES >> 20} MiB: not a listing or "
                                "checksum file"
                            )
                        chunks.append(chunk)
                    body = b"".join(chunks)
                day = last_modified_day(answer.headers.get("Last-Modified"))
                return Fetched(url, answer.url, body, day)
        except requests.RequestException as err:
            raise UpstreamError(f"{url}: {transport_message(err)}") from None

    def close(self) -> None:
        self._session.close()
