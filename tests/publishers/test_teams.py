"""The Teams adapter against a local server that answers like a Workflows webhook trigger."""

from __future__ import annotations

import json
import logging
from typing import Any

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
from publishers.teams import MAX_MESSAGE_BYTES, TeamsPublisher, card_message
from tests.publishers.stubs import answering_late, config_error, our_log, shown

SIG = "KODuebWbDGYFr0z0eu-6Rj8aUKz7108W3wrNJZxFE5A"
PATH = "/workflows/643e69f83c8944438d68119179a10a64/triggers/manual/paths/invoke"
QUERY = f"api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
KEY = "planner-42-6-1"
POST = OutgoingPost(
    post_id=42,
    title="Tag der offenen Tür",
    text="Wir öffnen die Türen 🎉 <Kassel> & Umgebung",
    link="https://example.de/tag-der-offenen-tuer",
)


def _adapter(server: HTTPServer, **extra: object) -> TeamsPublisher:
    return TeamsPublisher({"webhook_url": f"{server.url_for(PATH)}?{QUERY}", **extra})


def _azure_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def test_publish_posts_an_adaptive_card_with_title_and_text(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        PATH,
        method="POST",
        query_string=QUERY,
        headers={"Content-Type": "application/json; charset=utf-8"},
    ).respond_with_data("", status=202)
    receipt = _adapter(httpserver).publish(POST, KEY)
    # 202 Accepted: the workflow posts later and never tells us an id.
    assert receipt == Receipt(external_id=KEY, url=None, http_status=202)
    assert json.loads(httpserver.log[0][0].get_data()) == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "Tag der offenen Tür",
                            "style": "heading",
                            "size": "Large",
                            "weight": "Bolder",
                            "wrap": True,
                        },
                        {
                            "type": "TextBlock",
                            "text": "Wir öffnen die Türen 🎉 <Kassel> & Umgebung\n\n"
                            "https://example.de/tag-der-offenen-tuer",
                            "wrap": True,
                        },
                    ],
                    "msteams": {"width": "Full"},
                },
            }
        ],
    }
    assert "Türen 🎉".encode() in httpserver.log[0][0].get_data()  # UTF-8, no \\u escapes


