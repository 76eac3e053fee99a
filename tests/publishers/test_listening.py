"""Listening: Mastodon, Bluesky and Matrix mentions read from servers that answer like the
real APIs (the exact requests asserted), normalised alike, and replies sent in their terms."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishers import REGISTRY
from publishers.base import AuthError, PermanentError, RateLimited, TransientError
from publishers.bluesky import BlueskyPublisher, forget_sessions, record_key
from publishers.listening import Mention, ReplyTo
from publishers.mastodon import MastodonPublisher
from publishers.matrix import MatrixPublisher

TOKEN = token_hex(16)  # made per run: no credential lives in the code
APP_PASSWORD = "-".join(token_hex(2) for _ in range(4))
ACCESS = "eyJ0eXAiOiJhdCtqd3QifQ." + token_hex(8)
HANDLE = "redaktion.bsky.social"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
OUR_POST = f"at://{DID}/app.bsky.feed.post/3lbmq2rxkxs2k"
ROOM = "!abc123:example.de"
BOT = "@redaktion:example.de"


@pytest.fixture(autouse=True)
def _fresh_sessions() -> Iterator[None]:
    forget_sessions()
    yield
    forget_sessions()


def test_only_the_networks_that_can_listen_say_so() -> None:
    assert sorted(kind for kind, cls in REGISTRY.items() if cls.can_listen) == [
        "bluesky",
        "mastodon",
        "matrix",
    ]


def test_an_adapter_that_cannot_listen_refuses_with_its_name() -> None:
    adapter = REGISTRY["webhook"]({"url": "https://hooks.example.de/x", "secret": TOKEN})
    with pytest.raises(PermanentError, match="cannot listen"):
        adapter.fetch_mentions(None)
    with pytest.raises(PermanentError, match="cannot reply"):
        adapter.reply(ReplyTo("1"), "Danke!", "k")


# --- Mastodon ---------------------------------------------------------------------------


def _mastodon(server: HTTPServer) -> MastodonPublisher:
    return MastodonPublisher(
        {"instance_url": server.url_for("/").rstrip("/"), "access_token": TOKEN}
    )


def _notification(notification_id: str, status_id: str, **status: Any) -> dict[str, Any]:
    """A mention Notification entity as Mastodon's docs show it (trimmed)."""
    return {
        "id": notification_id,
        "type": "mention",
        "created_at": "2026-12-03T08:00:00.000Z",
        "account": {
            "id": "109",
            "username": "erika",
            "acct": "erika@social.example.org",
            "display_name": "Erika Muster",
            "url": "https://social.example.org/@erika",
        },
        "status": {
            "id": status_id,
            "created_at": "2026-12-03T07:59:58.000Z",
            "in_reply_to_id": None,
            "url": f"https://social.example.org/@erika/{status_id}",
            "content": "<p>Hallo <span>@redaktion</span>,<br>wann ist der Tag &amp; wo?</p>",
            **status,
        },
    }


