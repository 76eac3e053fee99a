"""Messages: English text that carries a code and its values for the dashboard to translate."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import pytest

from planner.errors import (
    Message,
    TimeInputError,
    ValidationFailed,
    message_data,
    message_from_data,
)
from planner.timezones import parse_to_utc
from planner.ui.i18n import render_message


def test_a_message_is_its_english_text_with_code_and_params() -> None:
    message = Message("too_short", "at least {min} characters", min=10)
    assert message == "at least 10 characters"
    assert isinstance(message, str)
    assert (message.code, message.params) == ("too_short", {"min": 10})
    assert f"Pitch: {message}" == "Pitch: at least 10 characters"


def test_a_message_formats_values_with_repr_where_the_template_says_so() -> None:
    message = Message("not_a_url", "{value!r} is not a web address", value="kein-link")
    assert message == "'kein-link' is not a web address"
    assert message.params == {"value": "kein-link"}


def test_a_message_without_values_keeps_its_braces() -> None:
    assert Message("no_rule", "e.g. {FREQ}") == "e.g. {FREQ}"


def test_a_message_is_copied_with_its_code_and_without_formatting_it_again() -> None:
    # Copying and pickling go through __reduce__; the finished text may hold braces.
    message = Message("dst_gap", "{stamp} does not exist {x}", stamp="02:30 {}", x="!")
    for twin in (copy.copy(message), copy.deepcopy(message)):
        assert twin == message == "02:30 {} does not exist !"
        assert isinstance(twin, Message)
        assert (twin.code, twin.params) == ("dst_gap", {"stamp": "02:30 {}", "x": "!"})


def test_validation_failed_reads_the_same_with_messages_and_plain_strings() -> None:
    err = ValidationFailed(
        {"pitch": Message("too_short", "at least {min} characters", min=10), "x": "plain"}
    )
    assert str(err) == "Invalid input: pitch: at least 10 characters; x: plain"
    assert err.fields["pitch"].code == "too_short"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("typed", "code", "params"),
    [
        pytest.param("", "no_datetime", {}, id="empty"),
        pytest.param("soon", "bad_datetime", {"text": "soon"}, id="malformed"),
        pytest.param(
            "2027-03-28 02:30",
            "dst_gap",
            {
                "stamp": "2027-03-28 02:30",
                "zone": "Europe/Berlin",
                "before": "02:00",
                "after": "03:00",
            },
            id="dst-gap",
        ),
        pytest.param(
            "2026-10-25 02:30",
            "dst_fold",
            {
                "stamp": "2026-10-25 02:30",
                "zone": "Europe/Berlin",
                "first": "02:30 CEST",
                "first_offset": "+0200",
                "second": "02:30 CET",
                "second_offset": "+0100",
            },
            id="dst-fold",
        ),
        pytest.param("2026-12-01 09:30 EST", "unknown_zone_in_text", None, id="unknown-zone"),
    ],
)
def test_time_input_errors_carry_a_coded_message(
    typed: str, code: str, params: dict[str, str] | None
) -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc(typed, "Europe/Berlin")
    message = info.value.message
    assert isinstance(message, Message)
    assert message.code == code
    assert str(info.value) == message
    if params is not None:
        assert message.params == params


def test_an_unknown_zone_is_a_coded_time_input_error() -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc("2026-12-01 09:30", "Mars/Olympus")
    assert isinstance(info.value.message, Message)
    assert info.value.message.code == "unknown_zone"
    assert info.value.message.params == {"zone": "Mars/Olympus"}


def test_a_stored_message_comes_back_with_nested_messages_times_and_zones() -> None:
    slot = datetime(2030, 3, 31, 7, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    original = Message(
        "several_findings",
        "{first}; {rest}",
        first=Message("rule_quiet", "quiet time on this channel"),
        rest=Message("rule_next_slot", "next allowed: {slot:%Y-%m-%d %H:%M %Z}", slot=slot),
    )
    data = json.loads(json.dumps(message_data(original)))
    back = message_from_data(data)
    assert back == original == "quiet time on this channel; next allowed: 2030-03-31 09:00 CEST"
    assert (back.code, back.params["first"].code) == ("several_findings", "rule_quiet")
    assert back.params["rest"].params["slot"] == slot
    assert back.params["rest"].params["slot"].tzinfo == ZoneInfo("Europe/Berlin")
    # The dashboard says it in German from the stored form as from the original.
    assert render_message("de", back) == render_message("de", original)
    assert "31.03.2030 09:00" in render_message("de", back)


def test_a_stored_message_keeps_what_json_cannot_hold_as_its_text() -> None:
    message = Message("odd", "{path} and {items}", path=PurePosixPath("media/x"), items=(1, "a"))
    back = message_from_data(json.loads(json.dumps(message_data(message))))
    assert back == "media/x and (1, 'a')"
    assert back.params == {"path": "media/x", "items": [1, "a"]}
