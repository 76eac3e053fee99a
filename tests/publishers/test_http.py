"""The shared HTTP helper: timeouts, failures as typed errors, wait times, masked messages."""

from __future__ import annotations

import socket
import threading
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from requests.models import Response

from publishers import http
from publishers.base import AuthError, DeliveryError, PermanentError, RateLimited, TransientError
from publishers.http import (
    DEFAULT_TIMEOUT,
    channel_message,
    error_for,
    json_object,
    mask,
    raise_for_channel,
    request,
    retry_after,
)
from tests.publishers.servers import (
    Break,
    breaking_server,
    keep_alive_server,
    unaccepting_server,
    untrusted_tls_server,
)
from tests.publishers.stubs import answering_late

NOW = 1_800_000_000.0


def _response(status: int, body: str = "", **headers: str) -> Response:
    response = Response()
    response.status_code = status
    response._content = body.encode()
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        pytest.param({"Retry-After": "120"}, 120, id="retry-after-seconds"),
        pytest.param(
            {"Retry-After": format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True)},
            90,
            id="retry-after-date",
        ),
        pytest.param({"X-RateLimit-Reset": str(int(NOW + 300))}, 300, id="reset-epoch"),
        pytest.param(
            {
                "X-RateLimit-Reset": (
                    datetime.fromtimestamp(NOW, UTC) + timedelta(minutes=5)
                ).isoformat()
            },
            300,
            id="reset-iso",
        ),
        pytest.param({"RateLimit-Reset": "42"}, 42, id="ietf-delta"),
        pytest.param({}, 60, id="default"),
        pytest.param({"Retry-After": "soon"}, 60, id="garbage"),
    ],
)
def test_wait_is_read_from_the_rate_limit_headers(headers: dict[str, str], wait: float) -> None:
    assert retry_after(_response(429, **headers), now=NOW) == pytest.approx(wait, abs=1)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, PermanentError),
        (401, AuthError),
        (403, AuthError),
        (408, TransientError),
        (429, RateLimited),
        (500, TransientError),
        (504, TransientError),
    ],
)
def test_status_codes_map_to_error_classes(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        raise_for_channel(_response(status, '{"message": "nein"}'))


def test_success_passes_through() -> None:
    response = _response(201, "{}")
    assert raise_for_channel(response) is response


def test_messages_come_from_json_fields_or_text_and_are_cut_and_masked() -> None:
    assert channel_message(_response(400, '{"error_description": "Token abgelaufen"}')) == (
        "Token abgelaufen"
    )
    assert channel_message(_response(400, '{"errors": [{"code": 187}]}')) == '[{"code": 187}]'
    long = channel_message(_response(500, "x" * 1000))
    assert len(long) == 300
    assert long.endswith("…")
    assert channel_message(_response(401, "token s3cr3t-token rejected"), ["s3cr3t-token"]) == (
        "token *** rejected"
    )
    assert mask("abc", ["ab"]) == "abc"  # too short to be a secret worth masking


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        pytest.param({"X-RateLimit-Reset": str(int((NOW + 45) * 1000))}, 45, id="reset-epoch-ms"),
        pytest.param(
            {
                "x-rate-limit-reset": datetime.fromtimestamp(NOW + 30, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S"
                )
            },
            30,
            id="reset-iso-without-zone-is-utc",
        ),
        pytest.param({"Retry-After": "-5"}, 0, id="negative-is-now"),
        pytest.param({"Retry-After": "soon", "RateLimit-Reset": "15"}, 15, id="falls-through"),
    ],
)
def test_unusual_rate_limit_headers(headers: dict[str, str], wait: float) -> None:
    assert retry_after(_response(429, **headers), now=NOW) == pytest.approx(wait, abs=1)


class _Session(requests.Session):
    """Records what `request` was asked to send and answers with `outcome`."""

    def __init__(self, outcome: Response | Exception) -> None:
        super().__init__()
        self.outcome = outcome
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Response:  # type: ignore[override]
        self.calls.append((method, url, kwargs))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def test_every_request_has_a_timeout_and_our_user_agent() -> None:
    session = _Session(_response(200, "{}"))
    request("POST", "https://example.org/x", session=session, headers={"X-A": "1"})
    ((method, url, kwargs),) = session.calls
    assert (method, url) == ("POST", "https://example.org/x")
    assert kwargs["timeout"] == DEFAULT_TIMEOUT
    assert kwargs["headers"] == {"User-Agent": "editorial-planner/0.1", "X-A": "1"}
    assert kwargs["allow_redirects"] is False  # a redirected POST would become a GET


