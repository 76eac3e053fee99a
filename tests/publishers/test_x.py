"""The X adapter against a local server that answers like the X API v2."""

from __future__ import annotations

import time
from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from publishers.base import (
    AuthError,
    Media,
    Metrics,
    OutgoingPost,
    PermanentError,
    PostGone,
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.x import XPublisher, weighted_length
from tests.publishers.stubs import answering_late, config_error, refused_credentials, respond
from tests.publishers.test_uploads import PDF, png, size, uploaded

TOKEN = token_hex(16)  # made per run: no credential lives in the code
KEY = "3c1f0e2d4b5a69788796a5b4c3d2e1f0"
TWEET_ID = "1445880548472328192"
POST = OutgoingPost(post_id=9, title="Tag der offenen Tür", text="Wir öffnen die Türen 🎉 #Kassel")
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


def _adapter(server: HTTPServer, **extra: object) -> XPublisher:
    return XPublisher({"access_token": TOKEN, "api_base": server.url_for("/").rstrip("/"), **extra})


def _created(text: str = POST.text) -> dict[str, Any]:
    return {"data": {"id": TWEET_ID, "text": text, "edit_history_tweet_ids": [TWEET_ID]}}


def test_publish_posts_the_text_as_json_with_the_users_token(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/2/tweets",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        json={"text": POST.text},
    ).respond_with_json(_created(), status=201)
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert (receipt.external_id, receipt.url, receipt.http_status) == (
        TWEET_ID,
        f"https://x.com/i/web/status/{TWEET_ID}",
        201,
    )
    assert receipt.raw["text"] == POST.text


def test_the_link_is_appended_only_when_the_text_lacks_it(httpserver: HTTPServer) -> None:
    link = "https://www.example.de/tag-der-offenen-tuer"
    httpserver.expect_oneshot_request(
        "/2/tweets", json={"text": f"{POST.text}\n\n{link}"}
    ).respond_with_json(_created(), status=201)
    httpserver.expect_oneshot_request(
        "/2/tweets", json={"text": f"Alles unter {link}"}
    ).respond_with_json(_created(), status=201)
    adapter = _adapter(httpserver)
    adapter.publish(OutgoingPost(post_id=1, title="T", text=POST.text, link=link), KEY)
    adapter.publish(OutgoingPost(post_id=2, title="T", text=f"Alles unter {link}", link=link), KEY)
    assert len(httpserver.log) == 2


def test_a_duplicate_is_permanent_not_an_auth_problem(httpserver: HTTPServer) -> None:
    # X keeps no idempotency key; a re-send of the same text is refused, never posted twice.
    httpserver.expect_oneshot_request("/2/tweets").respond_with_json(DUPLICATE, status=403)
    with pytest.raises(PermanentError) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert not isinstance(caught.value, AuthError)
    assert caught.value.http_status == 403
    assert "You are not allowed to create a Tweet with duplicate content." in caught.value.message
    assert "earlier attempt may already have posted it" in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        pytest.param(
            401,
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
            AuthError,
            "Unauthorized",
            id="401-expired-token",
        ),
        pytest.param(
            403,
            {
                "title": "Forbidden",
                "type": "about:blank",
                "status": 403,
                "detail": "You are not permitted to perform this action.",
            },
            AuthError,
            "You are not permitted to perform this action.",
            id="403-not-permitted",
        ),
        pytest.param(
            400,
            {
                "errors": [
                    {
                        "parameters": {"text": [""]},
                        "message": "Tweet text is empty or exceeds the character limit.",
                    }
                ],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            },
            PermanentError,
            "Tweet text is empty or exceeds the character limit.",
            id="400-invalid-request",
        ),
        pytest.param(
            402,
            {
                "title": "CreditsDepleted",
                "detail": "Your enrolled account does not have any credits to fulfill this "
                "request.",
                "type": "https://api.twitter.com/2/problems/credits",
            },
            PermanentError,
            "does not have any credits",
            id="402-no-credits",
        ),
        pytest.param(
            500,
            {"title": "Internal Server Error", "detail": "Something went wrong", "status": 500},
            TransientError,
            "Something went wrong",
            id="500",
        ),
        pytest.param(503, "Service Unavailable", TransientError, "Service Unavailable", id="503"),
    ],
)
def test_error_answers_map_to_typed_errors_in_xs_words(
    httpserver: HTTPServer, status: int, body: object, error: type[Exception], words: str
) -> None:
    handler = httpserver.expect_oneshot_request("/2/tweets")
    respond(handler, body, status=status)
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert words in str(caught.value)
    assert caught.value.http_status == status  # type: ignore[attr-defined]


TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"}


def test_rate_limit_waits_until_x_rate_limit_reset(httpserver: HTTPServer) -> None:
    reset = int(time.time()) + 600
    httpserver.expect_oneshot_request("/2/tweets").respond_with_json(
        TOO_MANY,
        status=429,
        headers={
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert 595 <= caught.value.retry_after <= 601
    assert caught.value.message == "Too Many Requests"


def test_a_spent_24_hour_window_outlasts_the_15_minute_one(httpserver: HTTPServer) -> None:
    now = int(time.time())
    httpserver.expect_oneshot_request("/2/tweets").respond_with_json(
        TOO_MANY,
        status=429,
        headers={
            "x-rate-limit-remaining": "97",
            "x-rate-limit-reset": str(now + 300),
            "x-user-limit-24hour-limit": "17",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(now + 7200),
            "x-app-limit-24hour-remaining": "1200",
            "x-app-limit-24hour-reset": str(now + 50000),
        },
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert 7195 <= caught.value.retry_after <= 7201


def test_rate_limit_without_xs_headers_falls_back_to_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/2/tweets").respond_with_json(
        {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
        status=429,
        headers={"Retry-After": "45"},
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == 45
    assert caught.value.message == "Rate limit exceeded"


def test_timeout_is_transient(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, "/2/tweets", "{}", status=201, content_type="application/json"),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


def test_connection_refused_is_transient() -> None:
    adapter = XPublisher({"access_token": TOKEN, "api_base": "http://127.0.0.1:9"})
    with pytest.raises(TransientError, match=r"127\.0\.0\.1:9"):
        adapter.publish(POST, KEY)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<html>ok</html>", id="not-json"),
        pytest.param('{"data": {"text": "no id"}}', id="no-id"),
        pytest.param('{"errors": [{"message": "partial"}]}', id="no-data"),
        pytest.param("", id="empty"),
    ],
)
def test_a_success_answer_without_a_post_id_is_transient(httpserver: HTTPServer, body: str) -> None:
    httpserver.expect_oneshot_request("/2/tweets").respond_with_data(
        body, status=201, content_type="application/json"
    )
    with pytest.raises(TransientError):
        _adapter(httpserver).publish(POST, KEY)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("<html>upstream hiccup</html>", "text/html", id="html"),
        pytest.param("", "application/json", id="empty"),
        pytest.param('{"errors": [{"message": "partial"}]}', "application/json", id="no-data"),
        pytest.param('{"data": "1445880548472328192"}', "application/json", id="data-no-object"),
    ],
)
def test_an_unreadable_success_answer_to_the_post_is_ambiguous(
    httpserver: HTTPServer, body: str, content_type: str
) -> None:
    httpserver.expect_oneshot_request("/2/tweets", method="POST").respond_with_data(
        body, status=201, content_type=content_type
    )
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).publish(POST, KEY)
    # X said it created something: the post may be there, so no blind re-send.
    assert caught.value.ambiguous
    assert caught.value.http_status == 201


def test_an_unreadable_answer_to_a_read_is_not_ambiguous(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/2/users/me", method="GET").respond_with_data(
        "<html>portal</html>", content_type="text/html"
    )
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).check_connection()
    assert not caught.value.ambiguous


