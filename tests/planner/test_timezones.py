"""Time at the edge: parsing what users type, DST gaps and folds, UTC round trips (no DB)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from planner.errors import TimeInputError
from planner.timezones import (
    Fold,
    format_local,
    parse_day_bound,
    parse_local_datetime,
    parse_to_utc,
    to_local,
    to_utc,
)
from tests.conftest import utc

BERLIN = "Europe/Berlin"


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz_name", "local", "expected_utc"),
    [
        pytest.param(
            BERLIN, datetime(2026, 12, 24, 9, 30), utc(2026, 12, 24, 8, 30), id="berlin-winter-CET"
        ),
        pytest.param(
            BERLIN, datetime(2027, 7, 1, 9, 30), utc(2027, 7, 1, 7, 30), id="berlin-summer-CEST"
        ),
        pytest.param(
            "America/New_York",
            datetime(2027, 1, 15, 9, 0),
            utc(2027, 1, 15, 14, 0),
            id="new-york-winter-EST",
        ),
        pytest.param(
            "America/New_York",
            datetime(2027, 7, 15, 9, 0),
            utc(2027, 7, 15, 13, 0),
            id="new-york-summer-EDT",
        ),
        pytest.param(
            "Asia/Tokyo",
            datetime(2027, 1, 15, 9, 0),
            utc(2027, 1, 15, 0, 0),
            id="tokyo-no-dst-winter",
        ),
        pytest.param(
            "Asia/Tokyo",
            datetime(2027, 7, 15, 9, 0),
            utc(2027, 7, 15, 0, 0),
            id="tokyo-no-dst-summer",
        ),
        pytest.param(
            "Asia/Tokyo",
            datetime(2027, 1, 1, 8, 0),
            utc(2026, 12, 31, 23, 0),
            id="tokyo-crosses-date-line-to-previous-day",
        ),
    ],
)
def test_local_wall_time_round_trips_through_utc(
    tz_name: str, local: datetime, expected_utc: datetime
) -> None:
    instant = to_utc(local, tz_name)

    assert instant == expected_utc
    assert instant.tzinfo is UTC
    back = to_local(instant, tz_name)
    assert back.replace(tzinfo=None) == local
    assert back.tzinfo == ZoneInfo(tz_name)


def test_one_instant_shows_as_each_users_local_time() -> None:
    instant = utc(2027, 7, 1, 7, 30)

    assert format_local(instant, BERLIN) == "2027-07-01 09:30 CEST"
    assert format_local(instant, "America/New_York") == "2027-07-01 03:30 EDT"
    assert format_local(instant, "Asia/Tokyo") == "2027-07-01 16:30 JST"
    assert format_local(utc(2026, 12, 24, 8, 30), BERLIN) == "2026-12-24 09:30 CET"


def test_to_utc_keeps_the_instant_of_an_already_aware_datetime() -> None:
    aware = datetime(2027, 1, 15, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

    assert to_utc(aware, BERLIN) == utc(2027, 1, 15, 0, 0)


# --- parsing what users type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        pytest.param("24.12.2026 09:30", utc(2026, 12, 24, 8, 30), id="german-day-first"),
        pytest.param(
            "01.02.2027 10:00", utc(2027, 2, 1, 9, 0), id="german-1-february-not-2-january"
        ),
        pytest.param("12.07.2027 10:00", utc(2027, 7, 12, 8, 0), id="german-summer-12-july"),
        pytest.param("2026-12-24 09:30", utc(2026, 12, 24, 8, 30), id="iso-space"),
        pytest.param("2026-12-24T09:30", utc(2026, 12, 24, 8, 30), id="iso-T"),
        pytest.param("  2027-07-01 09:30  ", utc(2027, 7, 1, 7, 30), id="surrounding-blanks"),
        pytest.param(
            "2027-07-01T09:30:00+00:00", utc(2027, 7, 1, 9, 30), id="explicit-offset-wins-over-zone"
        ),
        pytest.param("2027-07-01 09:30Z", utc(2027, 7, 1, 9, 30), id="explicit-Z"),
        pytest.param("2027-07-01 09:30 UTC", utc(2027, 7, 1, 9, 30), id="explicit-UTC-name"),
        # A '.' in fractional seconds must not make ISO text day-first (5 January, not 1 May).
        pytest.param("2027-01-05T09:30:00.000Z", utc(2027, 1, 5, 9, 30), id="iso-milliseconds"),
        pytest.param(
            "2027-01-05 09:30:00.5", utc(2027, 1, 5, 8, 30, 0, 500000), id="iso-fraction-local"
        ),
        pytest.param("2027.01.05 09:30", utc(2027, 1, 5, 8, 30), id="year-first-dotted"),
        pytest.param("5.1.2027 09:30", utc(2027, 1, 5, 8, 30), id="german-no-leading-zeros"),
        pytest.param("05.01.27 09:30", utc(2027, 1, 5, 8, 30), id="german-two-digit-year"),
        # 'UTC+2' means two hours ahead of UTC, not dateutil's POSIX reading (behind).
        pytest.param("2027-01-05 09:30 UTC+2", utc(2027, 1, 5, 7, 30), id="UTC-plus-hours"),
        pytest.param("2027-01-05 09:30 GMT+02:00", utc(2027, 1, 5, 7, 30), id="GMT-plus-offset"),
        pytest.param("2027-01-05T09:30UTC-5", utc(2027, 1, 5, 14, 30), id="UTC-minus-attached"),
        pytest.param("05.01.2027 09:30 utc+1", utc(2027, 1, 5, 8, 30), id="german-utc-lowercase"),
    ],
)
def test_berlin_user_input_is_parsed_to_the_utc_instant(text: str, expected_utc: datetime) -> None:
    assert parse_to_utc(text, BERLIN) == expected_utc


def test_parse_local_datetime_gives_naive_wall_time_in_the_users_zone() -> None:
    assert parse_local_datetime("24.12.2026 09:30", BERLIN) == datetime(2026, 12, 24, 9, 30)
    # An explicit offset is converted to the zone's wall time.
    assert parse_local_datetime("2027-07-01 07:30+00:00", BERLIN) == datetime(2027, 7, 1, 9, 30)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("garbage", id="words"),
        pytest.param("31.02.2027 10:00", id="31-february"),
        pytest.param("2027-13-01 10:00", id="month-13"),
        pytest.param("2027-01-01 25:00", id="hour-25"),
    ],
)
def test_malformed_input_is_refused_naming_the_text(text: str) -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc(text, BERLIN)

    assert repr(text) in str(info.value)


@pytest.mark.parametrize("abbreviation", ["EST", "CET", "MESZ"])
def test_zone_abbreviation_is_refused_not_silently_read_as_local_time(abbreviation: str) -> None:
    text = f"2027-01-05 09:30 {abbreviation}"

    with pytest.raises(TimeInputError) as info:
        parse_to_utc(text, BERLIN)

    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", [pytest.param("", id="empty"), pytest.param("   ", id="blanks")])
def test_empty_input_asks_for_a_date_and_time(text: str) -> None:
    with pytest.raises(TimeInputError, match="Enter a date and time"):
        parse_to_utc(text, BERLIN)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda z: parse_to_utc("2027-01-15 09:00", z), id="parse_to_utc"),
        pytest.param(lambda z: to_utc(datetime(2027, 1, 15, 9, 0), z), id="to_utc"),
        pytest.param(lambda z: to_local(utc(2027, 1, 15, 9, 0), z), id="to_local"),
        pytest.param(lambda z: parse_day_bound("2027-01-15", z), id="parse_day_bound"),
    ],
)
@pytest.mark.parametrize("bad_zone", ["Mars/Olympus_Mons", "Berlin", "../../etc/passwd"])
def test_unknown_zone_is_refused_naming_the_zone(
    call: Callable[[str], object], bad_zone: str
) -> None:
    with pytest.raises(TimeInputError) as info:
        call(bad_zone)

    assert repr(bad_zone) in str(info.value)


def test_to_local_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive datetime") as info:
        to_local(datetime(2027, 1, 15, 9, 0), BERLIN)

    assert "2027-01-15T09:00:00" in str(info.value)


# --- DST gap (spring forward) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tz_name"),
    [
        pytest.param("2027-03-28 02:30", BERLIN, id="berlin-iso"),
        pytest.param("28.03.2027 02:00", BERLIN, id="berlin-german-first-missing-minute"),
        pytest.param("28.03.2027 02:59", BERLIN, id="berlin-german-last-missing-minute"),
        pytest.param("2027-03-14 02:30", "America/New_York", id="new-york"),
    ],
)
def test_time_in_spring_gap_is_refused_saying_clocks_jump(text: str, tz_name: str) -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc(text, tz_name)

    message = str(info.value)
    assert "does not exist" in message
    assert "clocks jump from 02:00 to 03:00" in message
    assert tz_name in message


@pytest.mark.parametrize("fold", [None, "earlier", "later"])
def test_spring_gap_is_refused_even_when_a_fold_is_chosen(fold: Fold | None) -> None:
    with pytest.raises(TimeInputError, match="clocks jump from 02:00 to 03:00"):
        to_utc(datetime(2027, 3, 28, 2, 30), BERLIN, fold=fold)


def test_times_next_to_the_spring_gap_are_accepted() -> None:
    assert parse_to_utc("2027-03-28 01:59", BERLIN) == utc(2027, 3, 28, 0, 59)
    assert parse_to_utc("2027-03-28 03:00", BERLIN) == utc(2027, 3, 28, 1, 0)


# --- DST fold (fall back) --------------------------------------------------------------------

FOLD_TEXT = "2026-10-25 02:30"


def test_time_in_autumn_fold_is_refused_without_a_choice() -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc(FOLD_TEXT, BERLIN)

    message = str(info.value)
    assert "happens twice" in message
    assert "+0200" in message and "+0100" in message


@pytest.mark.parametrize(
    ("fold", "expected_utc"),
    [
        pytest.param("earlier", utc(2026, 10, 25, 0, 30), id="earlier-is-CEST"),
        pytest.param("later", utc(2026, 10, 25, 1, 30), id="later-is-CET"),
    ],
)
def test_fold_choice_picks_one_of_the_two_instants(fold: Fold, expected_utc: datetime) -> None:
    assert parse_to_utc(FOLD_TEXT, BERLIN, fold=fold) == expected_utc
    assert to_utc(datetime(2026, 10, 25, 2, 30), BERLIN, fold=fold) == expected_utc


def test_the_two_fold_answers_are_one_hour_apart() -> None:
    earlier = parse_to_utc(FOLD_TEXT, BERLIN, fold="earlier")
    later = parse_to_utc(FOLD_TEXT, BERLIN, fold="later")

    assert later - earlier == timedelta(hours=1)
    # Both show as the same wall-clock time in Berlin.
    assert to_local(earlier, BERLIN).replace(tzinfo=None) == datetime(2026, 10, 25, 2, 30)
    assert to_local(later, BERLIN).replace(tzinfo=None) == datetime(2026, 10, 25, 2, 30)


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        pytest.param("2026-10-25 02:30+02:00", utc(2026, 10, 25, 0, 30), id="offset-CEST"),
        pytest.param("2026-10-25 02:30+01:00", utc(2026, 10, 25, 1, 30), id="offset-CET"),
        pytest.param(
            "2026-10-25 02:30+0200",
            utc(2026, 10, 25, 0, 30),
            id="offset-as-suggested-in-the-message",
        ),
    ],
)
def test_explicit_offset_resolves_the_fold(text: str, expected_utc: datetime) -> None:
    assert parse_to_utc(text, BERLIN) == expected_utc


def test_offset_suggested_by_the_fold_error_is_accepted() -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc(FOLD_TEXT, BERLIN)
    suggestion = str(info.value).split("e.g. '")[1].split("'")[0]

    assert parse_to_utc(suggestion, BERLIN) == parse_to_utc(FOLD_TEXT, BERLIN, fold="earlier")


# --- day bounds for range filters ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tz_name", "start", "end"),
    [
        pytest.param(
            "2026-12-01", BERLIN, utc(2026, 11, 30, 23), utc(2026, 12, 1, 23), id="berlin-winter"
        ),
        pytest.param(
            "2027-07-01", BERLIN, utc(2027, 6, 30, 22), utc(2027, 7, 1, 22), id="berlin-summer"
        ),
        pytest.param(
            "2027-03-28",
            BERLIN,
            utc(2027, 3, 27, 23),
            utc(2027, 3, 28, 22),
            id="berlin-23-hour-day",
        ),
        pytest.param(
            "2026-10-25",
            BERLIN,
            utc(2026, 10, 24, 22),
            utc(2026, 10, 25, 23),
            id="berlin-25-hour-day",
        ),
        pytest.param(
            "2027-07-01", "America/New_York", utc(2027, 7, 1, 4), utc(2027, 7, 2, 4), id="new-york"
        ),
        pytest.param(
            "2027-07-01", "Asia/Tokyo", utc(2027, 6, 30, 15), utc(2027, 7, 1, 15), id="tokyo"
        ),
        pytest.param(
            " 2026-12-01 ", BERLIN, utc(2026, 11, 30, 23), utc(2026, 12, 1, 23), id="blanks"
        ),
        pytest.param(
            "01.12.2026", BERLIN, utc(2026, 11, 30, 23), utc(2026, 12, 1, 23), id="german-date"
        ),
        pytest.param(
            "1.12.26", BERLIN, utc(2026, 11, 30, 23), utc(2026, 12, 1, 23), id="german-short-date"
        ),
    ],
)
def test_bare_date_bounds_are_local_midnights(
    text: str, tz_name: str, start: datetime, end: datetime
) -> None:
    assert parse_day_bound(text, tz_name) == start
    assert parse_day_bound(text, tz_name, end=True) == end


def test_day_bound_with_a_time_is_that_instant() -> None:
    assert parse_day_bound("2026-12-01 09:30", BERLIN) == utc(2026, 12, 1, 8, 30)
    assert parse_day_bound("2026-12-01 09:30", BERLIN, end=True) == utc(2026, 12, 1, 8, 30)


@pytest.mark.parametrize("text", ["next week", "31.02.2027", "2027-02-31"])
def test_malformed_day_bound_is_refused_naming_the_text(text: str) -> None:
    with pytest.raises(TimeInputError) as info:
        parse_day_bound(text, BERLIN)

    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ["12/03/2027 10:00", "2027/03/12 10:00", "12 / 3 / 2027 10:00"])
def test_a_date_with_slashes_is_refused_as_ambiguous(text: str) -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc(text, BERLIN)

    assert info.value.message.code == "slash_date"
    assert "DD.MM.YYYY HH:MM" in str(info.value)


@pytest.mark.parametrize("text", ["1.1.2027", "2027-01-05", "05.01.27"])
def test_a_date_without_a_time_is_refused_asking_for_the_time(text: str) -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc(text, BERLIN)

    assert info.value.message.code == "date_without_time"
    # Midnight typed out is a time like any other.
    assert parse_to_utc(f"{text} 00:00", BERLIN).tzinfo is not None


def test_a_long_entry_is_echoed_cut_short() -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc("x" * 3000, BERLIN)

    assert len(str(info.value)) < 200
    assert repr("x" * 40 + "…") in str(info.value)


@pytest.mark.parametrize(
    "text", ["Jan 2028 10:00", "2028-03 10:00", "2028 10:00", "31 Jan 10:00", "March 10:00"]
)
def test_a_date_missing_its_day_month_or_year_is_refused(text: str) -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc(text, BERLIN)

    assert info.value.message.code == "partial_date"
    assert "day, month and year" in str(info.value)
    with pytest.raises(TimeInputError, match="day, month and year"):
        parse_day_bound(text.removesuffix(" 10:00"), BERLIN)
