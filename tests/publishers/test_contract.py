"""Every registered adapter meets the same contract and maps the same failures alike.

A new adapter adds one line to FACTORIES: how to build it against a local test server
(`base` is the server's address without a trailing slash). Put SECRET into its secret
setting, and PATIENCE into its `timeout_seconds`-like setting if it has one, so the tests
below can check that the secret never leaks and that a slow server times out (they give the
adapter 1 s for that).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from secrets import token_hex
from typing import get_args

import pytest
from pytest_httpserver import HTTPServer

from publishers import CHANNEL_KINDS, REGISTRY, adapter_for, http
from publishers.base import (
    AuthError,
    DeliveryError,
    OutgoingPost,
    PermanentError,
    Publisher,
    RateLimited,
    Receipt,
    SettingType,
    TransientError,
)
from publishers.linkedin import seconds_until_quota_reset
from tests.publishers.servers import keep_alive_server
from tests.publishers.stubs import answering_late

SECRET = "contract-" + token_hex(12)  # made per run: no credential lives in the code
# Seconds to wait for the local test server: ample on a machine busy with other tests, so
# an answer is never taken for a timeout (only the timeout test shortens it).
PATIENCE = 10
# The contract tests never publish to the file and SMTP kinds, so nothing is written there.
FEEDS = Path(tempfile.gettempdir()) / "planner-contract-feeds"
FACTORIES: dict[str, Callable[[str], Publisher]] = {
    "mastodon": lambda base: REGISTRY["mastodon"](
        {"instance_url": base, "access_token": SECRET, "timeout_seconds": PATIENCE}
    ),
    "bluesky": lambda base: REGISTRY["bluesky"](
        {
            "service_url": base,
            "handle": "redaktion.bsky.social",
            "app_password": SECRET,
            "timeout_seconds": PATIENCE,
        }
    ),
    "linkedin": lambda base: REGISTRY["linkedin"](
        {
            "organization_id": "2414183",
            "access_token": SECRET,
            "api_base": base,
            "timeout_seconds": PATIENCE,
        }
    ),
    "x": lambda base: REGISTRY["x"](
        {"access_token": SECRET, "api_base": base, "timeout_seconds": PATIENCE}
    ),
    "facebook": lambda base: REGISTRY["facebook"](
        {
            "page_id": "104656",
            "page_access_token": SECRET,
            "api_base": base,
            "timeout_seconds": PATIENCE,
        }
    ),
    "wordpress": lambda base: REGISTRY["wordpress"](
        {
            "site_url": base,
            "username": "redaktion",
            "application_password": SECRET,
            "timeout_seconds": PATIENCE,
        }
    ),
    "newsletter": lambda _base: REGISTRY["newsletter"](
        {
            "host": "127.0.0.1",
            "port": 9,
            "security": "none",
            "username": "redaktion",
            "password": SECRET,
            "from_address": "newsletter@example.de",
            "recipients": "leser@example.org",
            "unsubscribe_url": "https://example.de/abmelden",
            "timeout_seconds": PATIENCE,
        }
    ),
    "matrix": lambda base: REGISTRY["matrix"](
        {
            "homeserver_url": base,
            "access_token": SECRET,
            "room": "!OGEhHVWSdvArJzumhm:example.de",
            "timeout_seconds": PATIENCE,
        }
    ),
    "telegram": lambda base: REGISTRY["telegram"](
        {
            "bot_token": SECRET,
            "chat_id": "@heizwerk_news",
            "api_base": base,
            "timeout_seconds": PATIENCE,
        }
    ),
    "slack": lambda base: REGISTRY["slack"](
        {"webhook_url": f"{base}/services/T0123/B0456/{SECRET}", "timeout_seconds": PATIENCE}
    ),
    "teams": lambda base: REGISTRY["teams"](
        {
            "webhook_url": f"{base}/workflows/abc/triggers/manual/paths/invoke"
            f"?api-version=2016-06-01&sig={SECRET}",
            "timeout_seconds": PATIENCE,
        }
    ),
    "discord": lambda base: REGISTRY["discord"](
        {"webhook_url": f"{base}/api/webhooks/1187/{SECRET}", "timeout_seconds": PATIENCE}
    ),
    "rss": lambda _base: REGISTRY["rss"](
        {
            "path": str(FEEDS / "news.xml"),
            "feed_url": "https://www.example.de/feeds/news.xml",
            "site_url": "https://www.example.de",
            "title": "Muster GmbH – Neuigkeiten",
            "author": "Muster GmbH",
        }
    ),
    "webhook": lambda base: REGISTRY["webhook"](
        {
            "url": f"{base}/hook",
            "secret": SECRET,
            "status_url": f"{base}/status",
            "timeout_seconds": PATIENCE,
        }
    ),
    "manual": lambda _base: REGISTRY["manual"](
        {"open_url": "https://www.xing.com/pages/muster-gmbh"}
    ),
}
# "recording" is the scripted engine-test adapter that conftest registers for every test.
KINDS = sorted(k for k in REGISTRY if k != "recording")
HTTP_KINDS = [k for k in KINDS if REGISTRY[k].uses_http]
POST = OutgoingPost(post_id=1, title="Titel", text="Ein kurzer Text")
# Nothing listens on the discard port of the loopback address.
CLOSED = "http://127.0.0.1:9"


def _build(kind: str, server: HTTPServer) -> Publisher:
    return FACTORIES[kind](server.url_for("").rstrip("/"))


def impatient(kind: str, server: HTTPServer) -> Publisher:
    """The adapter of `_build`, waiting 1 s for an answer (for the timeout tests)."""
    adapter = _build(kind, server)
    assert adapter.settings["timeout_seconds"] == PATIENCE
    return adapter_for(kind, {**adapter.settings, "timeout_seconds": 1})


def test_every_registered_kind_has_a_factory_here() -> None:
    assert set(KINDS) <= set(FACTORIES)


@pytest.mark.parametrize("kind", KINDS)
def test_adapter_declares_its_channel_facts(kind: str) -> None:
    cls = REGISTRY[kind]
    assert cls.kind == kind
    assert kind in CHANNEL_KINDS
    assert cls.display_name
    assert cls.settings_spec
    names = [spec.name for spec in cls.settings_spec]
    assert len(names) == len(set(names))
    for spec in cls.settings_spec:
        assert spec.help, spec.name
        assert spec.type in get_args(SettingType), spec.name
        # Forms mask password fields; a secret shown as plain text would be on screen.
        assert spec.type == "password" if spec.secret else True, spec.name


@pytest.mark.parametrize("kind", KINDS)
def test_cleaned_settings_rebuild_the_same_adapter(kind: str, httpserver: HTTPServer) -> None:
    # The planner stores cleaned settings and builds the adapter from them again later.
    adapter = _build(kind, httpserver)
    rebuilt = adapter_for(kind, adapter.settings)
    assert type(rebuilt) is REGISTRY[kind]
    assert rebuilt.settings == adapter.settings


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_stay_out_of_repr(kind: str, httpserver: HTTPServer) -> None:
    adapter = _build(kind, httpserver)
    assert SECRET not in repr(adapter)


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_text_is_a_problem_for_the_editor(kind: str, httpserver: HTTPServer) -> None:
    problems = _build(kind, httpserver).validate(OutgoingPost(post_id=1, title="T", text=" "))
    assert [p.field for p in problems] == ["text"]


def _later(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


FAILURES = [
    pytest.param(400, {}, PermanentError, id="400"),
    pytest.param(
        400,
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        AuthError,
        id="400-invalid-token",
    ),
    pytest.param(401, {}, AuthError, id="401"),
    pytest.param(403, {}, AuthError, id="403"),
    pytest.param(404, {}, PermanentError, id="404"),
    pytest.param(408, {}, TransientError, id="408"),
    pytest.param(422, {}, PermanentError, id="422"),
    pytest.param(429, {"Retry-After": "30"}, RateLimited, id="429-seconds"),
    pytest.param(429, {"Retry-After": "DATE"}, RateLimited, id="429-date"),
    pytest.param(429, {}, RateLimited, id="429-no-header"),
    pytest.param(500, {}, TransientError, id="500"),
    pytest.param(502, {}, TransientError, id="502"),
    pytest.param(503, {}, TransientError, id="503"),
    pytest.param(504, {}, TransientError, id="504"),
]


# A 429 without Retry-After waits a minute, unless the channel documents its own signal:
# LinkedIn sends no rate-limit headers, and its daily quotas reset at midnight UTC.
NO_HEADER_WAIT: dict[str, Callable[[], float]] = {"linkedin": seconds_until_quota_reset}


def _refuse(server: HTTPServer, status: int, headers: dict[str, str], words: str) -> None:
    headers = {k: (_later(30) if v == "DATE" else v) for k, v in headers.items()}
    server.expect_request("").respond_with_data(
        f'{{"error": "{words}"}}', status=status, headers=headers, content_type="application/json"
    )


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize(("status", "headers", "error"), FAILURES)
def test_http_failures_map_to_the_same_errors(
    kind: str,
    status: int,
    headers: dict[str, str],
    error: type[DeliveryError],
    httpserver: HTTPServer,
) -> None:
    _refuse(httpserver, status, headers, "refused by the test server")
    with pytest.raises(error) as caught:
        _build(kind, httpserver).publish(POST, "key-1")
    assert "refused by the test server" in caught.value.message
    assert caught.value.http_status == status
    # Only a gateway timeout may have let the post through; every other answer says no,
    # and so does any answer to a read (WordPress looks its slug up before it writes).
    (last, _), *_ = reversed(httpserver.log)
    assert caught.value.ambiguous is (status == 504 and last.method not in ("GET", "HEAD"))
    if isinstance(caught.value, RateLimited):
        expected = 30 if headers else NO_HEADER_WAIT.get(kind, lambda: 60)()
        assert expected - 5 <= caught.value.retry_after <= expected + 1


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, AuthError, id="401"),
        pytest.param(429, RateLimited, id="429"),
        pytest.param(503, TransientError, id="503"),
    ],
)
def test_check_connection_maps_failures_alike(
    kind: str, status: int, error: type[DeliveryError], httpserver: HTTPServer
) -> None:
    _refuse(httpserver, status, {}, "not today")
    with pytest.raises(error, match="not today"):
        _build(kind, httpserver).check_connection()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, AuthError, id="401"),
        pytest.param(429, RateLimited, id="429"),
        pytest.param(503, TransientError, id="503"),
    ],
)
def test_a_lookup_that_cannot_tell_raises_a_typed_error(
    kind: str, status: int, error: type[DeliveryError], httpserver: HTTPServer
) -> None:
    # The engine settles a post only on a receipt (there) or None (surely not there).
    _refuse(httpserver, status, {}, "not today")
    adapter = _build(kind, httpserver)
    if not adapter.can_look_up:
        with pytest.raises(DeliveryError):
            adapter.lookup(POST, "key-7")
        assert httpserver.log == []
        return
    with pytest.raises(error, match="not today"):
        adapter.lookup(POST, "key-7")


@pytest.mark.parametrize("kind", KINDS)
def test_deduplication_is_proven_by_the_server_or_not_claimed(
    kind: str, httpserver: HTTPServer
) -> None:
    # A server that answers nothing useful proves nothing: a basis (for admins, short
    # enough for the channel's column) comes only from what the adapter knows for sure.
    _refuse(httpserver, 503, {}, "not today")
    try:
        basis = _build(kind, httpserver).detect_deduplication()
    except TransientError:
        assert httpserver.log  # only an adapter that asked can be left without an answer
        return
    assert basis is None or 0 < len(basis) <= 200


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_a_secret_the_channel_echoes_is_masked(kind: str, httpserver: HTTPServer) -> None:
    _refuse(httpserver, 401, {}, f"credential {SECRET} revoked")
    with pytest.raises(AuthError) as caught:
        _build(kind, httpserver).publish(POST, "key-5")
    assert "revoked" in caught.value.message
    assert SECRET not in str(caught.value)
    assert SECRET not in caught.value.message


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_timeouts_and_refused_connections_are_transient(kind: str, httpserver: HTTPServer) -> None:
    with answering_late(httpserver, "", oneshot=False), pytest.raises(TransientError):
        impatient(kind, httpserver).publish(POST, "key-2")
    with pytest.raises(TransientError) as refused:
        FACTORIES[kind](CLOSED).publish(POST, "key-3")
    assert refused.value.ambiguous is False  # nothing was sent


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_requests_of_one_channel_reuse_one_connection(kind: str) -> None:
    # Adapters are built anew for every batch; the channel's session outlives them.
    http.close_sessions()
    try:
        with keep_alive_server() as server:
            for number in range(2):
                adapter = FACTORIES[kind](server.url)
                adapter.session_key = ("contract", kind)
                with pytest.raises(DeliveryError):
                    adapter.publish(POST, f"key-{number}")
            assert len(server.requests) >= 2
            assert server.connections == 1
    finally:
        http.close_sessions()


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_malformed_error_bodies_still_give_a_typed_error(kind: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("").respond_with_data("<<<not json", status=500)
    with pytest.raises(TransientError) as caught:
        _build(kind, httpserver).publish(POST, "key-4")
    assert "not json" in caught.value.message


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize(
    "body", [pytest.param("<<<not json", id="not-json"), pytest.param("[]", id="json-list")]
)
def test_a_malformed_success_answer_is_a_receipt_or_a_typed_error(
    kind: str, body: str, httpserver: HTTPServer
) -> None:
    # Whatever a broken channel answers, the engine must get something it can record.
    httpserver.expect_request("").respond_with_data(body, status=200)
    try:
        result: object = _build(kind, httpserver).publish(POST, "key-6")
    except DeliveryError as err:
        result = err
    assert isinstance(result, Receipt | DeliveryError)


# The kinds whose channels report a published post's figures; every other kind says it
# cannot (and the metrics collection never claims its posts).
METRIC_KINDS = {
    "bluesky",
    "discord",
    "facebook",
    "linkedin",
    "mastodon",
    "matrix",
    "wordpress",
    "x",
}
# A receipt of the shape each reporting kind's publish returns.
RECEIPTS = {
    "bluesky": "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3l6oveex3ii2l",
    "discord": "1187654321098765432",
    "facebook": "104656_1234567890",
    "linkedin": "urn:li:share:7100000000000000000",
    "mastodon": "103270115826048975",
    "matrix": "$143273582443PhrSn:example.de",
    "wordpress": "4711",
    "x": "1790000000000000000",
}


def test_exactly_the_kinds_with_figures_claim_to_report_them() -> None:
    assert {k for k in KINDS if REGISTRY[k].reports_metrics} == METRIC_KINDS
    assert set(RECEIPTS) == METRIC_KINDS


@pytest.mark.parametrize("kind", sorted(set(KINDS) - METRIC_KINDS))
def test_a_kind_without_figures_refuses_without_a_request(
    kind: str, httpserver: HTTPServer
) -> None:
    with pytest.raises(PermanentError, match="reports no figures"):
        _build(kind, httpserver).fetch_metrics(Receipt(external_id="1"))
    assert httpserver.log == []


@pytest.mark.parametrize("kind", sorted(METRIC_KINDS))
@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        pytest.param(401, {}, AuthError, id="401"),
        pytest.param(404, {}, PermanentError, id="404"),
        pytest.param(429, {"Retry-After": "30"}, RateLimited, id="429"),
        pytest.param(500, {}, TransientError, id="500"),
        pytest.param(503, {}, TransientError, id="503"),
    ],
)
def test_metrics_failures_map_to_the_same_errors(
    kind: str,
    status: int,
    headers: dict[str, str],
    error: type[DeliveryError],
    httpserver: HTTPServer,
) -> None:
    _refuse(httpserver, status, headers, "refused by the test server")
    with pytest.raises(error) as caught:
        _build(kind, httpserver).fetch_metrics(Receipt(external_id=RECEIPTS[kind]))
    assert caught.value.http_status == status
    if isinstance(caught.value, RateLimited):
        assert 25 <= caught.value.retry_after <= 31


@pytest.mark.parametrize("kind", sorted(METRIC_KINDS))
def test_metrics_of_an_unreachable_channel_are_transient(kind: str, httpserver: HTTPServer) -> None:
    adapter = FACTORIES[kind](CLOSED)
    with pytest.raises(TransientError):
        adapter.fetch_metrics(Receipt(external_id=RECEIPTS[kind]))
