"""When a published post's figures are collected: the rounds after publishing.

The organisation's `metrics_schedule` lists them ("1h, 24h, 7d, 14d, 21d, 28d": an hour,
a day, a week, then weekly until four weeks after publishing). Round i is due at
`published_at + offsets[i]`. Rounds whose time passed while no worker ran are not made
up: one collection stands for every round due by then, and the next is the first to come.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from planner.errors import Message

DEFAULT_SCHEDULE = "1h, 24h, 7d, 14d, 21d, 28d"
MAX_ROUNDS = 20
# A round sooner than this after publishing finds nothing worth a request; one later than
# a year is no longer about the post's launch.
EARLIEST = timedelta(minutes=5)
LATEST = timedelta(days=366)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)
_ROUND = re.compile(r"(\d{1,4})\s*([mhdw])")


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """The offsets after publishing of a schedule such as "1h, 24h, 7d"; ValueError (with
    a coded Message) naming what is wrong."""
    parts = [part.strip().lower() for part in text.split(",")]
    if not text.strip():
        raise ValueError(
            Message("metrics_schedule_empty", "the schedule needs at least one time, e.g. 1h")
        )
    offsets: list[timedelta] = []
    for part in parts:
        found = _ROUND.fullmatch(part)
        if found is None:
            raise ValueError(
                Message(
                    "metrics_schedule_part",
                    "{part!r} is not a time after publishing such as 30m, 1h, 7d or 2w",
                    part=part,
                )
            )
        offset = int(found.group(1)) * _UNITS[found.group(2)]
        if not EARLIEST <= offset <= LATEST:
            raise ValueError(
                Message(
                    "metrics_schedule_range",
                    "{part!r} is outside 5m to 366d after publishing",
                    part=part,
                )
            )
        if offsets and offset <= offsets[-1]:
            raise ValueError(
                Message(
                    "metrics_schedule_order",
                    "{part!r} does not come after the time before it; list the times in "
                    "increasing order",
                    part=part,
                )
            )
        offsets.append(offset)
    if len(offsets) > MAX_ROUNDS:
        raise ValueError(
            Message(
                "metrics_schedule_long",
                "{count} times; a schedule has at most {limit}",
                count=len(offsets),
                limit=MAX_ROUNDS,
            )
        )
    return tuple(offsets)


def clean_schedule(text: str) -> str:
    """A schedule in its one written form ("1h, 24h, 7d"), or ValueError saying why not."""
    parse_schedule(text)
    return ", ".join(re.sub(r"\s+", "", part.strip().lower()) for part in text.split(","))


def first_round(
    offsets: Sequence[timedelta], published_at: datetime, now: datetime
) -> tuple[int, datetime]:
    """The round a post published at `published_at` starts with, and when it is due: the
    latest round already due (a post older than the feature gets its last round once),
    else the first."""
    due = [i for i, offset in enumerate(offsets) if published_at + offset <= now]
    index = due[-1] if due else 0
    return index, published_at + offsets[index]


def next_round(
    offsets: Sequence[timedelta], published_at: datetime, done: int, now: datetime
) -> tuple[int, datetime] | None:
    """The round after round `done`, taken at `now`, and when it is due: the first one
    still to come (a collection at `now` stands for every round due by then); None when
    the schedule is over."""
    for index in range(done + 1, len(offsets)):
        if published_at + offsets[index] > now:
            return index, published_at + offsets[index]
    return None
