"""The Mastodon adapter against a local server that answers like Mastodon's REST API."""

from __future__ import annotations

import json
import threading
import traceback
from datetime import UTC, datetime, timedelta
from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishers.base import (
    AuthError,
    Media,
    OutgoingPost,
    PermanentError,
    PostGone,
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.mastodon import MastodonPublisher, deduplication_basis
from tests.publishers.stubs import config_error, refused_credentials

TOKEN = token_hex(16)  # made per run: no credential lives in the code
KEY = "5f0c6a52d1e24d8f9a3b7c1e0d2f4a6b"
POST = OutgoingPost(post_id=7, title="Tag der offenen Tür", text="Wir öffnen die Türen 🎉 #Kassel")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


def _adapter(server: HTTPServer, **extra: object) -> MastodonPublisher:
    return MastodonPublisher(
        {"instance_url": server.url_for("/").rstrip("/"), "access_token": TOKEN, **extra}
    )


def _status(status_id: str = "103270115826048975", **extra: object) -> dict[str, Any]:
    """A Status entity as the docs show it (trimmed to the fields that matter here)."""
    return {
        "id": status_id,
        "created_at": "2026-05-04T08:00:00.000Z",
        "visibility": "public",
        "language": "de",
        "uri": f"https://social.example.de/users/redaktion/statuses/{status_id}",
        "url": f"https://social.example.de/@redaktion/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "content": "<p>Wir öffnen die Türen 🎉 #Kassel</p>",
        "media_attachments": [],
        **extra,
    }


def _attachment(media_id: str, url: str | None) -> dict[str, Any]:
    return {
        "id": media_id,
        "type": "image",
        "url": url,
        "preview_url": url,
        "remote_url": None,
        "description": "Die Halle von außen",
        "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
    }


def test_publish_posts_the_status_with_token_idempotency_key_visibility_and_language(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/statuses",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": KEY},
        json={"status": POST.text, "visibility": "unlisted", "language": "de"},
    ).respond_with_json(_status())
    receipt = _adapter(httpserver, visibility="unlisted").publish(POST, KEY)
    assert receipt.external_id == "103270115826048975"
    assert receipt.url == "https://social.example.de/@redaktion/103270115826048975"
    assert receipt.http_status == 200
    assert len(httpserver.log) == 1
    httpserver.check_assertions()


def test_a_repeated_idempotency_key_gets_the_original_status_back(httpserver: HTTPServer) -> None:
    created: dict[str, dict[str, Any]] = {}

    def statuses(request: Request) -> Response:
        # Mastodon keeps each Idempotency-Key for an hour and answers with the first status.
        key = request.headers["Idempotency-Key"]
        if key not in created:
            created[key] = _status(str(103270115826048975 + len(created)))
        return Response(json.dumps(created[key]), status=200, content_type="application/json")

    httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_handler(statuses)
    first = _adapter(httpserver).publish(POST, KEY)
    again = _adapter(httpserver).publish(POST, KEY)
    other = _adapter(httpserver).publish(POST, "another-key")
    assert first.external_id == again.external_id
    assert other.external_id != first.external_id
    assert len(created) == 2


@pytest.mark.parametrize(
    ("version", "deduplicates"),
    [
        pytest.param("4.3.0", True, id="mastodon"),
        pytest.param("4.4.0-beta.2", True, id="mastodon-beta"),
        pytest.param("2.4.0rc1", True, id="mastodon-old-rc"),
        pytest.param("4.3.0+nightly.2024-03-01+glitch", True, id="glitch-soc"),
        pytest.param("4.0.15+hometown-1.1.1", True, id="hometown"),
        pytest.param("3.5.3 (compatible; Pleroma 2.5.0)", False, id="pleroma"),
        pytest.param("2.7.2 (compatible; Akkoma 3.13.1-0-gc02e343)", False, id="akkoma"),
        pytest.param("4.0.0rc1 (compatible; Takahē 0.11.0)", False, id="takahe-compatible"),
        pytest.param("takahe/0.11.0", False, id="takahe"),
        pytest.param("0.5.0", False, id="early-takahe-bare"),
        pytest.param("0.16.0 git-ccd5b34", False, id="gotosocial"),
        pytest.param("4.0.0 (not true; really snac/2.52)", False, id="snac"),
        pytest.param("", False, id="empty"),
    ],
)
def test_only_mastodons_own_version_proves_deduplication(version: str, deduplicates: bool) -> None:
    basis = deduplication_basis(version)
    assert (basis is not None) is deduplicates
    if basis is not None:
        assert basis == f"Mastodon {version} keeps the Idempotency-Key for an hour"


