"""The Glance v2 HTTP client: the requests the tool makes, with timeouts, retries and
our own errors. Network I/O.

Rules of the API it follows: the PATCH media type is
`application/openstack-images-v2.1-json-patch`; listings page through `next` (a relative
path holding the `marker`) with `limit` at the server maximum (1000); images with
`os_hidden=true` are only listed when asked for.

Retries (exponential backoff with full jitter, `Retry-After` honoured): connection
failures, 429 and 5xx for reads and idempotent writes (GET, PUT, DELETE); only 429 and
503 for POST and PATCH. A POST or PATCH whose answer was lost, or was a 500/502/504
(Glance on sqlite has answered 500 after committing), is not retried blindly:
`ResponseLost` tells the caller to read the image before deciding. Write methods are
called only through the step kinds of `reconciler.apply.steps`, which `reconciler.apply`
runs: nothing else writes to the cloud.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session

from reconciler.cloud.auth import tls_message
from reconciler.cloud.http_errors import error_from_response, exception_chain, transport_message
from reconciler.errors import (
    CloudError,
    ConnectionFailed,
    NotFound,
    ResponseLost,
    ServerError,
    TooManyRequests,
)
from reconciler.model.image_view import is_gone
from reconciler.runtime.waits import Again, Schedule, retry

PATCH_MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"
PAGE_LIMIT = 1000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Answers after which a write may or may not have happened (429 and 503 mean "not now").
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})


log = logging.getLogger("reconciler.http")


RETRY_AFTER_CAP = 30.0  # seconds: a longer Retry-After is waited for this long


@dataclass(frozen=True)
class RetryPolicy:
    """The client's resends: `attempts` tries, `base_delay` doubling to `max_delay`
    with full jitter between them (`runtime.waits.Schedule`), a server's Retry-After
    instead when it sent one (at most RETRY_AFTER_CAP)."""

    attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 5.0

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.base_delay, 2.0, self.max_delay, jitter=True)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_CAP)
        return self.schedule.delay(attempt)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class GlanceClient:
    """One image endpoint, one authenticated keystoneauth session."""

    def __init__(
        self,
        session: ks_session.Session,
        endpoint: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.session = session
        self.endpoint = endpoint.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.sleep = sleep
        self.requests_sent = 0

    # -- transport -------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Any:
        """Send with retries; return the decoded JSON body (None when empty)."""
        url = self.endpoint + path

        def attempt(n: int) -> Any:
            outcome = self._send(method, path, url, json, params, headers, data)
            if isinstance(outcome, CloudError):
                return Again(outcome)
            if outcome.status_code < 400:
                return outcome.json() if outcome.content else None
            error = self._refusal(method, url, outcome)
            retry_after = _retry_after(outcome.headers)
            after = None if retry_after is None else self.retry.delay(n, retry_after)
            return Again(error, after)

        return retry(
            attempt, attempts=self.retry.attempts, backoff=self.retry.delay, sleep=self.sleep
        )

    def _send(
        self,
        method: str,
        path: str,
        url: str,
        json: Any,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        data: Any,
    ) -> Any:
        """One attempt: the response, or the error of a transport failure that may be
        retried. Raises what must not be: ResponseLost when a write may have reached
        the server, TLS and authentication failures."""
        self.requests_sent += 1
        started = time.monotonic()
        try:
            response = self.session.request(
                url,
                method,
                json=json,
                params=params,
                headers=headers,
                data=data,
                raise_exc=False,
                connect_retries=0,
                timeout=self.timeout,
                endpoint_filter=None,
            )
        except (
            ks_exc.ConnectFailure,
            ks_exc.ConnectTimeout,
            ks_exc.RetriableConnectionFailure,
        ) as err:
            # Only a refused connection proves the request never reached the server.
            sent = not never_sent(err)
            if method not in IDEMPOTENT and sent:
                raise ResponseLost(
                    f"no answer to {method} {path} (the request may have been applied)",
                    method=method,
                    url=url,
                ) from err
            return ConnectionFailed(
                f"cannot reach Glance: {transport_message(err)}", method=method, url=url
            )
        except ks_exc.SSLError as err:
            raise ConnectionFailed(
                tls_message(str(err), {"auth_url": self.endpoint}), method=method, url=url
            ) from err
        except ks_exc.Unauthorized as err:
            raise error_from_response(401, str(err), {}, method, url) from err
        if log.isEnabledFor(logging.INFO):  # --verbose; nothing is built otherwise
            request_id = response.headers.get("x-openstack-request-id")
            log.info(
                "%s %s%s -> %s in %.2fs%s",
                method,
                path,
                "?" + urlencode(params, safe=":,") if params else "",
                response.status_code,
                time.monotonic() - started,
                f" ({request_id})" if request_id else "",
            )
        return response

    @staticmethod
    def _refusal(method: str, url: str, response: Any) -> CloudError:
        """The error of an answer >= 400, returned when the request may be sent again,
        raised when not."""
        error = error_from_response(
            response.status_code, response.text, response.headers, method, url
        )
        if response.status_code not in RETRY_STATUSES:
            raise error
        if method not in IDEMPOTENT and response.status_code in AMBIGUOUS_STATUSES:
            # Seen on Glance with sqlite: a PATCH answered 500 "database is locked"
            # after its change was committed. Retrying blindly could fail with 409 or
            # apply twice, so the caller reads the image and decides.
            raise ResponseLost(
                f"{error.message} (the {method} may have been applied)",
                status=error.status,
                method=method,
                url=error.url,
                request_id=error.request_id,
            ) from error
        return error

    # -- reads -----------------------------------------------------------------

    def list_images(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every image matching filters, page by page (`limit` = 1000, following `next`)."""
        params: dict[str, Any] | None = {"limit": PAGE_LIMIT, **filters}
        path = "/v2/images"
        while True:
            page = self.request("GET", path, params=params)
            yield from page.get("images", [])
            following = page.get("next")
            if not following:
                return
            path, params = _split_next(following), None

    def get_image(self, image_id: str) -> dict[str, Any]:
        image: dict[str, Any] = self.request("GET", f"/v2/images/{image_id}")
        return image

    def find_image(self, image_id: str) -> dict[str, Any] | None:
        """The image, or None when it does not exist or is gone (see views.is_gone)."""
        try:
            image = self.get_image(image_id)
        except NotFound:
            return None
        return None if is_gone(image) else image

    def list_members(self, image_id: str) -> list[dict[str, Any]]:
        body = self.request("GET", f"/v2/images/{image_id}/members")
        members: list[dict[str, Any]] = body.get("members", [])
        return members

    def image_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.request("GET", "/v2/schemas/image")
        return schema

    # -- writes (called by reconciler.apply.steps, run by reconciler.apply) ------------

    def create_image(self, body: dict[str, Any]) -> dict[str, Any]:
        image: dict[str, Any] = self.request("POST", "/v2/images", json=body)
        return image

    def patch_image(self, image_id: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        image: dict[str, Any] = self.request(
            "PATCH",
            f"/v2/images/{image_id}",
            json=ops,
            headers={"Content-Type": PATCH_MEDIA_TYPE},
        )
        return image

    def add_member(self, image_id: str, member: str) -> None:
        self.request("POST", f"/v2/images/{image_id}/members", json={"member": member})

    def remove_member(self, image_id: str, member: str) -> None:
        self.request("DELETE", f"/v2/images/{image_id}/members/{member}")

    def deactivate_image(self, image_id: str) -> None:
        self.request("POST", f"/v2/images/{image_id}/actions/deactivate")

    def reactivate_image(self, image_id: str) -> None:
        self.request("POST", f"/v2/images/{image_id}/actions/reactivate")

    def delete_image(self, image_id: str) -> None:
        self.request("DELETE", f"/v2/images/{image_id}")

    # -- data ------------------------------------------------------------------

    def put_data(self, image_id: str, target: str, stream: Any, store: str | None = None) -> None:
        """Stream the bytes to `/file` (upload: the image becomes active) or `/stage`
        (glance-direct's first half), once: a stream cannot be replayed, so the caller
        decides what to do after a failure (reopen the source and send again)."""
        path = f"/v2/images/{image_id}/{target}"
        # Glance may answer an upload early (409 before reading the body) and drop the
        # connection after (docs/image-data-probes.md, fact 7): an upload's connection is
        # never reused, so a refusal cannot break the next request.
        headers = {"Content-Type": "application/octet-stream", "Connection": "close"}
        if store is not None:  # multi-store: the store an upload goes to (one only)
            headers["X-Image-Meta-Store"] = store
        outcome = self._send("PUT", path, self.endpoint + path, None, None, headers, stream)
        if isinstance(outcome, CloudError):
            raise outcome
        if outcome.status_code >= 400:
            raise self._refusal("PUT", self.endpoint + path, outcome)

    def import_image(
        self,
        image_id: str,
        method: dict[str, Any],
        stores: list[str] | None = None,
        all_stores_must_succeed: bool = True,
    ) -> None:
        """Start an interoperable import (`{"name": "glance-direct"}`,
        `{"name": "web-download", "uri": URL}` or `{"name": "copy-image"}`); Glance
        answers 202 and works on. `stores` (multi-store) names the stores the data goes
        to; with `all_stores_must_succeed` false a store that fails is listed in the
        image's `os_glance_failed_import` and the others keep their copy."""
        body: dict[str, Any] = {"method": method}
        if stores is not None:
            body["stores"] = stores
            body["all_stores_must_succeed"] = all_stores_must_succeed
        self.request("POST", f"/v2/images/{image_id}/import", json=body)

    def delete_from_store(self, image_id: str, store: str) -> None:
        """`DELETE /v2/stores/{store}/{image}`: the image's data in one store (Glance
        refuses the only copy with 403)."""
        self.request("DELETE", f"/v2/stores/{store}/{image_id}")

    def import_info(self) -> dict[str, Any]:
        """`GET /v2/info/import`: the import methods this Glance has enabled."""
        info: dict[str, Any] = self.request("GET", "/v2/info/import")
        return info

    def store_info(self) -> list[dict[str, Any]]:
        """`GET /v2/info/stores`: the stores of a multi-store Glance (`id`, `default`,
        `description`). A Glance without `enabled_backends` answers 404 (none listed)."""
        try:
            body = self.request("GET", "/v2/info/stores") or {}
        except NotFound:
            return []
        stores: list[dict[str, Any]] = body.get("stores", [])
        return stores

    def image_tasks(self, image_id: str) -> list[dict[str, Any]]:
        """The image's import tasks, newest first (API 2.12+)."""
        body = self.request("GET", f"/v2/images/{image_id}/tasks") or {}
        tasks: list[dict[str, Any]] = body.get("tasks", [])
        return tasks


def _split_next(following: str) -> str:
    """`next` is a path like `/v2/images?marker=...&limit=1000`; keep it relative."""
    if following.startswith("http"):
        following = "/" + following.split("/", 3)[3]
    start = following.find("/v2/")
    return following[start:] if start >= 0 else following


__all__ = [
    "PATCH_MEDIA_TYPE",
    "GlanceClient",
    "ResponseLost",
    "RetryPolicy",
    "ServerError",
    "TooManyRequests",
]


def never_sent(err: BaseException) -> bool:
    """The request never left: the connection itself was refused (ConnectionRefusedError
    somewhere in the exception's chain, as urllib3's NewConnectionError carries it).
    Decided from the errors' types, never their text; any other failure (a reset, a
    timeout after the request was written) may have reached the server."""
    return any(isinstance(e, ConnectionRefusedError) for e in exception_chain(err))
