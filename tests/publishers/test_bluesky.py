"""The Bluesky adapter against a local server that answers like a PDS's XRPC endpoints."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

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
from publishers.bluesky import BlueskyPublisher, forget_sessions, record_key
from tests.publishers.stubs import config_error

HANDLE = "redaktion.bsky.social"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
APP_PASSWORD = "-".join(token_hex(2) for _ in range(4))  # xxxx-xxxx-xxxx-xxxx, per run
ACCESS = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ.access-1"
REFRESH = "eyJ0eXAiOiJyZWZyZXNoK2p3dCIsImFsZyI6IkVTMjU2SyJ9.refresh-1"
KEY = "5f0c6a52d1e24d8f9a3b7c1e0d2f4a6b"
RKEY = record_key(KEY)
URI = f"at://{DID}/app.bsky.feed.post/{RKEY}"
POST = OutgoingPost(post_id=7, title="Tag der offenen Tür", text="Wir öffnen die Türen")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
PUT_RECORD = "/xrpc/com.atproto.repo.putRecord"


@pytest.fixture(autouse=True)
def _fresh_sessions() -> Iterator[None]:
    forget_sessions()
    yield
    forget_sessions()


def _adapter(server: HTTPServer, **extra: object) -> BlueskyPublisher:
    return BlueskyPublisher(
        {
            "service_url": server.url_for("/").rstrip("/"),
            "handle": HANDLE,
            "app_password": APP_PASSWORD,
            **extra,
        }
    )


def _session(access: str = ACCESS, refresh: str = REFRESH) -> dict[str, Any]:
    """com.atproto.server.createSession / refreshSession output."""
    return {
        "accessJwt": access,
        "refreshJwt": refresh,
        "handle": HANDLE,
        "did": DID,
        "email": "redaktion@example.de",
        "emailConfirmed": True,
        "active": True,
    }


def _expect_session(server: HTTPServer) -> None:
    server.expect_oneshot_request(
        CREATE_SESSION,
        method="POST",
        json={"identifier": HANDLE, "password": APP_PASSWORD},
    ).respond_with_json(_session())


def _put_answer(rkey: str = RKEY) -> dict[str, Any]:
    return {
        "uri": f"at://{DID}/app.bsky.feed.post/{rkey}",
        "cid": "bafyreibjifzpqj6o6wcq3hejh7y4z4z2vmiklkvykc57tw3pcbx3kxifpm",
        "commit": {
            "cid": "bafyreie3ogmwxpd2iu3xxa5vsq2vtdhgwzzn2y2ilbtbc5vvyc5qcegbfi",
            "rev": "3lbmq2rxkxs2k",
        },
        "validationStatus": "valid",
    }


def _sent(server: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in server.log if request.path == path]


def test_publish_signs_in_and_puts_the_post_under_a_record_key_from_the_idempotency_key(
    httpserver: HTTPServer,
) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(
        PUT_RECORD, method="POST", headers={"Authorization": f"Bearer {ACCESS}"}
    ).respond_with_json(_put_answer())
    receipt = _adapter(httpserver).publish(POST, KEY)
    assert receipt.external_id == URI
    assert receipt.url == f"https://bsky.app/profile/{HANDLE}/post/{RKEY}"
    assert receipt.http_status == 200
    (put,) = _sent(httpserver, PUT_RECORD)
    body = json.loads(put.get_data())
    created_at = body["record"].pop("createdAt")
    assert body == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": RKEY,
        "record": {"$type": "app.bsky.feed.post", "text": POST.text, "langs": ["de"]},
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created_at)
    sent_at = datetime.fromisoformat(created_at)
    assert abs((datetime.now(UTC) - sent_at).total_seconds()) < 60
    httpserver.check_assertions()


GET_RECORD = "/xrpc/com.atproto.repo.getRecord"


def test_lookup_gets_the_record_under_the_key_derived_record_key(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(
        GET_RECORD,
        method="GET",
        query_string={"repo": DID, "collection": "app.bsky.feed.post", "rkey": RKEY},
        headers={"Authorization": f"Bearer {ACCESS}"},
    ).respond_with_json(
        {
            "uri": URI,
            "cid": "bafyreibjifzpqj6o6wcq3hejh7y4z4z2vmiklkvykc57tw3pcbx3kxifpm",
            "value": {"$type": "app.bsky.feed.post", "text": POST.text},
        }
    )
    adapter = _adapter(httpserver)
    assert adapter.can_look_up is True

    receipt = adapter.lookup(POST, KEY)

    assert receipt is not None
    assert receipt.external_id == URI
    assert receipt.url == f"https://bsky.app/profile/{HANDLE}/post/{RKEY}"
    assert [r.path for r, _ in httpserver.log] == [CREATE_SESSION, GET_RECORD]
    httpserver.check_assertions()


def test_lookup_says_none_for_record_not_found(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(GET_RECORD, method="GET").respond_with_json(
        {"error": "RecordNotFound", "message": f"Could not locate record: {URI}"}, status=400
    )
    assert _adapter(httpserver).lookup(POST, KEY) is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param(400, {"error": "InvalidRequest", "message": "no"}, PermanentError, id="400"),
        pytest.param(502, {"error": "UpstreamFailure", "message": "no"}, TransientError, id="502"),
        pytest.param(200, {"cid": "bafy"}, TransientError, id="no-uri"),
    ],
)
def test_lookup_that_cannot_tell_raises(
    status: int, body: dict[str, Any], error: type[Exception], httpserver: HTTPServer
) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(GET_RECORD, method="GET").respond_with_json(
        body, status=status
    )
    with pytest.raises(error):
        _adapter(httpserver).lookup(POST, KEY)


def test_a_retry_with_the_same_key_replaces_rather_than_duplicates(httpserver: HTTPServer) -> None:
    records: dict[str, dict[str, Any]] = {}

    def put_record(request: Request) -> Response:
        # A PDS: putRecord creates or replaces the record under that key; one record remains.
        body = json.loads(request.get_data())
        assert TID.fullmatch(body["rkey"])  # app.bsky.feed.post accepts TID keys only
        records[body["rkey"]] = body["record"]
        return Response(json.dumps(_put_answer(body["rkey"])), content_type="application/json")

    _expect_session(httpserver)
    httpserver.expect_request(PUT_RECORD, method="POST").respond_with_handler(put_record)
    first = _adapter(httpserver).publish(POST, KEY)
    again = _adapter(httpserver).publish(POST, KEY)
    other = _adapter(httpserver).publish(POST, "another-key")
    assert first.external_id == again.external_id != other.external_id
    assert len(records) == 2
    assert len(_sent(httpserver, CREATE_SESSION)) == 1  # the session is reused
    basis = _adapter(httpserver).detect_deduplication()  # asks nothing: putRecord is the proof
    assert basis is not None and "record key" in basis


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(KEY, id="hex"),
        pytest.param("post-1-channel-2-rev-3", id="readable"),
        pytest.param("Schlüssel mit Umlaut 🔑", id="unicode"),
        pytest.param("", id="empty"),
    ],
)
def test_record_keys_are_stable_valid_tids_from_the_past(key: str) -> None:
    rkey = record_key(key)
    assert rkey == record_key(key)
    assert TID.fullmatch(rkey)
    value = 0
    for char in rkey:
        value = value * 32 + "234567abcdefghijklmnopqrstuvwxyz".index(char)
    assert value < 2**63
    micros = value >> 10
    assert datetime(2023, 1, 1, tzinfo=UTC).timestamp() <= micros / 1e6 < time.time()


def test_different_keys_give_different_record_keys() -> None:
    keys = {record_key(f"post-{n}") for n in range(2000)}
    assert len(keys) == 2000


def test_facets_use_utf8_byte_offsets_after_umlauts_and_emoji(httpserver: HTTPServer) -> None:
    text = (
        "Schöne Grüße 👨‍👩‍👧 an @anna.bsky.social und @niemand.example – "
        "mehr: https://example.de/über-uns. #Kassel 🎉 #Tür-zu"
    )
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.identity.resolveHandle",
        method="GET",
        query_string={"handle": "anna.bsky.social"},
    ).respond_with_json({"did": "did:plc:anna0000000000000000000"})
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.identity.resolveHandle",
        method="GET",
        query_string={"handle": "niemand.example"},
    ).respond_with_json(
        {"error": "InvalidRequest", "message": "Unable to resolve handle"}, status=400
    )
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(_put_answer())
    _adapter(httpserver).publish(OutgoingPost(post_id=7, title="T", text=text), KEY)
    (put,) = _sent(httpserver, PUT_RECORD)
    facets = json.loads(put.get_data())["record"]["facets"]
    assert facets == [
        {
            "index": {"byteStart": 38, "byteEnd": 55},
            "features": [
                {
                    "$type": "app.bsky.richtext.facet#mention",
                    "did": "did:plc:anna0000000000000000000",
                }
            ],
        },
        # @niemand.example did not resolve: it stays plain text, as in the Bluesky app.
        {
            "index": {"byteStart": 87, "byteEnd": 115},
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.de/über-uns"}
            ],
        },
        {
            "index": {"byteStart": 117, "byteEnd": 124},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Kassel"}],
        },
        {
            "index": {"byteStart": 130, "byteEnd": 138},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Tür-zu"}],
        },
    ]
    raw = text.encode("utf-8")
    covered = [raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets]
    assert covered == ["@anna.bsky.social", "https://example.de/über-uns", "#Kassel", "#Tür-zu"]


@pytest.mark.parametrize(
    ("text", "covered"),
    [
        pytest.param("(siehe https://example.de/a)", ["https://example.de/a"], id="paren"),
        pytest.param(
            "https://de.wikipedia.org/wiki/Kassel_(Stadt)!",
            ["https://de.wikipedia.org/wiki/Kassel_(Stadt)"],
            id="balanced-paren-stays",
        ),
        pytest.param("#2026 ist kein Tag, #Jahr2026 schon", ["#Jahr2026"], id="digits-only-tag"),
        pytest.param("Mail an info@firma.de", [], id="email-is-no-mention"),
        pytest.param("https://example.de/#anker", ["https://example.de/#anker"], id="hash-in-url"),
        pytest.param("www.example.de", [], id="no-scheme-no-link"),
    ],
)
def test_facet_edges(httpserver: HTTPServer, text: str, covered: list[str]) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(_put_answer())
    _adapter(httpserver).publish(OutgoingPost(post_id=7, title="T", text=text), KEY)
    (put,) = _sent(httpserver, PUT_RECORD)
    facets = json.loads(put.get_data())["record"].get("facets", [])
    raw = text.encode("utf-8")
    assert [raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets] == (
        covered
    )


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated(
    httpserver: HTTPServer,
) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(
        PUT_RECORD, method="POST", headers={"Authorization": f"Bearer {ACCESS}"}
    ).respond_with_json({"error": "ExpiredToken", "message": "Token has expired"}, status=400)
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.server.refreshSession",
        method="POST",
        headers={"Authorization": f"Bearer {REFRESH}"},
    ).respond_with_json(_session("access-2-xxxxxxxx", "refresh-2-xxxxxxxx"))
    httpserver.expect_oneshot_request(
        PUT_RECORD, method="POST", headers={"Authorization": "Bearer access-2-xxxxxxxx"}
    ).respond_with_json(_put_answer())
    assert _adapter(httpserver).publish(POST, KEY).external_id == URI
    httpserver.check_assertions()


def test_when_the_refresh_token_expired_too_it_signs_in_again(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(
        {"error": "ExpiredToken", "message": "Token has expired"}, status=400
    )
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.server.refreshSession", method="POST"
    ).respond_with_json({"error": "ExpiredToken", "message": "Token has expired"}, status=400)
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(_put_answer())
    assert _adapter(httpserver).publish(POST, KEY).external_id == URI
    assert len(_sent(httpserver, CREATE_SESSION)) == 2


def test_a_still_expired_token_after_refresh_is_an_auth_error(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    httpserver.expect_request(PUT_RECORD, method="POST").respond_with_json(
        {"error": "ExpiredToken", "message": "Token has expired"}, status=400
    )
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.server.refreshSession", method="POST"
    ).respond_with_json(_session("access-2-xxxxxxxx", "refresh-2-xxxxxxxx"))
    with pytest.raises(AuthError, match="ExpiredToken: Token has expired"):
        _adapter(httpserver).publish(POST, KEY)


def test_a_refused_token_drops_the_session_so_the_next_attempt_signs_in(
    httpserver: HTTPServer,
) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(
        {"error": "AuthenticationRequired", "message": "Token could not be verified"},
        status=401,
    )
    with pytest.raises(AuthError, match="AuthenticationRequired: Token could not be verified"):
        _adapter(httpserver).publish(POST, KEY)
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(_put_answer())
    assert _adapter(httpserver).publish(POST, KEY).external_id == URI
    assert len(_sent(httpserver, CREATE_SESSION)) == 2


def test_images_are_fetched_uploaded_as_blobs_and_embedded_with_alt_text(
    httpserver: HTTPServer,
) -> None:
    blob = {
        "$type": "blob",
        "ref": {"$link": "bafkreibabalobzn6cd366ukcsjycp4yymjymgfxcv6xczmlgpemzkz3cfa"},
        "mimeType": "image/png",
        "size": len(PNG),
    }
    _expect_session(httpserver)
    httpserver.expect_oneshot_request("/cdn/halle.png", method="GET").respond_with_data(
        PNG, content_type="image/png"
    )
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.repo.uploadBlob",
        method="POST",
        data=PNG,
        headers={"Authorization": f"Bearer {ACCESS}", "Content-Type": "image/png"},
    ).respond_with_json({"blob": blob})
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(_put_answer())
    media = Media(url=httpserver.url_for("/cdn/halle.png"), alt_text="Die Halle von außen")
    post = OutgoingPost(post_id=7, title="T", text="Bild", media=[media])
    _adapter(httpserver).publish(post, KEY)
    (put,) = _sent(httpserver, PUT_RECORD)
    assert json.loads(put.get_data())["record"]["embed"] == {
        "$type": "app.bsky.embed.images",
        "images": [{"alt": "Die Halle von außen", "image": blob}],
    }
    (fetch,) = _sent(httpserver, "/cdn/halle.png")
    assert "Authorization" not in fetch.headers
    httpserver.check_assertions()


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        pytest.param(b"\xff" * 1_000_001, "image/jpeg", "1,000,001 bytes", id="over-1-mb"),
        pytest.param(b"\x00" * 100, "video/mp4", "only images", id="video"),
    ],
)
def test_media_bluesky_cannot_carry_is_permanent_and_posts_nothing(
    httpserver: HTTPServer, content: bytes, content_type: str, message: str
) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request("/cdn/file").respond_with_data(
        content, content_type=content_type
    )
    media = Media(url=httpserver.url_for("/cdn/file"), alt_text="Datei")
    with pytest.raises(PermanentError, match=message):
        _adapter(httpserver).publish(
            OutgoingPost(post_id=7, title="T", text="x", media=[media]), KEY
        )
    assert _sent(httpserver, PUT_RECORD) == []


@pytest.mark.parametrize(
    ("path", "status", "body", "error", "message"),
    [
        pytest.param(
            CREATE_SESSION,
            401,
            {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
            AuthError,
            "AuthenticationRequired: Invalid identifier or password",
            id="wrong-app-password",
        ),
        pytest.param(
            CREATE_SESSION,
            401,
            {"error": "AccountTakedown", "message": "Account has been taken down"},
            AuthError,
            "AccountTakedown",
            id="takedown",
        ),
        pytest.param(
            PUT_RECORD,
            400,
            {
                "error": "InvalidRequest",
                "message": "Invalid app.bsky.feed.post record: Record/text must not be longer "
                "than 300 graphemes",
            },
            PermanentError,
            "InvalidRequest: Invalid app.bsky.feed.post record",
            id="400-invalid-record",
        ),
        pytest.param(
            PUT_RECORD,
            500,
            {"error": "InternalServerError", "message": "Internal Server Error"},
            TransientError,
            "InternalServerError",
            id="500",
        ),
        pytest.param(PUT_RECORD, 502, "upstream error", TransientError, "upstream", id="502"),
        pytest.param(
            PUT_RECORD,
            503,
            {"error": "Unavailable"},
            TransientError,
            "Unavailable",
            id="503-error-only",
        ),
    ],
)
def test_xrpc_errors_map_to_typed_errors_with_name_and_message(
    httpserver: HTTPServer,
    path: str,
    status: int,
    body: object,
    error: type[Exception],
    message: str,
) -> None:
    if path != CREATE_SESSION:
        _expect_session(httpserver)
    handler = httpserver.expect_oneshot_request(path, method="POST")
    if isinstance(body, dict):
        handler.respond_with_json(body, status=status)
    else:
        handler.respond_with_data(str(body), status=status, content_type="text/plain")
    with pytest.raises(error) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert message in str(caught.value)
    assert caught.value.http_status == status  # type: ignore[attr-defined]


def test_rate_limit_waits_until_ratelimit_reset(httpserver: HTTPServer) -> None:
    # Bluesky sends the IETF draft headers; RateLimit-Reset is epoch seconds.
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        headers={
            "RateLimit-Limit": "5000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(time.time()) + 90),
            "RateLimit-Policy": "5000;w=3600",
        },
    )
    with pytest.raises(RateLimited) as caught:
        _adapter(httpserver).publish(POST, KEY)
    assert 85 <= caught.value.retry_after <= 91
    assert caught.value.message == "RateLimitExceeded: Rate Limit Exceeded"


def test_timeout_is_transient(httpserver: HTTPServer) -> None:
    release = threading.Event()  # frees the one-threaded test server once we gave up

    def slow(_request: Request) -> Response:
        release.wait(5)
        return Response(json.dumps(_session()), content_type="application/json")

    httpserver.expect_oneshot_request(CREATE_SESSION).respond_with_handler(slow)
    with pytest.raises(TransientError, match="did not answer in time"):
        _adapter(httpserver, timeout_seconds=1).publish(POST, KEY)
    release.set()


def test_connection_refused_is_transient() -> None:
    adapter = BlueskyPublisher(
        {"service_url": "http://127.0.0.1:9", "handle": HANDLE, "app_password": APP_PASSWORD}
    )
    with pytest.raises(TransientError, match=r"127\.0\.0\.1:9"):
        adapter.publish(POST, KEY)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(CREATE_SESSION, "<html>Bluesky</html>", id="session-html"),
        pytest.param(CREATE_SESSION, '{"did": "did:plc:x"}', id="session-without-tokens"),
        pytest.param(PUT_RECORD, "not json", id="put-not-json"),
    ],
)
def test_unreadable_success_answers_are_transient(
    httpserver: HTTPServer, path: str, body: str
) -> None:
    if path != CREATE_SESSION:
        _expect_session(httpserver)
    httpserver.expect_oneshot_request(path, method="POST").respond_with_data(body, status=200)
    with pytest.raises(TransientError):
        _adapter(httpserver).publish(POST, KEY)


def test_password_and_tokens_never_appear_in_repr_or_errors(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(PUT_RECORD, method="POST").respond_with_json(
        {
            "error": "InvalidRequest",
            "message": f"bad {ACCESS} / {REFRESH} / {APP_PASSWORD}",
        },
        status=400,
    )
    adapter = _adapter(httpserver)
    assert APP_PASSWORD not in repr(adapter)
    with pytest.raises(PermanentError) as caught:
        adapter.publish(POST, KEY)
    for secret in (ACCESS, REFRESH, APP_PASSWORD):
        assert secret not in str(caught.value)
        assert secret not in repr(adapter)


def _offline() -> BlueskyPublisher:
    return BlueskyPublisher({"handle": HANDLE, "app_password": APP_PASSWORD})


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("Hallo", 5, id="ascii"),
        pytest.param("Grüße aus Köln, Straße", 22, id="umlauts-and-eszett"),
        pytest.param("Cafe\u0301", 4, id="combining-accent-is-one"),
        pytest.param("👨‍👩‍👧‍👦", 1, id="zwj-family-is-one"),
        pytest.param("🏳️‍🌈", 1, id="zwj-flag-is-one"),
        pytest.param("🇩🇪🇦🇹🇨🇭", 3, id="flags-are-one-each"),
        pytest.param("👍🏽", 1, id="skin-tone-is-one"),
        pytest.param("東京で会いましょう", 9, id="cjk"),
        pytest.param("https://example.de/" + "a" * 100, 119, id="urls-count-in-full"),
        pytest.param("@anna.bsky.social", 17, id="mention-counts-in-full"),
    ],
)
def test_length_is_counted_in_graphemes(text: str, length: int) -> None:
    assert _offline().measure(text) == length


def test_validate_allows_300_graphemes_and_refuses_301() -> None:
    adapter = _offline()
    assert adapter.validate(OutgoingPost(post_id=1, title="T", text="ä" * 299 + "🇩🇪")) == []
    problems = adapter.validate(OutgoingPost(post_id=1, title="T", text="ä" * 300 + "🇩🇪"))
    assert [p.message for p in problems] == ["301 graphemes, Bluesky allows 300"]


def test_validate_also_enforces_the_3000_byte_limit() -> None:
    family = "👨‍👩‍👧‍👦"  # one grapheme, 25 UTF-8 bytes
    problems = _offline().validate(OutgoingPost(post_id=1, title="T", text=family * 121))
    assert [p.message for p in problems] == ["3025 bytes (UTF-8), Bluesky allows 3000"]


def test_validate_counts_the_appended_link() -> None:
    link = "https://example.de/" + "a" * 100
    post = OutgoingPost(post_id=1, title="T", text="x" * 190, link=link)
    assert [p.message for p in _offline().validate(post)] == ["311 graphemes, Bluesky allows 300"]


@pytest.mark.parametrize(
    ("media", "message"),
    [
        pytest.param([Media(url="https://x/a.jpg")], "alt text missing", id="no-alt-text"),
        pytest.param(
            [Media(url=f"https://x/{n}.jpg", alt_text="Bild") for n in range(5)],
            "5 images; Bluesky allows 4",
            id="five-images",
        ),
        pytest.param(
            [Media(url="https://x/a.mp4", alt_text="Film", mime_type="video/mp4")],
            "only images",
            id="video",
        ),
    ],
)
def test_validate_names_media_problems(media: list[Media], message: str) -> None:
    problems = _offline().validate(OutgoingPost(post_id=1, title="T", text="Text", media=media))
    assert any(message in p.message for p in problems), problems


def test_metrics_come_from_get_posts(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(
        "/xrpc/app.bsky.feed.getPosts",
        method="GET",
        query_string={"uris": URI},
        headers={"Authorization": f"Bearer {ACCESS}"},
    ).respond_with_json(
        {
            "posts": [
                {
                    "uri": URI,
                    "cid": "bafyreibjifzpqj6o6wcq3hejh7y4z4z2vmiklkvykc57tw3pcbx3kxifpm",
                    "author": {"did": DID, "handle": HANDLE},
                    "record": {"$type": "app.bsky.feed.post", "text": "x"},
                    "replyCount": 2,
                    "repostCount": 3,
                    "likeCount": 14,
                    "quoteCount": 1,
                    "indexedAt": "2026-05-04T08:00:01.000Z",
                }
            ]
        }
    )
    metrics = _adapter(httpserver).fetch_metrics(Receipt(external_id=URI))
    # Reposts are reposts and quotes together; Bluesky counts no views or clicks.
    assert metrics == Metrics(reactions=14, reposts=4, replies=2, raw=metrics.raw)
    assert metrics.raw["posts"][0]["likeCount"] == 14


def test_metrics_of_a_deleted_post_say_it_is_gone(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request("/xrpc/app.bsky.feed.getPosts").respond_with_json(
        {"posts": []}
    )
    with pytest.raises(PostGone):
        _adapter(httpserver).fetch_metrics(Receipt(external_id=URI))


def test_check_connection_signs_in_and_reads_the_session(httpserver: HTTPServer) -> None:
    _expect_session(httpserver)
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.server.getSession",
        method="GET",
        headers={"Authorization": f"Bearer {ACCESS}"},
    ).respond_with_json({"handle": HANDLE, "did": DID, "active": True})
    answer = _adapter(httpserver).check_connection()
    assert f"@{HANDLE}" in answer
    assert DID in answer


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"app_password": APP_PASSWORD}, "handle", id="missing-handle"),
        pytest.param({"handle": HANDLE}, "app_password", id="missing-password"),
        pytest.param(
            {"handle": "redaktion", "app_password": APP_PASSWORD}, "handle", id="handle-no-domain"
        ),
        pytest.param(
            {"handle": HANDLE, "app_password": APP_PASSWORD, "service_url": "bsky.social"},
            "service_url",
            id="service-without-scheme",
        ),
        pytest.param(
            {"handle": HANDLE, "app_password": APP_PASSWORD, "language": "Deutsch!"},
            "language",
            id="bad-language",
        ),
        pytest.param(
            {"handle": HANDLE, "app_password": APP_PASSWORD, "colour": "blue"},
            "colour",
            id="unknown",
        ),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(BlueskyPublisher, settings).field == field


def test_defaults_are_bsky_social_and_german() -> None:
    adapter = BlueskyPublisher({"handle": "@Redaktion.bsky.social", "app_password": APP_PASSWORD})
    assert adapter.settings["service_url"] == "https://bsky.social"
    assert adapter.settings["handle"] == "Redaktion.bsky.social"
    assert adapter.settings["language"] == "de"