def test_mastodon_reads_mention_notifications_since_the_cursor(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/notifications",
        method="GET",
        query_string={"types[]": "mention", "limit": "40", "min_id": "100"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).respond_with_json(
        [
            _notification("102", "9002", in_reply_to_id="7001"),
            _notification("101", "9001"),
            {"id": "100x", "type": "favourite", "account": {}},
        ]
    )
    found = _mastodon(httpserver).fetch_mentions("100")
    assert found.cursor == "102"
    assert [m.external_id for m in found.items] == ["9001", "9002"]  # oldest first
    first, second = found.items
    assert first == Mention(
        external_id="9001",
        kind="mention",
        text="Hallo @redaktion,\nwann ist der Tag & wo?",
        author_name="Erika Muster",
        author_handle="erika@social.example.org",
        author_url="https://social.example.org/@erika",
        url="https://social.example.org/@erika/9001",
        published_at=datetime(2026, 12, 3, 7, 59, 58, tzinfo=UTC),
    )
    assert (second.kind, second.in_reply_to) == ("reply", "7001")


def test_mastodon_reads_a_burst_of_mentions_page_by_page_from_the_cursor(
    httpserver: HTTPServer,
) -> None:
    # 42 mentions since the cursor: a full page of 40 right after it, then the last two.
    first = [_notification(str(n), str(9000 + n)) for n in range(140, 100, -1)]
    for min_id, page in (
        ("100", first),
        ("140", [_notification("142", "9142"), _notification("141", "9141")]),
    ):
        httpserver.expect_ordered_request(
            "/api/v1/notifications",
            query_string={"types[]": "mention", "limit": "40", "min_id": min_id},
        ).respond_with_json(page)
    found = _mastodon(httpserver).fetch_mentions("100")
    assert found.cursor == "142"
    assert [m.external_id for m in found.items] == [str(9000 + n) for n in range(101, 143)]
    assert len(httpserver.log) == 2


def test_mastodon_reads_at_most_five_pages_a_poll_and_goes_on_at_the_next(
    httpserver: HTTPServer,
) -> None:
    def full_page(request: Request) -> Response:
        start = int(request.args["min_id"])
        page = [_notification(str(n), str(9000 + n)) for n in range(start + 40, start, -1)]
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request("/api/v1/notifications").respond_with_handler(full_page)
    found = _mastodon(httpserver).fetch_mentions("100")
    assert [r.args["min_id"] for r, _ in httpserver.log] == ["100", "140", "180", "220", "260"]
    assert (len(found.items), found.cursor) == (200, "300")


def test_mastodon_first_read_has_no_since_id(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/notifications", query_string={"types[]": "mention", "limit": "40"}
    ).respond_with_json([])
    found = _mastodon(httpserver).fetch_mentions(None)
    assert (list(found.items), found.cursor) == ([], None)


def test_mastodon_replies_in_reply_to_the_status_naming_its_author(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/statuses",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "inbox-reply-7"},
        json={
            "status": "@erika@social.example.org Am Samstag, 10 Uhr.",
            "in_reply_to_id": "9001",
            "visibility": "public",
            "language": "de",
        },
    ).respond_with_json({"id": "9100", "url": "https://social.example.de/@redaktion/9100"})
    receipt = _mastodon(httpserver).reply(
        ReplyTo("9001", author_handle="erika@social.example.org"),
        "Am Samstag, 10 Uhr.",
        "inbox-reply-7",
    )
    assert (receipt.external_id, receipt.url) == (
        "9100",
        "https://social.example.de/@redaktion/9100",
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, AuthError, id="401"),
        pytest.param(429, RateLimited, id="429"),
        pytest.param(503, TransientError, id="503"),
    ],
)
def test_mastodon_failures_while_listening_are_typed(
    httpserver: HTTPServer, status: int, error: type[Exception]
) -> None:
    httpserver.expect_request("/api/v1/notifications").respond_with_json(
        {"error": "nope"}, status=status
    )
    with pytest.raises(error):
        _mastodon(httpserver).fetch_mentions(None)


# --- Bluesky ----------------------------------------------------------------------------


def _bluesky(server: HTTPServer) -> BlueskyPublisher:
    return BlueskyPublisher(
        {
            "service_url": server.url_for("/").rstrip("/"),
            "handle": HANDLE,
            "app_password": APP_PASSWORD,
        }
    )


def _expect_session(server: HTTPServer) -> None:
    server.expect_oneshot_request(
        "/xrpc/com.atproto.server.createSession",
        method="POST",
        json={"identifier": HANDLE, "password": APP_PASSWORD},
    ).respond_with_json(
        {"accessJwt": ACCESS, "refreshJwt": ACCESS + "r", "handle": HANDLE, "did": DID}
    )