def test_reads_follow_redirects_and_callers_may_decide() -> None:
    session = _Session(_response(200))
    request("GET", "https://example.org/", session=session)
    request("POST", "https://example.org/", session=session, allow_redirects=True)
    assert [call[2]["allow_redirects"] for call in session.calls] == [True, True]


URL = "https://user:pw-1234@hooks.example.org:8443/hook/tok-abcdef?token=q-secret-99"


@pytest.mark.parametrize(
    ("failure", "error", "words"),
    [
        pytest.param(
            requests.ReadTimeout("read timed out"),
            TransientError,
            "did not answer in time",
            id="timeout",
        ),
        pytest.param(
            requests.ConnectionError(
                "HTTPSConnectionPool(host='hooks.example.org', port=8443): Max retries exceeded "
                "with url: /hook/tok-abcdef?token=q-secret-99 (Caused by NewConnectionError("
                "'Failed to establish a new connection: [Errno 111] Connection refused'))"
            ),
            TransientError,
            "Connection refused",
            id="refused",
        ),
        pytest.param(
            requests.ConnectionError(f"cannot reach {URL}"),
            TransientError,
            "cannot connect",
            id="url-in-reason",
        ),
        pytest.param(
            requests.exceptions.ChunkedEncodingError("broken"), TransientError, "failed", id="other"
        ),
        pytest.param(
            requests.exceptions.InvalidHeader("Invalid leading whitespace"),
            PermanentError,
            "cannot send",
            id="invalid-header",
        ),
    ],
)
def test_network_failures_name_the_host_and_hide_path_query_and_credentials(
    failure: Exception, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as caught:
        request("POST", URL, session=_Session(failure), secrets=["tok-abcdef"])
    text = str(caught.value)
    assert "hooks.example.org:8443" in text
    assert words in text
    for hidden in ("pw-1234", "user:", "tok-abcdef", "q-secret-99"):
        assert hidden not in text
    assert caught.value.__cause__ is failure


def test_a_url_without_host_is_permanent() -> None:
    with pytest.raises(PermanentError, match="cannot send to the channel"):
        request("POST", "http://")


def test_error_for_lets_an_adapter_remap_a_status() -> None:
    duplicate = _response(403, '{"detail": "You are not allowed to create a duplicate"}')
    assert error_for(_response(204)) is None
    error = error_for(duplicate)
    assert isinstance(error, AuthError)
    # What X's adapter will do: a 403 saying "duplicate" is the post, not the token.
    remapped = PermanentError(error.message, http_status=error.http_status)
    assert str(remapped) == "HTTP 403: You are not allowed to create a duplicate"


def test_a_given_message_replaces_the_body_and_is_masked_too() -> None:
    with pytest.raises(PermanentError) as caught:
        raise_for_channel(_response(400, "body"), message="bad tok-abcdef", secrets=["tok-abcdef"])
    assert caught.value.message == "bad ***"


def test_a_redirect_says_where_the_address_moved_without_its_query() -> None:
    response = _response(301, "<html>moved</html>", Location="https://new.example.org/hook?sig=abc")
    response.url = "http://old.example.org/hook"
    with pytest.raises(PermanentError) as caught:
        raise_for_channel(response)
    assert "https://new.example.org/hook" in caught.value.message
    assert "sig=abc" not in caught.value.message
    relative = _response(302, Location="/v2/hook")
    relative.url = "https://old.example.org/hook"
    assert "https://old.example.org/v2/hook" in str(error_for(relative))


def test_masking_hides_the_longest_secret_first() -> None:
    assert mask("key abcd-efgh-ijkl", ["abcd", "abcd-efgh-ijkl"]) == "key ***"


# --- refused tokens ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param('{"error": "invalid_token"}', {}, id="json-error"),
        pytest.param(
            "{}",
            {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
            id="www-authenticate",
        ),
    ],
)
def test_a_400_saying_invalid_token_is_refused_credentials(
    body: str, headers: dict[str, str]
) -> None:
    error = error_for(_response(400, body, **headers))
    assert isinstance(error, AuthError)
    assert error.http_status == 400


