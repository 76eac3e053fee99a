"""Recurring series: wall-clock time across DST, ends required, rolling window, idempotence,
cancelling a series."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from planner import audit, channels, notifications, pieces, planning, publishing
from planner.errors import Message, NotFound, PermissionDenied, ValidationFailed
from planner.models import AuditEvent, Channel, Piece, Post, PostStatus, Series, User
from planner.timezones import to_local
from tests.conftest import World, utc

BERLIN = "Europe/Berlin"
WEEKLY_6 = "FREQ=WEEKLY;BYDAY=MO;COUNT=6"
START = "2027-03-15 09:00"  # a Monday; Berlin clocks go forward on Sunday 2027-03-28
BEFORE = utc(2027, 3, 1)


@pytest.fixture
def piece(world: World) -> Piece:
    return pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Weekly tip", "body": "Text"}
    )


@pytest.fixture
def channel(world: World) -> Channel:
    return channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Mastodon"
    )


def _series(
    world: World,
    piece: Piece,
    channel: Channel,
    *,
    rule: str = WEEKLY_6,
    start: str | datetime = START,
    now: datetime = BEFORE,
    tz_name: str | None = None,
    **more: Any,
) -> Series:
    assert piece.id is not None and channel.id is not None
    return planning.create_series(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        rule=rule,
        start=start,
        tz_name=tz_name,
        now=now,
        **more,
    )


def _posts(engine: Engine, series: Series) -> list[Post]:
    with Session(engine) as fresh:
        return list(
            fresh.exec(
                select(Post).where(Post.series_id == series.id).order_by(col(Post.publish_at))
            )
        )


def _count(engine: Engine, table: type[Post] | type[Series]) -> int:
    with Session(engine) as fresh:
        return fresh.exec(select(func.count()).select_from(table)).one()


def test_weekly_series_keeps_berlin_wall_time_across_the_spring_change(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel)

    posts = _posts(engine, series)
    assert [p.publish_at for p in posts] == [
        utc(2027, 3, 15, 8),
        utc(2027, 3, 22, 8),
        utc(2027, 3, 29, 7),  # CEST from here on
        utc(2027, 4, 5, 7),
        utc(2027, 4, 12, 7),
        utc(2027, 4, 19, 7),
    ]
    for post in posts:
        local = to_local(post.publish_at, BERLIN)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        assert post.occurrence_at == post.publish_at
        assert post.status == PostStatus.planned
        assert post.timezone == BERLIN
        assert (post.piece_id, post.channel_id) == (piece.id, channel.id)


def test_series_keeps_its_rule_zone_and_local_start(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel, rule="rrule:freq=weekly;byday=mo;count=6")

    with Session(engine) as fresh:
        stored = fresh.get(Series, series.id)
        assert stored is not None
        assert stored.rule == WEEKLY_6
        assert stored.timezone == BERLIN
        assert stored.local_start.replace(tzinfo=None) == datetime(2027, 3, 15, 9, 0)
        assert stored.materialized_until == BEFORE + planning.SERIES_HORIZON


def test_materialising_again_creates_nothing_more(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel)
    first = [(p.id, p.publish_at) for p in _posts(engine, series)]

    assert planning.materialize_series(world.session, now=BEFORE) == 0
    assert planning.materialize_series(world.session, now=utc(2027, 3, 20)) == 0
    assert planning.materialize_series(world.session, now=utc(2027, 5, 1)) == 0

    assert [(p.id, p.publish_at) for p in _posts(engine, series)] == first


def test_series_in_another_zone_uses_that_zones_wall_time(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    # New York changes on 2027-03-14, Berlin two weeks later: only New York's offset counts.
    series = _series(
        world,
        piece,
        channel,
        rule="FREQ=WEEKLY;COUNT=3",
        start="2027-03-08 09:00",
        tz_name="America/New_York",
    )

    assert [p.publish_at for p in _posts(engine, series)] == [
        utc(2027, 3, 8, 14),
        utc(2027, 3, 15, 13),
        utc(2027, 3, 22, 13),
    ]


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "start", "field", "fragment"),
    [
        pytest.param("FREQ=WEEKLY;BYDAY=MO", START, "rule", "needs an end", id="no-count-or-until"),
        pytest.param("", START, "rule", "enter a recurrence rule", id="empty-rule"),
        pytest.param("FREQ=SOMETIMES;COUNT=3", START, "rule", "is no frequency", id="bad-freq"),
        pytest.param("FREQ=DAILY;COUNT=501", START, "rule", "more than 500", id="too-many"),
        pytest.param(
            "FREQ=DAILY;UNTIL=20270301", START, "rule", "no occurrence", id="until-before-start"
        ),
        pytest.param(
            "FREQ=DAILY;UNTIL=20270231", START, "rule", "not a date", id="until-not-a-date"
        ),
        pytest.param(
            "DTSTART:20270315T090000\nRRULE:FREQ=DAILY;COUNT=3",
            START,
            "rule",
            "only the RRULE",
            id="dtstart-in-rule",
        ),
        pytest.param(
            WEEKLY_6,
            "2027-03-28 02:30",
            "start",
            "clocks jump from 02:00 to 03:00",
            id="start-in-dst-gap",
        ),
        pytest.param(WEEKLY_6, "someday", "start", "Cannot read", id="start-malformed"),
        pytest.param(
            "FREQ=DAILY;COUNT=3",
            "2027-10-31 02:30",
            "start",
            "2027-10-31 02:30 happens twice in Europe/Berlin",
            id="start-in-dst-fold",
        ),
        pytest.param(
            "garbage;COUNT=3",
            START,
            "rule",
            "the rule's part 'GARBAGE' is not NAME=VALUE",
            id="part-without-value",
        ),
        pytest.param(
            "FREQ=DAILY;COUNT=3;BYDAY=MO=TU",
            START,
            "rule",
            "the rule's part 'BYDAY=MO=TU' is not NAME=VALUE",
            id="part-with-two-values",
        ),
    ],
)
def test_bad_series_is_refused_per_field_and_nothing_is_stored(
    engine: Engine,
    world: World,
    piece: Piece,
    channel: Channel,
    rule: str,
    start: str,
    field: str,
    fragment: str,
) -> None:
    with pytest.raises(ValidationFailed) as info:
        _series(world, piece, channel, rule=rule, start=start)

    assert fragment in info.value.fields[field]
    assert _count(engine, Series) == 0
    assert _count(engine, Post) == 0


def test_series_for_unknown_channel_and_archived_piece_is_refused(
    engine: Engine, world: World, piece: Piece
) -> None:
    assert piece.id is not None
    pieces.archive_piece(world.session, actor=world.editor, piece_id=piece.id)

    with pytest.raises(ValidationFailed) as info:
        planning.create_series(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            channel="Nowhere",
            rule=WEEKLY_6,
            start=START,
            now=BEFORE,
        )

    assert set(info.value.fields) == {"piece", "channel"}
    assert _count(engine, Series) == 0


@contextmanager
def _returns_within(seconds: int) -> Iterator[None]:
    """Fail the test (instead of hanging) if the block has not returned after `seconds`."""

    def give_up(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        pytest.param("FREQ=MINUTELY;UNTIL=20991231", "more often than daily", id="minutely"),
        pytest.param("FREQ=SECONDLY;COUNT=5", "more often than daily", id="secondly"),
        pytest.param("FREQ=HOURLY;COUNT=5", "more often than daily", id="hourly"),
        pytest.param("FREQ=DAILY;UNTIL=20991231", "at most 5 years", id="until-far-away"),
        pytest.param("FREQ=DAILY;COUNT=1000000", "more than 500", id="count-a-million"),
        pytest.param("FREQ=YEARLY;COUNT=400", "at most 5 years", id="count-over-centuries"),
        pytest.param("FREQ=MONTHLY;COUNT=62", "at most 5 years", id="count-just-over-5-years"),
        pytest.param(
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=1", "no occurrence", id="never-matches"
        ),
        pytest.param(
            "FREQ=DAILY;INTERVAL=7;BYDAY=TU;COUNT=3", "no occurrence", id="never-on-that-day"
        ),
        pytest.param(
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;UNTIL=20300101", "no occurrence", id="never-until"
        ),
    ],
)
def test_rules_that_would_run_long_are_refused_at_once(
    engine: Engine, world: World, piece: Piece, channel: Channel, rule: str, fragment: str
) -> None:
    with _returns_within(10), pytest.raises(ValidationFailed) as info:
        _series(world, piece, channel, rule=rule)

    assert fragment in info.value.fields["rule"]
    assert _count(engine, Series) == 0
    assert _count(engine, Post) == 0


@pytest.mark.parametrize(
    ("rule", "posts"),
    [
        pytest.param("FREQ=DAILY;BYHOUR=9,17;COUNT=6", 6, id="twice-a-day"),
        pytest.param("FREQ=MONTHLY;COUNT=61", 2, id="monthly-for-5-years"),
        pytest.param("FREQ=WEEKLY;BYDAY=MO;UNTIL=20320314", 6, id="weekly-until-5-years-on"),
        pytest.param("FREQ=DAILY;COUNT=500", 42, id="the-most-occurrences"),
    ],
)
def test_series_up_to_the_limits_are_planned(
    engine: Engine, world: World, piece: Piece, channel: Channel, rule: str, posts: int
) -> None:
    with _returns_within(10):
        series = _series(world, piece, channel, rule=rule)

    assert len(_posts(engine, series)) == posts


# --- ends ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("until", "last"),
    [
        pytest.param("20270412", utc(2027, 4, 12, 7), id="local-date-includes-that-day"),
        pytest.param("20270411", utc(2027, 4, 5, 7), id="local-date-day-before"),
        pytest.param("20270412T090000", utc(2027, 4, 12, 7), id="local-date-time-inclusive"),
        pytest.param("20270412T085959", utc(2027, 4, 5, 7), id="local-date-time-just-before"),
        pytest.param("20270412T070000Z", utc(2027, 4, 12, 7), id="utc-until"),
    ],
)
def test_until_is_read_in_the_series_zone(
    engine: Engine, world: World, piece: Piece, channel: Channel, until: str, last: datetime
) -> None:
    series = _series(world, piece, channel, rule=f"FREQ=WEEKLY;BYDAY=MO;UNTIL={until}")

    posts = _posts(engine, series)
    assert posts[0].publish_at == utc(2027, 3, 15, 8)
    assert posts[-1].publish_at == last
    assert all(to_local(p.publish_at, BERLIN).hour == 9 for p in posts)


# --- the rolling window ------------------------------------------------------------------------


def test_rolling_window_creates_only_occurrences_up_to_the_horizon(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel, rule="FREQ=WEEKLY;BYDAY=MO;COUNT=12")
    horizon_end = BEFORE + planning.SERIES_HORIZON  # 2027-04-26 00:00 UTC

    first = _posts(engine, series)
    assert len(first) == 6
    assert all(p.publish_at <= horizon_end for p in first)
    assert first[-1].publish_at == utc(2027, 4, 19, 7)

    added = planning.materialize_series(world.session, now=utc(2027, 4, 20))

    posts = _posts(engine, series)
    assert added == 6
    assert len(posts) == 12
    assert [p.id for p in posts[:6]] == [p.id for p in first]
    assert posts[-1].publish_at == utc(2027, 5, 31, 7)
    assert len({p.occurrence_at for p in posts}) == 12


def test_a_shorter_horizon_creates_fewer_posts_and_later_runs_add_the_rest(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    # Created long before its start: the default window holds no occurrence yet.
    series = _series(world, piece, channel, now=utc(2026, 12, 1))
    assert _posts(engine, series) == []

    two_weeks = timedelta(weeks=2)  # from 2027-03-02: the window ends before the 2nd Monday
    assert planning.materialize_series(world.session, now=utc(2027, 3, 2), horizon=two_weeks) == 1
    assert [p.publish_at for p in _posts(engine, series)] == [utc(2027, 3, 15, 8)]

    assert planning.materialize_series(world.session, now=utc(2027, 3, 16)) == 5
    assert len(_posts(engine, series)) == 6


def test_occurrence_on_the_window_edge_is_created_once(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    edge = utc(2027, 4, 12, 7)  # an occurrence exactly at now + horizon
    series = _series(world, piece, channel, now=edge - planning.SERIES_HORIZON)
    assert _posts(engine, series)[-1].publish_at == edge

    assert planning.materialize_series(world.session, now=utc(2027, 4, 1)) == 1

    instants = [p.publish_at for p in _posts(engine, series)]
    assert instants.count(edge) == 1
    assert instants[-1] == utc(2027, 4, 19, 7)


def test_inactive_series_is_not_materialised(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel, rule="FREQ=WEEKLY;BYDAY=MO;COUNT=12")
    series.active = False
    world.session.add(series)
    world.session.commit()

    assert planning.materialize_series(world.session, now=utc(2027, 4, 20)) == 0
    assert len(_posts(engine, series)) == 6


# --- DST edges ----------------------------------------------------------------------------------


def test_daily_series_across_the_autumn_fold_keeps_wall_time(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(
        world,
        piece,
        channel,
        rule="FREQ=DAILY;COUNT=5",
        start="2027-10-29 09:00",
        now=utc(2027, 10, 1),
    )

    posts = _posts(engine, series)
    assert [p.publish_at for p in posts] == [
        utc(2027, 10, 29, 7),
        utc(2027, 10, 30, 7),
        utc(2027, 10, 31, 8),  # clocks went back that night: CET
        utc(2027, 11, 1, 8),
        utc(2027, 11, 2, 8),
    ]
    assert {to_local(p.publish_at, BERLIN).strftime("%H:%M") for p in posts} == {"09:00"}
    assert posts[2].publish_at - posts[1].publish_at == timedelta(hours=25)


def test_daily_series_in_the_fold_hour_takes_the_first_of_the_two(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(
        world,
        piece,
        channel,
        rule="FREQ=DAILY;COUNT=3",
        start="2027-10-30 02:30",
        now=utc(2027, 10, 1),
    )

    assert [p.publish_at for p in _posts(engine, series)] == [
        utc(2027, 10, 30, 0, 30),
        utc(2027, 10, 31, 0, 30),  # 02:30 CEST, the earlier of the two 02:30s
        utc(2027, 11, 1, 1, 30),
    ]


def test_a_start_in_the_fold_is_refused_as_a_single_post_at_that_time_is(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    assert piece.id is not None
    with pytest.raises(ValidationFailed) as single:
        planning.plan_post(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            channel=channel.id or 0,
            when="2027-10-31 02:30",
            now=utc(2027, 10, 1),
        )
    with pytest.raises(ValidationFailed) as series:
        _series(
            world, piece, channel, rule="FREQ=DAILY;COUNT=3", start="2027-10-31 02:30",
            now=utc(2027, 10, 1),
        )  # fmt: skip

    said = series.value.fields["start"]
    assert isinstance(said, Message) and said.code == "dst_fold"
    assert said == single.value.fields["publish_at"]
    assert (_count(engine, Series), _count(engine, Post)) == (0, 0)


@pytest.mark.parametrize(
    ("start", "fold", "first"),
    [
        pytest.param("2027-10-31 02:30+01:00", None, utc(2027, 10, 31, 1, 30), id="offset-cet"),
        pytest.param("2027-10-31 02:30", "later", utc(2027, 10, 31, 1, 30), id="fold-later"),
        pytest.param("2027-10-31 02:30", "earlier", utc(2027, 10, 31, 0, 30), id="fold-earlier"),
        pytest.param(
            datetime(2027, 10, 31, 1, 30, tzinfo=UTC), None, utc(2027, 10, 31, 1, 30), id="utc"
        ),
    ],
)
def test_a_start_in_the_fold_with_an_offset_or_a_fold_is_the_time_chosen(
    engine: Engine,
    world: World,
    piece: Piece,
    channel: Channel,
    start: str | datetime,
    fold: str | None,
    first: datetime,
) -> None:
    # Created beyond the planning window: the first post is planned later, from what the
    # series stores, in a session of its own.
    series = _series(
        world, piece, channel, rule="FREQ=DAILY;COUNT=3", start=start, fold=fold,
        now=utc(2027, 8, 1),
    )  # fmt: skip
    assert _posts(engine, series) == []
    with Session(engine) as fresh:
        assert planning.materialize_series(fresh, now=utc(2027, 10, 1)) == 3

    assert [p.publish_at for p in _posts(engine, series)] == [
        first,
        utc(2027, 11, 1, 1, 30),
        utc(2027, 11, 2, 1, 30),
    ]
    with Session(engine) as fresh:
        stored = fresh.get(Series, series.id)
        assert stored is not None
        assert f"{planning.series_start(stored):%Y-%m-%d %H:%M %Z}" == (
            f"{to_local(first, BERLIN):%Y-%m-%d %H:%M %Z}"
        )


def test_a_weekly_series_from_the_second_of_two_times_meets_the_next_fold_at_the_first(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    """The choice is the start's: an occurrence in a later fold is the first of the two."""
    series = _series(
        world, piece, channel, rule="FREQ=WEEKLY;COUNT=60", start="2027-10-31 02:30+01:00",
        now=utc(2027, 10, 1),
    )  # fmt: skip

    assert _posts(engine, series)[0].publish_at == utc(2027, 10, 31, 1, 30)
    around = planning.occurrences(series, utc(2027, 10, 30), utc(2027, 11, 8))
    assert around == [utc(2027, 10, 31, 1, 30), utc(2027, 11, 7, 1, 30)]
    assert planning.occurrences(series, utc(2027, 10, 31, 1), utc(2027, 10, 31, 2)) == [
        utc(2027, 10, 31, 1, 30)
    ]
    assert planning.occurrences(series, utc(2027, 10, 31), utc(2027, 10, 31, 1)) == []
    assert planning.occurrences(series, utc(2028, 10, 28), utc(2028, 10, 30)) == [
        utc(2028, 10, 29, 0, 30)  # 02:30 CEST, the first of the two
    ]


