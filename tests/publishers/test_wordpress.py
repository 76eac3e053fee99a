"""The WordPress adapter against a local server that answers like the WordPress REST API."""

from __future__ import annotations

import base64
import json
import traceback
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from publishers.base import (
    AuthError,
    ConfigError,
    Media,
    Metrics,
    OutgoingPost,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.wordpress import WordPressPublisher, content_html, slug_for
from tests.publishers.stubs import answering_late, refused_credentials

USER = "redaktion"
APP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"
BASIC = "Basic " + base64.b64encode(f"{USER}:{APP_PASSWORD}".encode()).decode()
KEY = "5f0c6a52d1e24d8f9a3b7c1e0d2f4a6b"
POST = OutgoingPost(
    post_id=7,
    title="Tag der offenen Tür",
    text="Wir öffnen die Türen 🎉\nAb 10 Uhr: https://example.de/tdot.\n\nBis bald!",
    tags=("Kassel", "Event", "kassel"),
)
SLUG = slug_for(POST.title, KEY)
SITE = "https://blog.example.de"


def _adapter(server: HTTPServer, **extra: object) -> WordPressPublisher:
    return WordPressPublisher(
        {
            "site_url": server.url_for("/").rstrip("/"),
            "username": USER,
            "application_password": APP_PASSWORD,
            **extra,
        }
    )


def _post(post_id: int = 4711, slug: str = SLUG, status: str = "publish") -> dict[str, Any]:
    """A post object as the REST API returns it (trimmed to the fields that matter here)."""
    return {
        "id": post_id,
        "date": "2026-05-04T10:00:00",
        "date_gmt": "2026-05-04T08:00:00",
        "guid": {"rendered": f"{SITE}/?p={post_id}"},
        "slug": slug,
        "status": status,
        "type": "post",
        "link": f"{SITE}/2026/05/04/{slug}/",
        "title": {"rendered": "Tag der offenen T&uuml;r"},
        "content": {"rendered": "<p>Wir öffnen die Türen</p>", "protected": False},
        "excerpt": {"rendered": "<p>Wir öffnen die Türen</p>", "protected": False},
        "author": 2,
        "categories": [3],
        "tags": [],
    }


def _tag(tag_id: int, name: str) -> dict[str, Any]:
    return {
        "id": tag_id,
        "count": 3,
        "link": f"{SITE}/tag/{name.lower()}/",
        "name": name,
        "slug": name.lower(),
        "taxonomy": "post_tag",
    }


def _error(code: str, message: str, status: int, **data: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status, **data}}


def _no_post_yet(server: HTTPServer) -> None:
    server.expect_oneshot_request(
        "/wp-json/wp/v2/posts",
        method="GET",
        query_string={"slug": SLUG, "status": "any"},
        headers={"Authorization": BASIC},
    ).respond_with_json([])


def test_publish_looks_up_the_slug_resolves_tags_then_creates_the_post(
    httpserver: HTTPServer,
) -> None:
    _no_post_yet(httpserver)
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/tags", method="GET", query_string={"search": "Kassel", "per_page": "100"}
    ).respond_with_json([_tag(5, "Kassel-Nord"), _tag(4, "Kassel")])
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/tags", method="GET", query_string={"search": "Event", "per_page": "100"}
    ).respond_with_json([])
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/tags", method="POST", json={"name": "Event"}
    ).respond_with_json(_tag(12, "Event"), status=201)
    expected_body = {
        "title": "Tag der offenen Tür",
        "content": (
            "<!-- wp:paragraph -->\n"
            "<p>Wir öffnen die Türen 🎉<br>\n"
            'Ab 10 Uhr: <a href="https://example.de/tdot">https://example.de/tdot</a>.</p>\n'
            "<!-- /wp:paragraph -->\n\n"
            "<!-- wp:paragraph -->\n<p>Bis bald!</p>\n<!-- /wp:paragraph -->"
        ),
        "excerpt": "Wir öffnen die Türen 🎉 Ab 10 Uhr: https://example.de/tdot.",
        "status": "publish",
        "slug": SLUG,
        "categories": [3, 7],
        "tags": [4, 12],
    }
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/posts",
        method="POST",
        headers={"Authorization": BASIC, "Content-Type": "application/json"},
        json=expected_body,
    ).respond_with_json(_post(), status=201)

    receipt = _adapter(httpserver, category_ids="3, 7").publish(POST, KEY)

    assert (receipt.external_id, receipt.url, receipt.http_status) == (
        "4711",
        f"{SITE}/2026/05/04/{SLUG}/",
        201,
    )
    assert receipt.raw["found_existing"] is False
    assert [(r.method, r.path) for r, _ in httpserver.log] == [
        ("GET", "/wp-json/wp/v2/posts"),
        ("GET", "/wp-json/wp/v2/tags"),
        ("GET", "/wp-json/wp/v2/tags"),
        ("POST", "/wp-json/wp/v2/tags"),
        ("POST", "/wp-json/wp/v2/posts"),
    ]
    assert all(r.headers["Authorization"] == BASIC for r, _ in httpserver.log)


