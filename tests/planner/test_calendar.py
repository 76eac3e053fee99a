"""The calendar's reads: entries in a range, counts per local day and week in SQL, crowding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from planner import channels, ideas, pieces, planning, users
from planner.errors import PermissionDenied, ValidationFailed
from planner.models import Channel, Piece, Post
from tests.conftest import World, last_sunday

YEAR = datetime.now(UTC).year + 1


def _channel(world: World, name: str) -> Channel:
    return channels.create_channel(world.session, actor=world.admin, kind="recording", name=name)


def _piece(world: World, title: str = "Winter tips") -> Piece:
    return pieces.create_piece(world.session, actor=world.editor, data={"title": title})


def _plan(world: World, piece: Piece, channel: Channel, when: str) -> Post:
    return planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=when,
        tz_name="Europe/Berlin",
    )


def test_counts_per_local_day_are_exact_across_the_spring_change(world: World) -> None:
    change = date(YEAR, 3, last_sunday(YEAR, 3))
    social = _channel(world, "Social")
    # 00:30 and 23:30 local on the change day: 22:30 UTC the day before, 21:30 UTC that day.
    stamps = (f"{change} 00:30", f"{change} 23:30", f"{change + timedelta(days=1)} 00:10")
    for number, stamp in enumerate(stamps):  # a piece each: one is never twice in an hour
        _plan(world, _piece(world, f"Tipp {number}"), social, stamp)
    bounds = planning.local_bounds(change - timedelta(days=1), 3, "Europe/Berlin")
    counts = planning.count_posts(world.session, actor=world.editor, bounds=bounds)
    assert counts == {(1, None): 2, (2, None): 1}


def test_entries_and_counts_leave_out_cancelled_posts_and_filter_channel_and_department(
    world: World,
) -> None:
    social, intranet = _channel(world, "Social"), _channel(world, "Intranet")
    idea = ideas.submit_idea(
        world.session,
        actor=world.hr_contributor,
        data={"title": "Azubi-Tag", "pitch": "Azubis zeigen ihren Alltag", "department": "HR"},
    ).idea
    hr_piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=idea.id or 0)
    other = _piece(world, "Messe")
    day = f"{YEAR}-06-10"
    _plan(world, hr_piece, social, f"{day} 09:00")
    _plan(world, other, intranet, f"{day} 10:00")
    gone = _plan(world, other, social, f"{day} 11:00")
    planning.cancel_post(world.session, actor=world.editor, post_id=gone.id or 0)
    bounds = planning.local_bounds(date(YEAR, 6, 10), 1, "Europe/Berlin")
    start, end = bounds

    def titles(**scope: int) -> list[str]:
        entries = planning.calendar_entries(
            world.session, actor=world.approver, start=start, end=end, **scope
        )
        return [f"{e.piece_title}@{e.channel_name}" for e in entries]

    assert titles() == ["Azubi-Tag@Social", "Messe@Intranet"]
    assert titles(channel_id=intranet.id or 0) == ["Messe@Intranet"]
    hr = users.get_department(world.session, "HR").id or 0
    assert titles(department_id=hr) == ["Azubi-Tag@Social"]
    by_channel = planning.count_posts(
        world.session, actor=world.editor, bounds=bounds, by_channel=True
    )
    assert by_channel == {(0, social.id): 1, (0, intranet.id): 1}


def test_posts_per_channel_per_week(world: World) -> None:
    social, intranet = _channel(world, "Social"), _channel(world, "Intranet")
    piece = _piece(world)
    monday = date(YEAR, 6, 7) - timedelta(days=date(YEAR, 6, 7).weekday())
    for offset, channel in ((0, social), (1, social), (8, intranet)):
        _plan(world, piece, channel, f"{monday + timedelta(days=offset)} 12:00")
    weeks = planning.posts_per_channel_per_week(
        world.session, actor=world.editor, first_monday=monday, weeks=2, tz_name="Europe/Berlin"
    )
    assert [(w.week, w.channel, w.posts) for w in weeks] == [
        (monday, "Social", 2),
        (monday + timedelta(weeks=1), "Intranet", 1),
    ]


def test_entries_carry_what_the_calendar_shows_of_each_post(world: World) -> None:
    social = _channel(world, "Social")
    piece = _piece(world, "Frühjahrsputz")
    first = _plan(world, piece, social, f"{YEAR}-06-10 09:05")
    moved = _plan(world, piece, social, f"{YEAR}-06-11 08:00")
    moved = planning.move_post(
        world.session, actor=world.editor, post_id=moved.id or 0, when=f"{YEAR}-06-11 17:45"
    )
    bounds = planning.local_bounds(date(YEAR, 6, 10), 2, "Europe/Berlin")
    entries = planning.calendar_entries(
        world.session, actor=world.editor, start=bounds[0], end=bounds[-1]
    )
    assert [(e.post, e.piece_title, e.channel_name, e.hold) for e in entries] == [
        (
            planning.CalendarPost(
                id=p.id or 0,
                piece_id=piece.id or 0,
                channel_id=social.id or 0,
                publish_at=p.publish_at,
                status=p.status,
                version=p.version,
            ),
            "Frühjahrsputz",
            "Social",
            planning.HoldReason.not_approved,
        )
        for p in (first, moved)
    ]
    assert entries[1].post.version == 2
    assert entries[1].post.publish_at == datetime(YEAR, 6, 11, 15, 45, tzinfo=UTC)


def test_contributors_cannot_read_the_calendar(world: World) -> None:
    now = datetime.now(UTC)
    with pytest.raises(PermissionDenied):
        planning.calendar_entries(world.session, actor=world.contributor, start=now, end=now)


def test_posts_on_one_channel_in_one_hour_are_crowded(world: World) -> None:
    social, intranet = _channel(world, "Social"), _channel(world, "Intranet")
    piece, second, third = _piece(world), _piece(world, "Messe"), _piece(world, "Sommerfest")
    day = f"{YEAR}-06-10"
    a = _plan(world, piece, social, f"{day} 09:05")
    b = _plan(world, second, social, f"{day} 09:55")
    _plan(world, third, social, f"{day} 10:00")
    _plan(world, piece, intranet, f"{day} 09:10")
    start, end = planning.local_bounds(date(YEAR, 6, 10), 1, "Europe/Berlin")
    entries = planning.calendar_entries(world.session, actor=world.editor, start=start, end=end)
    assert planning.crowded_posts(entries, "Europe/Berlin") == {a.id, b.id}


@pytest.mark.parametrize(
    ("preset", "count", "until", "rule"),
    [
        pytest.param("weekly", 6, "", "FREQ=WEEKLY;COUNT=6", id="weekly-count"),
        pytest.param("monthly", 6, "30.06.2027", "FREQ=MONTHLY;UNTIL=20270630", id="until-wins"),
    ],
)
def test_preset_rules(preset: str, count: int, until: str, rule: str) -> None:
    assert planning.preset_rule(preset, count=count, until=until, tz_name="Europe/Berlin") == rule


@pytest.mark.parametrize(
    ("preset", "count", "until", "field"),
    [
        pytest.param("daily", 3, "", "rule", id="unknown-preset"),
        pytest.param("weekly", 0, "", "count", id="no-end"),
        pytest.param("weekly", 3, "irgendwann", "until", id="bad-until"),
    ],
)
def test_bad_preset_input_names_its_field(preset: str, count: int, until: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        planning.preset_rule(preset, count=count, until=until, tz_name="Europe/Berlin")
    assert list(caught.value.fields) == [field]
