"""The Glance client against real sockets on loopback (no mock): transport failures
become our errors, never keystoneauth's or requests'."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from keystoneauth1 import session as ks_session

from reconciler import errors
from reconciler.cloud.glance import GlanceClient, ResponseLost, RetryPolicy


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Answers(BaseHTTPRequestHandler):
    """Answers with the status queued for the path; counts requests."""

    statuses: ClassVar[dict[str, list[int]]] = {}
    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        queue = self.statuses.get(self.path, [200])
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        body = b'{"images": []}' if status < 400 else b"<html><body><h1>x</h1>nope</body></html>"
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status < 400 else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PATCH = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    Answers.statuses, Answers.seen = {}, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def client(url: str) -> GlanceClient:
    return GlanceClient(
        ks_session.Session(), url, retry=RetryPolicy(attempts=3), sleep=lambda _s: None
    )


def test_refused_connection_is_connection_failed() -> None:
    glance = client(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(errors.ConnectionFailed) as err:
        glance.get_image("x")
    assert not isinstance(err.value, ResponseLost)
    assert glance.requests_sent == 3  # a GET is retried


def test_get_is_retried_on_500_then_succeeds(server: str) -> None:
    Answers.statuses["/v2/images?limit=1000"] = [500, 503, 200]
    assert list(client(server).list_images()) == []
    assert len(Answers.seen) == 3


def test_patch_500_is_an_unknown_outcome_not_a_blind_retry(server: str) -> None:
    Answers.statuses["/v2/images/x"] = [500]
    with pytest.raises(ResponseLost, match="may have been applied"):
        client(server).patch_image("x", [])
    assert Answers.seen == ["PATCH /v2/images/x"]


def test_patch_429_is_retried(server: str) -> None:
    Answers.statuses["/v2/images/x"] = [429, 200]
    client(server).patch_image("x", [])
    assert Answers.seen == ["PATCH /v2/images/x", "PATCH /v2/images/x"]


def test_403_is_forbidden_with_the_sentence(server: str) -> None:
    Answers.statuses["/v2/images/x"] = [403]
    with pytest.raises(errors.Forbidden) as err:
        client(server).patch_image("x", [])
    assert err.value.message == "nope"
    assert len(Answers.seen) == 1


class KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: answers PUT with an early 409 (without reading the
    body, as Glance's gunicorn does) and GET with an empty listing; notes each request's
    client port and Connection header."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, int, str | None]]] = []

    def _reply(self, status: int, body: bytes) -> None:
        self.seen.append((self.command, self.client_address[1], self.headers.get("Connection")))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        self._reply(409, b'{"message": "Image status transition from active to saving"}')

    def do_GET(self) -> None:
        self._reply(200, b'{"images": []}')

    def log_message(self, *args: object) -> None:
        pass


def test_an_upload_never_leaves_its_connection_for_the_next_request() -> None:
    """docs/image-data-probes.md fact 7: after an early 409 to an upload Glance may drop
    the connection; the upload asks for `Connection: close`, so the next request opens a
    new one instead of failing on the dead one."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    KeepAlive.seen = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        glance = client(f"http://127.0.0.1:{httpd.server_address[1]}")
        list(glance.list_images())
        list(glance.list_images())
        with pytest.raises(errors.Conflict):
            glance.put_data("x", "file", io.BytesIO(b"\0" * 65536))
        list(glance.list_images())
    finally:
        httpd.shutdown()
    (get1, get2, put, get3) = KeepAlive.seen
    assert get1[1] == get2[1]  # keep-alive otherwise
    assert put[2] == "close" and get3[1] != put[1]


def test_whether_a_failed_request_may_have_been_sent_comes_from_the_error_types() -> None:
    """Issue 27: a refused connection (never sent) against a connection the server
    dropped after reading the request (may have been applied), both on loopback."""
    import socket
    import threading

    from keystoneauth1 import session as ks_session

    from reconciler.cloud.glance import never_sent

    def refused_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])  # closed again: nothing listens there

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def drop_after_reading() -> None:
        conn, _addr = listener.accept()
        conn.recv(65536)
        conn.close()

    threading.Thread(target=drop_after_reading, daemon=True).start()
    session = ks_session.Session()
    errors = []
    for port in (refused_port(), listener.getsockname()[1]):
        try:
            session.request(f"http://127.0.0.1:{port}/v2/images", "PATCH", connect_retries=0)
        except Exception as err:  # keystoneauth's ConnectFailure for both
            errors.append(err)
    listener.close()
    refused, dropped = errors
    assert never_sent(refused) is True
    assert never_sent(dropped) is False
    assert "refused" not in repr(type(dropped)).lower()