def test_a_repeat_after_a_crash_finds_the_post_instead_of_creating_a_second(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/posts", method="GET", query_string={"slug": SLUG, "status": "any"}
    ).respond_with_json([_post(4711)])
    adapter = _adapter(httpserver)
    # Looking first is no promise against a create still under way: `lookup` settles that.
    assert adapter.detect_deduplication() is None

    receipt = adapter.publish(POST, KEY)

    assert (receipt.external_id, receipt.http_status) == ("4711", 200)
    assert receipt.raw["found_existing"] is True
    assert [r.method for r, _ in httpserver.log] == ["GET"]  # no POST at all


def test_lookup_finds_the_post_by_its_slug_with_the_credentials(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/posts",
        method="GET",
        query_string={"slug": SLUG, "status": "any"},
        headers={"Authorization": BASIC},
    ).respond_with_json([_post(4711, status="draft")])
    adapter = _adapter(httpserver)
    assert adapter.can_look_up is True

    receipt = adapter.lookup(POST, KEY)

    assert receipt is not None
    assert (receipt.external_id, receipt.url) == ("4711", f"{SITE}/2026/05/04/{SLUG}/")
    assert receipt.raw["status"] == "draft"
    assert len(httpserver.log) == 1
    httpserver.check_assertions()


def test_lookup_says_none_when_no_post_has_the_slug(httpserver: HTTPServer) -> None:
    # A plugin that ignores `slug` lists other posts: they are not ours.
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/posts", method="GET", query_string={"slug": SLUG, "status": "any"}
    ).respond_with_json([_post(1, slug="hello-world")])
    assert _adapter(httpserver).lookup(POST, KEY) is None
    assert [r.method for r, _ in httpserver.log] == ["GET"]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param(401, '{"code": "rest_not_logged_in"}', AuthError, id="not-logged-in"),
        pytest.param(200, "<html>maintenance</html>", TransientError, id="no-json"),
        pytest.param(503, "{}", TransientError, id="down"),
    ],
)
def test_lookup_that_cannot_tell_raises(
    status: int, body: str, error: type[Exception], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/wp-json/wp/v2/posts", method="GET").respond_with_data(
        body, status=status, content_type="application/json"
    )
    with pytest.raises(error):
        _adapter(httpserver).lookup(POST, KEY)


def test_a_lookup_hit_with_another_slug_is_not_taken_for_ours(httpserver: HTTPServer) -> None:
    # A plugin that ignores `slug` would list other posts; only our slug counts.
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="GET").respond_with_json(
        [_post(1, slug="hello-world")]
    )
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        _post(4712), status=201
    )
    receipt = _adapter(httpserver).publish(OutgoingPost(post_id=7, title=POST.title, text="x"), KEY)
    assert receipt.external_id == "4712"


def test_editor_markup_is_escaped_never_sent_as_html(httpserver: HTTPServer) -> None:
    post = OutgoingPost(
        post_id=8,
        title='Neu: <img src=x onerror="alert(1)"> & mehr',
        text='<script>alert("x")</script> & <b>fett</b>\n\njavascript:alert(1) '
        "https://example.de/?a=1&q='x'y\"><b>",
    )
    slug = slug_for(post.title, KEY)
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/posts", method="GET", query_string={"slug": slug, "status": "any"}
    ).respond_with_json([])
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        _post(9, slug=slug), status=201
    )
    _adapter(httpserver).publish(post, KEY)
    body = json.loads(httpserver.log[-1][0].get_data())
    assert body["title"] == 'Neu: &lt;img src=x onerror="alert(1)"&gt; & mehr'
    assert body["content"] == (
        "<!-- wp:paragraph -->\n"
        '<p>&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;fett&lt;/b&gt;</p>\n'
        "<!-- /wp:paragraph -->\n\n"
        "<!-- wp:paragraph -->\n"
        '<p>javascript:alert(1) <a href="https://example.de/?a=1&amp;q=&#x27;x&#x27;y">'
        "https://example.de/?a=1&amp;q='x'y</a>\"&gt;&lt;b&gt;</p>\n"
        "<!-- /wp:paragraph -->"
    )
    assert body["excerpt"] == '&lt;script&gt;alert("x")&lt;/script&gt; & &lt;b&gt;fett&lt;/b&gt;'
    assert "<script" not in json.dumps(body)


