"""The Slack adapter against a local server that answers like an incoming webhook."""

from __future__ import annotations

import logging
from secrets import token_hex

import pytest
from pytest_httpserver import HTTPServer

from publishers.base import (
    AuthError,
    DeliveryError,
    OutgoingPost,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.slack import SlackPublisher, escape_mrkdwn
from tests.publishers.stubs import answering_late, config_error, our_log, shown

HOOK_TOKEN = token_hex(12)  # made per run: no credential lives in the code
HOOK = f"/services/T0123ABCD/B0456EFGH/{HOOK_TOKEN}"
KEY = "planner-42-5-1"
POST = OutgoingPost(
    post_id=42,
    title="Tag der offenen Tür",
    text="Wir öffnen die Türen 🎉 <Kassel> & Umgebung",
    link="https://example.de/tag-der-offenen-tuer",
)


def _adapter(server: HTTPServer, **extra: object) -> SlackPublisher:
    return SlackPublisher({"webhook_url": server.url_for(HOOK), **extra})


def test_publish_posts_escaped_text_and_takes_ok_as_delivered(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        HOOK,
        method="POST",
        headers={"Content-Type": "application/json"},
        json={
            "text": "Wir öffnen die Türen 🎉 &lt;Kassel&gt; &amp; Umgebung\n\n"
            "https://example.de/tag-der-offenen-tuer"
        },
    ).respond_with_data("ok", content_type="text/html")
    receipt = _adapter(httpserver).publish(POST, KEY)
    # Slack answers "ok" and nothing else: no id, no link; the key is what we can log.
    assert receipt == Receipt(external_id=KEY, url=None, http_status=200)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        pytest.param("a < b > c & d", "a &lt; b &gt; c &amp; d", id="the-three"),
        pytest.param("&amp; already", "&amp;amp; already", id="entities-are-text-too"),
        pytest.param("*fett* _kursiv_ `code`", "*fett* _kursiv_ `code`", id="mrkdwn-kept"),
        pytest.param("Grüße 👨‍👩‍👧‍👦 🇩🇪", "Grüße 👨‍👩‍👧‍👦 🇩🇪", id="unicode-untouched"),
        pytest.param("<!channel> <@U123>", "&lt;!channel&gt; &lt;@U123&gt;", id="no-mentions"),
    ],
)
def test_only_ampersand_and_angle_brackets_are_escaped(text: str, escaped: str) -> None:
    assert escape_mrkdwn(text) == escaped


@pytest.mark.parametrize(
    ("status", "code", "error", "message"),
    [
        pytest.param(
            400,
            "invalid_payload",
            PermanentError,
            "invalid_payload: Slack could not read the message",
            id="400-invalid_payload",
        ),
        pytest.param(
            400, "no_text", PermanentError, "no_text: the message has no text", id="400-no_text"
        ),
        pytest.param(
            403,
            "action_prohibited",
            AuthError,
            "action_prohibited: a workspace admin restricted posting through this webhook",
            id="403-action_prohibited",
        ),
        pytest.param(
            403,
            "invalid_token",
            AuthError,
            "invalid_token: the webhook's token was revoked",
            id="403-invalid_token",
        ),
        pytest.param(
            404,
            "no_service",
            AuthError,
            "no_service: the webhook was disabled, removed or is invalid",
            id="404-no_service",
        ),
        pytest.param(
            404,
            "channel_not_found",
            AuthError,
            "channel_not_found: the webhook's channel no longer exists",
            id="404-channel_not_found",
        ),
        pytest.param(
            410,
            "channel_is_archived",
            PermanentError,
            "channel_is_archived: the channel is archived; unarchive it to post again",
            id="410-channel_is_archived",
        ),
        pytest.param(
            500,
            "rollup_error",
            TransientError,
            "rollup_error: Slack had an internal error",
            id="500-rollup_error",
        ),
        pytest.param(400, "something_new", PermanentError, "something_new", id="400-unknown-code"),
    ],
)
def test_slack_error_codes_map_to_typed_errors(
    httpserver: HTTPServer,
    status: int,
    code: str,
    error: type[DeliveryError],
    message: str,
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data(
        code, status=status, content_type="text/html"
    )
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.message == message
    assert caught.value.http_status == status


def test_rate_limit_waits_for_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "7"}
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == 7