def test_detection_asks_the_server_what_it_runs(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/instance", method="GET", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"uri": "social.example.de", "version": "4.3.0"})
    basis = _adapter(httpserver).detect_deduplication()
    assert basis == "Mastodon 4.3.0 keeps the Idempotency-Key for an hour"
    assert len(httpserver.log) == 1
    httpserver.check_assertions()


def test_a_server_that_only_speaks_the_mastodon_api_is_not_trusted_to_deduplicate(
    httpserver: HTTPServer,
) -> None:
    # Takahē takes the Idempotency-Key and makes a second status all the same.
    statuses: list[str] = []

    def create(request: Request) -> Response:
        statuses.append(str(len(statuses) + 1))
        return Response(json.dumps(_status(statuses[-1])), content_type="application/json")

    httpserver.expect_request("/api/v1/instance").respond_with_json(
        {"uri": "takahe.example.de", "version": "takahe/0.11.0"}
    )
    httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_handler(create)
    adapter = _adapter(httpserver)
    assert adapter.publish(POST, KEY).external_id != adapter.publish(POST, KEY).external_id
    assert adapter.detect_deduplication() is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param(503, "{}", TransientError, id="down"),
        pytest.param(401, '{"error": "The access token is invalid"}', AuthError, id="token"),
    ],
)
def test_detection_that_cannot_ask_raises(
    status: int, body: str, error: type[Exception], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/v1/instance").respond_with_data(
        body, status=status, content_type="application/json"
    )
    with pytest.raises(error):
        _adapter(httpserver).detect_deduplication()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("Invalid Bearer token", "text/html", id="takahe-plain-text"),
        pytest.param('{"error": "invalid_token"}', "application/json", id="oauth-error"),
    ],
)
def test_a_400_for_an_unknown_token_asks_for_reconnecting(
    body: str, content_type: str, httpserver: HTTPServer
) -> None:
    # Takahē (Mastodon API) answers an unknown or revoked token with 400, not 401.
    httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_data(
        body, status=400, content_type=content_type
    )
    with pytest.raises(AuthError) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.http_status == 400
    assert TOKEN not in str(caught.value)


