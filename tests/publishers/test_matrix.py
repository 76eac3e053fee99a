"""The Matrix adapter against a local server that answers like the client-server API."""

from __future__ import annotations

import json
from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishers.base import (
    AuthError,
    DeliveryError,
    Media,
    Metrics,
    OutgoingPost,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.matrix import (
    MAX_CONTENT_BYTES,
    MAX_RELATION_PAGES,
    MatrixPublisher,
    formatted_body,
    permalink,
)
from tests.publishers.stubs import answering_late, config_error, refused_credentials

TOKEN = "syt_" + token_hex(16)  # made per run: no credential lives in the code
KEY = "planner-42-7-3"
ROOM = "!OGEhHVWSdvArJzumhm:example.de"
EVENT = "$TVpz8FZ8i4IXEmRcDG7oX3RP-KSoOCbn8UrTzxr3M9w"
POST = OutgoingPost(
    post_id=42,
    title="Tag der offenen Tür",
    text="Wir öffnen die Türen 🎉 <Kassel> & Umgebung",
    link="https://example.de/tag-der-offenen-tuer",
)
SEND = f"/_matrix/client/v3/rooms/{ROOM}/send/m.room.message/{KEY}"


def _adapter(server: HTTPServer, **extra: object) -> MatrixPublisher:
    settings = {
        "homeserver_url": server.url_for("/").rstrip("/"),
        "access_token": TOKEN,
        "room": ROOM,
        **extra,
    }
    return MatrixPublisher(settings)


def _raw_path(request: Request) -> str:
    """The path as sent, before the test server decodes %21, %3A and friends."""
    return str(request.environ["REQUEST_URI"]).split("?")[0]


def test_publish_puts_a_text_message_under_the_key_as_transaction_id(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        SEND, method="PUT", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"event_id": EVENT})
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert receipt == Receipt(
        external_id=EVENT,
        url="https://matrix.to/#/%21OGEhHVWSdvArJzumhm%3Aexample.de/"
        "%24TVpz8FZ8i4IXEmRcDG7oX3RP-KSoOCbn8UrTzxr3M9w?via=example.de",
        http_status=200,
        raw={"event_id": EVENT},
    )
    ((request, _response),) = httpserver.log
    assert _raw_path(request) == (
        "/_matrix/client/v3/rooms/%21OGEhHVWSdvArJzumhm%3Aexample.de/send/m.room.message/" + KEY
    )
    assert request.get_json() == {
        "msgtype": "m.text",
        "body": "Wir öffnen die Türen 🎉 <Kassel> & Umgebung\n\n"
        "https://example.de/tag-der-offenen-tuer",
        "format": "org.matrix.custom.html",
        "formatted_body": "Wir öffnen die Türen 🎉 &lt;Kassel&gt; &amp; Umgebung<br><br>"
        '<a href="https://example.de/tag-der-offenen-tuer">'
        "https://example.de/tag-der-offenen-tuer</a>",
    }