def test_the_token_never_appears_in_repr_or_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/2/tweets").respond_with_json(
        {"title": "Unauthorized", "detail": f"token {TOKEN} was revoked"}, status=401
    )
    adapter = _adapter(httpserver)
    error = refused_credentials(adapter, TOKEN, POST, KEY)
    assert "was revoked" in error.message


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("Hallo Welt", 10, id="ascii"),
        pytest.param("Grüße aus Köln, Straße", 22, id="umlauts-and-sharp-s-weigh-1"),
        pytest.param("Gru\u0308ße", 5, id="decomposed-umlaut-is-normalised"),
        pytest.param("q\u0303", 2, id="combining-mark-that-cannot-compose"),
        pytest.param("日本語", 6, id="cjk-weighs-2"),
        pytest.param("10 €", 5, id="euro-sign-weighs-2"),
        pytest.param("„Zitat“ – gut…", 15, id="quotes-and-dash-1-ellipsis-2"),
        pytest.param("🎉", 2, id="emoji"),
        pytest.param("👍🏽", 2, id="skin-tone"),
        pytest.param("👨\u200d👩\u200d👧\u200d👦", 2, id="zwj-family"),
        pytest.param("🏳️\u200d🌈", 2, id="zwj-rainbow-flag"),
        pytest.param("🇩🇪🇦🇹🇨🇭", 6, id="three-flags"),
        pytest.param("1️⃣", 2, id="keycap"),
        pytest.param("©", 2, id="copyright-is-an-emoji"),
        pytest.param("https://www.example.de/ein/sehr/langer/pfad?seite=2", 23, id="url-23"),
        pytest.param("Mehr: https://example.org.", 30, id="url-without-trailing-dot"),
        pytest.param("(siehe https://de.wikipedia.org/wiki/Kassel_(Stadt))", 31, id="url-parens"),
        pytest.param("http://t.co", 23, id="short-url-23"),
        pytest.param("www.kassel.de", 23, id="bare-domain-with-www"),
        pytest.param("kassel.de/events", 23, id="bare-domain-with-path"),
        pytest.param("info@firma.de", 13, id="email-is-no-link"),
        pytest.param("Mehr auf firma.de", 17, id="short-cctld-domain-is-no-link"),
        pytest.param("bit.ly und foo.jp", 17, id="short-cctld-domains-are-no-links"),
        pytest.param("firma.de:8080", 13, id="short-cctld-domain-with-port-is-no-link"),
        pytest.param("firma.de/jobs", 23, id="short-cctld-domain-with-path"),
        pytest.param("Siehe firma.de/", 29, id="short-cctld-domain-with-slash"),
        pytest.param("t.co", 23, id="short-co-domain-is-a-link"),
        pytest.param("kanal.tv", 23, id="short-tv-domain-is-a-link"),
        pytest.param("firma.com", 23, id="short-generic-domain-is-a-link"),
        pytest.param("shop.firma.de", 23, id="cctld-domain-with-subdomain-is-a-link"),
        pytest.param("foo.co.jp", 23, id="second-level-cctld-is-a-link"),
        pytest.param("z.B. das", 8, id="abbreviation-is-no-link"),
        pytest.param("a\r\nb", 3, id="crlf-counts-once"),
        pytest.param("#Kassel @firma", 14, id="hashtag-and-mention"),
    ],
)
def test_length_is_counted_as_x_counts(text: str, length: int) -> None:
    assert weighted_length(text) == length
    assert XPublisher({"access_token": TOKEN}).measure(text) == length


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        pytest.param("日" * 140, True, id="140-cjk"),
        pytest.param("日" * 140 + "a", False, id="140-cjk-plus-1"),
        pytest.param("ä" * 280, True, id="280-umlauts"),
        pytest.param("😷" * 141, False, id="141-emoji"),
        pytest.param("x" * 256 + " https://example.org/" + "y" * 200, True, id="long-url-is-23"),
        pytest.param(
            ("Wir sind auf firma.de, shop.de, blog.at und jobs.ch erreichbar. " + "x" * 280)[:280],
            True,
            id="280-with-short-cctld-domains",
        ),
    ],
)
def test_validate_applies_the_280_weighted_limit(text: str, fits: bool) -> None:
    problems = XPublisher({"access_token": TOKEN}).validate(
        OutgoingPost(post_id=1, title="T", text=text)
    )
    assert (problems == []) is fits
    if not fits:
        assert "weighted characters, X allows 280" in problems[0].message


MEDIA_ID = "1880028106020515840"


