"""Status -> exception table, message extraction, and no HTTP-library leaks."""

from __future__ import annotations

import pytest

from reconciler import errors
from reconciler.cloud.http_errors import error_from_response, message_from_body

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