def test_the_link_is_appended_only_when_the_text_lacks_it(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_json(_status())
    link = "https://example.de/blog/tag-der-offenen-tuer"
    adapter = _adapter(httpserver)
    adapter.publish(OutgoingPost(post_id=1, title="T", text="Kommt vorbei!", link=link), KEY)
    adapter.publish(OutgoingPost(post_id=1, title="T", text=f"Mehr: {link}", link=link), KEY)
    sent = [json.loads(request.get_data())["status"] for request, _ in httpserver.log]
    assert sent == [f"Kommt vorbei!\n\n{link}", f"Mehr: {link}"]


def test_an_image_is_fetched_uploaded_with_its_alt_text_and_attached(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request("/cdn/halle.jpg", method="GET").respond_with_data(
        JPEG, content_type="image/jpeg"
    )
    httpserver.expect_oneshot_request(
        "/api/v2/media", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json(_attachment("22345792", "https://files.example/halle.jpg"))
    httpserver.expect_oneshot_request(
        "/api/v1/statuses",
        method="POST",
        json={
            "status": POST.text,
            "visibility": "public",
            "language": "de",
            "media_ids": ["22345792"],
        },
    ).respond_with_json(_status())
    media = Media(url=httpserver.url_for("/cdn/halle.jpg"), alt_text="Die Halle von außen")
    post = OutgoingPost(post_id=7, title="T", text=POST.text, media=[media])
    assert _adapter(httpserver).publish(post, KEY).external_id == "103270115826048975"
    fetch, upload, _status_request = (request for request, _ in httpserver.log)
    assert "Authorization" not in fetch.headers  # the token never goes to the media host
    assert upload.form["description"] == "Die Halle von außen"
    assert upload.files["file"].filename == "halle.jpg"
    assert upload.files["file"].mimetype == "image/jpeg"
    assert upload.files["file"].read() == JPEG
    httpserver.check_assertions()


def test_media_still_processing_is_polled_until_ready(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MastodonPublisher, "media_poll_wait", 0.0)
    httpserver.expect_oneshot_request("/cdn/clip.jpg").respond_with_data(
        JPEG, content_type="image/jpeg"
    )
    httpserver.expect_oneshot_request("/api/v2/media", method="POST").respond_with_json(
        _attachment("22345793", None), status=202
    )
    polls = iter([206, 200])

    def processing(_request: Request) -> Response:
        # 206 Partial Content while processing, then 200 with the file's url.
        status = next(polls)
        url = "https://files.example/clip.jpg" if status == 200 else None
        body = json.dumps(_attachment("22345793", url))
        return Response(body, status=status, content_type="application/json")

    httpserver.expect_request("/api/v1/media/22345793", method="GET").respond_with_handler(
        processing
    )
    httpserver.expect_oneshot_request("/api/v1/statuses", method="POST").respond_with_json(
        _status()
    )
    media = Media(url=httpserver.url_for("/cdn/clip.jpg"), alt_text="Ein Bild")
    _adapter(httpserver).publish(OutgoingPost(post_id=7, title="T", text="x", media=[media]), KEY)
    assert json.loads(httpserver.log[-1][0].get_data())["media_ids"] == ["22345793"]
    assert [r.path for r, _ in httpserver.log].count("/api/v1/media/22345793") == 2
    httpserver.check_assertions()


def test_media_that_never_finishes_processing_is_transient_and_posts_nothing(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MastodonPublisher, "media_poll_wait", 0.0)
    monkeypatch.setattr(MastodonPublisher, "media_poll_attempts", 3)
    httpserver.expect_request("/cdn/clip.jpg").respond_with_data(JPEG, content_type="image/jpeg")
    httpserver.expect_request("/api/v2/media", method="POST").respond_with_json(
        _attachment("9", None), status=202
    )
    httpserver.expect_request("/api/v1/media/9").respond_with_json(
        _attachment("9", None), status=206
    )
    media = Media(url=httpserver.url_for("/cdn/clip.jpg"), alt_text="Ein Bild")
    with pytest.raises(TransientError, match="still processing"):
        _adapter(httpserver).publish(
            OutgoingPost(post_id=7, title="T", text="x", media=[media]), KEY
        )
    assert all(request.path != "/api/v1/statuses" for request, _ in httpserver.log)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(404, PermanentError, id="gone"),
        pytest.param(403, PermanentError, id="forbidden-is-not-a-channel-auth-problem"),
        pytest.param(503, TransientError, id="media-host-down"),
    ],
)
def test_a_media_url_that_fails_is_reported_as_the_media_hosts_problem(
    httpserver: HTTPServer, status: int, error: type[Exception]
) -> None:
    httpserver.expect_request("/cdn/halle.jpg").respond_with_data("nope", status=status)
    media = Media(url=httpserver.url_for("/cdn/halle.jpg") + "?sig=s3cr3t", alt_text="Halle")
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(
            OutgoingPost(post_id=7, title="T", text="x", media=[media]), KEY
        )
    assert "halle.jpg" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert len(httpserver.log) == 1  # nothing was sent to Mastodon


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        pytest.param(
            401, {"error": "The access token is invalid"}, AuthError, "token is invalid", id="401"
        ),
        pytest.param(
            403,
            {"error": "This action is outside the authorized scopes"},
            AuthError,
            "outside the authorized scopes",
            id="403-scope",
        ),
        pytest.param(
            403,
            {"error": "Your login is currently disabled"},
            AuthError,
            "currently disabled",
            id="403-account-disabled",
        ),
        pytest.param(404, {"error": "Record not found"}, PermanentError, "not found", id="404"),
        pytest.param(
            422,
            {"error": "Validation failed: Text character limit of 500 exceeded"},
            PermanentError,
            "character limit of 500 exceeded",
            id="422",
        ),
        pytest.param(500, {"error": "Internal server error"}, TransientError, "Internal", id="500"),
        pytest.param(502, "<html>Bad Gateway</html>", TransientError, "Bad Gateway", id="502"),
        pytest.param(503, "Service Unavailable", TransientError, "Unavailable", id="503"),
    ],
)
def test_error_answers_map_to_typed_errors_in_mastodons_words(
    httpserver: HTTPServer,
    status: int,
    body: object,
    error: type[Exception],
    message: str,
) -> None:
    handler = httpserver.expect_oneshot_request("/api/v1/statuses", method="POST")
    if isinstance(body, dict):
        handler.respond_with_json(body, status=status)
    else:
        handler.respond_with_data(str(body), status=status, content_type="text/html")
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert message in str(caught.value)
    assert caught.value.http_status == status  # type: ignore[attr-defined]


