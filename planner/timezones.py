"""Time at the edge: parse what a user typed in their zone, store UTC, show local time.

Nonexistent local times (the spring-forward gap) and ambiguous ones (the autumn fold)
are refused with a message saying what to enter instead; nothing is silently shifted.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dateparser
from dateutil import tz as dateutil_tz

from planner.errors import Message, TimeInputError

Fold = Literal["earlier", "later"]

_GERMAN_DATE = re.compile(r"\d{1,2}\.\d{1,2}\.(\d{2}|\d{4})")
_GERMAN_DAY_FIRST = re.compile(r"\d{1,2}\.\d{1,2}\.")
# '12/03/2027' is 12 March to a German reader and 3 December to dateutil: refused.
_SLASH_DATE = re.compile(r"\d\s*/\s*\d")
_UTC_PLUS = re.compile(r"(?<![A-Za-z])(?:UTC|GMT)\s*(?=[+-]\d)", re.IGNORECASE)
# An IANA name: 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'UTC'.
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
ZONE_NAME_MAX = 64
# Dates a day away from the ends of the calendar (years 1 and 9999) cannot be turned into
# every zone's local time or UTC; the planner takes years MIN_YEAR to MAX_YEAR.
MIN_YEAR = 2
MAX_YEAR = 9998


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or a TimeInputError naming it."""
    # Checked before ZoneInfo, which reads a file of that name: a long name raises OSError,
    # a directory ('America') IsADirectoryError, a NUL byte ValueError.
    if len(name) > ZONE_NAME_MAX or not _ZONE_NAME.fullmatch(name):
        raise _unknown_zone(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise _unknown_zone(name) from err


def _unknown_zone(name: str) -> TimeInputError:
    """The error for a zone name that names no zone (made only when one is refused: `zone`
    runs for every time a page shows)."""
    return TimeInputError(
        Message(
            "unknown_zone",
            "Unknown time zone {zone!r}; use an IANA name such as 'Europe/Berlin'",
            zone=name if len(name) <= ZONE_NAME_MAX else name[:ZONE_NAME_MAX] + "...",
        )
    )


def check_year(moment: date, text: str) -> None:
    """Refuse a date or time too close to the ends of the calendar to convert between zones."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise TimeInputError(
            Message(
                "date_out_of_range",
                "{text!r} is out of range: use a year from {min} to {max}",
                text=text,
                min=MIN_YEAR,
                max=MAX_YEAR,
            )
        )


def echoed(text: str) -> str:
    """`text` as a message echoes it: cut short, as an input may be thousands of characters."""
    return text if len(text) <= 40 else text[:40] + "…"


def _unreadable(text: str) -> TimeInputError:
    """The error for text that is no date and time."""
    return TimeInputError(
        Message(
            "bad_datetime",
            "Cannot read {text!r} as a date and time; use e.g. '2026-12-01 09:30' "
            "or '01.12.2026 09:30'",
            text=echoed(text),
        )
    )


def _parse(text: str, *, need_time: bool = False) -> datetime:
    """Read ISO or German-style input; the result is naive unless the text had an offset.
    A date with '/' is refused (month or day first is a guess), and with `need_time` a
    date without a time (it would be midnight)."""
    raw = text.strip()
    if not raw:
        raise TimeInputError(
            Message("no_datetime", "Enter a date and time, e.g. '2026-12-01 09:30'")
        )
    if _SLASH_DATE.search(raw):
        raise TimeInputError(
            Message(
                "slash_date",
                "{text!r} is ambiguous: 12/03 is 12 March or 3 December; write the date as "
                "'12.03.2027 10:00' (DD.MM.YYYY HH:MM) or '2027-03-12 10:00' (YYYY-MM-DD HH:MM)",
                text=echoed(raw),
            )
        )
    # dateutil reads 'UTC+2' POSIX-style as two hours *behind* UTC; people mean ahead.
    cleaned = _UTC_PLUS.sub("", raw)
    try:
        with warnings.catch_warnings():
            # An unknown zone name ('EST') would be dropped and the time read as local.
            warnings.simplefilter("error", dateparser.UnknownTimezoneWarning)
            # German users write the day first (24.12.2026). Only then ask for day-first:
            # dateutil swaps month and day of year-first text too ('2027-01-05T09:30:00.000Z'
            # would become 1 May), so a '.' elsewhere (fractional seconds) must not trigger it.
            dayfirst = bool(_GERMAN_DAY_FIRST.match(cleaned))
            midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
            parsed: datetime = dateparser.parse(cleaned, dayfirst=dayfirst, default=midnight)
            # No hour in the text: dateutil takes the default's, so another default shows it.
            timeless = need_time and (
                dateparser.parse(cleaned, dayfirst=dayfirst, default=midnight.replace(hour=1))
                != parsed
            )
            # Parts of the date missing from the text come from the default, too: two
            # defaults that differ in year, month and day show which parts were typed.
            first = dateparser.parse(cleaned, dayfirst=dayfirst, default=datetime(2001, 1, 1))
            second = dateparser.parse(cleaned, dayfirst=dayfirst, default=datetime(2002, 3, 2))
            missing = [
                part
                for part in ("year", "month", "day")
                if getattr(first, part) != getattr(second, part)
            ]
    except dateparser.UnknownTimezoneWarning as err:
        raise TimeInputError(
            Message(
                "unknown_zone_in_text",
                "Cannot read the time zone in {text!r}; give an offset such as "
                "'2026-12-01 09:30+01:00', or leave it out to use your own zone",
                text=echoed(raw),
            )
        ) from err
    except (ValueError, OverflowError) as err:
        raise _unreadable(raw) from err
    # A time alone is today's; a date with only some of its parts is refused.
    if missing and len(missing) < 3:
        raise TimeInputError(
            Message(
                "partial_date",
                "{text!r} is not a full date; give day, month and year, e.g. "
                "'12.03.2027 10:00' or '2027-03-12 10:00'",
                text=echoed(raw),
            )
        )
    if timeless:
        raise TimeInputError(
            Message(
                "date_without_time",
                "{text!r} has no time; add it, e.g. '{text} 09:30'",
                text=echoed(raw),
            )
        )
    check_year(parsed, echoed(raw))
    try:
        parsed.utcoffset()
    except ValueError as err:  # an offset of a day or more: '09:30+99:00'
        raise _unreadable(raw) from err
    return parsed


def parse_local_datetime(text: str, tz_name: str) -> datetime:
    """Parse a user's date and time as naive wall-clock time in `tz_name`."""
    parsed = _parse(text)
    if parsed.tzinfo is not None:
        return parsed.astimezone(zone(tz_name)).replace(tzinfo=None)
    return parsed


def to_utc(local: datetime, tz_name: str, *, fold: Fold | None = None) -> datetime:
    """Turn naive wall-clock time in `tz_name` into an aware UTC instant.

    A time in a DST gap raises; a time in a fold raises unless `fold` says which.
    """
    check_year(local, local.isoformat(" ", "minutes"))
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    z = zone(tz_name)
    aware = local.replace(tzinfo=z)
    stamp = f"{local:%Y-%m-%d %H:%M}"
    if not dateutil_tz.datetime_exists(aware):
        before, after = _gap_bounds(local, z)
        raise TimeInputError(
            Message(
                "dst_gap",
                "{stamp} does not exist in {zone}: clocks jump from {before} to {after} "
                "that day. Choose a time before {before} or from {after}.",
                stamp=stamp,
                zone=tz_name,
                before=f"{before:%H:%M}",
                after=f"{after:%H:%M}",
            )
        )
    if dateutil_tz.datetime_ambiguous(aware):
        if fold is None:
            first, second = aware.replace(fold=0), aware.replace(fold=1)
            raise TimeInputError(
                Message(
                    "dst_fold",
                    "{stamp} happens twice in {zone} (clocks go back that night): "
                    "{first} (UTC{first_offset}) or {second} (UTC{second_offset}). "
                    "Say which by adding the offset, e.g. '{stamp}{first_offset}'.",
                    stamp=stamp,
                    zone=tz_name,
                    first=f"{first:%H:%M %Z}",
                    first_offset=f"{first:%z}",
                    second=f"{second:%H:%M %Z}",
                    second_offset=f"{second:%z}",
                )
            )
        aware = aware.replace(fold=0 if fold == "earlier" else 1)
    return aware.astimezone(UTC)


def parse_to_utc(text: str, tz_name: str, *, fold: Fold | None = None) -> datetime:
    """Parse what a user typed in `tz_name` and return the UTC instant.

    An explicit offset in the text ('2026-10-25 02:30+01:00') picks the instant itself; a
    date without a time is refused (it is a day, not a moment).
    """
    parsed = _parse(text, need_time=True)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return to_utc(parsed, tz_name, fold=fold)


def to_local(instant: datetime, tz_name: str) -> datetime:
    """Show an aware instant in the user's zone."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()!r} refused: give a time zone")
    return instant.astimezone(zone(tz_name))


def format_local(instant: datetime, tz_name: str) -> str:
    """'2026-12-01 09:30 CET' for lists and CSV files."""
    return to_local(instant, tz_name).strftime("%Y-%m-%d %H:%M %Z")


def parse_day_bound(text: str, tz_name: str, *, end: bool = False) -> datetime:
    """A date ('2026-12-01', '01.12.2026') or date-time given for a range filter, as a UTC instant.

    A bare date means the start of that day, or with `end` the start of the next day.
    """
    raw = text.strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        if not _GERMAN_DATE.fullmatch(raw):
            parsed = _parse(raw)  # a bare date in another form ('2026.12.01') is its midnight
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
            return to_utc(parsed, tz_name, fold="earlier")
        # '01.12.2026' is a bare date too: with `end` it must reach the next midnight.
        day = _parse(raw).date()
    check_year(day, raw)
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=zone(tz_name)).astimezone(UTC)


def _gap_bounds(local: datetime, z: ZoneInfo) -> tuple[datetime, datetime]:
    """The wall-clock times where the gap around `local` starts and ends."""
    step = timedelta(minutes=15)
    start = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    while not dateutil_tz.datetime_exists((start - step).replace(tzinfo=z)):
        start -= step
    end = start
    while not dateutil_tz.datetime_exists(end.replace(tzinfo=z)):
        end += step
    return start, end
