"""The Discord adapter against a local server that answers like Discord's webhook API."""

from __future__ import annotations

import json
import logging
from secrets import token_urlsafe
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from publishers.base import (
    AuthError,
    DeliveryError,
    OutgoingPost,
    PermanentError,
    PostGone,
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.discord import DiscordPublisher
from tests.publishers.stubs import answering_late, config_error, our_log, shown

WEBHOOK_ID = "1234567890123456789"
TOKEN = token_urlsafe(48)  # made per run: no credential lives in the code
HOOK = f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
GUILD = "613425648685547541"
CHANNEL = "697138785317814292"
KEY = "planner-42-9-1"
POST = OutgoingPost(
    post_id=42,
    title="Tag der offenen Tür",
    text="Wir öffnen die Türen 🎉 <Kassel> & Umgebung",
    link="https://example.de/tag-der-offenen-tuer",
)
TEXT = "Wir öffnen die Türen 🎉 <Kassel> & Umgebung\n\nhttps://example.de/tag-der-offenen-tuer"


def _adapter(server: HTTPServer, **extra: object) -> DiscordPublisher:
    return DiscordPublisher({"webhook_url": server.url_for(HOOK), **extra})


def _message(message_id: str = "1187654321098765432", **extra: object) -> dict[str, Any]:
    """A message object as execute-webhook with wait=true returns it (trimmed)."""
    return {
        "id": message_id,
        "type": 0,
        "content": TEXT,
        "channel_id": CHANNEL,
        "author": {"id": WEBHOOK_ID, "username": "Redaktion", "bot": True},
        "webhook_id": WEBHOOK_ID,
        "mentions": [],
        "mention_everyone": False,
        "timestamp": "2026-05-04T08:00:00.000000+00:00",
        **extra,
    }


def _webhook() -> dict[str, Any]:
    """The webhook object as GET on the webhook's address returns it (it includes the token)."""
    return {
        "id": WEBHOOK_ID,
        "type": 1,
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "name": "Redaktion",
        "avatar": None,
        "application_id": None,
        "token": TOKEN,
    }


def test_publish_waits_for_the_message_and_never_parses_mentions(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        HOOK,
        method="POST",
        query_string="wait=true",
        headers={"Content-Type": "application/json"},
        json={"content": TEXT, "allowed_mentions": {"parse": []}},
    ).respond_with_json(_message(guild_id=GUILD))
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert (receipt.external_id, receipt.url, receipt.http_status) == (
        "1187654321098765432",
        f"https://discord.com/channels/{GUILD}/{CHANNEL}/1187654321098765432",
        200,
    )
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("@everyone Tag der offenen Tür!", id="everyone"),
        pytest.param("@here gleich geht's los", id="here"),
        pytest.param("Danke <@80351110224678912> und <@&165511591545143296>", id="user-role"),
    ],
)
def test_a_post_can_never_ping_everyone_a_role_or_a_user(httpserver: HTTPServer, text: str) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_json(_message(guild_id=GUILD))
    _adapter(httpserver).publish(OutgoingPost(post_id=1, title="", text=text), KEY)
    sent = json.loads(httpserver.log[0][0].get_data())
    assert sent == {"content": text, "allowed_mentions": {"parse": []}}