def test_daily_series_in_the_spring_gap_takes_the_offset_from_before(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel, rule="FREQ=DAILY;COUNT=3", start="2027-03-27 02:30")

    posts = _posts(engine, series)
    assert [p.publish_at for p in posts] == [
        utc(2027, 3, 27, 1, 30),
        utc(2027, 3, 28, 1, 30),  # 02:30 does not exist: shown as 03:30 CEST
        utc(2027, 3, 29, 0, 30),
    ]
    assert len({p.publish_at for p in posts}) == 3


# --- occurrences as ordinary posts -------------------------------------------------------------


def test_cancelled_occurrence_is_not_recreated(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    edge = utc(2027, 4, 12, 7)
    series = _series(world, piece, channel, now=edge - planning.SERIES_HORIZON)
    target = next(p for p in _posts(engine, series) if p.publish_at == edge)
    assert target.id is not None
    planning.cancel_post(world.session, actor=world.editor, post_id=target.id, reason="holiday")

    # The next window starts exactly at the cancelled occurrence.
    planning.materialize_series(world.session, now=utc(2027, 4, 1))
    planning.materialize_series(world.session, now=utc(2027, 4, 13))

    at_edge = [p for p in _posts(engine, series) if p.occurrence_at == edge]
    assert [(p.id, p.status) for p in at_edge] == [(target.id, PostStatus.cancelled)]
    assert len(_posts(engine, series)) == 6


def test_moved_occurrence_stays_moved(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    future = datetime.now(UTC).year + 1
    start = f"{future}-03-01 09:00"
    series = _series(
        world, piece, channel, rule="FREQ=DAILY;COUNT=3", start=start, now=utc(future, 2, 1)
    )
    first = _posts(engine, series)[0]
    assert first.id is not None and first.occurrence_at is not None

    planning.move_post(
        world.session, actor=world.editor, post_id=first.id, when=f"{future}-03-01 11:00"
    )
    planning.materialize_series(world.session, now=utc(future, 2, 1))

    posts = _posts(engine, series)
    assert len(posts) == 3
    moved = next(p for p in posts if p.id == first.id)
    assert moved.occurrence_at == first.occurrence_at
    assert to_local(moved.publish_at, BERLIN).hour == 11


def test_series_posts_follow_the_same_due_rules(
    world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel)
    first = utc(2027, 3, 15, 8)

    held = planning.held_posts(world.session, actor=world.admin, now=first)
    assert [(h.post.series_id, h.post.publish_at) for h in held] == [(series.id, first)]
    assert planning.due_posts(world.session, now=first) == []


def _set_status(engine: Engine, post_id: int, status: PostStatus) -> None:
    """Put a post where the engine would have (sent, or being sent)."""
    with Session(engine) as fresh:
        post = fresh.get(Post, post_id)
        assert post is not None
        post.status = status
        fresh.add(post)
        fresh.commit()


def test_cancelling_a_series_cancels_every_post_not_out_and_plans_no_more(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel)
    assert series.id is not None
    first, second, *waiting = _posts(engine, series)
    assert first.id is not None and second.id is not None
    _set_status(engine, first.id, PostStatus.published)
    _set_status(engine, second.id, PostStatus.publishing)

    done = planning.cancel_series(
        world.session, actor=world.editor, series_id=series.id, reason="Kampagne vorbei"
    )

    # The post being sent is cancelled too: the worker checks right before its request.
    assert done.cancelled == [second.id, *(p.id for p in waiting)] and len(waiting) == 4
    assert done.in_flight == [second.id]
    assert [p.status for p in _posts(engine, series)] == [
        PostStatus.published,
        *[PostStatus.cancelled] * 5,
    ]
    # No sweep plans from it again, however late.
    assert planning.materialize_series(world.session, now=utc(2027, 4, 30)) == 0
    assert len(_posts(engine, series)) == 6
    with Session(engine) as fresh:
        events = fresh.exec(
            select(AuditEvent).where(
                AuditEvent.object_type == "series", AuditEvent.action == "cancel"
            )
        ).all()
        cancels = fresh.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.object_type == "post", AuditEvent.action == "cancel")
        ).one()
    assert [(e.object_id, e.actor_name, e.note) for e in events] == [
        (str(series.id), "editor", "Kampagne vorbei")
    ]
    assert cancels == 5
    with pytest.raises(ValidationFailed) as err:
        planning.cancel_series(world.session, actor=world.editor, series_id=series.id)
    assert err.value.fields == {"series": f"series #{series.id} has ended already"}


