"""The calendar and the held list show a post a publishing rule will hold, as the engine
holds it at claim (one check), with the rule's message and the next allowed time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event

from planner import planning, rule_checks
from planner.errors import Message
from planner.models import Piece, Post, PostStatus
from tests.conftest import World, utc
from tests.planner.test_rules import QUIET, _approved, _channel, _due, _reload, _rule, _run


def _entry(world: World, post: Post, *, days: int = 40) -> planning.CalendarEntry:
    start = min(post.publish_at, datetime.now(UTC)) - timedelta(days=1)
    entries = planning.calendar_entries(
        world.session, actor=world.editor, start=start, end=start + timedelta(days=days)
    )
    (entry,) = [e for e in entries if e.post.id == post.id]
    return entry


def _future(hours: int = 0) -> datetime:
    """A time some days ahead (on the hour: time rules count from it)."""
    ahead = datetime.now(UTC) + timedelta(days=3, hours=hours)
    return ahead.replace(minute=0, second=0, microsecond=0)


def test_a_blocking_finding_holds_the_post_in_the_list_and_calendar_until_overridden(
    world: World, engine: Engine
) -> None:
    feed = _channel(world)
    piece = _approved(world, feed, "Garantiert der beste Tarif")
    now = utc(2030, 1, 15, 10)
    due = _due(world, piece, feed, now - timedelta(minutes=1))
    later = _due(world, piece, feed, _future())
    _rule(world, "Keine Garantien", "forbidden_terms", settings={"terms": ["garantiert"]})

    (held,) = planning.held_posts(world.session, actor=world.editor, now=now)
    assert held.post.id == due.id and isinstance(held.reason, planning.RuleHold)
    assert "Keine Garantien" in held.reason.message and held.reason.until is None
    entry = _entry(world, later)
    assert isinstance(entry.hold, planning.RuleHold)
    assert entry.hold.message == held.reason.message
    # The engine holds it with the very same reason.
    _run(engine, now)
    assert _reload(engine, due).last_error == held.reason.value

    rule_checks.override_finding(
        world.session,
        actor=world.approver,
        piece_id=piece.id or 0,
        revision=piece.revision,
        rule="Keine Garantien",
        channel_id=None,
        justification="Slogan der Marke, freigegeben",
    )
    assert planning.held_posts(world.session, actor=world.editor, now=now) == []
    assert _entry(world, later).hold is None


def test_quiet_hours_hold_the_post_until_the_next_allowed_time(
    world: World, engine: Engine
) -> None:
    feed = _channel(world)
    piece = _approved(world, feed)
    night = utc(2030, 1, 15, 22, 30)  # 23:30 CET, a Tuesday
    post = _due(world, piece, feed, night)
    _rule(world, "Nachtruhe", "quiet_hours", settings=QUIET)

    entry = planning.calendar_entries(
        world.session,
        actor=world.editor,
        start=utc(2030, 1, 15),
        end=utc(2030, 1, 16),
    )[0]
    assert isinstance(entry.hold, planning.RuleHold)
    assert entry.hold.until == utc(2030, 1, 16, 6)
    assert "Nachtruhe" in entry.hold.message
    assert "next allowed: 2030-01-16 07:00 CET" in entry.hold.message
    (held,) = planning.held_posts(world.session, actor=world.editor, now=night)
    assert held.reason == planning.RuleHold(entry.hold.message, utc(2030, 1, 16, 6))

    _run(engine, night)
    stored = _reload(engine, post)
    assert stored.next_attempt_at == entry.hold.until and stored.last_error == held.reason.value


def test_caps_and_spacing_count_the_posts_before_it_even_outside_the_view(world: World) -> None:
    feed = _channel(world, daily_cap=1)
    other = _channel(world, "Andere", daily_cap=1)
    piece = _approved(world, feed)
    first = _due(world, piece, feed, utc(2030, 1, 15, 8))
    second = _due(world, piece, feed, utc(2030, 1, 15, 12))
    elsewhere = _due(world, piece, other, utc(2030, 1, 15, 12))

    # A view of the afternoon only, of one channel: the morning post takes the day's place.
    entries = planning.calendar_entries(
        world.session,
        actor=world.editor,
        start=utc(2030, 1, 15, 10),
        end=utc(2030, 1, 16),
        channel_id=feed.id,
    )
    assert [e.post.id for e in entries] == [second.id]
    hold = entries[0].hold
    assert isinstance(hold, planning.RuleHold)
    assert hold.until == utc(2030, 1, 15, 23)  # midnight in Berlin
    assert "1 posts that day already, at most 1" in hold.message
    holds = {
        e.post.id: e.hold
        for e in planning.calendar_entries(
            world.session, actor=world.editor, start=utc(2030, 1, 15), end=utc(2030, 1, 16)
        )
    }
    assert holds[first.id] is None and holds[elsewhere.id] is None

    # A piece no longer approved goes nowhere, so it takes no place either.
    unapproved = _approved(world, feed, "Noch ein Beitrag")
    _due(world, unapproved, feed, utc(2030, 1, 15, 6))
    world.session.get(Piece, unapproved.id).approved_revision = None  # type: ignore[union-attr]
    world.session.commit()
    spaced = _channel(world, "Abstand")
    _rule(
        world,
        "Abstand",
        "min_spacing",
        settings={"minutes": 90},
        scope={"channels": ["Abstand"]},
    )
    near = _due(world, piece, spaced, utc(2030, 1, 15, 8))
    too_near = _due(world, piece, spaced, utc(2030, 1, 15, 9))
    holds = {
        e.post.id: e.hold
        for e in planning.calendar_entries(
            world.session, actor=world.editor, start=utc(2030, 1, 15), end=utc(2030, 1, 16)
        )
    }
    assert holds[near.id] is None
    spacing = holds[too_near.id]
    assert isinstance(spacing, planning.RuleHold) and spacing.until == utc(2030, 1, 15, 9, 30)


def _statements(engine: Engine, world: World, start: datetime) -> int:
    seen: list[str] = []

    def count(*_args: object) -> None:
        seen.append("")

    world.session.expire_all()
    event.listen(engine, "before_cursor_execute", count)
    try:
        planning.calendar_entries(
            world.session, actor=world.editor, start=start, end=start + timedelta(days=31)
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_a_month_is_checked_with_a_few_statements_however_many_posts(
    world: World, engine: Engine
) -> None:
    feeds = [_channel(world, f"Kanal {n}") for n in range(3)]
    piece = _approved(world, feeds[0])
    _rule(world, "Nachtruhe", "quiet_hours", settings=QUIET)
    start = utc(2030, 3, 1)
    _due(world, piece, feeds[0], start + timedelta(hours=10))
    few = _statements(engine, world, start)
    for day in range(28):
        for feed in feeds:
            _due(world, piece, feed, start + timedelta(days=day, hours=9 + day % 14))
    many = _statements(engine, world, start)
    assert many == few


def test_without_rules_nothing_is_held_by_a_rule(world: World) -> None:
    feed = _channel(world)
    piece = _approved(world, feed, "Garantiert der beste Tarif")
    post = _due(world, piece, feed, utc(2030, 1, 15, 22, 30))
    entry = _entry(world, post, days=4000)
    assert entry.hold is None
    assert planning.held_posts(world.session, actor=world.editor, now=post.publish_at) == []


def test_rules_that_leave_no_time_hold_the_post_and_say_so(world: World, engine: Engine) -> None:
    feed = _channel(world)
    piece = _approved(world, feed)
    now = utc(2030, 1, 15, 10)
    post = _due(world, piece, feed, now - timedelta(minutes=1))
    every_day = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    _rule(world, "Nie", "quiet_hours", settings={"days": every_day})

    (held,) = planning.held_posts(world.session, actor=world.editor, now=now)
    assert held.reason == planning.RuleHold(
        Message("rule_no_slot", "the rules leave no time to publish")
    )
    (outcome,) = _run(engine, now)
    stored = _reload(engine, post)
    assert (outcome.outcome, stored.status) == ("rule", PostStatus.planned)
    assert stored.last_error == held.reason.value
    assert stored.next_attempt_at == now + rule_checks.CONTENT_RECHECK