def test_the_guild_for_the_link_is_read_once_from_the_webhook(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(HOOK, method="GET").respond_with_json(_webhook())
    httpserver.expect_request(HOOK, method="POST").respond_with_json(_message())
    adapter = _adapter(httpserver, username="Heizwerk Redaktion")
    first = adapter.publish(POST, "k1")
    second = adapter.publish(POST, "k2")
    assert (
        first.url
        == second.url
        == (f"https://discord.com/channels/{GUILD}/{CHANNEL}/1187654321098765432")
    )
    assert [request.method for request, _ in httpserver.log] == ["POST", "GET", "POST"]
    assert json.loads(httpserver.log[0][0].get_data())["username"] == "Heizwerk Redaktion"


def test_a_failed_guild_lookup_leaves_the_link_out_but_not_the_receipt(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_json(_message())
    httpserver.expect_oneshot_request(HOOK, method="GET").respond_with_data("", status=503)
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert (receipt.external_id, receipt.url) == ("1187654321098765432", None)


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        pytest.param(
            400,
            {
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": {
                    "content": {
                        "_errors": [
                            {
                                "code": "BASE_TYPE_MAX_LENGTH",
                                "message": "Must be 2000 or fewer in length.",
                            }
                        ]
                    }
                },
            },
            PermanentError,
            "Invalid Form Body: content: Must be 2000 or fewer in length.",
            id="400-too-long",
        ),
        pytest.param(
            401,
            {"message": "401: Unauthorized", "code": 0},
            AuthError,
            "401: Unauthorized",
            id="401",
        ),
        pytest.param(
            403,
            {"message": "Missing Permissions", "code": 50013},
            AuthError,
            "Missing Permissions",
            id="403",
        ),
        pytest.param(
            404,
            {"message": "Unknown Webhook", "code": 10015},
            AuthError,
            "Unknown Webhook",
            id="404-unknown-webhook",
        ),
        pytest.param(
            404,
            {"message": "Unknown Channel", "code": 10003},
            PermanentError,
            "Unknown Channel",
            id="404-other",
        ),
        pytest.param(
            500,
            {"message": "500: Internal Server Error", "code": 0},
            TransientError,
            "500: Internal Server Error",
            id="500",
        ),
    ],
)
def test_discord_errors_map_to_typed_errors_with_its_message(
    httpserver: HTTPServer,
    status: int,
    body: dict[str, Any],
    error: type[DeliveryError],
    message: str,
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_json(body, status=status)
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.message == message
    assert caught.value.http_status == status


@pytest.mark.parametrize(
    ("body", "headers", "wait", "message"),
    [
        pytest.param(
            {"message": "You are being rate limited.", "retry_after": 1.5, "global": False},
            {"Retry-After": "2", "X-RateLimit-Reset-After": "1.500"},
            1.5,
            "You are being rate limited.",
            id="body-retry_after",
        ),
        pytest.param(
            {"message": "You are being rate limited.", "retry_after": 64.57, "global": True},
            {"Retry-After": "65", "X-RateLimit-Global": "true"},
            64.57,
            "You are being rate limited. (global limit)",
            id="global",
        ),
        pytest.param(
            {"message": "You are being rate limited."},
            {"X-RateLimit-Reset-After": "3.25", "Retry-After": "4"},
            3.25,
            "You are being rate limited.",
            id="reset-after-header",
        ),
        pytest.param(
            {"message": "You are being rate limited."},
            {"Retry-After": "4"},
            4,
            "You are being rate limited.",
            id="retry-after-header",
        ),
    ],
)
def test_rate_limit_waits_as_long_as_discord_says(
    httpserver: HTTPServer,
    body: dict[str, Any],
    headers: dict[str, str],
    wait: float,
    message: str,
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_json(body, status=429, headers=headers)
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == wait
    assert caught.value.message == message


def test_a_cloudflare_error_page_is_transient(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data(
        "<html><title>502 Bad Gateway</title></html>", status=502
    )
    with pytest.raises(TransientError, match="502 Bad Gateway"):
        _adapter(httpserver).publish(POST, KEY)


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        pytest.param("<<<not json", 200, "application/json", id="not-json"),
        pytest.param("<html>proxy says hi</html>", 200, "text/html", id="html-page"),
        pytest.param('{"type": 0}', 200, "application/json", id="no-id"),
        pytest.param("", 204, "text/plain", id="no-content"),
    ],
)
def test_a_success_without_the_created_message_is_ambiguous_not_a_receipt(
    httpserver: HTTPServer, body: str, status: int, content_type: str
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data(
        body, status=status, content_type=content_type
    )
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).publish(POST, KEY)
    # Perhaps sent: not re-sent blindly, and not recorded as published either.
    assert caught.value.ambiguous
    assert caught.value.http_status == status
    assert TOKEN not in str(caught.value)
    assert _adapter(httpserver).detect_deduplication() is None


def test_a_slow_discord_times_out_as_transient(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, HOOK),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


def test_the_webhook_token_never_shows_in_errors_repr_logs_or_the_check(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_json(
        {"message": f"Invalid Webhook Token {TOKEN}", "code": 50027}, status=401
    )
    httpserver.expect_oneshot_request(HOOK, method="GET").respond_with_json(_webhook())
    adapter = _adapter(httpserver)
    assert TOKEN not in repr(adapter)
    with pytest.raises(AuthError) as caught:
        adapter.publish(POST, KEY)
    assert caught.value.message == "Invalid Webhook Token ***"
    assert adapter.check_connection() == f"webhook 'Redaktion' posts to channel {CHANNEL}"
    assert "/api/webhooks/***" in our_log(caplog)
    assert TOKEN not in our_log(caplog)
    unreachable = DiscordPublisher({"webhook_url": f"http://127.0.0.1:9{HOOK}"})
    with pytest.raises(TransientError) as refused:
        unreachable.publish(POST, KEY)
    assert TOKEN not in shown(refused.value)


# Discord's API counts content length in code points (len() of a Python str).
@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("Grüße aus Kassel", 16, id="umlauts-and-eszett"),
        pytest.param("👨‍👩‍👧‍👦", 7, id="emoji-zwj-family"),
        pytest.param("🇩🇪", 2, id="flag"),
        pytest.param("😀", 1, id="astral-emoji"),
        pytest.param("e\u0301", 2, id="combining-accent"),
        pytest.param("日本語", 3, id="cjk"),
        pytest.param("https://example.de/pfad", 23, id="url-in-full"),
    ],
)
def test_length_counts_code_points(text: str, length: int) -> None:
    adapter = DiscordPublisher({"webhook_url": f"https://discord.com{HOOK}"})
    assert adapter.measure(text) == length


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param("😀" * 2000, 0, id="2000-emoji-fit"),
        pytest.param("😀" * 2001, 1, id="2001-do-not"),
    ],
)
def test_the_2000_limit_is_checked(text: str, problems: int) -> None:
    adapter = DiscordPublisher({"webhook_url": f"https://discord.com{HOOK}"})
    found = adapter.validate(OutgoingPost(post_id=1, title="", text=text))
    assert len(found) == problems
    assert all(p.message.endswith("Discord allows 2000") for p in found)


