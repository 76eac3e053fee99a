"""The webhook adapter against a local HTTP server that checks what a receiver expects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from secrets import token_bytes, token_hex

import pytest
from pytest_httpserver import HTTPServer

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
from tests.publishers.stubs import answering_late

# Made per run: no credential lives in the code.
SECRET = "whsec_" + base64.b64encode(token_bytes(32)).decode()
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


def _expected(secret_key: bytes, msg_id: str, stamp: str, body: bytes) -> str:
    """The Standard Webhooks signature, computed here independently of the adapter."""
    mac = hmac.new(secret_key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _key() -> bytes:
    return base64.b64decode(SECRET.removeprefix("whsec_"))


def test_publish_posts_signed_json_with_the_idempotency_key(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_json(
        {"id": "msg-7", "url": "https://intranet.example/news/7"}, status=201
    )
    before = int(time.time())
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
    assert request.headers["webhook-id"] == f"msg_{KEY}"
    stamp = request.headers["webhook-timestamp"]
    assert before <= int(stamp) <= time.time()
    assert request.headers["webhook-signature"] == _expected(_key(), f"msg_{KEY}", stamp, body)
    assert "X-Planner-Signature" not in request.headers
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


def test_a_retry_keeps_the_id_and_signs_its_own_time(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    adapter = _adapter(httpserver)
    adapter.clock = lambda: 1_900_000_000.7  # type: ignore[method-assign]
    adapter.publish(POST, KEY)
    adapter.clock = lambda: 1_900_000_090.2  # type: ignore[method-assign]
    adapter.publish(POST, KEY)

    first, second = (entry[0].headers for entry in httpserver.log)
    assert first["webhook-id"] == second["webhook-id"] == f"msg_{KEY}"
    assert (first["webhook-timestamp"], second["webhook-timestamp"]) == (
        "1900000000",
        "1900000090",
    )
    # The old signature does not fit the new time: a replay with a fresh time fails.
    body = httpserver.log[1][0].get_data()
    assert second["webhook-signature"] == _expected(_key(), f"msg_{KEY}", "1900000090", body)
    assert first["webhook-signature"] != second["webhook-signature"]


def test_a_key_that_could_break_the_signed_text_becomes_a_plain_id(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    _adapter(httpserver).publish(POST, "a.b.c")
    _adapter(httpserver).publish(POST, "a.b.c")
    ids = [entry[0].headers["webhook-id"] for entry in httpserver.log]
    assert ids[0] == ids[1]
    assert re.fullmatch(r"msg_[0-9a-f]{32}", ids[0])


def test_a_secret_without_the_whsec_mark_signs_with_its_own_bytes(
    httpserver: HTTPServer,
) -> None:
    plain = "plain-" + token_hex(12)
    httpserver.expect_oneshot_request("/hook").respond_with_data("", status=204)
    WebhookPublisher({"url": httpserver.url_for("/hook"), "secret": plain}).publish(POST, KEY)
    ((request, _response),) = httpserver.log
    stamp = request.headers["webhook-timestamp"]
    expected = _expected(plain.encode(), f"msg_{KEY}", stamp, request.get_data())
    assert request.headers["webhook-signature"] == expected


@pytest.mark.parametrize("secret", [None, ""], ids=["missing", "empty"])
def test_a_webhook_without_a_secret_is_refused_with_what_to_do(secret: str | None) -> None:
    settings = {"url": "https://hooks.example.org/x"}
    if secret is not None:
        settings["secret"] = secret
    with pytest.raises(ConfigError) as caught:
        WebhookPublisher(settings)
    assert (caught.value.field, caught.value.code) == ("secret", "webhook_secret_required")
    assert "--secret secret" in str(caught.value)


def test_a_whsec_secret_must_be_base64() -> None:
    with pytest.raises(ConfigError) as caught:
        WebhookPublisher({"url": "https://hooks.example.org/x", "secret": "whsec_not base64!"})
    assert (caught.value.field, caught.value.code) == ("secret", "webhook_secret_base64")
    assert "not base64!" not in str(caught.value)


def _readme_verify() -> Callable[[str, dict[str, str], bytes], bool]:
    """The verification snippet of the README's "Receiving webhooks" section."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Receiving webhooks", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, object] = {}
    exec(code, scope)  # noqa: S102 - the README's own example, run as a receiver would
    verify = scope["verify"]
    assert callable(verify)
    return verify  # type: ignore[return-value]