def _bsky_notification(rkey: str, reason: str, indexed: str, **record: Any) -> dict[str, Any]:
    """A notification view as app.bsky.notification.listNotifications lists it."""
    return {
        "uri": f"at://did:plc:erika/app.bsky.feed.post/{rkey}",
        "cid": f"bafy{rkey}",
        "author": {"did": "did:plc:erika", "handle": "erika.bsky.social", "displayName": "Erika"},
        "reason": reason,
        "record": {
            "$type": "app.bsky.feed.post",
            "text": f"{reason} von Erika",
            "createdAt": indexed,
            **record,
        },
        "isRead": False,
        "indexedAt": indexed,
    }


LIST_NOTIFICATIONS = "/xrpc/app.bsky.notification.listNotifications"


def test_bluesky_reads_mentions_replies_and_quotes_after_the_cursor(
    httpserver: HTTPServer,
) -> None:
    _expect_session(httpserver)
    reply_refs = {
        "root": {"uri": OUR_POST, "cid": "bafyroot"},
        "parent": {"uri": OUR_POST, "cid": "bafyroot"},
    }
    httpserver.expect_oneshot_request(
        LIST_NOTIFICATIONS,
        method="GET",
        query_string="limit=50&reasons=mention&reasons=reply&reasons=quote",
        headers={"Authorization": f"Bearer {ACCESS}"},
    ).respond_with_json(
        {
            "notifications": [
                _bsky_notification("3c", "quote", "2026-12-03T09:00:02.000Z"),
                _bsky_notification("3b", "reply", "2026-12-03T09:00:01.000Z", reply=reply_refs),
                _bsky_notification("3l", "like", "2026-12-03T09:00:00.500Z"),
                _bsky_notification("3a", "mention", "2026-12-03T09:00:00.000Z"),
                _bsky_notification("2z", "mention", "2026-12-03T08:00:00.000Z"),
            ],
            "cursor": "older",
        }
    )
    found = _bluesky(httpserver).fetch_mentions("2026-12-03T08:00:00.000Z")
    assert found.cursor == "2026-12-03T09:00:02.000Z"
    assert [(m.external_id.rsplit("/", 1)[1], m.kind) for m in found.items] == [
        ("3a", "mention"),
        ("3b", "reply"),
        ("3c", "mention"),
    ]
    reply = found.items[1]
    assert reply.in_reply_to == OUR_POST
    assert reply.url == "https://bsky.app/profile/erika.bsky.social/post/3b"
    assert reply.author_handle == "erika.bsky.social"
    assert reply.context == {"cid": "bafy3b", "root": {"uri": OUR_POST, "cid": "bafyroot"}}


def test_bluesky_replies_with_root_and_parent_refs(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    rkey = record_key("inbox-reply-9")
    parent = "at://did:plc:erika/app.bsky.feed.post/3b"
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.repo.putRecord",
        method="POST",
        headers={"Authorization": f"Bearer {ACCESS}"},
    ).respond_with_json({"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": "bafynew"})
    receipt = _bluesky(httpserver).reply(
        ReplyTo(parent, context={"cid": "bafy3b", "root": {"uri": OUR_POST, "cid": "bafyroot"}}),
        "Danke, Erika!",
        "inbox-reply-9",
    )
    assert receipt.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    [(request, _)] = [e for e in httpserver.log if e[0].path.endswith("putRecord")]
    body = json.loads(request.data)
    assert (body["repo"], body["rkey"]) == (DID, rkey)
    assert body["record"]["reply"] == {
        "root": {"uri": OUR_POST, "cid": "bafyroot"},
        "parent": {"uri": parent, "cid": "bafy3b"},
    }
    assert body["record"]["text"] == "Danke, Erika!"


# --- Matrix -----------------------------------------------------------------------------


def _matrix(server: HTTPServer) -> MatrixPublisher:
    return MatrixPublisher(
        {"homeserver_url": server.url_for("/").rstrip("/"), "access_token": TOKEN, "room": ROOM}
    )


