"""The Facebook page adapter against a local server that answers like the Graph API."""

from __future__ import annotations

import json
from secrets import token_hex
from typing import Any
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from publishers.base import (
    AuthError,
    DeliveryError,
    Metrics,
    OutgoingPost,
    PermanentError,
    PostGone,
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.facebook import FacebookPublisher, regain_access_seconds
from tests.publishers.stubs import answering_late, config_error, refused_credentials
from tests.publishers.test_uploads import PDF, png, uploaded

TOKEN = "EAAB" + token_hex(16)  # made per run: no credential lives in the code
KEY = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
PAGE = "104582951234567"
POST_ID = f"{PAGE}_122101234567890123"
POST = OutgoingPost(post_id=3, title="Tag der offenen Tür", text="Wir öffnen die Türen 🎉 #Kassel")


def _adapter(server: HTTPServer, **extra: object) -> FacebookPublisher:
    return FacebookPublisher(
        {
            "page_id": PAGE,
            "page_access_token": TOKEN,
            "api_base": server.url_for("/").rstrip("/"),
            **extra,
        }
    )


def _graph_error(
    code: int, message: str, subcode: int | None = None, **extra: object
) -> dict[str, Any]:
    """An error as the Graph API documents it."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
        **extra,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def _form(request: Request) -> dict[str, list[str]]:
    return parse_qs(request.get_data(as_text=True))


def test_publish_posts_the_message_and_link_as_a_form_with_the_token_in_the_body(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        f"/v23.0/{PAGE}/feed", method="POST", query_string=""
    ).respond_with_json({"id": POST_ID})
    post = OutgoingPost(
        post_id=3, title="T", text=POST.text, link="https://www.example.de/offene-tuer"
    )
    receipt = _adapter(httpserver).publish(post, KEY)
    assert (receipt.external_id, receipt.url, receipt.http_status) == (
        POST_ID,
        f"https://www.facebook.com/{PAGE}/posts/122101234567890123",
        200,
    )
    ((request, _response),) = httpserver.log
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert _form(request) == {
        "message": [POST.text],
        "link": ["https://www.example.de/offene-tuer"],
        "access_token": [TOKEN],
    }
    assert TOKEN not in request.url  # never in a URL, so never in an access log


def test_a_post_without_link_sends_only_the_message(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed").respond_with_json({"id": POST_ID})
    _adapter(httpserver).publish(POST, KEY)
    assert _form(httpserver.log[0][0]) == {"message": [POST.text], "access_token": [TOKEN]}


def test_the_graph_version_is_a_setting(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"/v24.0/{PAGE}/feed").respond_with_json({"id": POST_ID})
    assert _adapter(httpserver, graph_version="V24.0").publish(POST, KEY).external_id == POST_ID


USAGE = {"X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 12, "total_time": 30})}
BUC = {
    "X-Business-Use-Case-Usage": json.dumps(
        {
            PAGE: [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 20,
                    "total_time": 25,
                    "estimated_time_to_regain_access": 19,
                }
            ]
        }
    )
}


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        pytest.param(
            400,
            _graph_error(190, "Error validating access token: Session has expired.", 463),
            {},
            AuthError,
            id="190-expired-token",
        ),
        pytest.param(
            403,
            _graph_error(10, "(#10) This endpoint requires the 'pages_manage_posts' permission"),
            {},
            AuthError,
            id="10-missing-permission",
        ),
        pytest.param(
            403,
            _graph_error(200, "(#200) The user hasn't authorized the application"),
            {},
            AuthError,
            id="200-permissions-error",
        ),
        pytest.param(
            400,
            _graph_error(4, "(#4) Application request limit reached"),
            USAGE,
            RateLimited,
            id="4-app-limit",
        ),
        pytest.param(
            400,
            _graph_error(17, "(#17) User request limit reached"),
            {},
            RateLimited,
            id="17-user-limit",
        ),
        pytest.param(
            400,
            _graph_error(32, "(#32) Page request limit reached"),
            BUC,
            RateLimited,
            id="32-page-limit",
        ),
        pytest.param(
            400,
            _graph_error(613, "(#613) Calls to this api have exceeded the rate limit."),
            {},
            RateLimited,
            id="613-custom-limit",
        ),
        pytest.param(
            400,
            _graph_error(80001, "There have been too many calls to this Page account."),
            BUC,
            RateLimited,
            id="80001-page-business-limit",
        ),
        pytest.param(
            400,
            _graph_error(100, "(#100) Invalid parameter", 1349125),
            {},
            PermanentError,
            id="100-invalid-parameter",
        ),
        pytest.param(
            400,
            _graph_error(368, "The action attempted has been deemed abusive", 1390008),
            {},
            PermanentError,
            id="368-blocked",
        ),
        pytest.param(
            400,
            _graph_error(506, "Duplicate status message"),
            {},
            PermanentError,
            id="506-duplicate",
        ),
        pytest.param(
            500,
            _graph_error(
                2,
                "An unexpected error has occurred. Please retry your request later.",
                is_transient=True,
            ),
            {},
            TransientError,
            id="2-service-unavailable",
        ),
        pytest.param(
            400,
            _graph_error(1, "An unknown error occurred", 99),
            {},
            TransientError,
            id="1-unknown",
        ),
        pytest.param(
            400,
            _graph_error(9007, "Something odd", is_transient=True),
            {},
            TransientError,
            id="is-transient-flag",
        ),
        pytest.param(
            500,
            _graph_error(12345, "Internal"),
            {},
            TransientError,
            id="unknown-code-500",
        ),
    ],
)
def test_graph_error_codes_decide_the_typed_error(
    httpserver: HTTPServer,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    error: type[DeliveryError],
) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed").respond_with_json(
        body, status=status, headers=headers
    )
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    graph = body["error"]
    assert type(caught.value) is error
    assert caught.value.message.startswith(graph["message"])
    assert f"code {graph['code']}" in caught.value.message
    assert "fbtrace_id AbCdEfGhIjK" in caught.value.message
    assert caught.value.http_status == status


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        pytest.param(BUC, 19 * 60, id="business-use-case-estimate"),
        pytest.param(
            {"X-App-Usage": json.dumps({"call_count": 100, "estimated_time_to_regain_access": 7})},
            7 * 60,
            id="app-usage-estimate",
        ),
        pytest.param(USAGE, 600, id="no-estimate-waits-ten-minutes"),
        pytest.param({}, 600, id="no-headers-waits-ten-minutes"),
    ],
)
def test_throttling_waits_for_metas_estimate(
    httpserver: HTTPServer, headers: dict[str, str], wait: float
) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed").respond_with_json(
        _graph_error(4, "(#4) Application request limit reached"), status=403, headers=headers
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == wait


def test_a_plain_429_uses_the_estimate_too(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed").respond_with_data(
        "Too Many Requests", status=429, headers=BUC
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == 19 * 60


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        pytest.param({}, None, id="none"),
        pytest.param({"X-Business-Use-Case-Usage": "{not json"}, None, id="malformed"),
        pytest.param({"X-App-Usage": "[1, 2]"}, None, id="unexpected-shape"),
        pytest.param(
            {
                "X-Business-Use-Case-Usage": json.dumps(
                    {
                        "1": [{"type": "pages", "estimated_time_to_regain_access": 3}],
                        "2": [{"type": "pages", "estimated_time_to_regain_access": 11}],
                    }
                )
            },
            660,
            id="longest-of-several",
        ),
        pytest.param(
            {"X-Page-Usage": json.dumps({"estimated_time_to_regain_access": 0})},
            None,
            id="zero-means-no-wait-known",
        ),
    ],
)
def test_regain_access_is_read_from_the_usage_headers(
    headers: dict[str, str], seconds: float | None
) -> None:
    class Answer:
        def __init__(self) -> None:
            self.headers = headers

    assert regain_access_seconds(Answer()) == seconds  # type: ignore[arg-type]


def test_timeout_is_transient(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, f"/v23.0/{PAGE}/feed", json.dumps({"id": POST_ID})),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


def test_connection_refused_is_transient() -> None:
    adapter = FacebookPublisher(
        {"page_id": PAGE, "page_access_token": TOKEN, "api_base": "http://127.0.0.1:9"}
    )
    with pytest.raises(TransientError, match=r"127\.0\.0\.1:9"):
        adapter.publish(POST, KEY)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<html>ok</html>", id="not-json"),
        pytest.param('{"success": true}', id="no-id"),
        pytest.param('{"id": "12345"}', id="not-a-page-post-id"),
    ],
)
def test_a_success_answer_without_a_post_id_is_transient(httpserver: HTTPServer, body: str) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed").respond_with_data(body, status=200)
    with pytest.raises(TransientError):
        _adapter(httpserver).publish(POST, KEY)


def test_the_token_never_appears_in_repr_or_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed").respond_with_json(
        _graph_error(190, f"Malformed access token {TOKEN}"), status=400
    )
    adapter = _adapter(httpserver)
    error = refused_credentials(adapter, TOKEN, POST, KEY)
    assert "Malformed access token ***" in error.message


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("Grüße aus Köln, Straße", 22, id="umlauts-and-sharp-s"),
        pytest.param("日本語", 3, id="cjk"),
        pytest.param("🎉", 1, id="emoji"),
        pytest.param("👨\u200d👩\u200d👧\u200d👦", 7, id="zwj-family-code-points"),
        pytest.param("https://www.example.de/ein/langer/pfad", 38, id="links-as-written"),
    ],
)
def test_length_counts_characters(text: str, length: int) -> None:
    adapter = FacebookPublisher({"page_id": PAGE, "page_access_token": TOKEN})
    assert adapter.measure(text) == length


def test_validate_refuses_text_beyond_the_page_post_limit_and_media() -> None:
    adapter = FacebookPublisher({"page_id": PAGE, "page_access_token": TOKEN})
    long_post = OutgoingPost(post_id=1, title="T", text="ä" * 63207)
    assert [p.field for p in adapter.validate(long_post)] == ["text"]
    assert adapter.validate(OutgoingPost(post_id=1, title="T", text="ä" * 63206)) == []
    pdf = uploaded(PDF, "", name="a.pdf", mime="application/pdf")
    media = OutgoingPost(post_id=1, title="T", text="Bild", media=(pdf,))
    assert [p.code for p in adapter.validate(media)] == ["type_not_taken"]
    eleven = OutgoingPost(post_id=1, title="T", text="Bild", media=[uploaded(b"x", "Alt")] * 11)
    assert [p.code for p in adapter.validate(eleven)] == ["too_many_uploads"]


PHOTOS = [("1002088839996", "Das Festzelt"), ("1002088839997", "Die Bühne")]


def test_photos_go_up_unpublished_with_alt_text_and_the_post_attaches_them(
    httpserver: HTTPServer,
) -> None:
    for photo_id, _alt in PHOTOS:
        httpserver.expect_oneshot_request(
            f"/v23.0/{PAGE}/photos", method="POST", query_string=""
        ).respond_with_json({"id": photo_id})
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed", method="POST").respond_with_json(
        {"id": POST_ID}
    )
    images = [png(300, 200), png(200, 300)]
    post = OutgoingPost(
        post_id=3,
        title="T",
        text="Zwei Bilder",
        link="https://www.example.de/fest",
        media=[uploaded(image, alt) for image, (_id, alt) in zip(images, PHOTOS, strict=True)],
    )
    adapter = _adapter(httpserver)
    assert adapter.validate(post) == []
    assert adapter.publish(post, KEY).external_id == POST_ID
    *uploads, (feed, _answer) = httpserver.log
    for (upload, _), image, (_id, alt) in zip(uploads, images, PHOTOS, strict=True):
        assert upload.form.to_dict() == {
            "published": "false",
            "alt_text_custom": alt,
            "access_token": TOKEN,
        }
        assert (upload.files["source"].filename, upload.files["source"].read()) == (
            "zelt.png",
            image,
        )
    # A post with photos is no link preview: the link ends the message.
    assert _form(feed) == {
        "message": ["Zwei Bilder\n\nhttps://www.example.de/fest"],
        "attached_media[0]": ['{"media_fbid": "1002088839996"}'],
        "attached_media[1]": ['{"media_fbid": "1002088839997"}'],
        "access_token": [TOKEN],
    }
    httpserver.check_assertions()


def test_a_photo_upload_that_fails_is_transient_not_ambiguous_and_posts_nothing(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(f"/v23.0/{PAGE}/photos", method="POST").respond_with_json(
        _graph_error(2, "Service temporarily unavailable", is_transient=True), status=500
    )
    post = OutgoingPost(post_id=3, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).publish(post, KEY)
    assert not caught.value.ambiguous  # the post was never sent
    assert f"/v23.0/{PAGE}/feed" not in [r.path for r, _ in httpserver.log]


def test_a_post_refused_after_its_photo_upload_is_permanent_and_uploaded_once(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/photos", method="POST").respond_with_json(
        {"id": "1002088839996"}
    )
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed", method="POST").respond_with_json(
        _graph_error(100, "Invalid parameter"), status=400
    )
    post = OutgoingPost(post_id=3, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(PermanentError, match="Invalid parameter"):
        _adapter(httpserver).publish(post, KEY)
    assert [r.path for r, _ in httpserver.log] == [f"/v23.0/{PAGE}/photos", f"/v23.0/{PAGE}/feed"]


def _views(httpserver: HTTPServer, views: int) -> None:
    """The post's insights as Graph answers them: its lifetime views."""
    httpserver.expect_oneshot_request(
        f"/v23.0/{POST_ID}/insights",
        method="GET",
        headers={"Authorization": f"Bearer {TOKEN}"},
        query_string={"metric": "post_media_view", "period": "lifetime"},
    ).respond_with_json(
        {
            "data": [
                {
                    "name": "post_media_view",
                    "period": "lifetime",
                    "values": [{"value": views}],
                    "title": "Lifetime Post Views",
                    "id": f"{POST_ID}/insights/post_media_view/lifetime",
                }
            ],
            "paging": {"previous": "", "next": ""},
        }
    )


def test_metrics_are_reactions_comments_shares_and_views(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        f"/v23.0/{POST_ID}",
        method="GET",
        headers={"Authorization": f"Bearer {TOKEN}"},
        query_string={
            "fields": "shares,reactions.summary(total_count).limit(0),"
            "comments.summary(total_count).limit(0)"
        },
    ).respond_with_json(
        {
            "reactions": {"data": [], "summary": {"total_count": 21, "viewer_reaction": "NONE"}},
            "comments": {
                "data": [],
                "summary": {"order": "ranked", "total_count": 4, "can_comment": True},
            },
            "shares": {"count": 2},
            "id": POST_ID,
        }
    )
    _views(httpserver, 1380)
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=POST_ID))
    assert metrics == Metrics(impressions=1380, reactions=21, reposts=2, replies=4, raw=metrics.raw)
    assert metrics.raw["id"] == POST_ID
    assert metrics.raw["insights"]["data"][0]["values"] == [{"value": 1380}]
    assert all(TOKEN not in request.url for request, _ in httpserver.log)
    assert len(httpserver.log) == 2


