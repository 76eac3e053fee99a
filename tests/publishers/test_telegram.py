"""The Telegram adapter against a local server that answers like the Bot API."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from publishers.base import (
    AuthError,
    DeliveryError,
    Media,
    OutgoingPost,
    PermanentError,
    RateLimited,
    TransientError,
)
from publishers.telegram import TelegramPublisher, channel_link
from tests.publishers.stubs import answering_late, config_error, our_log, shown
from tests.publishers.test_uploads import png, size, uploaded

TOKEN = "7312345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
SEND = f"/bot{TOKEN}/sendMessage"
KEY = "planner-42-3-1"
POST = OutgoingPost(
    post_id=42,
    title="Tag der offenen Tür",
    text="Wir öffnen die Türen 🎉 <Kassel> & Umgebung",
    link="https://example.de/tag-der-offenen-tuer",
)
TEXT = "Wir öffnen die Türen 🎉 <Kassel> & Umgebung\n\nhttps://example.de/tag-der-offenen-tuer"


def _adapter(server: HTTPServer, **extra: object) -> TelegramPublisher:
    settings = {
        "bot_token": TOKEN,
        "chat_id": "@heizwerk_news",
        "api_base": server.url_for("/").rstrip("/"),
        **extra,
    }
    return TelegramPublisher(settings)


def _message(message_id: int = 512, **chat: object) -> dict[str, Any]:
    """A Message as sendMessage returns it for a channel post (trimmed)."""
    return {
        "message_id": message_id,
        "sender_chat": {"id": -1001234567890, "type": "channel", "title": "Heizwerk News"},
        "chat": {
            "id": -1001234567890,
            "type": "channel",
            "title": "Heizwerk News",
            "username": "heizwerk_news",
            **chat,
        },
        "date": 1_780_000_000,
        "text": TEXT,
    }


def _failure(code: int, description: str, **parameters: object) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def test_publish_sends_escaped_html_to_the_channel_and_links_the_message(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        SEND,
        method="POST",
        json={
            "chat_id": "@heizwerk_news",
            "text": "Wir öffnen die Türen 🎉 &lt;Kassel&gt; &amp; Umgebung\n\n"
            "https://example.de/tag-der-offenen-tuer",
            "parse_mode": "HTML",
        },
    ).respond_with_json({"ok": True, "result": _message()})
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert (receipt.external_id, receipt.url, receipt.http_status) == (
        "512",
        "https://t.me/heizwerk_news/512",
        200,
    )
    assert httpserver.log[0][0].headers["Content-Type"] == "application/json"


def test_without_parse_mode_the_text_goes_out_as_written(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        SEND,
        json={
            "chat_id": "-1001234567890",
            "text": TEXT,
            "link_preview_options": {"is_disabled": True},
            "disable_notification": True,
        },
    ).respond_with_json({"ok": True, "result": _message(username=None)})
    receipt = _adapter(
        httpserver,
        chat_id="-1001234567890",
        parse_mode="none",
        link_preview="no",
        silent="yes",
    ).publish(POST, KEY)
    assert receipt.url == "https://t.me/c/1234567890/512"


@pytest.mark.parametrize(
    ("chat", "link"),
    [
        pytest.param({"id": -1001, "username": "kanal"}, "https://t.me/kanal/5", id="public"),
        pytest.param({"id": -1009876543210}, "https://t.me/c/9876543210/5", id="private"),
        pytest.param({"id": -4123456}, None, id="basic-group"),
        pytest.param({}, None, id="no-chat"),
    ],
)
def test_message_links_follow_the_kind_of_chat(chat: dict[str, Any], link: str | None) -> None:
    assert channel_link(chat, 5) == link


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        pytest.param(
            400,
            _failure(400, "Bad Request: chat not found"),
            PermanentError,
            "Bad Request: chat not found",
            id="400-chat-not-found",
        ),
        pytest.param(
            400,
            _failure(400, "Bad Request: message is too long"),
            PermanentError,
            "Bad Request: message is too long",
            id="400-too-long",
        ),
        pytest.param(
            400,
            _failure(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=-1001234567999,
            ),
            PermanentError,
            "Bad Request: group chat was upgraded to a supergroup chat "
            "(the group is now chat -1001234567999)",
            id="400-migrated",
        ),
        pytest.param(401, _failure(401, "Unauthorized"), AuthError, "Unauthorized", id="401"),
        pytest.param(
            403,
            _failure(403, "Forbidden: bot was kicked from the channel chat"),
            AuthError,
            "Forbidden: bot was kicked from the channel chat",
            id="403-kicked",
        ),
        pytest.param(
            403,
            _failure(403, "Forbidden: bot is not a member of the channel chat"),
            AuthError,
            "Forbidden: bot is not a member of the channel chat",
            id="403-not-member",
        ),
        pytest.param(
            500,
            _failure(500, "Internal Server Error: restart"),
            TransientError,
            "Internal Server Error: restart",
            id="500",
        ),
        pytest.param(
            200,
            _failure(400, "Bad Request: message text is empty"),
            PermanentError,
            "Bad Request: message text is empty",
            id="ok-false-under-200",
        ),
    ],
)
def test_bot_api_errors_map_to_typed_errors_with_the_description(
    httpserver: HTTPServer,
    status: int,
    body: dict[str, Any],
    error: type[DeliveryError],
    message: str,
) -> None:
    httpserver.expect_oneshot_request(SEND).respond_with_json(body, status=status)
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.message == message
    assert caught.value.http_status == body["error_code"]


def test_rate_limit_waits_for_retry_after_from_the_parameters(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(SEND).respond_with_json(
        _failure(429, "Too Many Requests: retry after 17", retry_after=17), status=429
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == 17
    assert caught.value.message == "Too Many Requests: retry after 17"


def test_a_bad_gateway_page_is_transient(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(SEND).respond_with_data(
        "<html><body>502 Bad Gateway</body></html>", status=502
    )
    with pytest.raises(TransientError, match="502 Bad Gateway"):
        _adapter(httpserver).publish(POST, KEY)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("<<<not json", "application/json", id="not-json"),
        pytest.param(
            "<html><body>Please log in to the guest Wi-Fi</body></html>",
            "text/html",
            id="captive-portal-page",
        ),
        pytest.param("", "text/plain", id="empty"),
        pytest.param('{"ok": true, "result": true}', "application/json", id="result-not-a-message"),
        pytest.param('{"ok": true}', "application/json", id="no-result"),
    ],
)
def test_a_success_without_the_sent_message_is_ambiguous_not_a_receipt(
    httpserver: HTTPServer, body: str, content_type: str
) -> None:
    httpserver.expect_oneshot_request(SEND, method="POST").respond_with_data(
        body, status=200, content_type=content_type
    )
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).publish(POST, KEY)
    # Perhaps sent: not re-sent blindly, and not recorded as published either.
    assert caught.value.ambiguous
    assert caught.value.http_status == 200
    assert TOKEN not in str(caught.value)
    # No idempotency key in the Bot API.
    assert _adapter(httpserver).detect_deduplication() is None


def test_an_album_answered_without_its_messages_is_ambiguous(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        f"/bot{TOKEN}/sendMediaGroup", method="POST"
    ).respond_with_data("<html>proxy</html>", status=200, content_type="text/html")
    post = OutgoingPost(
        post_id=42,
        title="T",
        text="Bilder",
        media=[uploaded(png(8, 8), "Eins"), uploaded(png(8, 8), "Zwei")],
    )
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).publish(post, KEY)
    assert caught.value.ambiguous


def test_the_token_in_the_path_never_shows_when_the_server_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = TelegramPublisher(
        {"bot_token": TOKEN, "chat_id": "@heizwerk_news", "api_base": "http://127.0.0.1:9"}
    )
    with pytest.raises(TransientError) as caught:
        adapter.publish(POST, KEY)
    assert "127.0.0.1:9" in caught.value.message
    assert TOKEN not in shown(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert TOKEN not in our_log(caplog)


def test_the_token_never_shows_in_repr_errors_or_debug_logs(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_oneshot_request(SEND).respond_with_json(
        _failure(401, f"Unauthorized: token {TOKEN} revoked"), status=401
    )
    adapter = _adapter(httpserver)
    assert TOKEN not in repr(adapter)
    with pytest.raises(AuthError) as caught:
        adapter.publish(POST, KEY)
    assert caught.value.message == "Unauthorized: token *** revoked"
    assert TOKEN not in shown(caught.value)
    # urllib3 logs each request line with its path at DEBUG level: masked there too.
    assert "/bot***/sendMessage" in our_log(caplog)
    assert TOKEN not in our_log(caplog)


def test_a_slow_api_times_out_as_transient_without_the_token(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, SEND, '{"ok": true, "result": {}}'),
        pytest.raises(TransientError, match="did not answer in time") as caught,
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)
    assert TOKEN not in shown(caught.value)


# Telegram checks 1-4096 characters after entity parsing, counted as Unicode code points
# (tdlib: utf8_length of the parsed text); the escaping for parse_mode HTML costs nothing.
@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("Grüße aus Kassel", 16, id="umlauts-and-eszett"),
        pytest.param("👨‍👩‍👧‍👦", 7, id="emoji-zwj-family-is-seven-code-points"),
        pytest.param("🇩🇪", 2, id="flag-is-two-code-points"),
        pytest.param("😀", 1, id="astral-emoji-is-one-not-two-utf16-units"),
        pytest.param("e\u0301", 2, id="combining-accent"),
        pytest.param("日本語", 3, id="cjk"),
        pytest.param("a & b <c>", 9, id="html-escapes-do-not-count"),
        pytest.param("https://example.de/ein/langer/pfad", 34, id="url-counts-in-full"),
    ],
)
def test_length_counts_code_points_of_the_text_as_written(text: str, length: int) -> None:
    adapter = TelegramPublisher({"bot_token": TOKEN, "chat_id": "@heizwerk_news"})
    assert adapter.measure(text) == length


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param("😀" * 4096, 0, id="4096-emoji-are-8192-utf16-units-and-fit"),
        pytest.param("😀" * 4097, 1, id="4097-emoji-do-not"),
        pytest.param("&" * 4096, 0, id="4096-ampersands-fit-though-escaped-they-are-longer"),
    ],
)
def test_the_4096_limit_is_checked_as_telegram_counts(text: str, problems: int) -> None:
    adapter = TelegramPublisher({"bot_token": TOKEN, "chat_id": "@heizwerk_news"})
    found = adapter.validate(OutgoingPost(post_id=1, title="", text=text))
    assert len(found) == problems
    assert all(p.message.endswith("Telegram channel allows 4096") for p in found)


def test_the_appended_link_counts_towards_the_limit() -> None:
    adapter = TelegramPublisher({"bot_token": TOKEN, "chat_id": "@heizwerk_news"})
    post = OutgoingPost(post_id=1, title="", text="x" * 4090, link="https://e.de/")
    (problem,) = adapter.validate(post)
    assert problem.message.startswith("4105 characters")


def test_check_connection_confirms_the_bot_may_post_in_the_channel(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"/bot{TOKEN}/getMe").respond_with_json(
        {"ok": True, "result": {"id": 7312345678, "is_bot": True, "username": "heizwerk_bot"}}
    )
    httpserver.expect_oneshot_request(
        f"/bot{TOKEN}/getChat", json={"chat_id": "@heizwerk_news"}
    ).respond_with_json(
        {"ok": True, "result": {"id": -1001234567890, "type": "channel", "title": "Heizwerk"}}
    )
    httpserver.expect_oneshot_request(
        f"/bot{TOKEN}/getChatMember", json={"chat_id": "@heizwerk_news", "user_id": 7312345678}
    ).respond_with_json(
        {
            "ok": True,
            "result": {
                "status": "administrator",
                "user": {"id": 7312345678},
                "can_post_messages": True,
            },
        }
    )
    assert _adapter(httpserver).check_connection() == "@heizwerk_bot can post to Heizwerk"


@pytest.mark.parametrize(
    ("member", "words"),
    [
        pytest.param({"status": "member"}, "is not an administrator", id="plain-member"),
        pytest.param({"status": "left"}, "is not a member", id="left"),
        pytest.param(
            {"status": "administrator", "can_post_messages": False},
            "may not post messages",
            id="admin-without-post-right",
        ),
    ],
)
def test_check_connection_refuses_a_bot_that_cannot_post(
    httpserver: HTTPServer, member: dict[str, Any], words: str
) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/getMe").respond_with_json(
        {"ok": True, "result": {"id": 1, "username": "heizwerk_bot"}}
    )
    httpserver.expect_request(f"/bot{TOKEN}/getChat").respond_with_json(
        {"ok": True, "result": {"id": -1001, "type": "channel", "title": "Heizwerk"}}
    )
    httpserver.expect_request(f"/bot{TOKEN}/getChatMember").respond_with_json(
        {"ok": True, "result": member}
    )
    with pytest.raises(AuthError, match=words):
        _adapter(httpserver).check_connection()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"chat_id": "@heizwerk_news"}, "bot_token", id="no-token"),
        pytest.param(
            {"bot_token": "123:abc/../x", "chat_id": "@heizwerk_news"},
            "bot_token",
            id="token-leaves-the-path",
        ),
        pytest.param({"bot_token": TOKEN}, "chat_id", id="no-chat"),
        pytest.param({"bot_token": TOKEN, "chat_id": "heizwerk"}, "chat_id", id="chat-without-at"),
        pytest.param(
            {"bot_token": TOKEN, "chat_id": "@x", "parse_mode": "html"}, "chat_id", id="short"
        ),
        pytest.param(
            {"bot_token": TOKEN, "chat_id": "@heizwerk_news", "parse_mode": "MarkdownV2"},
            "parse_mode",
            id="markdown",
        ),
        pytest.param(
            {"bot_token": TOKEN, "chat_id": "@heizwerk_news", "api_base": "api.telegram.org"},
            "api_base",
            id="api-base-not-a-url",
        ),
    ],
)
def test_bad_configuration_names_the_field_without_echoing_the_token(
    settings: dict[str, object], field: str
) -> None:
    error = config_error(TelegramPublisher, settings)
    assert error.field == field
    assert "abc/../x" not in str(error)


def test_defaults_point_at_the_public_bot_api() -> None:
    adapter = TelegramPublisher({"bot_token": TOKEN, "chat_id": "-1001234567890"})
    assert adapter.settings["api_base"] == "https://api.telegram.org"
    assert adapter.settings["parse_mode"] == "html"
    assert adapter.reports_metrics is False  # the Bot API has no views


ESCAPED = "Wir öffnen die Türen 🎉 &lt;Kassel&gt; &amp; Umgebung\n\nhttps://example.de/tag-der-offenen-tuer"


def _with(*media: Media) -> OutgoingPost:
    return OutgoingPost(
        post_id=POST.post_id, title=POST.title, text=POST.text, link=POST.link, media=media
    )


def test_one_image_is_sent_with_sendphoto_and_the_text_as_its_caption(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(f"/bot{TOKEN}/sendPhoto", method="POST").respond_with_json(
        {"ok": True, "result": _message(513)}
    )
    image = png(6000, 3000)  # width and height together above Telegram's 10000
    post = _with(uploaded(image, "Das Festzelt"))
    adapter = _adapter(httpserver, silent=True)
    assert adapter.validate(post) == []
    receipt = adapter.publish(post, KEY)
    assert (receipt.external_id, receipt.url) == ("513", "https://t.me/heizwerk_news/513")
    ((request, _answer),) = httpserver.log
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert request.form.to_dict() == {
        "chat_id": "@heizwerk_news",
        "caption": ESCAPED,
        "parse_mode": "HTML",
        "disable_notification": "true",
    }
    photo = request.files["photo"]
    assert (photo.filename, photo.mimetype) == ("zelt.png", "image/png")
    assert size(photo.read()) == (5000, 2500)


def test_several_images_are_one_album_with_the_caption_on_the_first(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        f"/bot{TOKEN}/sendMediaGroup", method="POST"
    ).respond_with_json({"ok": True, "result": [_message(514), _message(515)]})
    first, second = png(30, 20), png(20, 30)
    post = _with(uploaded(first, "Das Festzelt"), uploaded(second, "Die Bühne", name="b.png"))
    receipt = _adapter(httpserver).publish(post, KEY)
    assert receipt.external_id == "514"
    ((request, _answer),) = httpserver.log
    assert request.form["chat_id"] == "@heizwerk_news"
    assert json.loads(request.form["media"]) == [
        {"type": "photo", "media": "attach://photo0", "caption": ESCAPED, "parse_mode": "HTML"},
        {"type": "photo", "media": "attach://photo1"},
    ]
    assert request.files["photo0"].read() == first
    assert (request.files["photo1"].filename, request.files["photo1"].read()) == ("b.png", second)


def test_a_text_too_long_for_a_caption_is_refused_with_images_only() -> None:
    adapter = TelegramPublisher({"bot_token": TOKEN, "chat_id": "@heizwerk_news"})
    long = OutgoingPost(post_id=1, title="T", text="ä" * 1025)
    assert adapter.validate(long) == []
    with_image = OutgoingPost(post_id=1, title="T", text="ä" * 1025, media=[uploaded(b"x", "A")])
    (found,) = adapter.validate(with_image)
    assert (found.field, found.code, found.params["used"]) == ("text", "caption_too_long", 1025)
    fits = OutgoingPost(post_id=1, title="T", text="ä" * 1024, media=[uploaded(b"x", "A")])
    assert adapter.validate(fits) == []
    eleven = OutgoingPost(post_id=1, title="T", text="x", media=[uploaded(b"x", "A")] * 11)
    assert "too_many_files" in {p.code for p in adapter.validate(eleven)}


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param(502, "Bad Gateway", TransientError, id="502"),
        pytest.param(
            400,
            '{"ok": false, "error_code": 400, "description": "Bad Request: IMAGE_PROCESS_FAILED"}',
            PermanentError,
            id="refused",
        ),
    ],
)
def test_a_failed_photo_message_maps_like_any_other(
    httpserver: HTTPServer, status: int, body: str, error: type[DeliveryError]
) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendPhoto", method="POST").respond_with_data(
        body, status=status, content_type="application/json"
    )
    with pytest.raises(error):
        _adapter(httpserver).publish(_with(uploaded(png(4, 4), "Alt")), KEY)
    assert len(httpserver.log) == 1


def test_a_photo_far_wider_than_high_is_refused_before_anything_is_sent(
    httpserver: HTTPServer,
) -> None:
    with pytest.raises(PermanentError, match="2100x100 pixels"):
        _adapter(httpserver).publish(_with(uploaded(png(2100, 100), "Ein Band")), KEY)
    assert httpserver.log == []