def test_rate_limit_waits_until_x_ratelimit_reset(httpserver: HTTPServer) -> None:
    # Mastodon sends no Retry-After; X-RateLimit-Reset is an ISO 8601 time (6 decimals, UTC).
    reset = datetime.now(UTC) + timedelta(seconds=120)
    httpserver.expect_oneshot_request("/api/v1/statuses", method="POST").respond_with_json(
        {"error": "Too many requests"},
        status=429,
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        },
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert 115 <= caught.value.retry_after <= 120
    assert caught.value.message == "Too many requests"


def test_timeout_is_transient(httpserver: HTTPServer) -> None:
    release = threading.Event()  # frees the one-threaded test server once we gave up

    def slow(_request: Request) -> Response:
        release.wait(5)
        return Response(json.dumps(_status()), status=200, content_type="application/json")

    httpserver.expect_oneshot_request("/api/v1/statuses").respond_with_handler(slow)
    with pytest.raises(TransientError, match="did not answer in time"):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)
    release.set()


def test_connection_refused_is_transient() -> None:
    adapter = MastodonPublisher({"instance_url": "http://127.0.0.1:9", "access_token": TOKEN})
    with pytest.raises(TransientError, match=r"127\.0\.0\.1:9"):
        adapter.publish(POST, KEY)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<html>Mastodon</html>", id="html"),
        pytest.param("[]", id="json-list"),
        pytest.param('{"url": "https://x"}', id="no-id"),
    ],
)
def test_a_success_answer_without_a_status_is_transient(httpserver: HTTPServer, body: str) -> None:
    # Safe to retry: the same Idempotency-Key returns the status if it was created.
    httpserver.expect_oneshot_request("/api/v1/statuses").respond_with_data(body, status=200)
    with pytest.raises(TransientError):
        _adapter(httpserver).publish(POST, KEY)


def test_the_token_never_appears_in_repr_or_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/v1/statuses").respond_with_json(
        {"error": f"Token {TOKEN} was revoked"}, status=401
    )
    adapter = _adapter(httpserver)
    error = refused_credentials(adapter, TOKEN, POST, KEY)
    assert "***" in error.message


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("Hallo", 5, id="ascii"),
        pytest.param("Grüße aus Köln, Straße", 22, id="umlauts-and-eszett"),
        pytest.param("Cafe\u0301", 4, id="combining-accent-is-one"),
        pytest.param("👨‍👩‍👧‍👦", 1, id="zwj-family-is-one"),
        pytest.param("🇩🇪🇦🇹🇨🇭", 3, id="flags-are-one-each"),
        pytest.param("👍🏽", 1, id="skin-tone-is-one"),
        pytest.param("東京で会いましょう", 9, id="cjk"),
        pytest.param("https://example.de/" + "a" * 200, 23, id="long-url-is-23"),
        pytest.param("http://x.de", 23, id="short-url-is-23-too"),
        pytest.param("Mehr: https://example.de/seite.", 6 + 23 + 1, id="trailing-period-counts"),
        pytest.param(
            "(https://de.wikipedia.org/wiki/Kassel_(Stadt))",
            1 + 23 + 1,
            id="balanced-parens-stay-in-the-url",
        ),
        pytest.param("www.example.de", 14, id="no-scheme-is-not-a-link"),
        pytest.param("@anna@social.example.de", 5, id="remote-mention-counts-username"),
        pytest.param("Hallo @anna!", 12, id="local-mention"),
        pytest.param("info@firma.de", 13, id="email-is-not-a-mention"),
        pytest.param("https://example.de/@anna@x.de", 23, id="mention-inside-url"),
    ],
)
def test_length_is_counted_as_mastodon_counts(text: str, length: int) -> None:
    adapter = MastodonPublisher({"instance_url": "https://x.example", "access_token": TOKEN})
    assert adapter.measure(text) == length


def test_validate_allows_500_and_refuses_501_as_mastodon_counts() -> None:
    adapter = MastodonPublisher({"instance_url": "https://x.example", "access_token": TOKEN})
    links = " ".join(["https://example.de/" + "x" * 80] * 20)  # 20 x 23 + 19 spaces = 479
    fits = OutgoingPost(post_id=1, title="T", text=links + " " + "ä" * 20)
    assert len(fits.text) > 1500
    assert adapter.validate(fits) == []
    too_long = OutgoingPost(post_id=1, title="T", text=links + " " + "🇩🇪" * 21)
    assert [p.message for p in adapter.validate(too_long)] == [
        "501 characters, Mastodon allows 500"
    ]