FIGURES = {
    "reactions": {"data": [], "summary": {"total_count": 3}},
    "comments": {"data": [], "summary": {"total_count": 1}},
    "shares": {"count": 1},
    "id": POST_ID,
}


@pytest.mark.parametrize(
    ("code", "message"),
    [
        pytest.param(100, "(#100) The value must be a valid insights metric", id="renamed"),
        pytest.param(10, "(#10) Requires read_insights permission", id="no-permission"),
    ],
)
def test_views_graph_refuses_stay_unknown_and_the_other_figures_stand(
    httpserver: HTTPServer, code: int, message: str
) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{POST_ID}").respond_with_json(FIGURES)
    httpserver.expect_oneshot_request(f"/v23.0/{POST_ID}/insights").respond_with_json(
        _graph_error(code, message), status=400 if code == 100 else 403
    )
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=POST_ID))
    assert (metrics.impressions, metrics.reactions, metrics.reposts, metrics.replies) == (
        None,
        3,
        1,
        1,
    )
    assert message in metrics.raw["insights"]["error"]


def test_a_page_without_insights_has_no_views(httpserver: HTTPServer) -> None:
    """Graph answers an empty list for a Page under 100 likes."""
    httpserver.expect_oneshot_request(f"/v23.0/{POST_ID}").respond_with_json(FIGURES)
    httpserver.expect_oneshot_request(f"/v23.0/{POST_ID}/insights").respond_with_json({"data": []})
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=POST_ID))
    assert (metrics.impressions, metrics.reactions) == (None, 3)


