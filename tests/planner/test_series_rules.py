"""A new series names the occurrences a blocking time rule refuses (quiet hours, caps,
spacing), each with the next allowed time; the series is kept whole and the engine holds
those posts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from planner import channels, pieces, planning, rules, slots
from planner.errors import NotFound
from planner.models import Channel, Piece, Post, Series
from tests.conftest import World, utc

QUIET_SUNDAY = {"from": "22:00", "until": "07:00", "days": ["sunday"]}
BEFORE = utc(2027, 3, 1)


@pytest.fixture
def piece(world: World) -> Piece:
    return pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Tipp", "body": "Text"}
    )


@pytest.fixture
def channel(world: World) -> Channel:
    return channels.create_channel(world.session, actor=world.admin, kind="recording", name="Feed")


def _rule(world: World, name: str, kind: str, severity: str = "block", **settings: Any) -> None:
    rules.add_rule(
        world.session,
        actor=world.admin,
        data={
            "name": name,
            "kind": kind,
            "severity": severity,
            "message": {"de": f"{name} (de)", "en": f"{name} (en)"},
            "settings": settings,
        },
    )


def _series(world: World, piece: Piece, channel: Channel, rule: str, start: str) -> Series:
    assert piece.id is not None and channel.id is not None
    return planning.create_series(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        rule=rule,
        start=start,
        tz_name="Europe/Berlin",
        now=BEFORE,
    )


def test_a_weekly_series_across_the_spring_change_names_its_quiet_sundays(
    world: World, engine: Engine, piece: Piece, channel: Channel
) -> None:
    _rule(world, "Nachtruhe", "quiet_hours", **QUIET_SUNDAY)
    _rule(world, "Nur Hinweis", "quiet_hours", severity="warn", days=["friday"])
    # Fridays and Sundays at 09:00 from Friday 26 March; clocks go forward on the 28th.
    series = _series(world, piece, channel, "FREQ=WEEKLY;BYDAY=FR,SU;COUNT=4", "2027-03-26 09:00")
    assert series.id is not None

    held = slots.series_rule_holds(world.session, actor=world.editor, series_id=series.id)

    assert [(h.at, h.until) for h in held] == [
        (utc(2027, 3, 28, 7), utc(2027, 3, 29, 5)),  # Sunday 09:00 CEST -> Monday 07:00
        (utc(2027, 4, 4, 7), utc(2027, 4, 5, 5)),
    ]
    assert held[0].message == (
        "rule 'Nachtruhe' on channel 'Feed': Nachtruhe (en) "
        "(quiet time on this channel; next allowed: 2027-03-29 07:00 CEST)"
    )
    # Warned, not refused: every occurrence is planned, the engine holds the two.
    with Session(engine) as fresh:
        stored = fresh.exec(
            select(func.count()).select_from(Post).where(Post.series_id == series.id)
        ).one()
    assert stored == 4


def test_spacing_counts_the_channels_other_posts_and_the_series_own(
    world: World, piece: Piece, channel: Channel
) -> None:
    _rule(world, "Abstand", "min_spacing", minutes=60)
    # Another piece: the same one next to its series would be refused (sent twice).
    other = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "News", "body": "Text"}
    )
    assert other.id is not None and channel.id is not None
    planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=other.id,
        channel=channel.id,
        when="2027-03-03 09:30",
        tz_name="Europe/Berlin",
        now=BEFORE,
    )
    series = _series(world, piece, channel, "FREQ=DAILY;COUNT=3", "2027-03-02 09:00")
    assert series.id is not None

    held = slots.series_rule_holds(world.session, actor=world.editor, series_id=series.id)

    # Only the 3rd: its own posts a day apart are no closer than the rule asks.
    assert [(h.at, h.until) for h in held] == [(utc(2027, 3, 3, 8), utc(2027, 3, 3, 9, 30))]
    assert "less than 60 minutes from another post" in held[0].message


def test_a_series_no_rule_refuses_names_nothing_and_an_unknown_one_is_refused(
    world: World, piece: Piece, channel: Channel
) -> None:
    _rule(world, "Nachtruhe", "quiet_hours", **QUIET_SUNDAY)
    series = _series(world, piece, channel, "FREQ=WEEKLY;BYDAY=MO;COUNT=3", "2027-03-01 09:00")
    assert series.id is not None
    assert slots.series_rule_holds(world.session, actor=world.editor, series_id=series.id) == []
    with pytest.raises(NotFound, match="999"):
        slots.series_rule_holds(world.session, actor=world.editor, series_id=999)
