"""The LinkedIn adapter against a local server that answers like LinkedIn's REST API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
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
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.linkedin import (
    LinkedInPublisher,
    little_text,
    seconds_until_quota_reset,
)
from tests.publishers.stubs import answering_late, config_error, refused_credentials, respond
from tests.publishers.test_uploads import PDF, png, uploaded

TOKEN = "AQV" + token_hex(16)  # made per run: no credential lives in the code
KEY = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
ORG = "2414183"
SHARE = "urn:li:share:7012345678901234567"
POST = OutgoingPost(post_id=5, title="Tag der offenen Tür", text="Wir öffnen die Türen 🎉 #Kassel")
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "LinkedIn-Version": "202605",
    "X-Restli-Protocol-Version": "2.0.0",
}


def _adapter(server: HTTPServer, **extra: object) -> LinkedInPublisher:
    return LinkedInPublisher(
        {
            "organization_id": ORG,
            "access_token": TOKEN,
            "api_base": server.url_for("/").rstrip("/"),
            **extra,
        }
    )


def _body(commentary: str) -> dict[str, Any]:
    """The request body the Posts API documents for a text-only organisation post."""
    return {
        "author": f"urn:li:organization:{ORG}",
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def _created(server: HTTPServer, urn: str = SHARE) -> None:
    # LinkedIn answers 201 with an empty body; the new post's URN is in x-restli-id.
    server.expect_oneshot_request("/rest/posts", method="POST").respond_with_data(
        "", status=201, headers={"x-restli-id": urn}
    )


def test_publish_posts_as_the_organisation_with_version_headers(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/rest/posts", method="POST", headers=HEADERS, json=_body(POST.text)
    ).respond_with_data("", status=201, headers={"x-restli-id": SHARE})
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert (receipt.external_id, receipt.url, receipt.http_status) == (
        SHARE,
        f"https://www.linkedin.com/feed/update/{SHARE}/",
        201,
    )


def test_the_api_version_is_a_setting(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/rest/posts", headers={**HEADERS, "LinkedIn-Version": "202611"}
    ).respond_with_data("", status=201, headers={"x-restli-id": "urn:li:ugcPost:7012"})
    receipt = _adapter(httpserver, api_version="202611").publish(POST, KEY)
    assert receipt.external_id == "urn:li:ugcPost:7012"


@pytest.mark.parametrize(
    ("text", "commentary"),
    [
        pytest.param("Grüße aus Kassel", "Grüße aus Kassel", id="plain-text-unchanged"),
        pytest.param("Tag (mit Essen)", r"Tag \(mit Essen\)", id="parentheses"),
        pytest.param("[Info] {neu} <3", r"\[Info\] \{neu\} \<3", id="brackets-braces-angles"),
        pytest.param("*fett* _kursiv_ ~alt~", r"\*fett\* \_kursiv\_ \~alt\~", id="markup-chars"),
        pytest.param("a|b C:\\Pfad", r"a\|b C:\\Pfad", id="pipe-and-backslash"),
        pytest.param("Fragen an @redaktion", r"Fragen an \@redaktion", id="at-sign"),
        pytest.param("#Kassel #Nordhessen2026", "#Kassel #Nordhessen2026", id="hashtags-stay"),
        pytest.param("Platz #1 und # allein", r"Platz \#1 und \# allein", id="not-hashtags"),
        pytest.param(
            "https://example.org/a_(b)#top",
            r"https://example.org/a\_\(b\)\#top",
            id="link-characters-escaped-no-hashtag-in-a-link",
        ),
    ],
)
def test_reserved_characters_are_escaped_so_linkedin_does_not_cut_the_post(
    httpserver: HTTPServer, text: str, commentary: str
) -> None:
    assert little_text(text) == commentary
    httpserver.expect_oneshot_request("/rest/posts", json=_body(commentary)).respond_with_data(
        "", status=201, headers={"x-restli-id": SHARE}
    )
    _adapter(httpserver).publish(OutgoingPost(post_id=1, title="T", text=text), KEY)


def test_the_link_is_appended_when_the_text_lacks_it(httpserver: HTTPServer) -> None:
    link = "https://www.example.de/tag_der_offenen_tuer"
    httpserver.expect_oneshot_request(
        "/rest/posts",
        json=_body(f"{POST.text}\n\nhttps://www.example.de/tag\\_der\\_offenen\\_tuer"),
    ).respond_with_data("", status=201, headers={"x-restli-id": SHARE})
    _adapter(httpserver).publish(OutgoingPost(post_id=1, title="T", text=POST.text, link=link), KEY)


def test_a_repeated_post_is_refused_as_a_duplicate_not_published_twice(
    httpserver: HTTPServer,
) -> None:
    # No idempotency key on LinkedIn, but it refuses content it already has.
    httpserver.expect_oneshot_request("/rest/posts").respond_with_json(
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
            f"Content is a duplicate of {SHARE}",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Duplicate post is detected",
                        "input": {},
                        "code": "DUPLICATE_POST",
                    }
                ]
            },
            "status": 422,
        },
        status=422,
    )
    with pytest.raises(PermanentError) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.message.startswith(f"Content is a duplicate of {SHARE}")
    assert "an earlier attempt may have published it" in caught.value.message
    assert caught.value.http_status == 422


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        pytest.param(
            401,
            {
                "status": 401,
                "serviceErrorCode": 65602,
                "code": "EXPIRED_ACCESS_TOKEN",
                "message": "The token used in the request has expired",
            },
            AuthError,
            "The token used in the request has expired",
            id="401-expired",
        ),
        pytest.param(
            403,
            {
                "status": 403,
                "serviceErrorCode": 100,
                "code": "ACCESS_DENIED",
                "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE",
            },
            AuthError,
            "Not enough permissions to access",
            id="403-no-page-role",
        ),
        pytest.param(
            422,
            {
                "status": 422,
                "message": "ERROR :: /commentary :: field is required but not found",
            },
            PermanentError,
            "ERROR :: /commentary :: field is required but not found",
            id="422-validation",
        ),
        pytest.param(
            400,
            {"status": 400, "code": "ILLEGAL_ARGUMENT", "message": "Invalid author"},
            PermanentError,
            "Invalid author",
            id="400-illegal-argument",
        ),
        pytest.param(
            426,
            {
                "status": 426,
                "code": "NONEXISTENT_VERSION",
                "message": "Requested version 202401 is not active",
            },
            PermanentError,
            "set a current api_version",
            id="426-retired-version",
        ),
        pytest.param(
            500,
            {"status": 500, "message": "Internal Server Error"},
            TransientError,
            "Internal Server Error",
            id="500",
        ),
        pytest.param(504, "upstream timed out", TransientError, "upstream timed out", id="504"),
    ],
)
def test_error_answers_map_to_typed_errors_in_linkedins_words(
    httpserver: HTTPServer, status: int, body: object, error: type[Exception], words: str
) -> None:
    handler = httpserver.expect_oneshot_request("/rest/posts")
    respond(handler, body, status=status)
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert words in str(caught.value)
    assert caught.value.http_status == status  # type: ignore[attr-defined]


def test_a_429_waits_until_the_daily_quota_resets_at_midnight_utc(httpserver: HTTPServer) -> None:
    # LinkedIn sends no rate-limit headers: the daily quotas reset at 00:00 UTC.
    httpserver.expect_oneshot_request("/rest/posts").respond_with_json(
        {"status": 429, "message": "Resource level throttle APPLICATION DAY limit for calls"},
        status=429,
    )
    before = seconds_until_quota_reset()
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    after = seconds_until_quota_reset()
    assert min(before, after) - 1 <= caught.value.retry_after <= max(before, after) + 1
    assert "APPLICATION DAY limit" in caught.value.message


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        pytest.param(datetime(2026, 11, 23, 23, 59, 30, tzinfo=UTC), 30, id="half-a-minute"),
        pytest.param(datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC), 86400, id="just-reset"),
        pytest.param(datetime(2026, 12, 31, 12, 0, tzinfo=UTC), 43200, id="year-end"),
        pytest.param(
            datetime(2026, 11, 24, 0, 30, tzinfo=timezone(timedelta(hours=1))),
            1800,
            id="berlin-half-past-midnight-is-2330-utc",
        ),
    ],
)
def test_the_quota_resets_at_the_next_midnight_utc(now: datetime, seconds: float) -> None:
    assert seconds_until_quota_reset(now) == seconds


def test_timeout_is_transient(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, "/rest/posts", "", status=201, headers={"x-restli-id": SHARE}),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


def test_connection_refused_is_transient() -> None:
    adapter = LinkedInPublisher(
        {"organization_id": ORG, "access_token": TOKEN, "api_base": "http://127.0.0.1:9"}
    )
    with pytest.raises(TransientError, match=r"127\.0\.0\.1:9"):
        adapter.publish(POST, KEY)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-x-restli-id"),
        pytest.param({"x-restli-id": "not-a-urn"}, id="not-a-post-urn"),
    ],
)
def test_a_success_without_the_post_urn_is_transient(
    httpserver: HTTPServer, headers: dict[str, str]
) -> None:
    httpserver.expect_oneshot_request("/rest/posts").respond_with_data(
        "<<<", status=201, headers=headers
    )
    with pytest.raises(TransientError, match="x-restli-id"):
        _adapter(httpserver).publish(POST, KEY)


def test_the_token_never_appears_in_repr_or_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/rest/posts").respond_with_json(
        {"status": 401, "message": f"Invalid access token {TOKEN}"}, status=401
    )
    adapter = _adapter(httpserver)
    error = refused_credentials(adapter, TOKEN, POST, KEY)
    assert "Invalid access token ***" in error.message


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("Grüße aus Köln, Straße", 22, id="umlauts-and-sharp-s"),
        pytest.param("日本語", 3, id="cjk"),
        pytest.param("🎉", 2, id="emoji-is-two-utf16-units"),
        pytest.param("👨\u200d👩\u200d👧\u200d👦", 11, id="zwj-family"),
        pytest.param("🇩🇪", 4, id="flag"),
        pytest.param("e\u0301", 2, id="combining-mark"),
        pytest.param("(Kassel)", 10, id="escapes-count"),
        pytest.param("#Kassel", 7, id="hashtag-is-not-escaped"),
        pytest.param("https://example.org/a_b", 24, id="links-count-as-written"),
    ],
)
def test_length_counts_the_commentary_as_sent_in_utf16_units(text: str, length: int) -> None:
    adapter = LinkedInPublisher({"organization_id": ORG, "access_token": TOKEN})
    assert adapter.measure(text) == length


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        pytest.param("ä" * 3000, True, id="3000-umlauts"),
        pytest.param("ä" * 3001, False, id="3001-umlauts"),
        pytest.param("🎉" * 1500, True, id="1500-emoji"),
        pytest.param("a" * 2999 + "(", False, id="escape-pushes-over"),
    ],
)
def test_validate_applies_the_3000_character_limit(text: str, fits: bool) -> None:
    adapter = LinkedInPublisher({"organization_id": ORG, "access_token": TOKEN})
    problems = adapter.validate(OutgoingPost(post_id=1, title="T", text=text))
    assert (problems == []) is fits


def _upload_started(server: HTTPServer, api: str, urn: str, upload_url: str) -> None:
    """initializeUpload as the Images and Documents APIs answer it, for the page."""
    server.expect_oneshot_request(
        f"/rest/{api}",
        method="POST",
        query_string={"action": "initializeUpload"},
        headers=HEADERS,
        json={"initializeUploadRequest": {"owner": f"urn:li:organization:{ORG}"}},
    ).respond_with_json(
        {
            "value": {
                "uploadUrlExpiresAt": 1_780_000_000_000,
                "uploadUrl": upload_url,
                api.removesuffix("s"): urn,
            }
        }
    )


def _uploads(server: HTTPServer) -> list[tuple[str, bytes, str | None]]:
    return [
        (r.path, r.get_data(), r.headers.get("Authorization"))
        for r, _ in server.log
        if r.method == "PUT"
    ]


def test_images_go_up_through_the_images_api_and_the_post_shows_them_with_alt_text(
    httpserver: HTTPServer,
) -> None:
    first, second = png(300, 200), png(200, 300)
    for number in (1, 2):
        url = httpserver.url_for(f"/dms-uploads/image{number}")
        _upload_started(httpserver, "images", f"urn:li:image:C4E10AQ{number}", url)
        httpserver.expect_oneshot_request(
            f"/dms-uploads/image{number}", method="PUT"
        ).respond_with_data("", status=201)
    body = {
        **_body("Zwei Bilder"),
        "content": {
            "multiImage": {
                "images": [
                    {"id": "urn:li:image:C4E10AQ1", "altText": "Das Festzelt"},
                    {"id": "urn:li:image:C4E10AQ2", "altText": "Die Bühne"},
                ]
            }
        },
    }
    httpserver.expect_oneshot_request(
        "/rest/posts", method="POST", headers=HEADERS, json=body
    ).respond_with_data("", status=201, headers={"x-restli-id": SHARE})
    media = [uploaded(first, "Das Festzelt"), uploaded(second, "Die Bühne")]
    post = OutgoingPost(post_id=5, title="T", text="Zwei Bilder", media=media)
    assert _adapter(httpserver).validate(post) == []
    assert _adapter(httpserver).publish(post, KEY).external_id == SHARE
    assert _uploads(httpserver) == [
        ("/dms-uploads/image1", first, f"Bearer {TOKEN}"),
        ("/dms-uploads/image2", second, f"Bearer {TOKEN}"),
    ]
    httpserver.check_assertions()


def test_one_image_is_the_posts_media_and_a_foreign_upload_host_never_gets_the_token(
    httpserver: HTTPServer,
) -> None:
    # Another host than the API's (127.0.0.1 instead of localhost): no token goes there.
    foreign = f"http://127.0.0.1:{httpserver.port}/upload/one"
    _upload_started(httpserver, "images", "urn:li:image:C4E10AQ9", foreign)
    httpserver.expect_oneshot_request("/upload/one", method="PUT").respond_with_data("", 201)
    content = {"media": {"id": "urn:li:image:C4E10AQ9", "altText": "Das Festzelt"}}
    httpserver.expect_oneshot_request(
        "/rest/posts", method="POST", json={**_body("Ein Bild"), "content": content}
    ).respond_with_data("", status=201, headers={"x-restli-id": SHARE})
    image = png(40, 30)
    post = OutgoingPost(
        post_id=5, title="T", text="Ein Bild", media=[uploaded(image, "Das Festzelt")]
    )
    _adapter(httpserver).publish(post, KEY)
    assert _uploads(httpserver) == [("/upload/one", image, None)]
    httpserver.check_assertions()


def test_a_pdf_goes_up_through_the_documents_api_and_is_posted_under_the_title(
    httpserver: HTTPServer,
) -> None:
    url = httpserver.url_for("/dms-uploads/document")
    _upload_started(httpserver, "documents", "urn:li:document:D4D10AQ7", url)
    httpserver.expect_oneshot_request("/dms-uploads/document", method="PUT").respond_with_data(
        "", status=201
    )
    content = {"media": {"title": "Programm 2026", "id": "urn:li:document:D4D10AQ7"}}
    httpserver.expect_oneshot_request(
        "/rest/posts", method="POST", json={**_body("Das Programm"), "content": content}
    ).respond_with_data("", status=201, headers={"x-restli-id": SHARE})
    pdf = uploaded(PDF, "", name="programm.pdf", mime="application/pdf")
    post = OutgoingPost(post_id=5, title="Programm 2026", text="Das Programm", media=[pdf])
    assert _adapter(httpserver).validate(post) == []
    _adapter(httpserver).publish(post, KEY)
    assert _uploads(httpserver) == [("/dms-uploads/document", PDF, f"Bearer {TOKEN}")]
    httpserver.check_assertions()


def test_an_upload_that_fails_is_transient_not_ambiguous_and_posts_nothing(
    httpserver: HTTPServer,
) -> None:
    url = httpserver.url_for("/dms-uploads/image1")
    _upload_started(httpserver, "images", "urn:li:image:C4E10AQ1", url)
    httpserver.expect_request("/dms-uploads/image1", method="PUT").respond_with_data(
        "upstream broke", status=502
    )
    post = OutgoingPost(post_id=5, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).publish(post, KEY)
    assert not caught.value.ambiguous  # the post was never sent
    assert "/rest/posts" not in [r.path for r, _ in httpserver.log]


def test_a_post_refused_after_its_upload_is_permanent_and_uploaded_once(
    httpserver: HTTPServer,
) -> None:
    url = httpserver.url_for("/dms-uploads/image1")
    _upload_started(httpserver, "images", "urn:li:image:C4E10AQ1", url)
    httpserver.expect_oneshot_request("/dms-uploads/image1", method="PUT").respond_with_data(
        "", status=201
    )
    httpserver.expect_oneshot_request("/rest/posts", method="POST").respond_with_json(
        {"status": 422, "message": "com.linkedin.Foo.BarException: Invalid image"}, status=422
    )
    post = OutgoingPost(post_id=5, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(PermanentError, match="Invalid image"):
        _adapter(httpserver).publish(post, KEY)
    assert len(_uploads(httpserver)) == 1


@pytest.mark.parametrize(
    ("media", "code"),
    [
        pytest.param(
            [uploaded(PDF, "", name="a.pdf", mime="application/pdf"), uploaded(b"x", "Alt")],
            "document_alone",
            id="pdf-with-an-image",
        ),
        pytest.param([uploaded(b"x", "Alt")] * 21, "too_many_files", id="twenty-one"),
        pytest.param([uploaded(b"x", "A" * 4087)], "alt_text_too_long", id="alt-text"),
        pytest.param(
            [uploaded(b"x", "Alt", name="a.webp", mime="image/webp")],
            "type_not_taken",
            id="webp",
        ),
    ],
)
def test_files_linkedin_cannot_post_are_named(media: list[Media], code: str) -> None:
    adapter = LinkedInPublisher({"organization_id": ORG, "access_token": TOKEN})
    post = OutgoingPost(post_id=1, title="T", text="Bild", media=media)
    assert code in {p.code for p in adapter.validate(post) if p.field == "media"}


@pytest.mark.parametrize(
    ("urn", "parameter"),
    [
        pytest.param(SHARE, "shares=List(urn%3Ali%3Ashare%3A7012345678901234567)", id="share"),
        pytest.param(
            "urn:li:ugcPost:7012345678901234568",
            "ugcPosts=List(urn%3Ali%3AugcPost%3A7012345678901234568)",
            id="ugc-post",
        ),
    ],
)
def test_metrics_come_from_the_share_statistics(
    httpserver: HTTPServer, urn: str, parameter: str
) -> None:
    httpserver.expect_oneshot_request(
        "/rest/organizationalEntityShareStatistics",
        method="GET",
        headers=HEADERS,
        query_string=(
            "q=organizationalEntity"
            f"&organizationalEntity=urn%3Ali%3Aorganization%3A{ORG}&{parameter}"
        ),
    ).respond_with_json(
        {
            "paging": {"start": 0, "count": 10, "links": []},
            "elements": [
                {
                    "totalShareStatistics": {
                        "uniqueImpressionsCount": 1200,
                        "shareCount": 4,
                        "engagement": 0.0675,
                        "clickCount": 38,
                        "likeCount": 41,
                        "impressionCount": 1500,
                        "commentCount": 6,
                    },
                    "share": urn,
                    "organizationalEntity": f"urn:li:organization:{ORG}",
                }
            ],
        }
    )
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=urn))
    assert metrics == Metrics(
        impressions=1500, reactions=41, reposts=4, replies=6, link_clicks=38, raw=metrics.raw
    )
    assert metrics.raw["elements"][0]["totalShareStatistics"]["uniqueImpressionsCount"] == 1200


def test_metrics_are_none_when_linkedin_has_none_yet(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/rest/organizationalEntityShareStatistics"
    ).respond_with_json({"paging": {"start": 0, "count": 10}, "elements": []})
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=SHARE))
    assert (metrics.impressions, metrics.reactions, metrics.replies) == (None, None, None)


def test_check_connection_looks_the_page_up(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        f"/rest/organizations/{ORG}", method="GET", headers=HEADERS
    ).respond_with_json({"id": int(ORG), "localizedName": "Devtestco", "vanityName": "devtestco"})
    assert _adapter(httpserver).check_connection() == "connected to the LinkedIn page Devtestco"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"access_token": TOKEN}, "organization_id", id="missing-page"),
        pytest.param(
            {"organization_id": "firma-gmbh", "access_token": TOKEN},
            "organization_id",
            id="page-not-a-number",
        ),
        pytest.param({"organization_id": ORG}, "access_token", id="missing-token"),
        pytest.param(
            {"organization_id": ORG, "access_token": TOKEN, "api_version": "2026-05"},
            "api_version",
            id="version-with-dash",
        ),
        pytest.param(
            {"organization_id": ORG, "access_token": TOKEN, "api_version": "202613"},
            "api_version",
            id="month-13",
        ),
        pytest.param(
            {"organization_id": ORG, "access_token": TOKEN, "timeout_seconds": 0},
            "timeout_seconds",
            id="0s",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(LinkedInPublisher, settings).field == field


def test_a_page_urn_is_taken_as_its_number_and_defaults_are_the_public_api() -> None:
    adapter = LinkedInPublisher(
        {"organization_id": f"urn:li:organization:{ORG}", "access_token": TOKEN}
    )
    assert adapter.settings == {
        "organization_id": ORG,
        "access_token": TOKEN,
        "api_version": "202605",
        "api_base": "https://api.linkedin.com",
        "timeout_seconds": 30,
    }
    assert adapter.author == f"urn:li:organization:{ORG}"
    assert adapter.detect_deduplication() is None


def test_a_retry_after_the_post_failed_names_the_uploaded_image_without_sending_it_again(
    httpserver: HTTPServer,
) -> None:
    url = httpserver.url_for("/dms-uploads/image1")
    _upload_started(httpserver, "images", "urn:li:image:C4E10AQ1", url)
    httpserver.expect_oneshot_request("/dms-uploads/image1", method="PUT").respond_with_data(
        "", status=201
    )
    httpserver.expect_oneshot_request("/rest/posts", method="POST").respond_with_data(
        "", status=503
    )
    content = {"media": {"id": "urn:li:image:C4E10AQ1", "altText": "Alt"}}
    httpserver.expect_oneshot_request(
        "/rest/posts", method="POST", json={**_body("x"), "content": content}
    ).respond_with_data("", status=201, headers={"x-restli-id": SHARE})
    post = OutgoingPost(post_id=5, title="T", text="x", media=[uploaded(png(4, 4), "Alt")])
    with pytest.raises(TransientError):
        _adapter(httpserver).publish(post, KEY)
    # The engine builds the adapter anew for the retry.
    assert _adapter(httpserver).publish(post, KEY).external_id == SHARE
    assert len(_uploads(httpserver)) == 1
    httpserver.check_assertions()
