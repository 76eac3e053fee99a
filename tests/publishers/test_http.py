"""The shared HTTP helper: wait times from rate-limit headers, messages, secret masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from requests.models import Response

from publishers.base import AuthError, PermanentError, RateLimited, TransientError
from publishers.http import channel_message, mask, raise_for_channel, retry_after

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
