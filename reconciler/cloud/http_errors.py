"""HTTP responses and transport failures -> our exception tree, in one function each.

Glance's 4xx bodies are HTML; the reason is pulled out of them as one sentence
("Attribute 'x_billing_code' is reserved."). Bodies are truncated; the request id
(`x-openstack-request-id`) is kept for the user to quote. No I/O.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from reconciler import errors

MAX_MESSAGE = 300

_STATUS_ERRORS: dict[int, type[errors.CloudError]] = {
    400: errors.BadRequest,
    401: errors.AuthenticationFailed,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.OverLimit,
    415: errors.UnsupportedMediaType,
    429: errors.TooManyRequests,
}


def message_from_body(body: str, content_type: str = "") -> str:
    """The human reason inside a JSON or HTML error body, on one line."""
    text = body.strip()
    if "json" in content_type or text.startswith("{"):
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = None
        found = _json_message(data)
        if found:
            return _one_line(found)
    if "<" in text:
        # Glance/webob: <html><head><title>403 Forbidden</title></head><body><h1>403
        # Forbidden</h1>Attribute 'x' is reserved.<br /><br />\n\n\n</body></html>
        body_part = re.search(r"<body>(.*)</body>", text, re.S | re.I)
        inner = body_part.group(1) if body_part else text
        inner = re.sub(r"<h1>.*?</h1>", " ", inner, flags=re.S | re.I)
        inner = re.sub(r"<[^>]+>", " ", inner)
        text = html.unescape(inner)
    return _one_line(text)


def _json_message(data: Any) -> str | None:
    if isinstance(data, dict):
        for key in ("message", "faultstring", "detail", "title", "error"):
            value = data.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, dict):
                nested = _json_message(value)
                if nested:
                    return nested
        for value in data.values():
            nested = _json_message(value)
            if nested:
                return nested
    return None


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


def transport_message(err: BaseException, limit: int = 200) -> str:
    """A transport failure (requests', keystoneauth's) as one line of at most `limit`
    characters, for the message of the error built from it."""
    return " ".join(str(err).split())[:limit]


def error_from_response(
    status: int, body: str, headers: Any, method: str, url: str
) -> errors.CloudError:
    """The exception for an HTTP error answer (status >= 400)."""
    content_type = str(headers.get("Content-Type", "")) if headers else ""
    request_id = headers.get("x-openstack-request-id") if headers else None
    message = message_from_body(body, content_type) or f"HTTP {status}"
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = errors.ServerError if status >= 500 else errors.ClientError
    return cls(message, status=status, method=method, url=_strip_query(url), request_id=request_id)


def _strip_query(url: str) -> str:
    """URLs in messages lose their query (markers are noise; never credentials here)."""
    return url.split("?", 1)[0]