@pytest.mark.parametrize("secret", [SECRET, "plain-" + token_hex(12)], ids=["whsec", "plain"])
def test_the_readmes_receiver_accepts_what_is_sent_and_refuses_a_replay(
    httpserver: HTTPServer, secret: str
) -> None:
    verify = _readme_verify()
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    WebhookPublisher({"url": httpserver.url_for("/hook"), "secret": secret}).publish(POST, KEY)
    ((request, _response),) = httpserver.log
    headers = {name.lower(): value for name, value in request.headers.items()}
    body = request.get_data()
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body.replace(b"42", b"43"))  # altered
    assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, body)
    # The same request ten minutes later: its signed timestamp gives it away ...
    stale = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 600)}
    assert not verify(secret, stale, body)
    # ... and a fresh timestamp does not fit its signature.
    fresh = {**headers, "webhook-timestamp": str(int(time.time()))}
    if fresh["webhook-timestamp"] != headers["webhook-timestamp"]:
        assert not verify(secret, fresh, body)


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
    with (
        answering_late(httpserver, "/hook", "late"),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


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


def test_check_connection_sends_a_signed_ping_that_is_never_the_same(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(
        "/hook", method="POST", headers={"X-Planner-Event": "ping"}, json={"event": "ping"}
    ).respond_with_data("", status=204)
    adapter = _adapter(httpserver)
    adapter.clock = lambda: 1_900_000_000  # type: ignore[method-assign]
    assert "204" in adapter.check_connection()
    assert "204" in adapter.check_connection()
    first, second = (entry[0] for entry in httpserver.log)
    for request in (first, second):
        msg_id, stamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
        assert stamp == "1900000000"
        expected = _expected(_key(), msg_id, stamp, request.get_data())
        assert request.headers["webhook-signature"] == expected
    # Same time, same body: only the id tells them apart, and so the signature differs.
    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


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
        pytest.param(
            {"url": "https://x", "timeout_seconds": "0"},
            "timeout_seconds",
            id="0s",
        ),
        pytest.param(
            {"url": "https://x", "timeout_seconds": 301},
            "timeout_seconds",
            id="301s",
        ),
        pytest.param(
            {"url": "https://x", "timeout_seconds": "30s"},
            "timeout_seconds",
            id="30s",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WebhookPublisher({"secret": SECRET, **settings})
    assert caught.value.field == field


def test_the_receiver_setting_is_the_admins_declaration_not_the_adapters_claim() -> None:
    # The planner keeps it on the channel; the adapter proves nothing about the receiver.
    declared = WebhookPublisher(
        {"url": "https://x", "secret": SECRET, "receiver_deduplicates": "yes"}
    )
    assert declared.settings["receiver_deduplicates"] is True
    assert declared.detect_deduplication() is None
    assert WebhookPublisher.deduplication_setting == "receiver_deduplicates"
    assert REGISTRY["webhook"] is WebhookPublisher


def test_lookup_asks_the_status_address_with_the_signed_key(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/status",
        method="GET",
        query_string={"idempotency_key": KEY},
        headers={"X-Planner-Event": "status"},
    ).respond_with_json({"id": "msg-7", "url": "https://intranet.example/news/7"})
    adapter = _adapter(httpserver, status_url=httpserver.url_for("/status"))
    assert adapter.can_look_up is True

    receipt = adapter.lookup(POST, KEY)

    assert receipt is not None
    assert (receipt.external_id, receipt.url) == ("msg-7", "https://intranet.example/news/7")
    assert len(httpserver.log) == 1
    httpserver.check_assertions()
    headers = httpserver.log[0][0].headers
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert msg_id != f"msg_{KEY}"  # a question, not the post
    assert headers["webhook-signature"] == _expected(_key(), msg_id, stamp, KEY.encode())


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