def test_a_blank_title_leaves_only_the_text_block() -> None:
    body = card_message("  ", "Text")["attachments"][0]["content"]["body"]
    assert body == [{"type": "TextBlock", "text": "Text", "wrap": True}]


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        pytest.param(
            400,
            _azure_error("InvalidRequestContent", "The request content is not valid JSON."),
            PermanentError,
            "InvalidRequestContent: The request content is not valid JSON.",
            id="400",
        ),
        pytest.param(
            401,
            _azure_error(
                "DirectApiAuthorizationRequired",
                "The request must be authenticated only by Shared Access scheme.",
            ),
            AuthError,
            "DirectApiAuthorizationRequired: "
            "The request must be authenticated only by Shared Access scheme.",
            id="401-bad-signature",
        ),
        pytest.param(
            404,
            _azure_error("WorkflowNotFound", "The workflow could not be found."),
            PermanentError,
            "WorkflowNotFound: The workflow could not be found.",
            id="404-workflow-deleted",
        ),
        pytest.param(
            413,
            _azure_error("RequestEntityTooLarge", "The request content is too large."),
            PermanentError,
            "RequestEntityTooLarge: The request content is too large.",
            id="413",
        ),
        pytest.param(
            502,
            _azure_error("BadGateway", "The gateway did not receive a response."),
            TransientError,
            "BadGateway: The gateway did not receive a response.",
            id="502",
        ),
    ],
)
def test_workflow_errors_map_to_typed_errors_with_code_and_message(
    httpserver: HTTPServer,
    status: int,
    body: dict[str, Any],
    error: type[DeliveryError],
    message: str,
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(body, status=status)
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.message == message
    assert caught.value.http_status == status


def test_throttling_waits_for_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        _azure_error("WorkflowRequestsThrottled", "Rate limit is exceeded."),
        status=429,
        headers={"Retry-After": "26"},
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == 26
    assert caught.value.message == "WorkflowRequestsThrottled: Rate limit is exceeded."


def test_a_slow_workflow_times_out_as_transient(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, PATH, "", status=202),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


def test_the_signature_never_shows_in_errors_repr_or_logs(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        _azure_error("DirectApiInvalidAuthorizationSignature", f"Signature {SIG} is invalid."),
        status=401,
    )
    adapter = _adapter(httpserver)
    assert SIG not in repr(adapter)
    with pytest.raises(AuthError) as caught:
        adapter.publish(POST, KEY)
    assert (
        caught.value.message == "DirectApiInvalidAuthorizationSignature: Signature *** is invalid."
    )
    assert "sig=***" in our_log(caplog)
    assert SIG not in our_log(caplog)
    unreachable = TeamsPublisher({"webhook_url": f"http://127.0.0.1:9{PATH}?{QUERY}"})
    with pytest.raises(TransientError) as refused:
        unreachable.publish(POST, KEY)
    assert SIG not in shown(refused.value)


# Teams refuses messages over about 28 KB: the whole card counts, in UTF-8 bytes, as sent.
@pytest.mark.parametrize(
    ("text", "extra_bytes"),
    [
        pytest.param("Grüße aus Kassel", 18, id="umlauts-and-eszett"),
        pytest.param("👨‍👩‍👧‍👦", 25, id="emoji-zwj-family"),
        pytest.param("🇩🇪", 8, id="flag"),
        pytest.param("e\u0301", 3, id="combining-accent"),
        pytest.param("日本語", 9, id="cjk"),
        pytest.param('"', 2, id="quote-escaped-in-json"),
        pytest.param("\n", 2, id="newline-escaped-in-json"),
    ],
)
def test_size_counts_utf8_bytes_of_the_card(text: str, extra_bytes: int) -> None:
    adapter = TeamsPublisher({"webhook_url": f"https://x.logic.azure.com{PATH}?{QUERY}"})
    assert adapter.measure(text) - adapter.measure("") == extra_bytes


def test_a_card_over_28_kb_is_a_problem_for_the_editor() -> None:
    adapter = TeamsPublisher({"webhook_url": f"https://x.logic.azure.com{PATH}?{QUERY}"})
    overhead = adapter.measure("")
    fits = OutgoingPost(post_id=1, title="", text="x" * (MAX_MESSAGE_BYTES - overhead))
    too_big = OutgoingPost(post_id=1, title="", text="ü" * (MAX_MESSAGE_BYTES // 2))
    assert adapter.validate(fits) == []
    (problem,) = adapter.validate(too_big)
    assert (problem.field, problem.message) == (
        "text",
        f"{overhead + MAX_MESSAGE_BYTES} bytes (UTF-8, the whole card), "
        f"Microsoft Teams allows {MAX_MESSAGE_BYTES}",
    )
    with_title = OutgoingPost(post_id=1, title="Titel", text=fits.text)
    (problem,) = adapter.validate(with_title)
    assert problem.field == "title"


def test_check_connection_sends_a_message_without_cards(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        PATH, method="POST", json={"type": "message", "attachments": []}
    ).respond_with_data("", status=202)
    assert _adapter(httpserver).check_connection() == (
        "the workflow accepted a test request (HTTP 202)"
    )


def test_check_connection_reports_a_wrong_signature(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        _azure_error("DirectApiAuthorizationRequired", "Shared Access scheme required."),
        status=401,
    )
    with pytest.raises(AuthError, match="DirectApiAuthorizationRequired"):
        _adapter(httpserver).check_connection()


def test_no_idempotency_and_no_metrics() -> None:
    adapter = TeamsPublisher({"webhook_url": f"https://x.logic.azure.com{PATH}?{QUERY}"})
    assert adapter.detect_deduplication() is None
    assert adapter.reports_metrics is False


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({}, "webhook_url", id="missing"),
        pytest.param(
            {"webhook_url": "prod-161.westeurope.logic.azure.com/x"}, "webhook_url", id="no-scheme"
        ),
        pytest.param(
            {"webhook_url": "https://x.logic.azure.com/x", "timeout_seconds": "0"},
            "timeout_seconds",
            id="timeout-0",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(TeamsPublisher, settings).field == field