def test_the_posts_link_is_appended_when_the_text_lacks_it(httpserver: HTTPServer) -> None:
    _no_post_yet(httpserver)
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        _post(), status=201
    )
    post = OutgoingPost(post_id=7, title=POST.title, text="Mehr dazu:", link="https://example.de/a")
    _adapter(httpserver).publish(post, KEY)
    assert json.loads(httpserver.log[-1][0].get_data())["content"] == content_html(
        "Mehr dazu:\n\nhttps://example.de/a"
    )
    assert content_html("Mehr dazu:\n\nhttps://example.de/a").endswith(
        '<p><a href="https://example.de/a">https://example.de/a</a></p>\n<!-- /wp:paragraph -->'
    )


def test_a_tag_created_meanwhile_is_taken_from_term_exists(httpserver: HTTPServer) -> None:
    _no_post_yet(httpserver)
    httpserver.expect_oneshot_request("/wp-json/wp/v2/tags", method="GET").respond_with_json([])
    httpserver.expect_oneshot_request("/wp-json/wp/v2/tags", method="POST").respond_with_json(
        _error(
            "term_exists",
            "A term with the name provided already exists.",
            400,
            term_id=31,
        ),
        status=400,
    )
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        _post(), status=201
    )
    _adapter(httpserver).publish(
        OutgoingPost(post_id=7, title=POST.title, text="x", tags=["#Messe"]), KEY
    )
    assert json.loads(httpserver.log[2][0].get_data()) == {"name": "Messe"}
    assert json.loads(httpserver.log[-1][0].get_data())["tags"] == [31]


def test_tag_names_are_compared_unescaped(httpserver: HTTPServer) -> None:
    _no_post_yet(httpserver)
    httpserver.expect_oneshot_request("/wp-json/wp/v2/tags", method="GET").respond_with_json(
        [_tag(8, "B&amp;B")]
    )
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        _post(), status=201
    )
    _adapter(httpserver).publish(
        OutgoingPost(post_id=7, title=POST.title, text="x", tags=["b&b"]), KEY
    )
    assert json.loads(httpserver.log[-1][0].get_data())["tags"] == [8]


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        pytest.param(
            401,
            _error(
                "incorrect_password",
                "The provided password is an invalid application password.",
                401,
            ),
            AuthError,
            "invalid application password",
            id="401-incorrect-password",
        ),
        pytest.param(
            401,
            _error(
                "invalid_username",
                "<strong>Error:</strong> Unknown username. Check again or try your email address.",
                401,
            ),
            AuthError,
            "Error: Unknown username.",
            id="401-unknown-user-html-stripped",
        ),
        pytest.param(
            400,
            _error(
                "rest_invalid_param",
                "Invalid parameter(s): status",
                400,
                params={"status": "Status is forbidden."},
                details={
                    "status": {
                        "code": "rest_forbidden_status",
                        "message": "Status is forbidden.",
                        "data": {"status": 401},
                    }
                },
            ),
            AuthError,
            "Authorization header",
            id="400-status-forbidden-is-missing-credentials",
        ),
        pytest.param(
            403,
            _error(
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
                403,
            ),
            AuthError,
            "not allowed to create posts",
            id="403-cannot-create",
        ),
        pytest.param(
            404,
            _error("rest_no_route", "No route was found matching the URL and request method.", 404),
            PermanentError,
            "No route was found",
            id="404-no-route",
        ),
        pytest.param(
            400,
            _error("rest_invalid_param", "Invalid parameter(s): slug", 400),
            PermanentError,
            "Invalid parameter(s): slug",
            id="400-invalid-param",
        ),
        pytest.param(
            500,
            _error(
                "internal_server_error", "There has been a critical error on this website.", 500
            ),
            TransientError,
            "critical error",
            id="500-critical-error",
        ),
        pytest.param(
            502, "<html><h1>Bad Gateway</h1></html>", TransientError, "Bad Gateway", id="502-html"
        ),
    ],
)
def test_wordpress_errors_map_to_typed_errors_with_its_message(
    httpserver: HTTPServer, status: int, body: object, error: type[Exception], words: str
) -> None:
    handler = httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="GET")
    if isinstance(body, str):
        handler.respond_with_data(body, status=status, content_type="text/html")
    else:
        handler.respond_with_json(body, status=status)
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert words in caught.value.message  # type: ignore[attr-defined]
    assert "<strong>" not in caught.value.message  # type: ignore[attr-defined]
    assert caught.value.http_status == status  # type: ignore[attr-defined]