def _event(event_id: str, sender: str, body: str, **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "event_id": event_id,
        "sender": sender,
        "origin_server_ts": 1796288400000,
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def test_matrix_reads_the_rooms_messages_from_others_until_the_cursor(
    httpserver: HTTPServer,
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    httpserver.expect_request("/_matrix/client/v3/account/whoami", headers=auth).respond_with_json(
        {"user_id": BOT}
    )
    httpserver.expect_oneshot_request(
        f"/_matrix/client/v3/rooms/{ROOM}/messages",
        query_string={"dir": "b", "limit": "50"},
        headers=auth,
    ).respond_with_json(
        {
            "chunk": [
                _event(
                    "$c",
                    "@erika:example.org",
                    "> <@redaktion:example.de> Tag der offenen Tür\n\nWann genau?",
                    **{"m.relates_to": {"m.in_reply_to": {"event_id": "$ours"}}},
                ),
                _event("$ours2", BOT, "Unser eigener Beitrag"),
                {"type": "m.reaction", "event_id": "$r", "sender": "@x:example.org"},
                _event("$b", "@max:example.org", "Hallo Redaktion"),
                _event("$seen", "@max:example.org", "schon gelesen"),
            ],
            "end": "t47-more",
        }
    )
    found = _matrix(httpserver).fetch_mentions("$seen")
    assert found.cursor == "$c"
    assert [(m.external_id, m.kind, m.text) for m in found.items] == [
        ("$b", "mention", "Hallo Redaktion"),
        ("$c", "reply", "Wann genau?"),
    ]
    assert found.items[1].in_reply_to == "$ours"
    assert found.items[0].published_at == datetime.fromtimestamp(1796288400, UTC)


def test_matrix_replies_with_an_in_reply_to_relation(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        f"/_matrix/client/v3/rooms/{ROOM}/send/m.room.message/inbox-reply-3",
        method="PUT",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).respond_with_json({"event_id": "$reply"})
    receipt = _matrix(httpserver).reply(ReplyTo("$b"), "Hallo Max!", "inbox-reply-3")
    assert receipt.external_id == "$reply"
    [(request, _)] = list(httpserver.log)
    body = json.loads(request.data)
    assert body["body"] == "Hallo Max!"
    assert body["m.relates_to"] == {"m.in_reply_to": {"event_id": "$b"}}


# --- every listener, the same failures ---------------------------------------------------

LISTENERS = {"mastodon": _mastodon, "bluesky": _bluesky, "matrix": _matrix}


@pytest.mark.parametrize("kind", sorted(LISTENERS))
@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, AuthError, id="401"),
        pytest.param(429, RateLimited, id="429"),
        pytest.param(500, TransientError, id="500"),
        pytest.param(503, TransientError, id="503"),
    ],
)
def test_every_listener_maps_failures_to_typed_errors(
    httpserver: HTTPServer, kind: str, status: int, error: type[Exception]
) -> None:
    if kind == "bluesky":
        _expect_session(httpserver)
    httpserver.expect_request(re.compile(".*")).respond_with_json(
        {"error": "Nope", "message": "refused", "errcode": "M_UNKNOWN"}, status=status
    )
    adapter = LISTENERS[kind](httpserver)
    with pytest.raises(error):
        adapter.fetch_mentions(None)
    with pytest.raises(error):
        adapter.reply(ReplyTo("x", context={"cid": "c"}), "Danke!", "k")


@pytest.mark.parametrize("kind", sorted(LISTENERS))
def test_every_listener_times_out_as_a_transient_error(
    httpserver: HTTPServer, stalled: Callable[[Request], Response], kind: str
) -> None:
    if kind == "bluesky":
        _expect_session(httpserver)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(stalled)
    adapter = LISTENERS[kind](httpserver)
    adapter.settings["timeout_seconds"] = 0.3
    with pytest.raises(TransientError):
        adapter.fetch_mentions(None)