def test_throttled_views_wait_like_any_reading(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{POST_ID}").respond_with_json(FIGURES)
    httpserver.expect_oneshot_request(f"/v23.0/{POST_ID}/insights").respond_with_json(
        _graph_error(32, "Page request limit reached"), status=400
    )
    with pytest.raises(RateLimited):
        _adapter(httpserver).fetch_metrics(Receipt(external_id=POST_ID))


def test_shares_are_zero_when_graph_leaves_them_out(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{POST_ID}").respond_with_json(
        {
            "reactions": {"data": [], "summary": {"total_count": 0}},
            "comments": {"data": [], "summary": {"total_count": 0}},
            "id": POST_ID,
        }
    )
    _views(httpserver, 0)
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=POST_ID))
    assert (metrics.reactions, metrics.reposts, metrics.replies) == (0, 0, 0)
    assert metrics.impressions == 0


def test_metrics_of_a_deleted_post_say_it_is_gone(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{POST_ID}").respond_with_json(
        {
            "error": {
                "message": f"Unsupported get request. Object with ID '{POST_ID}' does not "
                "exist, cannot be loaded due to missing permissions, or does not support "
                "this operation.",
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
                "fbtrace_id": "AbC",
            }
        },
        status=400,
    )
    with pytest.raises(PostGone):
        _adapter(httpserver).fetch_metrics(Receipt(external_id=POST_ID))