@pytest.mark.parametrize("went_out", [True, False], ids=["a-post-out", "none-out"])
def test_ending_a_series_publishes_its_piece_once_a_post_of_it_went_out(
    engine: Engine, world: World, piece: Piece, channel: Channel, went_out: bool
) -> None:
    series = _series(world, piece, channel)
    assert series.id is not None and piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)
    first, *_rest = _posts(engine, series)
    assert first.id is not None
    if went_out:
        _set_status(engine, first.id, PostStatus.published)

    planning.cancel_series(world.session, actor=world.editor, series_id=series.id)

    with Session(engine) as fresh:
        stored = fresh.get(Piece, piece.id)
        assert stored is not None
        # None of its posts went out: the piece stays approved, to be planned again.
        assert stored.status == ("published" if went_out else "approved")


def test_the_series_list_shows_each_running_series_with_how_far_it_got(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel)
    # At noon: a second series at the first one's times would send the piece twice.
    older = _series(world, piece, channel, rule="FREQ=DAILY;COUNT=2", start="2027-03-15 12:00")
    assert series.id is not None and older.id is not None
    first, second, third, *_rest = _posts(engine, series)
    assert first.id is not None and second.id is not None
    _set_status(engine, first.id, PostStatus.published)
    _set_status(engine, second.id, PostStatus.failed)

    listed = planning.list_series(world.session, actor=world.editor)

    assert [s.series.id for s in listed] == [older.id, series.id]  # newest first
    summary = listed[1]
    assert (summary.piece_title, summary.channel_name, summary.series.rule) == (
        "Weekly tip",
        "Mastodon",
        WEEKLY_6,
    )
    # The failed post may still go out (sent again); the next planned one is the third.
    assert (summary.waiting, summary.published) == (5, 1)
    assert summary.next_at == third.publish_at and summary.next_at.tzinfo is not None
    # As the calendar: for those who may see pieces.
    with pytest.raises(PermissionDenied):
        planning.list_series(world.session, actor=world.contributor)

    planning.cancel_series(world.session, actor=world.editor, series_id=series.id)
    assert [s.series.id for s in planning.list_series(world.session, actor=world.editor)] == [
        older.id
    ]
    ended = planning.list_series(world.session, actor=world.editor, ended=True)
    assert [(s.series.id, s.series.active, s.waiting, s.published, s.next_at) for s in ended][
        1
    ] == (series.id, False, 0, 1, None)


