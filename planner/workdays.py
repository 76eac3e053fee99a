"""Working days in Germany: Monday to Friday, less the public holidays of a Land.

Holidays come from the `holidays` package; a Land is given by its code (BY, NW, ...), and
no Land means the holidays observed everywhere in Germany only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

from planner.errors import Message
from planner.timezones import to_local


@cache
def laender() -> tuple[str, ...]:
    """The Länder's codes as the `holidays` package names them (its cities left out)."""
    import holidays  # imported when needed: it takes a moment, and few commands need it

    return tuple(code for code in holidays.list_supported_countries()["DE"] if len(code) == 2)


def check_land(value: str) -> str:
    """A Land code in capitals ('' for the nationwide holidays only), or ValueError naming it."""
    code = value.strip().upper()
    if code and code not in laender():
        raise ValueError(
            Message(
                "not_land",
                "{value!r} is not a German Land; use one of {known}",
                value=value,
                known=", ".join(laender()),
            )
        )
    return code


@cache
def _holidays(land: str, year: int) -> frozenset[date]:
    import holidays

    found = holidays.country_holidays("DE", subdiv=land or None, years=year)
    return frozenset(found)


def is_working_day(day: date, *, land: str) -> bool:
    """Whether `day` is a working day: a weekday that is no public holiday in `land`."""
    return day.weekday() < 5 and day not in _holidays(check_land(land), day.year)


def working_days_between(start: date, end: date, *, land: str) -> int:
    """The working days after `start` up to and including `end` (0 when `end` <= `start`).

    Submitted on a Thursday and decided on the next Tuesday, with Monday a holiday, is
    2 working days: Friday and Tuesday.
    """
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        if is_working_day(day, land=land):
            count += 1
        day += timedelta(days=1)
    return count


def working_days_elapsed(start: datetime, end: datetime, *, land: str, tz_name: str) -> int:
    """`working_days_between` the local days of two instants in the zone `tz_name`."""
    return working_days_between(
        to_local(start, tz_name).date(), to_local(end, tz_name).date(), land=land
    )
