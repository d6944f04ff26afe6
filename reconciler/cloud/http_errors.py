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


_HOST_PORT = re.compile(r"host='(?P<host>[^']*)', port=(?P<port>\d+)")
_URL = re.compile(r"(?P<scheme>https?)://(?P<host>\[[^\]]+\]|[^\s:/'\"]+)(?::(?P<port>\d+))?")
_ERRNO = re.compile(r"\[Errno -?\d+\] (?P<reason>[^'\"()\[\]]+)")
_TIMEOUT = re.compile(r"(?P<what>connect|read) timeout=(?P<seconds>[\d.]+)", re.I)
_KNOWN = (
    "connection reset by peer",
    "remote end closed connection without response",
    "connection aborted",
    "connection refused",
)
_NOISE = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:? ?")


def exception_chain(err: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or wraps (urllib3's MaxRetryError
    keeps its cause in `reason`, requests' errors in `args`), outermost first."""
    found: list[BaseException] = []
    todo: list[BaseException] = [err]
    while todo and len(found) < 20:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [arg for arg in current.args if isinstance(arg, BaseException)]
        todo += [e for e in linked if isinstance(e, BaseException)]
    return found


def _reason(chain: list[BaseException], text: str) -> str | None:
    """Why the connection failed, in the socket's words where one says it."""
    for err in reversed(chain):  # innermost first: the socket's own error
        if isinstance(err, OSError) and err.strerror:
            if type(err).__name__ == "gaierror":
                return f"host name not found ({err.strerror})"
            return str(err.strerror)
    timeout = _TIMEOUT.search(text)
    if timeout:
        return f"{timeout.group('what').lower()} timed out after {timeout.group('seconds')} s"
    if "timed out" in text.lower():
        return "timed out"
    errno = _ERRNO.search(text)
    if errno:
        return errno.group("reason").strip().rstrip(".")
    lowered = text.lower()
    return next((known for known in _KNOWN if known in lowered), None)


def _where(text: str) -> str | None:
    """`host H, port P` of the failed connection, from urllib3's or keystoneauth's text."""
    pool = _HOST_PORT.search(text)
    if pool:
        return f"host {pool.group('host')}, port {pool.group('port')}"
    url = _URL.search(text)
    if url:
        port = url.group("port") or ("443" if url.group("scheme") == "https" else "80")
        return f"host {url.group('host')}, port {port}"
    return None


def transport_message(err: BaseException, limit: int = 200) -> str:
    """A transport failure (requests', keystoneauth's) as one line: the host and port it
    could not reach and why (`host 127.0.0.1, port 5000: Connection refused`), else the
    library's text without object reprs, cut at a word with `…` past `limit`."""
    chain = exception_chain(err)
    text = " ".join(" ".join(str(e) for e in chain).split())
    where, reason = _where(text), _reason(chain, text)
    if where and reason:
        return f"{where}: {reason}"
    line = _NOISE.sub("", " ".join(str(err).split()))
    if reason:
        line = reason
    if len(line) <= limit:
        return f"{where}: {line}" if where else line
    cut = line[: limit - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


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