def test_metrics_add_up_the_reactions_of_the_message(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        f"{HOOK}/messages/1187654321098765432", method="GET"
    ).respond_with_json(
        _message(
            reactions=[
                {"count": 5, "me": False, "emoji": {"id": None, "name": "🔥"}},
                {"count": 2, "me": False, "emoji": {"id": None, "name": "👍"}},
            ]
        )
    )
    adapter = _adapter(httpserver)
    metrics = adapter.fetch_metrics(Receipt(external_id="1187654321098765432"))
    assert metrics.reactions == 7
    assert (metrics.impressions, metrics.reposts, metrics.replies) == (None, None, None)
    with pytest.raises(PermanentError):  # no message id, no figures; and no request
        adapter.fetch_metrics(Receipt(external_id=KEY))
    assert len(httpserver.log) == 1


def test_metrics_of_a_deleted_message_say_it_is_gone(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"{HOOK}/messages/1187654321098765432").respond_with_json(
        {"message": "Unknown Message", "code": 10008}, status=404
    )
    with pytest.raises(PostGone, match="Unknown Message"):
        _adapter(httpserver).fetch_metrics(Receipt(external_id="1187654321098765432"))


def test_check_connection_reports_a_deleted_webhook(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(HOOK, method="GET").respond_with_json(
        {"message": "Unknown Webhook", "code": 10015}, status=404
    )
    with pytest.raises(AuthError, match="Unknown Webhook"):
        _adapter(httpserver).check_connection()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({}, "webhook_url", id="missing"),
        pytest.param(
            {"webhook_url": "discord.com/api/webhooks/1/x"}, "webhook_url", id="no-scheme"
        ),
        pytest.param(
            {"webhook_url": f"https://discord.com{HOOK}", "username": "x" * 81},
            "username",
            id="username-too-long",
        ),
        pytest.param(
            {"webhook_url": f"https://discord.com{HOOK}", "timeout_seconds": "soon"},
            "timeout_seconds",
            id="timeout-not-a-number",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(DiscordPublisher, settings).field == field