def test_a_key_with_path_characters_stays_one_path_segment(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("", method="PUT").respond_with_json({"event_id": EVENT})
    _adapter(httpserver).publish(POST, "post/42?x=1#y")
    assert _raw_path(httpserver.log[0][0]).endswith("/send/m.room.message/post%2F42%3Fx%3D1%23y")


@pytest.mark.parametrize(
    ("text", "html"),
    [
        pytest.param("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d", id="escaped"),
        pytest.param("\"quoted\" 'text'", "\"quoted\" 'text'", id="quotes-kept"),
        pytest.param("Zeile 1\nZeile 2", "Zeile 1<br>Zeile 2", id="line-break"),
        pytest.param(
            "Mehr: https://example.de/a?b=1&c=2.",
            'Mehr: <a href="https://example.de/a?b=1&amp;c=2">https://example.de/a?b=1&amp;c=2</a>.',
            id="link-without-its-full-stop",
        ),
        pytest.param(
            "<script>alert(1)</script>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            id="no-markup-gets-through",
        ),
    ],
)
def test_the_html_copy_is_escaped_with_clickable_links(text: str, html: str) -> None:
    assert formatted_body(text) == html


def test_a_repeat_with_the_same_key_answers_the_same_event_and_posts_once(
    httpserver: HTTPServer,
) -> None:
    # Answers as Synapse does: a known txnId from the same token gets the first event back.
    events: dict[str, str] = {}
    room: list[dict[str, Any]] = []

    def send(request: Request) -> Response:
        txn = _raw_path(request).rsplit("/", 1)[-1]
        if txn not in events:
            events[txn] = f"$event{len(events)}"
            room.append(request.get_json())
        return Response(json.dumps({"event_id": events[txn]}), content_type="application/json")

    httpserver.expect_request("", method="PUT").respond_with_handler(send)
    adapter = _adapter(httpserver)
    first = adapter.publish(POST, KEY)
    second = adapter.publish(POST, KEY)
    assert first.external_id == second.external_id == "$event0"
    assert len(room) == 1
    basis = adapter.detect_deduplication()
    assert basis is not None and basis.startswith("Matrix transaction ids (client-server API)")


def test_an_alias_is_resolved_once_through_the_room_directory(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/_matrix/client/v3/directory/room/#redaktion:example.de", method="GET"
    ).respond_with_json({"room_id": ROOM, "servers": ["example.de"]})
    httpserver.expect_request("", method="PUT").respond_with_json({"event_id": EVENT})
    adapter = _adapter(httpserver, room="#redaktion:example.de")
    adapter.publish(POST, "k1")
    receipt = adapter.publish(POST, "k2")
    paths = [_raw_path(request) for request, _ in httpserver.log]
    assert paths[0] == "/_matrix/client/v3/directory/room/%23redaktion%3Aexample.de"
    assert [p.split("/send/")[0] for p in paths[1:]] == [
        "/_matrix/client/v3/rooms/%21OGEhHVWSdvArJzumhm%3Aexample.de"
    ] * 2
    # The link names the alias, which every client can route.
    assert receipt.url == permalink("#redaktion:example.de", EVENT)
    assert receipt.url.startswith("https://matrix.to/#/%23redaktion%3Aexample.de/%24")


def test_an_unknown_alias_is_a_permanent_error_in_the_servers_words(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request("", method="GET").respond_with_json(
        {"errcode": "M_NOT_FOUND", "error": "Room alias #weg:example.de not found"}, status=404
    )
    with pytest.raises(PermanentError) as caught:
        _adapter(httpserver, room="#weg:example.de").publish(POST, KEY)
    assert caught.value.message == "M_NOT_FOUND: Room alias #weg:example.de not found"


@pytest.mark.parametrize(
    ("status", "errcode", "words", "error"),
    [
        pytest.param(
            401, "M_UNKNOWN_TOKEN", "Invalid access token passed.", AuthError, id="401-token"
        ),
        pytest.param(401, "M_MISSING_TOKEN", "Missing access token", AuthError, id="401-missing"),
        pytest.param(
            403,
            "M_FORBIDDEN",
            "User @bot:example.de not in room",
            AuthError,
            id="403-not-in-room",
        ),
        pytest.param(400, "M_BAD_JSON", "Content not JSON.", PermanentError, id="400"),
        pytest.param(413, "M_TOO_LARGE", "event too large", PermanentError, id="413"),
        pytest.param(500, "M_UNKNOWN", "Internal server error", TransientError, id="500"),
    ],
)
def test_matrix_errors_map_to_typed_errors_with_errcode_and_words(
    httpserver: HTTPServer,
    status: int,
    errcode: str,
    words: str,
    error: type[DeliveryError],
) -> None:
    httpserver.expect_oneshot_request(SEND).respond_with_json(
        {"errcode": errcode, "error": words}, status=status
    )
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.message == f"{errcode}: {words}"
    assert caught.value.http_status == status


@pytest.mark.parametrize(
    ("body", "headers", "wait"),
    [
        pytest.param(
            {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 2500},
            {"Retry-After": "3"},
            2.5,
            id="retry_after_ms-wins-over-the-rounded-header",
        ),
        pytest.param(
            {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests"},
            {"Retry-After": "7"},
            7,
            id="header-only",
        ),
        pytest.param(
            {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests"}, {}, 60, id="neither"
        ),
    ],
)
def test_rate_limit_waits_as_long_as_the_homeserver_says(
    httpserver: HTTPServer, body: dict[str, Any], headers: dict[str, str], wait: float
) -> None:
    httpserver.expect_oneshot_request(SEND).respond_with_json(body, status=429, headers=headers)
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert caught.value.retry_after == wait
    assert caught.value.message == "M_LIMIT_EXCEEDED: Too many requests"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<html>502 Bad Gateway</html>", id="html"),
        pytest.param("[]", id="json-list"),
        pytest.param('{"event_id": ""}', id="empty-event-id"),
    ],
)
def test_a_success_without_event_id_is_transient_because_a_retry_is_safe(
    httpserver: HTTPServer, body: str
) -> None:
    httpserver.expect_oneshot_request(SEND).respond_with_data(body, status=200)
    with pytest.raises(TransientError, match="no event_id"):
        _adapter(httpserver).publish(POST, KEY)


def test_a_file_that_cannot_be_fetched_fails_the_post_before_anything_is_sent(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(SEND, method="PUT").respond_with_json({"event_id": EVENT})
    httpserver.expect_request("/img.png", method="GET").respond_with_data("not found", status=404)
    post = OutgoingPost(
        post_id=42,
        title="T",
        text="Hallo Raum",
        media=[Media(httpserver.url_for("/img.png"), "Alt", mime_type="image/png")],
    )
    with pytest.raises(PermanentError) as caught:
        _adapter(httpserver).publish(post, KEY)
    assert caught.value.http_status == 404
    assert not caught.value.ambiguous
    assert [(r.method, r.path) for r, _ in httpserver.log] == [("GET", "/img.png")]


def test_a_file_the_homeserver_cannot_store_fails_the_post_with_nothing_in_the_room(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(SEND, method="PUT").respond_with_json({"event_id": EVENT})
    httpserver.expect_request("/img.png", method="GET").respond_with_data(
        b"GIF89a", content_type="image/gif"
    )
    httpserver.expect_request("/_matrix/media/v3/upload", method="POST").respond_with_json(
        {"errcode": "M_UNKNOWN", "error": "storage down"}, status=504
    )
    post = OutgoingPost(
        post_id=42,
        title="T",
        text="Hallo Raum",
        media=[Media(httpserver.url_for("/img.png"), "Alt", mime_type="image/gif")],
    )
    with pytest.raises(TransientError) as caught:
        _adapter(httpserver).publish(post, KEY)
    assert not caught.value.ambiguous  # the post was not sent: a retry is safe
    assert "PUT" not in [r.method for r, _ in httpserver.log]


def test_a_gateway_error_page_is_transient(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(SEND).respond_with_data(
        "<html>502 Bad Gateway</html>", status=502
    )
    with pytest.raises(TransientError, match="502 Bad Gateway"):
        _adapter(httpserver).publish(POST, KEY)


def test_a_slow_homeserver_times_out_as_transient(httpserver: HTTPServer) -> None:
    with (
        answering_late(httpserver, SEND, '{"event_id": "$late"}'),
        pytest.raises(TransientError, match="did not answer in time"),
    ):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)


def test_an_unreachable_homeserver_is_transient() -> None:
    adapter = MatrixPublisher(
        {"homeserver_url": "http://127.0.0.1:9", "access_token": TOKEN, "room": ROOM}
    )
    with pytest.raises(TransientError, match=r"cannot connect to 127\.0\.0\.1:9"):
        adapter.publish(POST, KEY)


def test_the_token_stays_out_of_repr_and_error_messages(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(SEND).respond_with_json(
        {"errcode": "M_UNKNOWN_TOKEN", "error": f"Unknown token {TOKEN}"}, status=401
    )
    adapter = _adapter(httpserver)
    error = refused_credentials(adapter, TOKEN, POST, KEY)
    assert error.message == "M_UNKNOWN_TOKEN: Unknown token ***"


# Each copy (plain and HTML) carries the text, so every byte of it counts twice.
@pytest.mark.parametrize(
    ("text", "bytes_per_copy"),
    [
        pytest.param("Grüße aus Kassel", 18, id="umlauts-and-eszett"),
        pytest.param("👨‍👩‍👧‍👦", 25, id="emoji-zwj-family"),
        pytest.param("🇩🇪", 8, id="flag"),
        pytest.param("e\u0301", 3, id="combining-accent"),
        pytest.param("日本語", 9, id="cjk"),
    ],
)
def test_length_is_counted_in_utf8_bytes_of_both_copies(text: str, bytes_per_copy: int) -> None:
    adapter = MatrixPublisher(
        {"homeserver_url": "https://m.example", "access_token": "t" * 8, "room": ROOM}
    )
    assert adapter.measure(text) - adapter.measure("") == 2 * bytes_per_copy


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        pytest.param("<", 1 + 4, id="escaped-in-html"),
        pytest.param("\n", 2 + 4, id="json-escape-and-br"),
        pytest.param(
            "https://e.de/x",
            14 + len('<a href="https://e.de/x">https://e.de/x</a>') + 2,  # 2 escaped "
            id="link",
        ),
    ],
)
def test_markup_the_html_copy_needs_is_counted_too(text: str, extra: int) -> None:
    adapter = MatrixPublisher(
        {"homeserver_url": "https://m.example", "access_token": "t" * 8, "room": ROOM}
    )
    assert adapter.measure(text) - adapter.measure("") == extra


def test_a_message_too_large_for_one_event_is_a_problem_for_the_editor() -> None:
    adapter = MatrixPublisher(
        {"homeserver_url": "https://m.example", "access_token": "t" * 8, "room": ROOM}
    )
    fits = OutgoingPost(post_id=1, title="", text="ß" * 14_900)  # 2 x 29,800 bytes
    too_big = OutgoingPost(post_id=1, title="", text="ß" * 15_100)  # 2 x 30,200 bytes
    assert adapter.validate(fits) == []
    (problem,) = adapter.validate(too_big)
    assert problem.field == "text"
    assert problem.message.endswith(f"Matrix room allows {MAX_CONTENT_BYTES}")


def test_metrics_count_reactions_and_thread_replies_over_all_pages(
    httpserver: HTTPServer,
) -> None:
    relations = f"/_matrix/client/v1/rooms/{ROOM}/relations/{EVENT}"
    reaction = {"type": "m.reaction", "content": {"m.relates_to": {"key": "👍"}}}
    httpserver.expect_oneshot_request(
        f"{relations}/m.annotation", query_string="limit=100"
    ).respond_with_json({"chunk": [reaction] * 100, "next_batch": "page2"})
    httpserver.expect_oneshot_request(
        f"{relations}/m.annotation", query_string="limit=100&from=page2"
    ).respond_with_json({"chunk": [reaction] * 3})
    httpserver.expect_oneshot_request(f"{relations}/m.thread").respond_with_json(
        {"chunk": [{"type": "m.room.message"}] * 2}
    )
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=EVENT))
    assert metrics == Metrics(reactions=103, replies=2, raw=metrics.raw)
    assert "counted_up_to" not in metrics.raw
    assert all(
        request.headers["Authorization"] == f"Bearer {TOKEN}" for request, _ in httpserver.log
    )


def test_a_count_that_stops_at_the_page_limit_says_it_is_a_lower_bound(
    httpserver: HTTPServer,
) -> None:
    relations = f"/_matrix/client/v1/rooms/{ROOM}/relations/{EVENT}"
    reaction = {"type": "m.reaction", "content": {"m.relates_to": {"key": "👍"}}}
    httpserver.expect_request(f"{relations}/m.annotation").respond_with_json(
        {"chunk": [reaction] * 100, "next_batch": "more"}
    )
    httpserver.expect_request(f"{relations}/m.thread").respond_with_json({"chunk": []})
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=EVENT))
    assert metrics.reactions == 100 * MAX_RELATION_PAGES
    assert metrics.raw["counted_up_to"] == {
        "pages": MAX_RELATION_PAGES,
        "relations": ["m.annotation"],
    }
    annotation_requests = [r for r, _ in httpserver.log if r.path.endswith("/m.annotation")]
    assert len(annotation_requests) == MAX_RELATION_PAGES


