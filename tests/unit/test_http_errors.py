"""Status -> exception table, message extraction, and no HTTP-library leaks."""

from __future__ import annotations

import socket

import pytest

from reconciler import errors
from reconciler.cloud.http_errors import error_from_response, message_from_body, transport_message

GLANCE_403 = (
    "<html>\n <head>\n  <title>403 Forbidden</title>\n </head>\n <body>\n  <h1>403 Forbidden</h1>\n"
    "  Attribute &#x27;x_billing_code&#x27; is reserved.<br /><br />\n\n\n\n </body>\n</html>"
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (401, errors.AuthenticationFailed),
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (413, errors.OverLimit),
        (415, errors.UnsupportedMediaType),
        (429, errors.TooManyRequests),
        (418, errors.ClientError),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
def test_status_table(status: int, cls: type[errors.CloudError]) -> None:
    err = error_from_response(
        status, "boom", {"x-openstack-request-id": "req-1"}, "GET", "http://g/v2/images?marker=x"
    )
    assert type(err) is cls
    assert err.status == status and err.request_id == "req-1"
    assert err.url == "http://g/v2/images"
    assert isinstance(err, errors.ReconcilerError)


def test_glance_html_body_gives_the_sentence() -> None:
    assert message_from_body(GLANCE_403, "text/html") == "Attribute 'x_billing_code' is reserved."


def test_json_body_message() -> None:
    body = (
        '{"error": {"message": "The request you have made requires authentication.", "code": 401}}'
    )
    assert message_from_body(body, "application/json") == (
        "The request you have made requires authentication."
    )


def test_long_bodies_are_truncated() -> None:
    assert len(message_from_body("x" * 5000)) <= 300


def test_message_line_carries_method_status_and_request_id() -> None:
    err = error_from_response(
        403, GLANCE_403, {"x-openstack-request-id": "req-9"}, "PATCH", "http://g/v2/images/1"
    )
    assert str(err) == (
        "PATCH http://g/v2/images/1: 403 Attribute 'x_billing_code' is reserved. [request req-9]"
    )


def _failure(url: str, timeout: float) -> BaseException:
    """What keystoneauth raises for a request to `url` (loopback only, no network)."""
    from keystoneauth1 import session

    try:
        session.Session().get(url, timeout=timeout)
    except Exception as err:
        return err
    raise AssertionError(f"{url} answered")


def test_a_refused_connection_says_host_port_and_reason() -> None:
    """Issue 26, 7: the line was urllib3's text cut at 200 characters, mid-repr
    ("...(Caused by NewConnectionError(")."""
    err = _failure("http://127.0.0.1:1/v3/auth/tokens", 2)
    assert transport_message(err) == "host 127.0.0.1, port 1: Connection refused"


def test_a_server_that_never_answers_says_it_timed_out() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        err = _failure(f"http://127.0.0.1:{port}/v2/images", 0.2)
    assert transport_message(err) == f"host 127.0.0.1, port {port}: read timed out after 0.2 s"


def test_an_unknown_host_name_says_so() -> None:
    from urllib3.exceptions import MaxRetryError, NameResolutionError

    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as cause:
            raise NameResolutionError("nosuch.invalid", None, cause) from cause  # type: ignore[arg-type]
    except NameResolutionError as resolution:
        wrapped = MaxRetryError(None, "/v3/auth/tokens", resolution)  # type: ignore[arg-type]
    err = ConnectionError(
        "Unable to establish connection to http://nosuch.invalid:5000/v3/auth/tokens: "
        f"HTTPConnectionPool(host='nosuch.invalid', port=5000): {wrapped}"
    )
    err.__context__ = wrapped
    assert transport_message(err) == (
        "host nosuch.invalid, port 5000: host name not found (Name or service not known)"
    )


def test_an_unparsed_failure_is_cut_at_a_word_without_object_reprs() -> None:
    err = RuntimeError("<urllib3.connection.HTTPConnection object at 0x7f00aa>: " + "word " * 60)
    message = transport_message(err, limit=50)
    assert message.endswith("word…") and len(message) <= 50 and "0x7f" not in message