def test_a_create_refused_after_the_lookup_is_permanent(httpserver: HTTPServer) -> None:
    _no_post_yet(httpserver)
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        _error("rest_invalid_param", "Invalid parameter(s): categories", 400), status=400
    )
    with pytest.raises(PermanentError, match=r"categories"):
        _adapter(httpserver, category_ids="999").publish(
            OutgoingPost(post_id=7, title=POST.title, text="x"), KEY
        )


def test_a_host_rate_limit_carries_its_retry_after(httpserver: HTTPServer) -> None:
    # WordPress core has no rate limit; hosts and security plugins answer 429 + Retry-After.
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "120"}
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == 120


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("<!DOCTYPE html><html><body>Willkommen</body></html>", id="html-homepage"),
        pytest.param('{"id": 1}', id="object-not-list"),
    ],
)
def test_a_lookup_answer_that_is_no_post_list_is_transient_and_creates_nothing(
    httpserver: HTTPServer, answer: str
) -> None:
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="GET").respond_with_data(
        answer, status=200
    )
    with pytest.raises(TransientError, match="site_url"):
        _adapter(httpserver).publish(POST, KEY)
    assert [r.method for r, _ in httpserver.log] == ["GET"]


def test_a_created_post_without_id_is_transient(httpserver: HTTPServer) -> None:
    # Retrying is safe: the slug lookup finds the post if it was created after all.
    _no_post_yet(httpserver)
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_data(
        "[]", status=201, content_type="application/json"
    )
    with pytest.raises(TransientError, match="without the new post's id"):
        _adapter(httpserver).publish(OutgoingPost(post_id=7, title=POST.title, text="x"), KEY)


def test_timeout_is_transient(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, "/wp-json/wp/v2/posts", "[]"),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


def test_plain_permalinks_reach_the_api_through_rest_route(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/",
        method="GET",
        query_string={"rest_route": "/wp/v2/posts", "slug": SLUG, "status": "any"},
    ).respond_with_json([_post()])
    receipt = _adapter(httpserver, pretty_permalinks="no").publish(POST, KEY)
    assert receipt.external_id == "4711"


def test_the_password_never_appears_in_repr_or_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts").respond_with_json(
        _error("incorrect_password", f"password {APP_PASSWORD} is wrong", 401), status=401
    )
    adapter = _adapter(httpserver)
    refused_credentials(adapter, APP_PASSWORD, POST, KEY)


@pytest.mark.parametrize("pasted", ["\u200b", "…"])
def test_an_application_password_http_cannot_carry_is_refused_without_showing_it(
    httpserver: HTTPServer, pasted: str
) -> None:
    password = APP_PASSWORD + pasted
    adapter = _adapter(httpserver, application_password=password)
    for attempt in (lambda: adapter.publish(POST, KEY), adapter.check_connection):
        with pytest.raises(AuthError, match="'application_password'") as caught:
            attempt()
        assert "'username'" not in caught.value.message
        assert not caught.value.retryable
        shown = "".join(traceback.format_exception(caught.value))
        for text in (str(caught.value), repr(caught.value), repr(caught.value.args), shown):
            assert APP_PASSWORD not in text
    assert httpserver.log == []


def test_check_connection_names_the_signed_in_user(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/users/me",
        method="GET",
        query_string={"context": "edit"},
        headers={"Authorization": BASIC},
    ).respond_with_json(
        {
            "id": 2,
            "username": USER,
            "name": "Redaktion Muster GmbH",
            "slug": USER,
            "roles": ["author"],
            "capabilities": {"edit_posts": True, "publish_posts": True, "upload_files": True},
        }
    )
    assert "as Redaktion Muster GmbH" in _adapter(httpserver).check_connection()


def test_check_connection_says_when_the_user_may_not_publish(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/wp-json/wp/v2/users/me").respond_with_json(
        {"id": 3, "name": "Gast", "roles": ["contributor"], "capabilities": {"edit_posts": True}}
    )
    with pytest.raises(AuthError, match="publish_posts"):
        _adapter(httpserver).check_connection()
    # Submitting for review needs only edit_posts.
    assert "as Gast" in _adapter(httpserver, post_status="pending").check_connection()