def test_the_series_list_comes_in_pages_and_counts_them_all(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    made = [
        _series(world, piece, channel, rule=f"FREQ=DAILY;COUNT={n}", start=f"2027-03-15 1{n}:00").id
        for n in (2, 3, 4)
    ]
    ended = _series(world, piece, channel)
    assert ended.id is not None
    planning.cancel_series(world.session, actor=world.editor, series_id=ended.id)
    newest_first = made[::-1]

    assert planning.count_series(world.session, actor=world.editor) == 3
    assert planning.count_series(world.session, actor=world.editor, ended=True) == 4
    pages = [
        [s.series.id for s in planning.list_series(world.session, actor=world.editor, **page)]
        for page in ({"limit": 2}, {"limit": 2, "offset": 2}, {"limit": 2, "offset": 4})
    ]
    assert pages == [newest_first[:2], newest_first[2:], []]
    # Each page carries its series' own figures: the last one's first post is next.
    [last] = planning.list_series(world.session, actor=world.editor, limit=1, offset=2)
    assert (last.series.id, last.waiting, last.published) == (made[0], 2, 0)
    assert planning.count_series(world.session, actor=world.editor, piece_id=-1) == 0
    with pytest.raises(PermissionDenied):
        planning.count_series(world.session, actor=world.contributor)


@pytest.mark.parametrize(
    ("rule", "tz_name", "expected"),
    [
        (
            "FREQ=WEEKLY;BYDAY=TU;COUNT=8",
            "Europe/Berlin",
            planning.RuleParts("weekly", 1, (1,), 8, None),
        ),
        # A stored UNTIL is the end of the local day as a UTC instant: the day is the zone's.
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH,MO;UNTIL=20270630T215959Z",
            "Europe/Berlin",
            planning.RuleParts("weekly", 2, (0, 3), None, date(2027, 6, 30)),
        ),
        (
            "FREQ=DAILY;UNTIL=20270701T035959Z",
            "America/New_York",
            planning.RuleParts("daily", 1, (), None, date(2027, 6, 30)),
        ),
        ("freq=daily;count=3", "Europe/Berlin", planning.RuleParts("daily", 1, (), 3, None)),
        ("FREQ=MONTHLY;BYDAY=1MO;COUNT=6", "Europe/Berlin", None),  # an ordinal weekday
        ("FREQ=DAILY;BYHOUR=9,17;COUNT=4", "Europe/Berlin", None),
        ("FREQ=FORTNIGHTLY;COUNT=2", "Europe/Berlin", None),
        ("COUNT=2", "Europe/Berlin", None),
    ],
)
def test_a_simple_rule_is_read_in_parts_and_any_other_is_not(
    rule: str, tz_name: str, expected: planning.RuleParts | None
) -> None:
    assert planning.rule_parts(rule, tz_name) == expected


