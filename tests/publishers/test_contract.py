"""Every registered adapter meets the same contract and maps the same failures alike.

A new adapter adds one line to FACTORIES: how to build it against a local test server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishers import CHANNEL_KINDS, REGISTRY
from publishers.base import (
    AuthError,
    DeliveryError,
    OutgoingPost,
    PermanentError,
    Publisher,
    RateLimited,
    TransientError,
)

SECRET = "contract-secret-value-123"
FACTORIES: dict[str, Callable[[str], Publisher]] = {
    "webhook": lambda base: REGISTRY["webhook"](
        {"url": f"{base}/hook", "secret": SECRET, "timeout_seconds": 1}
    ),
}
KINDS = sorted(k for k in REGISTRY if k != "recording")
HTTP_KINDS = [k for k in KINDS if REGISTRY[k].uses_http]
POST = OutgoingPost(post_id=1, title="Titel", text="Ein kurzer Text")


def test_every_registered_kind_has_a_factory_here() -> None:
    assert set(KINDS) <= set(FACTORIES)


@pytest.mark.parametrize("kind", KINDS)
def test_adapter_declares_its_channel_facts(kind: str) -> None:
    cls = REGISTRY[kind]
    assert cls.kind == kind
    assert kind in CHANNEL_KINDS
    assert cls.display_name
    assert cls.settings_spec
    assert all(spec.help for spec in cls.settings_spec)


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_secrets_stay_out_of_repr(kind: str, httpserver: HTTPServer) -> None:
    adapter = FACTORIES[kind](httpserver.url_for("").rstrip("/"))
    assert SECRET not in repr(adapter)


def _later(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


FAILURES = [
    pytest.param(401, {}, AuthError, id="401"),
    pytest.param(403, {}, AuthError, id="403"),
    pytest.param(404, {}, PermanentError, id="404"),
    pytest.param(422, {}, PermanentError, id="422"),
    pytest.param(429, {"Retry-After": "30"}, RateLimited, id="429-seconds"),
    pytest.param(429, {"Retry-After": "DATE"}, RateLimited, id="429-date"),
    pytest.param(500, {}, TransientError, id="500"),
    pytest.param(502, {}, TransientError, id="502"),
    pytest.param(503, {}, TransientError, id="503"),
]


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize(("status", "headers", "error"), FAILURES)
def test_http_failures_map_to_the_same_errors(
    kind: str,
    status: int,
    headers: dict[str, str],
    error: type[DeliveryError],
    httpserver: HTTPServer,
) -> None:
    headers = {k: (_later(30) if v == "DATE" else v) for k, v in headers.items()}
    httpserver.expect_request("").respond_with_data(
        '{"error": "refused by the test server"}',
        status=status,
        headers=headers,
        content_type="application/json",
    )
    adapter = FACTORIES[kind](httpserver.url_for("").rstrip("/"))
    with pytest.raises(error) as caught:
        adapter.publish(POST, "key-1")
    assert "refused by the test server" in caught.value.message
    assert caught.value.http_status == status
    if isinstance(caught.value, RateLimited):
        assert 25 <= caught.value.retry_after <= 31


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_timeouts_and_refused_connections_are_transient(kind: str, httpserver: HTTPServer) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(1.5)
        return Response("{}", status=200)

    httpserver.expect_request("").respond_with_handler(slow)
    with pytest.raises(TransientError):
        FACTORIES[kind](httpserver.url_for("").rstrip("/")).publish(POST, "key-2")
    with pytest.raises(TransientError):
        FACTORIES[kind]("http://127.0.0.1:9").publish(POST, "key-3")


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_malformed_error_bodies_still_give_a_typed_error(kind: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("").respond_with_data("<<<not json", status=500)
    with pytest.raises(TransientError) as caught:
        FACTORIES[kind](httpserver.url_for("").rstrip("/")).publish(POST, "key-4")
    assert "not json" in caught.value.message