def test_an_html_error_page_is_transient(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data(
        "<html><h1>503 Service Unavailable</h1></html>", status=503
    )
    with pytest.raises(TransientError, match="503 Service Unavailable"):
        _adapter(httpserver).publish(POST, KEY)


def test_a_slow_webhook_times_out_as_transient(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, HOOK, "ok"),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


def test_the_webhook_address_never_shows_in_errors_repr_or_logs(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_oneshot_request(HOOK).respond_with_data(
        f"invalid_token {HOOK_TOKEN}", status=403
    )
    adapter = _adapter(httpserver)
    assert HOOK_TOKEN not in repr(adapter)
    with pytest.raises(AuthError) as caught:
        adapter.publish(POST, KEY)
    assert caught.value.message == "invalid_token ***"
    assert "/services/***" in our_log(caplog)
    assert HOOK_TOKEN not in our_log(caplog)
    unreachable = SlackPublisher({"webhook_url": f"http://127.0.0.1:9{HOOK}"})
    with pytest.raises(TransientError) as refused:
        unreachable.publish(POST, KEY)
    text = shown(refused.value)
    assert HOOK_TOKEN not in text
    assert "T0123ABCD" not in text


# Slack truncates text beyond 40,000 characters; what it receives is the escaped text.
@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("Grüße aus Kassel", 16, id="umlauts-and-eszett"),
        pytest.param("👨‍👩‍👧‍👦", 7, id="emoji-zwj-family"),
        pytest.param("🇩🇪", 2, id="flag"),
        pytest.param("e\u0301", 2, id="combining-accent"),
        pytest.param("日本語", 3, id="cjk"),
        pytest.param("a & b", 9, id="ampersand-as-its-entity"),
        pytest.param("<https://e.de>", 20, id="angle-brackets-as-entities"),
    ],
)
def test_length_counts_characters_as_slack_receives_them(text: str, length: int) -> None:
    adapter = SlackPublisher({"webhook_url": "https://hooks.slack.com/services/T/B/x"})
    assert adapter.measure(text) == length


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param("x" * 40_000, 0, id="40000-fit"),
        pytest.param("x" * 40_001, 1, id="40001-are-truncated"),
        pytest.param("&" * 8_001, 1, id="8001-ampersands-are-40005-as-sent"),
    ],
)
def test_the_40000_limit_is_checked_on_the_text_as_sent(text: str, problems: int) -> None:
    adapter = SlackPublisher({"webhook_url": "https://hooks.slack.com/services/T/B/x"})
    assert len(adapter.validate(OutgoingPost(post_id=1, title="", text=text))) == problems


def test_a_repeat_posts_again_because_slack_has_no_idempotency(httpserver: HTTPServer) -> None:
    httpserver.expect_request(HOOK).respond_with_data("ok")
    adapter = _adapter(httpserver)
    adapter.publish(POST, KEY)
    adapter.publish(POST, KEY)
    assert len(httpserver.log) == 2
    # So the engine never re-sends blindly.
    assert adapter.detect_deduplication() is None
    assert adapter.reports_metrics is False


def test_check_connection_sends_no_text_and_reads_no_text_as_alive(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST", json={}).respond_with_data(
        "no_text", status=400
    )
    assert _adapter(httpserver).check_connection() == (
        "the webhook is active (it refused an empty test message: no_text)"
    )


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        pytest.param(404, "no_service", AuthError, id="removed"),
        pytest.param(403, "invalid_token", AuthError, id="revoked"),
        pytest.param(410, "channel_is_archived", PermanentError, id="archived"),
    ],
)
def test_check_connection_reports_a_dead_webhook(
    httpserver: HTTPServer, status: int, code: str, error: type[DeliveryError]
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data(code, status=status)
    with pytest.raises(error, match=code):
        _adapter(httpserver).check_connection()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({}, "webhook_url", id="missing"),
        pytest.param({"webhook_url": "hooks.slack.com/services/x"}, "webhook_url", id="no-scheme"),
        pytest.param(
            {"webhook_url": "https://hooks.slack.com/services/x", "timeout_seconds": 301},
            "timeout_seconds",
            id="timeout-301",
        ),
        pytest.param(
            {"webhook_url": "https://hooks.slack.com/services/x", "channel": "#general"},
            "channel",
            id="unknown-setting",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(SlackPublisher, settings).field == field