def test_a_larger_instance_limit_is_a_setting() -> None:
    adapter = MastodonPublisher(
        {"instance_url": "https://x.example", "access_token": TOKEN, "max_characters": "1000"}
    )
    assert adapter.validate(OutgoingPost(post_id=1, title="T", text="a" * 1000)) == []
    assert MastodonPublisher.text_limit == 500


@pytest.mark.parametrize(
    ("media", "message"),
    [
        pytest.param([Media(url="https://x/a.jpg")], "alt text missing", id="no-alt-text"),
        pytest.param(
            [Media(url=f"https://x/{n}.jpg", alt_text="Bild") for n in range(5)],
            "5 files; Mastodon allows 4",
            id="five-images",
        ),
        pytest.param(
            [
                Media(url="https://x/a.mp4", alt_text="Film", mime_type="video/mp4"),
                Media(url="https://x/b.jpg", alt_text="Bild"),
            ],
            "must be the only attachment",
            id="video-plus-image",
        ),
        pytest.param(
            [Media(url="https://x/a.jpg", alt_text="x" * 1501)],
            "longer than 1500",
            id="alt-text-too-long",
        ),
    ],
)
def test_validate_names_media_problems(media: list[Media], message: str) -> None:
    adapter = MastodonPublisher({"instance_url": "https://x.example", "access_token": TOKEN})
    problems = adapter.validate(OutgoingPost(post_id=1, title="T", text="Text", media=media))
    assert any(message in p.message for p in problems), problems


def test_metrics_come_from_the_status(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/statuses/103270115826048975",
        method="GET",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).respond_with_json(_status(replies_count=5, reblogs_count=6, favourites_count=11))
    receipt = Receipt(external_id="103270115826048975")
    metrics = _adapter(httpserver).fetch_metrics(receipt)
    assert (metrics.impressions, metrics.reactions, metrics.reposts, metrics.replies) == (
        None,  # Mastodon counts no views
        11,
        6,
        5,
    )
    assert metrics.link_clicks is None
    assert metrics.raw["favourites_count"] == 11


def test_metrics_of_a_deleted_status_say_it_is_gone(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/statuses/103270115826048975", method="GET"
    ).respond_with_json({"error": "Record not found"}, status=404)
    with pytest.raises(PostGone, match="Record not found"):
        _adapter(httpserver).fetch_metrics(Receipt(external_id="103270115826048975"))


@pytest.mark.parametrize("pasted", ["\u200b", "…"])
def test_a_token_with_a_character_http_cannot_carry_is_refused_without_showing_it(
    httpserver: HTTPServer, pasted: str
) -> None:
    adapter = _adapter(httpserver, access_token=TOKEN + pasted)
    for attempt in (lambda: adapter.publish(POST, KEY), adapter.check_connection):
        with pytest.raises(AuthError, match="'access_token'") as caught:
            attempt()
        assert not caught.value.retryable
        shown = "".join(traceback.format_exception(caught.value))
        for text in (str(caught.value), repr(caught.value), repr(caught.value.args), shown):
            assert TOKEN not in text
    assert httpserver.log == []


def test_check_connection_verifies_the_credentials(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/accounts/verify_credentials",
        method="GET",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).respond_with_json({"id": "14715", "username": "redaktion", "acct": "redaktion"})
    assert "@redaktion" in _adapter(httpserver).check_connection()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"access_token": TOKEN}, "instance_url", id="missing-instance"),
        pytest.param(
            {"instance_url": "social.example.de", "access_token": TOKEN},
            "instance_url",
            id="instance-without-scheme",
        ),
        pytest.param({"instance_url": "https://x.example"}, "access_token", id="missing-token"),
        pytest.param(
            {"instance_url": "https://x.example", "access_token": TOKEN, "visibility": "direct"},
            "visibility",
            id="direct-is-not-offered",
        ),
        pytest.param(
            {"instance_url": "https://x.example", "access_token": TOKEN, "language": "deutsch"},
            "language",
            id="bad-language",
        ),
        pytest.param(
            {"instance_url": "https://x.example", "access_token": TOKEN, "max_characters": "viel"},
            "max_characters",
            id="bad-limit",
        ),
        pytest.param(
            {"instance_url": "https://x.example", "access_token": TOKEN, "colour": "red"},
            "colour",
            id="unknown",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(MastodonPublisher, settings).field == field


def test_defaults_are_public_german_and_the_trailing_slash_is_dropped() -> None:
    adapter = MastodonPublisher({"instance_url": "https://x.example/", "access_token": TOKEN})
    assert adapter.settings["instance_url"] == "https://x.example"
    assert (adapter.settings["visibility"], adapter.settings["language"]) == ("public", "de")