def test_other_400s_stay_permanent() -> None:
    assert isinstance(error_for(_response(400, '{"error": "invalid_request"}')), PermanentError)
    assert isinstance(
        error_for(_response(400, "{}", **{"WWW-Authenticate": 'Bearer error="invalid_scope"'})),
        PermanentError,
    )


# --- ambiguous outcomes --------------------------------------------------------------------


def _failure_of(method: str, url: str, **kwargs: Any) -> TransientError:
    with pytest.raises(TransientError) as caught:
        request(
            method,
            url,
            timeout=(0.5, 0.5),
            data=b'{"text": "Hallo"}',
            allow_private_network=True,
            **kwargs,
        )
    return caught.value


def test_a_refused_connection_is_not_ambiguous() -> None:
    error = _failure_of("POST", "http://127.0.0.1:9/statuses")
    assert "cannot connect to 127.0.0.1:9" in error.message
    assert error.ambiguous is False


def test_a_connect_timeout_is_not_ambiguous() -> None:
    with unaccepting_server() as url:
        error = _failure_of("POST", url + "/statuses")
    assert "did not answer in time" in error.message
    assert error.ambiguous is False


def test_an_unknown_host_is_not_ambiguous(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "social.example.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    error = _failure_of("POST", "http://social.example.invalid/statuses")
    assert "social.example.invalid" in error.message
    assert error.ambiguous is False


def test_a_refused_certificate_is_not_ambiguous(tmp_path: Path) -> None:
    with untrusted_tls_server(tmp_path) as url:
        error = _failure_of("POST", url + "/statuses")
    assert "certificate" in error.message.lower()
    assert error.ambiguous is False


@pytest.mark.parametrize("how", ["close", "reset", "truncate"])
def test_a_connection_broken_after_the_request_was_sent_is_ambiguous(how: Break) -> None:
    with breaking_server(how) as url:
        error = _failure_of("POST", url + "/statuses")
    assert "127.0.0.1" in error.message
    assert error.ambiguous is True


def test_a_read_timeout_is_ambiguous_for_a_write_only(httpserver: HTTPServer) -> None:
    with answering_late(httpserver, "/statuses"):
        error = _failure_of("POST", httpserver.url_for("/statuses"))
        assert "did not answer in time" in error.message
        assert error.ambiguous is True
    # A read cannot have published anything, however it ended.
    with answering_late(httpserver, "/statuses"):
        assert _failure_of("GET", httpserver.url_for("/statuses")).ambiguous is False


@pytest.mark.parametrize(
    ("status", "ambiguous"),
    [(504, True), (502, False), (503, False), (500, False), (408, False)],
)
def test_only_a_gateway_timeout_answer_is_ambiguous(
    status: int, ambiguous: bool, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/statuses").respond_with_data("upstream", status=status)
    response = request("POST", httpserver.url_for("/statuses"), allow_private_network=True)
    error = error_for(response)
    assert isinstance(error, TransientError)
    assert error.ambiguous is ambiguous
    got = request("GET", httpserver.url_for("/statuses"), allow_private_network=True)
    assert error_for(got).ambiguous is False  # type: ignore[union-attr]


def test_an_unreadable_success_answer_to_a_write_is_ambiguous(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/statuses").respond_with_data("<html>ok</html>", status=200)
    for method, ambiguous in (("POST", True), ("GET", False)):
        with pytest.raises(TransientError) as caught:
            json_object(
                request(method, httpserver.url_for("/statuses"), allow_private_network=True),
                "Mastodon",
                "it",
            )
        assert caught.value.ambiguous is ambiguous


SECRET = "tok-" + "7f3a9c" * 6


def _leaks(error: BaseException, secret: str) -> bool:
    """Whether `secret` shows anywhere in `error`: its text, repr, traceback or causes."""
    shown = "".join(traceback.format_exception(error)) + str(error) + repr(error)
    return secret in shown or secret in repr(error.args)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(SECRET + "\u200b", id="zero-width-space"),
        pytest.param(SECRET + "…", id="ellipsis"),
        pytest.param("\u2003" + SECRET, id="em-space"),
    ],
)
def test_a_credential_http_cannot_carry_is_an_auth_error_naming_its_setting(
    httpserver: HTTPServer, value: str
) -> None:
    with pytest.raises(AuthError) as caught:
        request(
            "POST",
            httpserver.url_for("/statuses"),
            headers={"Authorization": f"Bearer {value}"},
            secrets=[value],
            settings={"instance_url": httpserver.url_for("/"), "access_token": value},
            allow_private_network=True,
        )
    assert "'access_token'" in caught.value.message
    assert "instance_url" not in caught.value.message
    assert not caught.value.ambiguous and not caught.value.retryable
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert not _leaks(caught.value, SECRET)
    assert httpserver.log == []  # nothing reached the server


def test_a_basic_password_http_cannot_carry_is_an_auth_error_naming_its_setting(
    httpserver: HTTPServer,
) -> None:
    password = SECRET + "…"
    with pytest.raises(AuthError, match="'application_password'") as caught:
        request(
            "GET",
            httpserver.url_for("/users/me"),
            auth=("redaktion", password),
            settings={"username": "redaktion", "application_password": password},
            allow_private_network=True,
        )
    assert "'username'" not in caught.value.message
    assert not _leaks(caught.value, SECRET)


def test_an_unsendable_header_from_no_setting_is_permanent_and_shows_no_value(
    httpserver: HTTPServer,
) -> None:
    with pytest.raises(PermanentError) as caught:
        request(
            "POST",
            httpserver.url_for("/statuses"),
            headers={"X-Api-Key": SECRET + "\u200b"},
            allow_private_network=True,
        )
    assert not isinstance(caught.value, AuthError)
    assert not _leaks(caught.value, SECRET)


def test_ambiguous_is_false_unless_said() -> None:
    assert TransientError("x").ambiguous is False
    assert TransientError("x", ambiguous=True).ambiguous is True
    assert DeliveryError.ambiguous is False


# --- kept-alive connections ----------------------------------------------------------------


@pytest.fixture
def fresh_sessions() -> Iterator[None]:
    """No session of an earlier test in this thread is reused, nor left open."""
    http.close_sessions()
    yield
    http.close_sessions()


@pytest.mark.usefixtures("fresh_sessions")
def test_requests_of_one_channel_in_one_thread_share_one_connection() -> None:
    with keep_alive_server(status=201, body="{}") as server:
        for _ in range(3):
            request(
                "POST",
                server.url + "/statuses",
                session=http.session_for(7, allow_private_network=True),
                json={},
            )
        assert server.connections == 1
        assert len(server.requests) == 3


@pytest.mark.usefixtures("fresh_sessions")
def test_channels_and_threads_never_share_a_session() -> None:
    assert http.session_for(1, allow_private_network=True) is http.session_for(
        1, allow_private_network=True
    )
    assert http.session_for(1, allow_private_network=True) is not http.session_for(
        2, allow_private_network=True
    )
    elsewhere: list[object] = []
    thread = threading.Thread(
        target=lambda: elsewhere.append(http.session_for(1, allow_private_network=True))
    )
    thread.start()
    thread.join()
    assert elsewhere[0] is not http.session_for(1, allow_private_network=True)
    with keep_alive_server(status=201, body="{}") as server:
        request("POST", server.url + "/a", session=http.session_for(1, allow_private_network=True))
        request("POST", server.url + "/b", session=http.session_for(2, allow_private_network=True))
        assert server.connections == 2


@pytest.mark.usefixtures("fresh_sessions")
def test_a_session_keeps_no_cookie_from_one_request_to_the_next() -> None:
    with keep_alive_server(status=200, body="{}") as server:
        server.set_cookie = "session=abc123; Path=/"
        request(
            "GET", server.url + "/login", session=http.session_for(3, allow_private_network=True)
        )
        request(
            "POST",
            server.url + "/statuses",
            session=http.session_for(3, allow_private_network=True),
        )
        assert [headers.get("Cookie") for _, _, headers in server.requests] == [None, None]
    assert not http.session_for(3, allow_private_network=True).cookies


@pytest.mark.usefixtures("fresh_sessions")
def test_a_session_idle_too_long_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    # The server may close an idle connection just as the next request goes out, which
    # would fail ambiguously: a long-idle session starts over instead.
    monkeypatch.setattr(http, "IDLE_SECONDS", 0.0)
    with keep_alive_server(status=201, body="{}") as server:
        first = http.session_for(4, allow_private_network=True)
        request("POST", server.url + "/a", session=first)
        time.sleep(0.01)
        second = http.session_for(4, allow_private_network=True)
        request("POST", server.url + "/b", session=second)
        assert second is not first
        assert server.connections == 2