def test_check_connection_maps_not_logged_in(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/wp-json/wp/v2/users/me").respond_with_json(
        _error("rest_not_logged_in", "You are not currently logged in.", 401), status=401
    )
    with pytest.raises(AuthError, match="not currently logged in"):
        _adapter(httpserver).check_connection()


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param("Tag der offenen Tür", "tag-der-offenen-tuer", id="umlaut"),
        pytest.param("Straße & Maß – jetzt!", "strasse-mass-jetzt", id="eszett-dash"),
        pytest.param("Café Ñandú", "cafe-nandu", id="accents"),
        pytest.param("🎉 Party 👩‍👩‍👧 🇩🇪", "party", id="emoji-zwj-flag"),
        pytest.param("東京オフィス", "post", id="cjk-only"),
        pytest.param("", "post", id="empty"),
        pytest.param("x" * 80, "x" * 60, id="long-without-hyphen"),
        pytest.param("a" * 59 + " " + "b" * 30, "a" * 59, id="cut-at-a-word-end"),
        pytest.param("a" * 60 + " b", "a" * 60, id="word-ends-at-the-limit"),
        pytest.param(
            "ein-langer-titel " * 6,
            "ein-langer-titel-ein-langer-titel-ein-langer-titel-ein",
            id="long",
        ),
    ],
)
def test_slug_is_ascii_title_plus_a_stable_key_hash(title: str, expected: str) -> None:
    slug = slug_for(title, KEY)
    words, short = slug.rsplit("-", 1)
    assert words == expected
    assert len(short) == 10
    assert slug == slug_for(title, KEY)
    assert slug != slug_for(title, KEY + "x")


def test_no_length_limit_and_problems_for_the_editor() -> None:
    adapter = WordPressPublisher(
        {"site_url": SITE, "username": USER, "application_password": APP_PASSWORD}
    )
    long_text = "Grüße 👩‍👩‍👧 aus Köln 東京 e\u0301 https://example.de/x " * 5000
    assert adapter.validate(OutgoingPost(post_id=1, title="T", text=long_text)) == []
    assert adapter.measure("e\u0301ß") == 3
    problems = adapter.validate(
        OutgoingPost(post_id=1, title=" ", text="x", media=[Media("https://x/a.jpg", " ")])
    )
    # Images are uploaded to the media library; one without alt text is refused.
    assert sorted(p.code for p in problems) == ["alt_text_missing", "title_missing"]
    assert adapter.reports_metrics is True  # the comment count


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({}, "site_url", id="missing-site"),
        pytest.param({"site_url": "blog.example.de"}, "site_url", id="no-scheme"),
        pytest.param({"application_password": None}, "application_password", id="no-password"),
        pytest.param({"username": ""}, "username", id="no-user"),
        pytest.param({"category_ids": "3;7"}, "category_ids", id="bad-categories"),
        pytest.param({"category_ids": "News"}, "category_ids", id="category-name"),
        pytest.param({"post_status": "future"}, "post_status", id="future"),
        pytest.param({"timeout_seconds": 0}, "timeout_seconds", id="zero-timeout"),
        pytest.param({"pretty_permalinks": "vielleicht"}, "pretty_permalinks", id="bad-bool"),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "site_url": SITE,
        "username": USER,
        "application_password": APP_PASSWORD,
    }
    if settings:
        base.update(settings)
    else:
        base = {}
    with pytest.raises(ConfigError) as caught:
        WordPressPublisher(base)
    assert caught.value.field == field


def test_settings_are_normalised_and_rebuild_the_same_adapter() -> None:
    adapter = WordPressPublisher(
        {
            "site_url": SITE + "/",
            "username": USER,
            "application_password": APP_PASSWORD,
            "category_ids": " 3 ,7",
            "post_status": "Pending",
        }
    )
    assert adapter.settings["site_url"] == SITE
    assert adapter.settings["category_ids"] == "3,7"
    assert adapter.category_ids == [3, 7]
    assert WordPressPublisher(adapter.settings).settings == adapter.settings


def test_metrics_are_the_comment_count_from_x_wp_total(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/comments",
        method="GET",
        query_string={"post": "4711", "per_page": "1"},
        headers={"Authorization": BASIC},
    ).respond_with_json(
        [{"id": 9, "post": 4711, "content": {"rendered": "<p>Danke!</p>"}}],
        headers={"X-WP-Total": "12", "X-WP-TotalPages": "12"},
    )
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id="4711"))
    assert metrics == Metrics(replies=12, raw={"X-WP-Total": 12})


def test_metrics_without_a_count_are_refused(httpserver: HTTPServer) -> None:
    # A proxy that drops X-WP-Total leaves nothing to count; guessing 0 would be wrong.
    httpserver.expect_oneshot_request("/wp-json/wp/v2/comments").respond_with_json([])
    with pytest.raises(PermanentError, match="X-WP-Total"):
        _adapter(httpserver).fetch_metrics(Receipt(external_id="4711"))