def test_check_connection_names_the_account_and_confirms_membership(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        "/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"user_id": "@redaktion:example.de", "device_id": "ABCDEF"})
    httpserver.expect_oneshot_request("/_matrix/client/v3/joined_rooms").respond_with_json(
        {"joined_rooms": [ROOM]}
    )
    assert _adapter(httpserver).check_connection() == (
        f"signed in as @redaktion:example.de, a member of {ROOM}"
    )


def test_check_connection_refuses_an_account_outside_the_room(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/_matrix/client/v3/account/whoami").respond_with_json(
        {"user_id": "@redaktion:example.de"}
    )
    httpserver.expect_oneshot_request("/_matrix/client/v3/joined_rooms").respond_with_json(
        {"joined_rooms": ["!other:example.de"]}
    )
    with pytest.raises(AuthError, match="has not joined"):
        _adapter(httpserver).check_connection()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"access_token": "t", "room": ROOM}, "homeserver_url", id="no-homeserver"),
        pytest.param(
            {"homeserver_url": "matrix.example.de", "access_token": "t", "room": ROOM},
            "homeserver_url",
            id="not-a-url",
        ),
        pytest.param(
            {"homeserver_url": "https://m.example", "room": ROOM}, "access_token", id="no-token"
        ),
        pytest.param(
            {"homeserver_url": "https://m.example", "access_token": "t", "room": "redaktion"},
            "room",
            id="room-without-sigil",
        ),
        pytest.param(
            {"homeserver_url": "https://m.example", "access_token": "t", "room": "#redaktion"},
            "room",
            id="alias-without-server",
        ),
        pytest.param(
            {
                "homeserver_url": "https://m.example",
                "access_token": "t",
                "room": ROOM,
                "timeout_seconds": 0,
            },
            "timeout_seconds",
            id="timeout-0",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(MatrixPublisher, settings).field == field


def test_a_room_id_without_server_part_is_accepted_and_linked_without_via() -> None:
    # Room version 12 ids have no server part.
    assert permalink("!abc123", "$e") == "https://matrix.to/#/%21abc123/%24e"
    adapter = MatrixPublisher(
        {"homeserver_url": "https://m.example/", "access_token": "t", "room": "!abc123"}
    )
    assert adapter.settings["homeserver_url"] == "https://m.example"