def test_a_series_until_a_day_is_read_back_as_that_day_in_its_own_zone(
    world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(
        world, piece, channel, rule="FREQ=DAILY;UNTIL=20270630", tz_name="America/New_York"
    )
    parts = planning.rule_parts(series.rule, series.timezone)
    assert parts is not None and parts.until == date(2027, 6, 30)


def _stored_series(engine: Engine, series_id: int | None) -> Series:
    with Session(engine) as fresh:
        found = fresh.get(Series, series_id)
        assert found is not None
        return found


def test_a_series_planned_to_its_end_is_complete_and_its_piece_published_once_all_is_out(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    # Planned 8 weeks ahead: the first sweep plans 6 of the 10 weeks, a later one the rest.
    series = _series(world, piece, channel, rule="FREQ=WEEKLY;BYDAY=MO;COUNT=10")
    assert series.id is not None and piece.id is not None
    assert len(_posts(engine, series)) == 6
    assert _stored_series(engine, series.id).complete is False
    planning.materialize_series(world.session, now=utc(2027, 4, 20))
    assert len(_posts(engine, series)) == 10
    stored = _stored_series(engine, series.id)
    assert (stored.complete, stored.active) == (True, True)
    # Complete, it plans nothing more: later sweeps do not even take its row.
    assert planning.materialize_series(world.session, now=utc(2027, 6, 1)) == 0
    assert _stored_series(engine, series.id).materialized_until == stored.materialized_until
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)
    *first, last = _posts(engine, series)
    for post in first:
        assert post.id is not None
        _set_status(engine, post.id, PostStatus.published)
    # Running while a post of it may still go out; then it has ended, and its piece is out.
    [listed] = planning.list_series(world.session, actor=world.editor)
    assert (listed.series.id, listed.running, listed.waiting) == (series.id, True, 1)
    assert last.id is not None
    _set_status(engine, last.id, PostStatus.published)
    publishing.publish_finished_pieces(world.session, piece_ids=[piece.id], worker="w")
    with Session(engine) as fresh:
        assert fresh.get(Piece, piece.id).status == "published"  # type: ignore[union-attr]
    assert planning.list_series(world.session, actor=world.editor) == []
    [ended] = planning.list_series(world.session, actor=world.editor, ended=True)
    assert (ended.running, ended.waiting, ended.published) == (False, 0, 10)
    # There is nothing left to end, and nothing is written.
    with pytest.raises(ValidationFailed) as err:
        planning.cancel_series(world.session, actor=world.editor, series_id=series.id)
    assert err.value.fields == {"series": f"series #{series.id} has ended already"}
    assert _stored_series(engine, series.id).active is True


def test_only_those_who_cancel_posts_cancel_a_series_they_can_see(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    series = _series(world, piece, channel)
    assert series.id is not None
    with pytest.raises(PermissionDenied):
        planning.cancel_series(world.session, actor=world.approver, series_id=series.id)
    with pytest.raises(NotFound):
        planning.cancel_series(world.session, actor=world.editor, series_id=series.id + 99)
    assert [p.status for p in _posts(engine, series)] == [PostStatus.planned] * 6


def _unplanned_series(engine: Engine, world: World, piece: Piece, channel: Channel) -> Series:
    """A series whose first sweep is still to come: no post of it yet."""
    series = _series(world, piece, channel, now=BEFORE - planning.SERIES_HORIZON)
    assert series.id is not None and _posts(engine, series) == []
    return series


def _sweep_and_cancel(
    engine: Engine,
    world: World,
    series_id: int,
    monkeypatch: pytest.MonkeyPatch,
    *,
    first: str,
    pause: tuple[Any, str],
) -> tuple[list[int], list[planning.CancelledSeries]]:
    """A sweep at BEFORE and the editor cancelling the series, each in its own thread and
    session: `first` ("sweep" or "cancel") starts and stops in `pause` (module, function)
    until the other has started and reached the series' row. What each returned."""
    reached, release = threading.Event(), threading.Event()
    module, name = pause
    real = getattr(module, name)

    def paused(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == first:
            reached.set()
            release.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, paused)
    made: list[int] = []
    cancelled: list[planning.CancelledSeries] = []

    def sweep() -> None:
        with Session(engine) as s:
            made.append(planning.materialize_series(s, now=BEFORE))

    def cancel() -> None:
        with Session(engine) as s:
            editor = s.get(User, world.editor.id)
            assert editor is not None
            cancelled.append(planning.cancel_series(s, actor=editor, series_id=series_id))

    threads = {"sweep": threading.Thread(target=sweep, name="sweep")}
    threads["cancel"] = threading.Thread(target=cancel, name="cancel")
    threads[first].start()
    assert reached.wait(timeout=30)
    second = threads["cancel" if first == "sweep" else "sweep"]
    second.start()
    time.sleep(0.5)  # the second reaches the series' row, which the first holds
    release.set()
    for thread in threads.values():
        thread.join(timeout=30)
    return made, cancelled


def test_a_series_cancelled_while_a_sweep_plans_it_keeps_none_of_the_sweeps_posts(
    engine: Engine, world: World, piece: Piece, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = _unplanned_series(engine, world, piece, channel)
    assert series.id is not None
    # The sweep has taken the series' row and computes its occurrences when the editor
    # cancels: the cancel waits for the sweep's posts and cancels them too.
    made, cancelled = _sweep_and_cancel(
        engine, world, series.id, monkeypatch, first="sweep", pause=(planning, "occurrences")
    )
    assert made == [6]
    assert len(cancelled) == 1 and len(cancelled[0].cancelled) == 6
    assert [p.status for p in _posts(engine, series)] == [PostStatus.cancelled] * 6


def test_a_sweep_that_waited_for_a_series_being_cancelled_plans_nothing_of_it(
    engine: Engine, world: World, piece: Piece, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = _unplanned_series(engine, world, piece, channel)
    assert series.id is not None
    # The cancel has taken the series' row when a sweep begins: the sweep waits for it,
    # then finds the series ended.
    made, cancelled = _sweep_and_cancel(
        engine, world, series.id, monkeypatch, first="cancel", pause=(audit, "record")
    )
    assert made == [0] and len(cancelled) == 1
    assert _posts(engine, series) == []


def test_a_series_all_of_whose_times_have_passed_is_refused_and_nothing_is_stored(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    # Six Mondays from 2027-03-15 09:00; the last, 2027-04-19, has passed at `now`.
    with pytest.raises(ValidationFailed) as info:
        _series(world, piece, channel, now=utc(2027, 5, 1))
    message = info.value.fields["start"]
    assert isinstance(message, Message) and message.code == "series_all_past"
    assert "(the last: 2027-04-19 09:00)" in message
    assert _count(engine, Series) == 0
    assert _count(engine, Post) == 0


def test_a_series_begun_in_the_past_plans_the_times_still_ahead(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    # Between the second (2027-03-22) and the third Monday: four are left.
    series = _series(world, piece, channel, now=utc(2027, 3, 24))
    assert [p.publish_at.date().isoformat() for p in _posts(engine, series)] == [
        "2027-03-29",
        "2027-04-05",
        "2027-04-12",
        "2027-04-19",
    ]


# --- a series never sends its piece twice on a channel -------------------------------------


def _one_off(world: World, piece: Piece, channel: Channel, when: str) -> Post:
    assert piece.id is not None and channel.id is not None
    return planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        when=when,
        tz_name=BERLIN,
    )


def _left_out_told(world: World, user: User) -> list[tuple[int, datetime | None]]:
    """What `user` was told of series times left out: the post next to it, and the time."""
    return [
        (item.notification.object_id, notifications.detail_time(item.notification))
        for item in notifications.list_notifications(world.session, actor=user)
        if item.notification.kind == notifications.SERIES_LEFT_OUT
    ]


def test_a_series_at_the_time_of_a_post_of_its_piece_is_refused_and_nothing_is_stored(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    one_off = _one_off(world, piece, channel, "2027-03-22 09:30")  # the series' 2nd Monday
    with pytest.raises(ValidationFailed) as refused:
        _series(world, piece, channel)
    problem = refused.value.fields["start"]
    assert problem.code == "same_post_nearby"  # type: ignore[attr-defined]
    assert f"(post {one_off.id}, planned)" in problem
    assert _count(engine, Series) == 0 and _count(engine, Post) == 1
    # On another channel, or an hour and more away, the series is planned.
    other = channels.create_channel(world.session, actor=world.admin, kind="recording", name="Blog")
    assert len(_posts(engine, _series(world, piece, other))) == 6
    assert len(_posts(engine, _series(world, piece, channel, start="2027-03-15 10:30"))) == 6


def test_a_later_time_of_a_series_next_to_a_post_of_its_piece_is_left_out_and_said(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    """A time beyond the first weeks is planned by a later sweep: one less than an hour
    from a post of the piece on the channel is not planned (it would go out twice), and
    whoever planned the series (here also the piece's owner) is told."""
    series = _series(world, piece, channel, rule="FREQ=WEEKLY;BYDAY=MO;COUNT=12")
    assert len(_posts(engine, series)) == 6  # up to the horizon, eight weeks on
    one_off = _one_off(world, piece, channel, "2027-05-10 08:15")  # 45 minutes before
    # 26 April to 24 May: five Mondays, but not 10 May.
    assert planning.materialize_series(world.session, now=utc(2027, 4, 1)) == 4
    times = [to_local(p.publish_at, BERLIN).date() for p in _posts(engine, series)]
    assert date(2027, 5, 10) not in times and len(times) == 10
    assert date(2027, 5, 17) in times
    assert one_off.id is not None
    assert _left_out_told(world, world.editor) == [(one_off.id, utc(2027, 5, 10, 7))]
    # The time left out is not planned again by later sweeps (31 May is), nor told again.
    assert planning.materialize_series(world.session, now=utc(2027, 5, 1)) == 1
    assert len(_posts(engine, series)) == 11
    assert len(_left_out_told(world, world.editor)) == 1


def test_two_series_of_a_piece_planned_in_one_sweep_put_it_on_a_channel_once(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    """Two series of the piece on the channel, each fine on its own, meet on one Monday
    beyond the first weeks: the sweep that plans both keeps the earlier post only."""
    weekly = _series(world, piece, channel, rule="FREQ=WEEKLY;BYDAY=MO;COUNT=12")
    monthly = _series(
        world, piece, channel, rule="FREQ=MONTHLY;BYDAY=1MO;COUNT=3", start="2027-05-03 09:30"
    )
    assert _posts(engine, monthly) == []  # its first time lies beyond the horizon
    planning.materialize_series(world.session, now=utc(2027, 4, 1))
    weekly_posts = {to_local(p.publish_at, BERLIN).date(): p for p in _posts(engine, weekly)}
    assert date(2027, 5, 3) in weekly_posts
    assert _posts(engine, monthly) == []  # 3 May 09:30 is half an hour after the weekly post
    kept = weekly_posts[date(2027, 5, 3)]
    assert kept.id is not None
    assert _left_out_told(world, world.editor) == [(kept.id, utc(2027, 5, 3, 7, 30))]
    planning.materialize_series(world.session, now=utc(2027, 6, 1))
    # The weekly series ended on 31 May: the monthly one goes on on 7 June and 5 July.
    assert [to_local(p.publish_at, BERLIN).date() for p in _posts(engine, monthly)] == [
        date(2027, 6, 7),
        date(2027, 7, 5),
    ]


def test_a_series_whose_times_are_less_than_an_hour_apart_is_refused(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _series(world, piece, channel, rule="FREQ=DAILY;BYHOUR=9;BYMINUTE=0,30;COUNT=6")
    problem = refused.value.fields["rule"]
    assert problem.code == "series_times_too_close"  # type: ignore[attr-defined]
    assert problem == (
        "two times of this series are only 30 minutes apart; posts of one piece on one "
        "channel must be at least 60 minutes apart, or the same text goes out twice"
    )
    assert _count(engine, Series) == 0 and _count(engine, Post) == 0
    # An hour apart is two posts a day.
    series = _series(world, piece, channel, rule="FREQ=DAILY;BYHOUR=9,10;COUNT=4")
    assert len(_posts(engine, series)) == 4


def test_a_sweep_waits_for_a_post_of_the_piece_being_planned_and_leaves_its_time_out(
    engine: Engine, world: World, piece: Piece, channel: Channel
) -> None:
    """An editor plans the piece at a series' time while a sweep plans the series: the
    plan's transaction holds the lock every planning change takes; the sweep waits for it,
    then sees the post and leaves that time out, so the piece goes out once."""
    series = _unplanned_series(engine, world, piece, channel)
    assert piece.id is not None and channel.id is not None and world.editor.id is not None
    made: list[int] = []
    with Session(engine) as planner_session:
        # A plan stored up to its commit: its post written, the lock taken.
        planner_session.add(
            Post(
                piece_id=piece.id,
                channel_id=channel.id,
                publish_at=utc(2027, 3, 22, 8, 20),
                timezone=BERLIN,
                created_by_id=world.editor.id,
            )
        )
        planner_session.flush()
        audit.lock_chain(planner_session.connection())

        def sweep() -> None:
            with Session(engine) as s:
                made.append(planning.materialize_series(s, now=BEFORE))

        thread = threading.Thread(target=sweep)
        thread.start()
        time.sleep(0.5)  # the sweep has planned its posts and waits for the lock
        planner_session.commit()
    thread.join(timeout=30)
    assert made == [5]
    times = [p.publish_at for p in _posts(engine, series)]
    assert utc(2027, 3, 22, 8) not in times and len(times) == 5


@pytest.mark.parametrize(
    ("rule", "code", "text"),
    [
        pytest.param(
            "FREQ=WEEKLY;BYDAY=MO,DI;COUNT=4",
            "rule_unknown_weekday",
            "DI in BYDAY is not a weekday; use MO TU WE TH FR SA SU",
            id="german-weekday",
        ),
        pytest.param(
            "FREQ=DAILY;COUNT=3;FOO=1",
            "rule_unknown_part",
            "a recurrence rule has no part FOO; use FREQ, COUNT, UNTIL, INTERVAL, BYDAY, "
            "BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE, BYSETPOS or WKST",
            id="unknown-part",
        ),
        pytest.param(
            "FREQ=DAILY;UNTIL=2027-03-20",
            "until_not_yyyymmdd",
            "UNTIL=2027-03-20 is not in the form YYYYMMDD; write it as 20270320",
            id="iso-until",
        ),
        pytest.param(
            "FREQ=DAILY;UNTIL=20.3.2027",
            "until_not_yyyymmdd",
            "UNTIL=20.3.2027 is not in the form YYYYMMDD; write it as 20270320",
            id="german-until",
        ),
        pytest.param(
            "FREQ=DAILY;UNTIL=soon",
            "bad_until",
            "UNTIL=SOON is not a date",
            id="no-date",
        ),
        pytest.param(
            "FREQ=DAILY;INTERVAL=0;COUNT=3",
            "rule_interval_below_one",
            "INTERVAL=0 is not a whole number of 1 or more (INTERVAL=2 is every second time)",
            id="interval-0",
        ),
        pytest.param(
            "FREQ=WEEKLI;COUNT=3",
            "rule_unknown_freq",
            "FREQ=WEEKLI is no frequency; use DAILY, WEEKLY, MONTHLY or YEARLY",
            id="frequency",
        ),
        pytest.param(
            "FREQ=DAILY;COUNT=three",
            "rule_bad_value",
            "COUNT=THREE is not a value the rule's part COUNT takes",
            id="count",
        ),
    ],
)
def test_a_rule_dateutil_would_refuse_is_said_in_the_rules_own_terms(
    world: World, piece: Piece, channel: Channel, rule: str, code: str, text: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        _series(world, piece, channel, rule=rule)

    said = info.value.fields["rule"]
    assert isinstance(said, Message)
    assert (said.code, str(said)) == (code, text)
