"""The webhook adapter against a local HTTP server that checks what a receiver expects."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from secrets import token_hex

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishers import REGISTRY, adapter_for
from publishers.base import (
    AuthError,
    ConfigError,
    Media,
    OutgoingPost,
    PermanentError,
    RateLimited,
    TransientError,
)
from publishers.webhook import WebhookPublisher

SECRET = "whsec-" + token_hex(10)  # made per run: no credential lives in the code
KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
POST = OutgoingPost(
    post_id=42,
    title="Tag der offenen Tür",
    text="Wir öffnen unsere Türen 🎉 #Kassel",
    tags=("event",),
    media=(Media(url="https://cdn.example.org/a.jpg", alt_text="Halle"),),
)


def _adapter(server: HTTPServer, **extra: object) -> WebhookPublisher:
    return WebhookPublisher({"url": server.url_for("/hook"), "secret": SECRET, **extra})


def test_publish_posts_signed_json_with_the_idempotency_key(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_json(
        {"id": "msg-7", "url": "https://intranet.example/news/7"}, status=201
    )
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert (receipt.external_id, receipt.url, receipt.http_status) == (
        "msg-7",
        "https://intranet.example/news/7",
        201,
    )
    ((request, _response),) = httpserver.log
    body = request.get_data()
    assert request.headers["Idempotency-Key"] == KEY
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-Planner-Event"] == "post"
    assert request.headers["User-Agent"] == "editorial-planner/0.1"
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert request.headers["X-Planner-Signature"] == f"sha256={expected}"
    assert json.loads(body.decode("utf-8")) == {
        "post_id": 42,
        "idempotency_key": KEY,
        "title": "Tag der offenen Tür",
        "text": "Wir öffnen unsere Türen 🎉 #Kassel",
        "link": None,
        "tags": ["event"],
        "media": [{"url": "https://cdn.example.org/a.jpg", "alt_text": "Halle"}],
    }
    assert "Türen".encode() in body  # UTF-8, not \\u escapes


def test_no_signature_header_without_a_secret(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_data("", status=204)
    receipt = WebhookPublisher({"url": httpserver.url_for("/hook")}).publish(POST, KEY)
    assert receipt.external_id == KEY  # no body: the key is the receipt
    assert "X-Planner-Signature" not in httpserver.log[0][0].headers


def test_a_non_json_success_body_still_gives_a_receipt(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_data("<html>ok</html>", status=200)
    assert _adapter(httpserver).publish(POST, KEY).external_id == KEY


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        pytest.param(401, {"error": "invalid signature"}, AuthError, "invalid signature", id="401"),
        pytest.param(403, {"message": "forbidden"}, AuthError, "forbidden", id="403"),
        pytest.param(422, {"errors": ["text is empty"]}, PermanentError, "text is empty", id="422"),
        pytest.param(500, {"error": "boom"}, TransientError, "boom", id="500"),
        pytest.param(503, None, TransientError, "maintenance", id="503-text"),
    ],
)
def test_error_answers_map_to_typed_errors_with_the_receivers_words(
    httpserver: HTTPServer, status: int, body: object, error: type[Exception], message: str
) -> None:
    handler = httpserver.expect_oneshot_request("/hook")
    if body is None:
        handler.respond_with_data("Down for maintenance", status=status)
    else:
        handler.respond_with_json(body, status=status)
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert message in str(caught.value)
    assert caught.value.http_status == status  # type: ignore[attr-defined]


def test_rate_limit_carries_the_wait_from_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_json(
        {"error": "slow down"}, status=429, headers={"Retry-After": "120"}
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == 120
    assert caught.value.message == "slow down"


def test_timeout_is_transient(httpserver: HTTPServer) -> None:
    answered = threading.Event()

    def slow(_request: Request) -> Response:
        # Past the 1 s timeout, but released right after, not to hold up the next test.
        answered.wait(1.5)
        return Response("late", status=200)

    httpserver.expect_oneshot_request("/hook").respond_with_handler(slow)
    try:
        with pytest.raises(TransientError, match="did not answer in time"):
            _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)
    finally:
        answered.set()


def test_connection_refused_is_transient_and_names_only_the_host() -> None:
    adapter = WebhookPublisher({"url": "http://127.0.0.1:9/hook?token=abc", "secret": SECRET})
    with pytest.raises(TransientError) as caught:
        adapter.publish(POST, KEY)
    assert "127.0.0.1:9" in str(caught.value)
    assert "token=abc" not in str(caught.value)


def test_secret_never_appears_in_repr_or_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_json(
        {"error": f"bad secret {SECRET}"}, status=401
    )
    adapter = _adapter(httpserver)
    assert SECRET not in repr(adapter)
    assert "***" in repr(adapter)
    with pytest.raises(AuthError) as caught:
        adapter.publish(POST, KEY)
    assert SECRET not in str(caught.value)


def test_check_connection_sends_a_signed_ping(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/hook", method="POST", headers={"X-Planner-Event": "ping"}, json={"event": "ping"}
    ).respond_with_data("", status=204)
    assert "204" in _adapter(httpserver).check_connection()
    assert "X-Planner-Signature" in httpserver.log[0][0].headers


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({}, "url", id="missing-url"),
        pytest.param({"url": "ftp://x"}, "url", id="bad-url"),
        pytest.param(
            {"url": "https://x", "receiver_deduplicates": "vielleicht"},
            "receiver_deduplicates",
            id="bad-bool",
        ),
        pytest.param({"url": "https://x", "colour": "red"}, "colour", id="unknown"),
        pytest.param({"url": "https://x", "timeout_seconds": "0"}, "timeout_seconds", id="0s"),
        pytest.param({"url": "https://x", "timeout_seconds": 301}, "timeout_seconds", id="301s"),
        pytest.param({"url": "https://x", "timeout_seconds": "30s"}, "timeout_seconds", id="30s"),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WebhookPublisher(settings)
    assert caught.value.field == field


def test_the_receiver_setting_is_the_admins_declaration_not_the_adapters_claim() -> None:
    # The planner keeps it on the channel; the adapter proves nothing about the receiver.
    declared = WebhookPublisher({"url": "https://x", "receiver_deduplicates": "yes"})
    assert declared.settings["receiver_deduplicates"] is True
    assert declared.detect_deduplication() is None
    assert WebhookPublisher.deduplication_setting == "receiver_deduplicates"
    assert REGISTRY["webhook"] is WebhookPublisher


def test_lookup_asks_the_status_address_with_the_signed_key(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/status",
        method="GET",
        query_string={"idempotency_key": KEY},
        headers={
            "X-Planner-Event": "status",
            "X-Planner-Signature": "sha256="
            + hmac.new(SECRET.encode(), KEY.encode(), hashlib.sha256).hexdigest(),
        },
    ).respond_with_json({"id": "msg-7", "url": "https://intranet.example/news/7"})
    adapter = _adapter(httpserver, status_url=httpserver.url_for("/status"))
    assert adapter.can_look_up is True

    receipt = adapter.lookup(POST, KEY)

    assert receipt is not None
    assert (receipt.external_id, receipt.url) == ("msg-7", "https://intranet.example/news/7")
    assert len(httpserver.log) == 1
    httpserver.check_assertions()


def test_lookup_says_none_for_a_404(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/status", method="GET").respond_with_json(
        {"error": "no such post"}, status=404
    )
    adapter = _adapter(httpserver, status_url=httpserver.url_for("/status"))
    assert adapter.lookup(POST, KEY) is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param(200, "{}", TransientError, id="200-without-id"),
        pytest.param(200, "<html>ok</html>", TransientError, id="200-not-json"),
        pytest.param(401, '{"error": "bad signature"}', AuthError, id="401"),
        pytest.param(500, "{}", TransientError, id="500"),
        pytest.param(400, "{}", PermanentError, id="400"),
    ],
)
def test_lookup_raises_when_the_receiver_cannot_tell(
    status: int, body: str, error: type[Exception], httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request("/status", method="GET").respond_with_data(
        body, status=status, content_type="application/json"
    )
    with pytest.raises(error):
        _adapter(httpserver, status_url=httpserver.url_for("/status")).lookup(POST, KEY)


def test_without_a_status_address_there_is_no_lookup(httpserver: HTTPServer) -> None:
    adapter = _adapter(httpserver)
    assert adapter.can_look_up is False
    with pytest.raises(PermanentError, match="cannot look up"):
        adapter.lookup(POST, KEY)
    assert httpserver.log == []


def test_rate_limit_wait_from_an_http_date(httpserver: HTTPServer) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    httpserver.expect_oneshot_request("/hook").respond_with_data(
        "", status=429, headers={"Retry-After": later}
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert 85 <= caught.value.retry_after <= 91


def test_a_redirect_is_not_followed_as_a_bodyless_get(httpserver: HTTPServer) -> None:
    # requests would re-send a 301'd POST as GET; a page answering 200 would look delivered.
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/new-hook")}
    )
    httpserver.expect_request("/new-hook").respond_with_data("<html>welcome</html>")
    with pytest.raises(PermanentError, match=r"moved to http://.*/new-hook"):
        _adapter(httpserver).publish(POST, KEY)
    assert [entry[0].path for entry in httpserver.log] == ["/hook"]


def test_receipt_takes_numeric_ids_and_only_web_links(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_json(
        {"id": 981, "url": "javascript:alert(1)"}
    )
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert (receipt.external_id, receipt.url) == ("981", None)


def test_check_connection_raises_the_typed_error(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_json(
        {"error": "signature mismatch"}, status=401
    )
    with pytest.raises(AuthError, match="signature mismatch"):
        _adapter(httpserver).check_connection()


def test_the_registry_builds_the_webhook_adapter() -> None:
    adapter = adapter_for("webhook", {"url": "https://hooks.example.org/x", "secret": SECRET})
    assert isinstance(adapter, WebhookPublisher)
    assert adapter.settings["timeout_seconds"] == 30