def _media_stored(server: HTTPServer, media_id: str = MEDIA_ID) -> None:
    """POST /2/media/upload as X answers a simple image upload."""
    server.expect_oneshot_request(
        "/2/media/upload", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json(
        {
            "data": {
                "id": media_id,
                "media_key": f"3_{media_id}",
                "size": 1234,
                "expires_after_secs": 86400,
                "image": {"image_type": "image/png", "w": 40, "h": 30},
            }
        }
    )


def test_an_image_is_uploaded_given_its_alt_text_and_attached_to_the_post(
    httpserver: HTTPServer,
) -> None:
    _media_stored(httpserver)
    httpserver.expect_oneshot_request(
        "/2/media/metadata",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        json={"id": MEDIA_ID, "metadata": {"alt_text": {"text": "Das Festzelt"}}},
    ).respond_with_json(
        {"data": {"associated_metadata": {"alt_text": {"text": "Das Festzelt"}}, "id": MEDIA_ID}}
    )
    httpserver.expect_oneshot_request(
        "/2/tweets",
        method="POST",
        json={"text": "Ein Bild", "media": {"media_ids": [MEDIA_ID]}},
    ).respond_with_json(_created("Ein Bild"), status=201)
    image = png(5000, 2500)  # wider than the 4096 px X shows
    post = OutgoingPost(
        post_id=9, title="T", text="Ein Bild", media=[uploaded(image, "Das Festzelt")]
    )
    adapter = _adapter(httpserver)
    assert adapter.validate(post) == []
    assert adapter.publish(post, KEY).external_id == TWEET_ID
    upload = httpserver.log[0][0]
    assert upload.form["media_category"] == "tweet_image"
    assert (upload.files["media"].filename, upload.files["media"].mimetype) == (
        "zelt.png",
        "image/png",
    )
    assert size(upload.files["media"].read()) == (4096, 2048)
    httpserver.check_assertions()


def test_an_upload_that_fails_is_transient_not_ambiguous_and_posts_nothing(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/2/media/upload", method="POST").respond_with_json(
        {"title": "Service Unavailable", "detail": "Service Unavailable"}, status=503
    )
    post = OutgoingPost(post_id=9, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).publish(post, KEY)
    assert not caught.value.ambiguous  # no post was sent
    assert "/2/tweets" not in [r.path for r, _ in httpserver.log]


def test_a_post_refused_after_its_upload_is_permanent_and_uploaded_once(
    httpserver: HTTPServer,
) -> None:
    _media_stored(httpserver)
    httpserver.expect_oneshot_request("/2/media/metadata", method="POST").respond_with_json({})
    httpserver.expect_oneshot_request("/2/tweets", method="POST").respond_with_json(
        DUPLICATE, status=403
    )
    post = OutgoingPost(post_id=9, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(PermanentError, match="earlier attempt"):
        _adapter(httpserver).publish(post, KEY)
    paths = [r.path for r, _ in httpserver.log]
    assert paths == ["/2/media/upload", "/2/media/metadata", "/2/tweets"]


@pytest.mark.parametrize(
    ("media", "code"),
    [
        pytest.param([uploaded(b"x", "Alt")] * 5, "too_many_files", id="five"),
        pytest.param(
            [Media("https://cdn.example.de/tanz.gif", "Alt"), uploaded(b"x", "Alt")],
            "gif_alone",
            id="gif-with-an-image",
        ),
        pytest.param([uploaded(b"x", "A" * 1001)], "alt_text_too_long", id="alt-text"),
        pytest.param(
            [uploaded(PDF, "", name="a.pdf", mime="application/pdf")],
            "type_not_taken",
            id="pdf",
        ),
    ],
)
def test_files_x_cannot_post_are_named(media: list[Media], code: str) -> None:
    post = OutgoingPost(post_id=1, title="T", text="Bild", media=media)
    problems = XPublisher({"access_token": TOKEN}).validate(post)
    assert code in {p.code for p in problems if p.field == "media"}


def test_metrics_come_from_public_metrics(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        f"/2/tweets/{TWEET_ID}",
        method="GET",
        query_string={"tweet.fields": "public_metrics"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).respond_with_json(
        {
            "data": {
                "id": TWEET_ID,
                "text": POST.text,
                "edit_history_tweet_ids": [TWEET_ID],
                "public_metrics": {
                    "retweet_count": 3,
                    "reply_count": 1,
                    "like_count": 12,
                    "quote_count": 0,
                    "bookmark_count": 2,
                    "impression_count": 845,
                },
            }
        }
    )
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=TWEET_ID))
    # Reposts are retweets and quotes together; public metrics carry no link clicks.
    assert metrics == Metrics(impressions=845, reactions=12, reposts=3, replies=1, raw=metrics.raw)
    assert metrics.raw["data"]["public_metrics"]["bookmark_count"] == 2


def test_metrics_of_a_deleted_post_say_it_is_gone(httpserver: HTTPServer) -> None:
    # X answers 200 with only `errors` for a post that no longer exists.
    httpserver.expect_oneshot_request(f"/2/tweets/{TWEET_ID}").respond_with_json(
        {
            "errors": [
                {
                    "value": TWEET_ID,
                    "detail": f"Could not find tweet with id: [{TWEET_ID}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ]
        }
    )
    with pytest.raises(PostGone):
        _adapter(httpserver).fetch_metrics(Receipt(external_id=TWEET_ID))


def test_check_connection_names_the_account(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/2/users/me", method="GET", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"data": {"id": "2244994945", "name": "Firma", "username": "firma_de"}})
    assert _adapter(httpserver).check_connection() == "signed in to X as @firma_de"


@pytest.mark.parametrize(
    ("budget", "posted", "left"),
    [
        pytest.param(None, 500, None, id="no-budget"),
        pytest.param(30, 0, 30, id="fresh-month"),
        pytest.param(30, 29, 1, id="one-left"),
        pytest.param(30, 30, 0, id="spent"),
        pytest.param(30, 45, 0, id="overspent"),
        pytest.param(0, 0, 0, id="zero-budget"),
    ],
)
def test_budget_left_counts_down_the_monthly_budget(
    budget: int | None, posted: int, left: int | None
) -> None:
    adapter = XPublisher({"access_token": TOKEN, "monthly_post_budget": budget})
    assert adapter.monthly_post_budget == budget
    assert adapter.budget_left(posted) == left


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({}, "access_token", id="missing-token"),
        pytest.param({"access_token": TOKEN, "api_base": "api.x.com"}, "api_base", id="bad-url"),
        pytest.param(
            {"access_token": TOKEN, "monthly_post_budget": "viele"},
            "monthly_post_budget",
            id="budget-not-a-number",
        ),
        pytest.param(
            {"access_token": TOKEN, "monthly_post_budget": -1},
            "monthly_post_budget",
            id="negative-budget",
        ),
        pytest.param({"access_token": TOKEN, "timeout_seconds": 0}, "timeout_seconds", id="0s"),
        pytest.param({"access_token": TOKEN, "consumer_key": "k"}, "consumer_key", id="unknown"),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(XPublisher, settings).field == field


def test_defaults_point_at_the_public_api() -> None:
    adapter = XPublisher({"access_token": TOKEN, "api_base": "https://api.x.com/"})
    assert adapter.settings["api_base"] == "https://api.x.com"
    assert XPublisher({"access_token": TOKEN}).settings == {
        "access_token": TOKEN,
        "api_base": "https://api.x.com",
        "monthly_post_budget": None,
        "timeout_seconds": 30,
    }
    assert adapter.detect_deduplication() is None


def test_a_retry_after_the_post_failed_names_the_uploaded_image_without_sending_it_again(
    httpserver: HTTPServer,
) -> None:
    _media_stored(httpserver)
    httpserver.expect_oneshot_request("/2/media/metadata", method="POST").respond_with_json({})
    httpserver.expect_oneshot_request("/2/tweets", method="POST").respond_with_json(
        {"title": "Service Unavailable", "detail": "Service Unavailable"}, status=503
    )
    httpserver.expect_oneshot_request(
        "/2/tweets", method="POST", json={"text": "x", "media": {"media_ids": [MEDIA_ID]}}
    ).respond_with_json(_created("x"), status=201)
    post = OutgoingPost(post_id=9, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(TransientError):
        _adapter(httpserver).publish(post, KEY)
    # The engine builds the adapter anew for the retry.
    assert _adapter(httpserver).publish(post, KEY).external_id == TWEET_ID
    paths = [r.path for r, _ in httpserver.log]
    assert paths == ["/2/media/upload", "/2/media/metadata", "/2/tweets", "/2/tweets"]
    httpserver.check_assertions()


def test_an_uploaded_gif_is_a_still_image_that_may_join_others() -> None:
    gif = uploaded(b"x", "Alt", name="a.gif", mime="image/gif")
    post = OutgoingPost(post_id=1, title="T", text="Bild", media=[gif, uploaded(b"x", "Alt")])
    assert XPublisher({"access_token": TOKEN}).validate(post) == []
