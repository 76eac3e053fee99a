"""The shared HTTP helper: timeouts, failures as typed errors, wait times, masked messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from requests.models import Response

from publishers.base import AuthError, PermanentError, RateLimited, TransientError
from publishers.http import (
    DEFAULT_TIMEOUT,
    channel_message,
    error_for,
    mask,
    raise_for_channel,
    request,
    retry_after,
)

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