def test_check_connection_reads_the_page_name(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        f"/v23.0/{PAGE}",
        method="GET",
        headers={"Authorization": f"Bearer {TOKEN}"},
        query_string={"fields": "id,name"},
    ).respond_with_json({"id": PAGE, "name": "Firma Kassel"})
    assert _adapter(httpserver).check_connection() == "connected to the Facebook page Firma Kassel"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"page_access_token": TOKEN}, "page_id", id="missing-page"),
        pytest.param(
            {"page_id": "firma.kassel", "page_access_token": TOKEN}, "page_id", id="page-name"
        ),
        pytest.param({"page_id": PAGE}, "page_access_token", id="missing-token"),
        pytest.param(
            {"page_id": PAGE, "page_access_token": TOKEN, "graph_version": "latest"},
            "graph_version",
            id="bad-version",
        ),
        pytest.param(
            {"page_id": PAGE, "page_access_token": TOKEN, "api_base": "graph.facebook.com"},
            "api_base",
            id="bad-url",
        ),
        pytest.param(
            {"page_id": PAGE, "page_access_token": TOKEN, "timeout_seconds": -5},
            "timeout_seconds",
            id="negative-timeout",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(FacebookPublisher, settings).field == field


def test_defaults_are_the_public_graph_api_and_a_bare_version_number_is_accepted() -> None:
    adapter = FacebookPublisher({"page_id": PAGE, "page_access_token": TOKEN})
    assert adapter.settings == {
        "page_id": PAGE,
        "page_access_token": TOKEN,
        "graph_version": "v23.0",
        "api_base": "https://graph.facebook.com",
        "timeout_seconds": 30,
    }
    other = FacebookPublisher(
        {"page_id": PAGE, "page_access_token": TOKEN, "graph_version": "24.0"}
    )
    assert other.settings["graph_version"] == "v24.0"
    assert other.detect_deduplication() is None


def test_a_retry_after_the_post_failed_attaches_the_uploaded_photo_without_sending_it_again(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/photos", method="POST").respond_with_json(
        {"id": "1002088839996"}
    )
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed", method="POST").respond_with_json(
        _graph_error(2, "Service temporarily unavailable"), status=503
    )
    httpserver.expect_oneshot_request(f"/v23.0/{PAGE}/feed", method="POST").respond_with_json(
        {"id": POST_ID}
    )
    post = OutgoingPost(post_id=3, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(TransientError):
        _adapter(httpserver).publish(post, KEY)
    # The engine builds the adapter anew for the retry.
    assert _adapter(httpserver).publish(post, KEY).external_id == POST_ID
    photos, *feeds = [r for r, _ in httpserver.log]
    assert photos.path == f"/v23.0/{PAGE}/photos"
    assert [_form(f)["attached_media[0]"] for f in feeds] == [
        ['{"media_fbid": "1002088839996"}']
    ] * 2
    httpserver.check_assertions()
