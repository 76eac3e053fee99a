"""Publishing slots: weekly slot plans, free slots, "add to queue" and off-plan warnings."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from planner import (
    audit,
    channels,
    csvio,
    notifications,
    org_settings,
    pieces,
    planning,
    rule_checks,
    rules,
    slots,
)
from planner.errors import CsvImportFailed, Message, PermissionDenied, ValidationFailed
from planner.models import AuditEvent, Channel, Piece, Post, Series, User
from planner.slots import Slot
from planner.timezones import format_local, zone
from tests.conftest import World, feb, feb_day, last_sunday, utc

WEEK = timedelta(weeks=1)

YEAR = datetime.now(UTC).year + 1
BERLIN_ZONE = zone("Europe/Berlin")


SPRING = last_sunday(YEAR, 3)  # Europe/Berlin: 02:00 CET -> 03:00 CEST
AUTUMN = last_sunday(YEAR, 10)  # Europe/Berlin: 03:00 CEST -> 02:00 CET


@pytest.fixture
def berlin(world: World) -> World:
    """`world`, whose organisation plans in Europe/Berlin."""
    org_settings.set_setting(
        world.session, actor=world.admin, key="org_timezone", value="Europe/Berlin"
    )
    return world


def _channel(world: World, plan: str = "Tue 09:30, Thu 09:30", name: str = "Blog") -> Channel:
    channel = channels.create_channel(world.session, actor=world.admin, kind="recording", name=name)
    if plan:
        slots.set_slot_plan(world.session, actor=world.admin, channel=name, slots=plan)
    return channel


def _piece(world: World, title: str = "Winter tips") -> Piece:
    return pieces.create_piece(
        world.session, actor=world.editor, data={"title": title, "body": "First text"}
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Tue 09:30, Thu 09:30", [Slot(1, 570), Slot(3, 570)], id="english"),
        pytest.param("Di 9:30; Mi 12.00 Uhr", [Slot(1, 570), Slot(2, 720)], id="german"),
        pytest.param("Tue/Thu 09:30", [Slot(1, 570), Slot(3, 570)], id="several-days"),
        pytest.param(
            "thursday 09:30\nTUE 09:30, Thu 09:30", [Slot(1, 570), Slot(3, 570)], id="repeats"
        ),
        pytest.param("  ", [], id="empty"),
    ],
)
def test_slot_plans_are_read_in_english_and_german(text: str, expected: list[Slot]) -> None:
    assert slots.parse_slot_plan(text) == expected
    assert slots.parse_slot_plan(slots.format_slot_plan(expected)) == expected


@pytest.mark.parametrize("text", ["Tue", "09:30", "Tue 25:00", "Tue 09:61", "Xyz 09:30", "Tue 9"])
def test_a_slot_that_is_not_a_weekday_and_a_time_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        slots.parse_slot_plan(f"Mon 08:00, {text}")
    assert repr(text) in err.value.fields["slots"]


def test_only_admins_set_slot_plans_and_each_change_is_audited(berlin: World) -> None:
    _channel(berlin, plan="")
    with pytest.raises(PermissionDenied):
        slots.set_slot_plan(berlin.session, actor=berlin.editor, channel="Blog", slots="Tue 09:30")
    slots.set_slot_plan(
        berlin.session, actor=berlin.admin, channel="blog", slots="Thu 9:30, Tue 9:30"
    )
    assert slots.slot_plan(berlin.session, actor=berlin.editor, channel="Blog") == [
        Slot(1, 570),
        Slot(3, 570),
    ]
    slots.set_slot_plan(berlin.session, actor=berlin.admin, channel="Blog", slots="")
    assert slots.slot_plans(berlin.session, actor=berlin.editor) == {}


def test_free_slots_skip_taken_slots_and_a_cancelled_post_frees_its_slot(berlin: World) -> None:
    s = berlin.session
    channel = _channel(berlin)
    piece = _piece(berlin)
    assert piece.id is not None and channel.id is not None
    # Monday 1 February: Tue 2nd and Thu 4th, 09:30 CET = 08:30 UTC.
    start, end = feb(1), feb(8)
    first = slots.free_slots(s, actor=berlin.editor, channel="Blog", start=start, end=end)
    assert first == [feb(2, 8, 30), feb(4, 8, 30)]
    post = planning.plan_post(
        s, actor=berlin.editor, piece_id=piece.id, channel=channel.id, when=first[0]
    )
    assert slots.free_slots(s, actor=berlin.editor, channel="Blog", start=start, end=end) == [
        feb(4, 8, 30)
    ]
    assert post.id is not None
    planning.cancel_post(s, actor=berlin.editor, post_id=post.id)
    assert slots.free_slots(s, actor=berlin.editor, channel="Blog", start=start, end=end) == first


def test_next_free_slot_keeps_the_local_time_across_the_spring_dst_change(berlin: World) -> None:
    _channel(berlin, plan="Tue 09:30")
    # Just after the last Tuesday slot before the change (09:30 CET = 08:30 UTC) ...
    after = utc(YEAR, 3, SPRING, 8, 31) - timedelta(days=5)
    found = slots.next_free_slot(berlin.session, actor=berlin.editor, channel="Blog", after=after)
    # ... the next is the Tuesday after it, 09:30 CEST = 07:30 UTC.
    assert found == utc(YEAR, 3, SPRING, 7, 30) + timedelta(days=2)


def test_a_slot_in_the_spring_gap_is_skipped_and_one_in_the_autumn_fold_is_taken_once(
    berlin: World,
) -> None:
    _channel(berlin, plan="Sun 02:30")
    spring = slots.free_slots(
        berlin.session,
        actor=berlin.editor,
        channel="Blog",
        start=utc(YEAR, 3, SPRING) - timedelta(days=7),
        end=utc(YEAR, 3, SPRING, 12) + timedelta(days=7),
    )
    # 02:30 CET the Sunday before, none on the day of the change, 02:30 CEST a week later.
    week = timedelta(days=7)
    assert spring == [utc(YEAR, 3, SPRING, 1, 30) - week, utc(YEAR, 3, SPRING, 0, 30) + week]
    autumn = slots.free_slots(
        berlin.session,
        actor=berlin.editor,
        channel="Blog",
        start=utc(YEAR, 10, AUTUMN),
        end=utc(YEAR, 10, AUTUMN, 12),
    )
    assert autumn == [utc(YEAR, 10, AUTUMN, 0, 30)]  # the first 02:30, still CEST


def test_a_channel_without_a_slot_plan_has_no_next_slot_and_says_so(berlin: World) -> None:
    _channel(berlin, plan="", name="Mastodon")
    with pytest.raises(ValidationFailed) as err:
        slots.next_free_slot(berlin.session, actor=berlin.editor, channel="Mastodon")
    assert "channel 'Mastodon' has no publishing slots" in err.value.fields["channel"]
    assert (
        slots.free_slots(
            berlin.session,
            actor=berlin.editor,
            channel="Mastodon",
            start=utc(YEAR, 1, 1),
            end=feb(1),
        )
        == []
    )


QUEUED_AT = feb(1, 12)  # when `_queued_on_blog` adds to the queue


def _queued_on_blog(world: World) -> tuple[Piece, Post]:
    """A piece added to the queue of Blog (slots Tue and Thu 09:30) at `QUEUED_AT`."""
    _channel(world)
    piece = _piece(world)
    assert piece.id is not None
    post = slots.queue_post(
        world.session, actor=world.editor, piece_id=piece.id, channel="Blog", now=QUEUED_AT
    )
    return piece, post


def test_add_to_queue_plans_the_next_free_slot_that_the_extra_check_accepts(
    berlin: World,
) -> None:
    s = berlin.session
    piece, first = _queued_on_blog(berlin)
    now = QUEUED_AT
    assert first.publish_at == feb(2, 8, 30)
    seen: list[Post] = []

    def not_on_thursday(candidate: Post) -> bool:
        seen.append(candidate)
        return candidate.publish_at.weekday() != 3

    second = slots.queue_post(
        s, actor=berlin.editor, piece_id=piece.id, channel="Blog", now=now, accept=not_on_thursday
    )
    # The Tuesday slot is taken by the first post, Thursday refused by the check.
    assert second.publish_at == feb(9, 8, 30)
    assert [c.publish_at for c in seen] == [feb(4, 8, 30), feb(9, 8, 30)]
    assert {(c.piece_id, c.channel_id) for c in seen} == {(piece.id, second.channel_id)}
    with pytest.raises(PermissionDenied):
        slots.queue_post(s, actor=berlin.approver, piece_id=piece.id, channel="Blog", now=now)


def _quiet_sundays(world: World) -> None:
    """A blocking rule that keeps every channel quiet all Sunday."""
    rules.add_rule(
        world.session,
        actor=world.admin,
        data={
            "name": "Sonntagsruhe",
            "kind": "quiet_hours",
            "severity": "block",
            "message": {"de": "Sonntags nichts", "en": "Nothing on Sundays"},
            "settings": {"from": "22:00", "until": "07:00", "days": ["sunday"]},
        },
    )


def test_add_to_queue_skips_a_slot_that_the_publishing_rules_keep_quiet(berlin: World) -> None:
    s = berlin.session
    _channel(berlin, plan="Sun 10:00, Tue 09:30")
    _quiet_sundays(berlin)
    piece = _piece(berlin)
    assert piece.id is not None
    saturday = feb(7, 12) - timedelta(days=feb(7).weekday() - 5)
    assert saturday.weekday() == 5
    post = slots.queue_post(s, actor=berlin.editor, piece_id=piece.id, channel="Blog", now=saturday)
    # Sunday 10:00 is a slot, but all of Sunday is quiet: the next slot is Tuesday 09:30 CET.
    assert post.publish_at == saturday.replace(hour=8, minute=30) + timedelta(days=3)


def test_add_to_queue_skips_a_slot_next_to_a_post_of_the_same_piece(berlin: World) -> None:
    """Slots at 09:30 and 10:00: the piece queued twice goes to 09:30, then not to the
    10:00 slot half an hour after it (the same text twice) but to the next one."""
    s = berlin.session
    _channel(berlin, plan="Tue 09:30, Tue 10:00, Thu 09:30")
    piece = _piece(berlin)
    assert piece.id is not None
    first = slots.queue_post(
        s, actor=berlin.editor, piece_id=piece.id, channel="Blog", now=QUEUED_AT
    )
    second = slots.queue_post(
        s, actor=berlin.editor, piece_id=piece.id, channel="Blog", now=QUEUED_AT
    )
    assert first.publish_at == feb(2, 8, 30)
    assert second.publish_at == feb(4, 8, 30)


def test_two_editors_adding_to_one_queue_at_once_get_different_slots(
    berlin: World, engine: Engine
) -> None:
    _channel(berlin)
    piece = _piece(berlin)
    assert piece.id is not None
    piece_id, now = piece.id, feb(1, 12)
    checking, release = threading.Event(), threading.Event()
    planned: dict[str, datetime] = {}

    def slow_check(_candidate: Post) -> bool:
        # The first editor's queue stops at its first candidate slot, the second's begins.
        checking.set()
        return release.wait(timeout=30)

    def add(name: str, editor: str, accept: slots.PostCheck | None) -> None:
        with Session(engine) as s:
            actor = getattr(berlin, editor)
            post = slots.queue_post(
                s, actor=actor, piece_id=piece_id, channel="Blog", now=now, accept=accept
            )
            planned[name] = post.publish_at

    first = threading.Thread(target=add, args=("first", "editor", slow_check))
    first.start()
    assert checking.wait(timeout=30)
    second = threading.Thread(target=add, args=("second", "editor2", None))
    second.start()
    time.sleep(0.5)  # the second queue reaches the channel's queue meanwhile
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    # Tuesday for the first editor, Thursday for the second: never both on Tuesday.
    assert planned == {"first": feb(2, 8, 30), "second": feb(4, 8, 30)}


def test_an_import_queueing_a_row_holds_the_queue_against_an_editor_adding_to_it(
    berlin: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _channel(berlin)
    piece = _piece(berlin)
    assert piece.id is not None
    piece_id = piece.id
    checking, release = threading.Event(), threading.Event()
    planned: dict[str, datetime] = {}
    real_findings = rule_checks.planning_findings

    def slow_findings(*args: Any, **kwargs: Any) -> list[rule_checks.RuleFinding]:
        # The import stops at its first candidate slot; the editor's queue begins then.
        if threading.current_thread().name == "import" and not checking.is_set():
            checking.set()
            release.wait(timeout=30)
        return real_findings(*args, **kwargs)

    monkeypatch.setattr(rule_checks, "planning_findings", slow_findings)

    def import_file() -> None:
        with Session(engine) as s:
            result = csvio.import_plan(
                s,
                actor=berlin.editor,
                raw=f"piece_id,channel,publish_at\n{piece_id},Blog,queue\n",
                now=QUEUED_AT,
            )
            planned["import"] = result.created[0].publish_at

    def add_to_queue() -> None:
        with Session(engine) as s:
            post = slots.queue_post(
                s, actor=berlin.editor2, piece_id=piece_id, channel="Blog", now=QUEUED_AT
            )
            planned["queue"] = post.publish_at

    first = threading.Thread(target=import_file, name="import")
    first.start()
    assert checking.wait(timeout=30)
    second = threading.Thread(target=add_to_queue, name="queue")
    second.start()
    time.sleep(0.5)  # the editor's queue reaches the channel's queue meanwhile
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    # Tuesday for the file's row, Thursday for the editor: never both on Tuesday.
    assert planned == {"import": feb(2, 8, 30), "queue": feb(4, 8, 30)}


def test_a_queue_that_no_slot_satisfies_is_refused_with_a_message(berlin: World) -> None:
    _channel(berlin)
    piece = _piece(berlin)
    assert piece.id is not None
    with pytest.raises(ValidationFailed) as err:
        slots.queue_post(
            berlin.session,
            actor=berlin.editor,
            piece_id=piece.id,
            channel="Blog",
            now=feb(1),
            accept=lambda _post: False,
        )
    # The extra check refused them, not the rules: no slot is free for this post.
    assert "channel 'Blog' has no free slot in the next 26 weeks" in err.value.fields["channel"]


def test_a_queue_whose_free_slots_the_rules_all_refuse_says_so(berlin: World) -> None:
    s = berlin.session
    _channel(berlin, plan="Sun 10:00")
    _quiet_sundays(berlin)
    piece = _piece(berlin)
    assert piece.id is not None
    with pytest.raises(ValidationFailed) as err:
        slots.queue_post(s, actor=berlin.editor, piece_id=piece.id, channel="Blog", now=feb(1))
    # Before, "no free slot" was said, while `slots free` listed every Sunday.
    message = err.value.fields["channel"]
    assert isinstance(message, Message) and message.code == "no_allowed_slot"
    week = (feb(1), feb(1) + WEEK)
    first = slots.free_slots(s, actor=berlin.editor, channel="Blog", start=week[0], end=week[1])
    assert message == (
        "channel 'Blog' has free slots in the next 26 weeks, but the publishing rules allow "
        f"this post in none of them (the first: {format_local(first[0], 'Europe/Berlin')})"
    )


def test_a_plan_import_warns_of_rows_off_the_slot_plan_and_plans_them_as_written(
    berlin: World,
) -> None:
    _channel(berlin)
    piece = _piece(berlin)
    raw = (
        "piece_id,channel,publish_at,timezone\n"
        f"{piece.id},Blog,{feb_day(2)} 09:30,Europe/Berlin\n"
        f"{piece.id},Blog,{feb_day(3)} 10:00,Europe/Berlin\n"
    )
    result = csvio.import_plan(berlin.session, actor=berlin.editor, raw=raw)
    assert [p.publish_at for p in result.created] == [
        feb(2, 8, 30),
        feb(3, 9, 0),
    ]
    assert result.off_plan == [
        (
            3,
            f"{feb_day(3)} 10:00 CET is not one of the channel's publishing slots; "
            "planned as written",
        )
    ]


def test_a_plan_import_row_may_ask_for_the_next_free_slot_that_no_other_row_takes(
    berlin: World,
) -> None:
    s = berlin.session
    piece, _first = _queued_on_blog(berlin)  # Tuesday the 2nd
    now = QUEUED_AT  # Tue 2, Thu 4, Tue 9, Thu 11 at 09:30 CET are Blog's next slots
    raw = (
        "piece_id,channel,publish_at,timezone\n"
        f"{piece.id},Blog,{feb_day(4)} 09:30,Europe/Berlin\n"
        f"{piece.id},Blog,queue,\n"
        f"{piece.id},Blog, Queue ,America/New_York\n"
    )

    result = csvio.import_plan(s, actor=berlin.editor, raw=raw, now=now)

    # Tuesday the 2nd was taken before, Thursday the 4th by line 2 of the file.
    assert [p.publish_at for p in result.created] == [
        feb(4, 8, 30),
        feb(9, 8, 30),
        feb(11, 8, 30),
    ]
    assert [(line, post.publish_at) for line, post in result.queued] == [
        (3, feb(9, 8, 30)),
        (4, feb(11, 8, 30)),
    ]
    assert {post.timezone for _line, post in result.queued} == {"Europe/Berlin"}
    assert result.off_plan == []
    assert len(planning.list_posts(s, actor=berlin.editor)) == 4


def test_a_queued_import_row_on_a_channel_without_slots_refuses_the_whole_file(
    berlin: World,
) -> None:
    s = berlin.session
    _channel(berlin)
    _channel(berlin, plan="", name="Newsletter")
    piece = _piece(berlin)
    raw = (
        "piece_id,channel,publish_at\n"
        f"{piece.id},Blog,queue\n"
        f"{piece.id},Newsletter,queue\n"
        f"{piece.id},Intranet,queue\n"
    )

    with pytest.raises(CsvImportFailed) as err:
        csvio.import_plan(s, actor=berlin.editor, raw=raw, now=feb(1, 12))

    assert [(line, str(text)) for line, text in err.value.problems] == [
        (
            3,
            "channel: channel 'Newsletter' has no publishing slots yet; an admin sets them, "
            "e.g. `slots set 'Newsletter' 'Tue 09:30, Thu 09:30'`",
        ),
        (4, "channel: channel 'Intranet' not found (known: Blog, Newsletter)"),
    ]
    assert planning.list_posts(s, actor=berlin.editor) == []


def test_a_series_off_the_slot_plan_is_named_post_by_post(berlin: World) -> None:
    channel = _channel(berlin, plan="Tue 09:30")
    piece = _piece(berlin)
    assert piece.id is not None and channel.id is not None
    on_plan = planning.create_series(
        berlin.session,
        actor=berlin.editor,
        piece_id=piece.id,
        channel=channel.id,
        rule="FREQ=WEEKLY;COUNT=3",
        start=f"{feb_day(2)} 09:30",
        tz_name="Europe/Berlin",
        now=feb(1),
    )
    assert on_plan.id is not None
    assert slots.series_off_plan(berlin.session, actor=berlin.editor, series_id=on_plan.id) == []
    other = _piece(berlin, "Spring tips")  # the first piece is on Blog then already
    assert other.id is not None
    off = planning.create_series(
        berlin.session,
        actor=berlin.editor,
        piece_id=other.id,
        channel=channel.id,
        rule="FREQ=WEEKLY;BYDAY=TU,WE;COUNT=2",
        start=f"{feb_day(2)} 09:30",
        tz_name="Europe/Berlin",
        now=feb(1),
    )
    assert off.id is not None
    assert slots.series_off_plan(berlin.session, actor=berlin.editor, series_id=off.id) == [
        feb(3, 8, 30)
    ]


def _monday_before_spring() -> datetime:
    """00:00 on the Monday six days before the spring DST change in Europe/Berlin."""
    return datetime(YEAR, 3, SPRING - 6)


def _series_in_slots(
    world: World, rule: str, start: datetime, now: datetime, owner: User | None = None
) -> list[Post]:
    """A series of a new piece (written by `owner`, by default the editor who plans the
    series) on Blog, each occurrence in a slot; its posts by time."""
    piece = pieces.create_piece(
        world.session, actor=owner or world.editor, data={"title": "Winter tips", "body": "Text"}
    )
    assert piece.id is not None
    series = planning.create_series(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel="Blog",
        rule=rule,
        start=f"{start:%Y-%m-%d %H:%M}",
        tz_name="Europe/Berlin",
        in_slots=True,
        now=now,
    )
    assert series.in_slots
    posts = [p for p in planning.list_posts(world.session, actor=world.editor) if p.series_id]
    return sorted(posts, key=lambda p: p.publish_at)


def test_a_series_in_slots_takes_each_weeks_first_free_slot_across_the_dst_change(
    berlin: World,
) -> None:
    _channel(berlin)  # Tue and Thu 09:30 Berlin time
    monday = _monday_before_spring()
    assert monday.weekday() == 0
    other = _piece(berlin, "Taken")
    assert other.id is not None
    planning.plan_post(
        berlin.session,
        actor=berlin.editor,
        piece_id=other.id,
        channel="Blog",
        when=f"{monday + timedelta(days=1):%Y-%m-%d} 09:30",
        tz_name="Europe/Berlin",
    )
    posts = _series_in_slots(
        berlin, "FREQ=WEEKLY;COUNT=3", monday, now=datetime(YEAR, 3, 1, tzinfo=UTC)
    )
    # Week 1: Tuesday is taken, so Thursday, 08:30 UTC in CET; then Tuesdays 09:30 in
    # CEST, which is 07:30 UTC.
    thursday = utc(YEAR, 3, monday.day + 3, 8, 30)
    assert [p.publish_at for p in posts] == [
        thursday,
        thursday + timedelta(days=5, hours=-1),
        thursday + timedelta(days=12, hours=-1),
    ]
    assert [p.publish_at.astimezone(BERLIN_ZONE).strftime("%a %H:%M") for p in posts] == [
        "Thu 09:30",
        "Tue 09:30",
        "Tue 09:30",
    ]
    # Each keeps its occurrence (Monday 00:00 Berlin), which is what makes it one of the rule.
    assert [p.occurrence_at.astimezone(BERLIN_ZONE).strftime("%a %H:%M") for p in posts] == [
        "Mon 00:00"
    ] * 3
    series_id = posts[0].series_id
    assert series_id is not None
    assert slots.series_off_plan(berlin.session, actor=berlin.editor, series_id=series_id) == []
    # A later sweep, which plans the series' window again, adds nothing and moves nothing.
    later = datetime(YEAR, 3, 2, tzinfo=UTC)
    assert planning.materialize_series(berlin.session, now=later) == 0
    again = [p for p in planning.list_posts(berlin.session, actor=berlin.editor) if p.series_id]
    assert sorted(p.publish_at for p in again) == [p.publish_at for p in posts]


def test_a_series_in_slots_skips_a_slot_that_a_rule_keeps_quiet(berlin: World) -> None:
    _channel(berlin)
    rules.add_rule(
        berlin.session,
        actor=berlin.admin,
        data={
            "name": "Dienstagsruhe",
            "kind": "quiet_hours",
            "severity": "block",
            "message": {"de": "Dienstags nichts", "en": "Nothing on Tuesdays"},
            "settings": {"days": ["tuesday"]},
        },
    )
    monday = _monday_before_spring() - timedelta(weeks=3)
    posts = _series_in_slots(berlin, "FREQ=WEEKLY;COUNT=2", monday, now=feb(1))
    local = [p.publish_at.astimezone(BERLIN_ZONE) for p in posts]
    assert [(d.date(), d.strftime("%a %H:%M")) for d in local] == [
        ((monday + timedelta(days=3)).date(), "Thu 09:30"),
        ((monday + timedelta(days=10)).date(), "Thu 09:30"),
    ]
    assert posts[0].series_id is not None
    held = slots.series_rule_holds(
        berlin.session, actor=berlin.editor, series_id=posts[0].series_id
    )
    assert held == []


def test_an_occurrence_without_a_free_slot_before_the_next_keeps_its_time_and_is_named(
    berlin: World,
) -> None:
    _channel(berlin, plan="Tue 09:30")
    monday = _monday_before_spring() - timedelta(weeks=3)
    posts = _series_in_slots(berlin, "FREQ=DAILY;COUNT=3", monday, now=feb(1))
    local = [p.publish_at.astimezone(BERLIN_ZONE).strftime("%a %H:%M") for p in posts]
    # Monday and Wednesday have no slot before the next day's occurrence.
    assert local == ["Mon 00:00", "Tue 09:30", "Wed 00:00"]
    assert posts[0].series_id is not None
    off = slots.series_off_plan(berlin.session, actor=berlin.editor, series_id=posts[0].series_id)
    assert off == [posts[0].publish_at, posts[2].publish_at]


def test_a_series_in_slots_on_a_channel_without_slots_is_refused_and_nothing_stored(
    berlin: World,
) -> None:
    _channel(berlin, plan="")
    piece = _piece(berlin)
    assert piece.id is not None
    with pytest.raises(ValidationFailed) as err:
        planning.create_series(
            berlin.session,
            actor=berlin.editor,
            piece_id=piece.id,
            channel="Blog",
            rule="FREQ=WEEKLY;COUNT=3",
            start=f"{feb_day(1)} 00:00",
            tz_name="Europe/Berlin",
            in_slots=True,
            now=datetime(YEAR, 1, 1, tzinfo=UTC),
        )
    assert err.value.fields == {
        "channel": "channel 'Blog' has no publishing slots to place the series in; an admin "
        "sets them first, or plan the series at its own times"
    }
    assert planning.list_posts(berlin.session, actor=berlin.editor) == []
    assert berlin.session.exec(select(Series)).all() == []


def test_a_series_in_slots_waits_for_an_editor_adding_to_the_queue_and_takes_another_slot(
    berlin: World, engine: Engine
) -> None:
    _channel(berlin)
    piece = _piece(berlin)
    assert piece.id is not None
    piece_id = piece.id
    monday = _monday_before_spring() - timedelta(weeks=3)
    now = feb(1)
    checking, release = threading.Event(), threading.Event()
    planned: dict[str, list[datetime]] = {}

    def slow_check(_candidate: Post) -> bool:
        # The editor's queue stops at its first candidate slot (Tuesday), the series begins.
        checking.set()
        return release.wait(timeout=30)

    def add_to_queue() -> None:
        with Session(engine) as s:
            post = slots.queue_post(
                s,
                actor=berlin.editor2,
                piece_id=piece_id,
                channel="Blog",
                now=monday.replace(tzinfo=UTC),
                accept=slow_check,
            )
            planned["queue"] = [post.publish_at]

    def create_series() -> None:
        with Session(engine) as s:
            series = planning.create_series(
                s,
                actor=berlin.editor,
                piece_id=piece_id,
                channel="Blog",
                rule="FREQ=WEEKLY;COUNT=1",
                start=f"{monday:%Y-%m-%d %H:%M}",
                tz_name="Europe/Berlin",
                in_slots=True,
                now=now,
            )
            posts = s.exec(select(Post).where(Post.series_id == series.id)).all()
            planned["series"] = [p.publish_at for p in posts]

    first = threading.Thread(target=add_to_queue)
    first.start()
    assert checking.wait(timeout=30)
    second = threading.Thread(target=create_series)
    second.start()
    time.sleep(0.5)  # the series reaches the channel's queue meanwhile
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    tuesday = (monday + timedelta(days=1, hours=9, minutes=30)).replace(tzinfo=BERLIN_ZONE)
    thursday = tuesday + timedelta(days=2)
    assert planned == {
        "queue": [tuesday.astimezone(UTC)],
        "series": [thursday.astimezone(UTC)],
    }


def test_an_occurrence_whose_own_time_is_a_taken_slot_is_named_when_it_finds_no_other(
    berlin: World,
) -> None:
    _channel(berlin, plan="Tue 09:30")
    tuesday = feb(2, 8, 30)  # 09:30 Berlin time
    other = _piece(berlin, "Taken")
    assert other.id is not None
    planning.plan_post(
        berlin.session, actor=berlin.editor, piece_id=other.id, channel="Blog", when=tuesday
    )
    posts = _series_in_slots(
        berlin, "FREQ=WEEKLY;COUNT=2", tuesday.astimezone(BERLIN_ZONE), now=feb(1)
    )
    # The first week's only slot is the colleague's: the occurrence keeps its time, which
    # is that slot, and is named; the second week's is free.
    assert [p.publish_at for p in posts] == [tuesday, feb(9, 8, 30)]
    assert posts[0].series_id is not None
    assert slots.series_off_plan(
        berlin.session, actor=berlin.editor, series_id=posts[0].series_id
    ) == [tuesday]


def test_the_last_occurrence_planned_by_a_later_sweep_keeps_the_series_rhythm(
    berlin: World,
) -> None:
    _channel(berlin, plan="Tue 09:30")
    monday = feb(1)  # 00:00 UTC, 01:00 Berlin time
    # The first sweep's window (8 weeks) reaches Monday to Wednesday; Thursday, the last
    # occurrence, is planned by a later sweep on its own.
    first_sweep = monday - planning.SERIES_HORIZON + timedelta(days=2, hours=12)
    posts = _series_in_slots(
        berlin,
        "FREQ=DAILY;COUNT=4",
        monday.astimezone(BERLIN_ZONE),
        now=first_sweep,
        owner=berlin.editor2,
    )
    assert len(posts) == 3
    # Its creator is shown the occurrences without a slot there and then: no notification.
    assert _told(berlin, berlin.editor) == _told(berlin, berlin.editor2) == []
    assert planning.materialize_series(berlin.session, now=first_sweep + timedelta(days=1)) == 1
    planned = sorted(
        (p for p in planning.list_posts(berlin.session, actor=berlin.editor) if p.series_id),
        key=lambda p: p.occurrence_at or p.publish_at,
    )
    # Daily: Thursday's window is one day, as every other's, so no Tuesday slot of the next
    # week; it keeps its own time ...
    assert [p.publish_at for p in planned] == [monday, feb(2, 8, 30), feb(3), feb(4)]
    # ... and who planned the series and the piece's owner are told, with that time.
    thursday = (planned[-1].id, feb(4))
    assert _told(berlin, berlin.editor) == _told(berlin, berlin.editor2) == [thursday]


def _told(world: World, user: User) -> list[tuple[int, datetime | None]]:
    """The posts `user` was told found no free slot, with the time they keep."""
    return [
        (item.notification.object_id, notifications.detail_time(item.notification))
        for item in notifications.list_notifications(world.session, actor=user)
        if item.notification.kind == notifications.SERIES_UNPLACED
    ]


def test_a_weekly_series_in_slots_created_midweek_takes_this_weeks_free_slot(
    berlin: World,
) -> None:
    _channel(berlin)  # Tue and Thu 09:30
    monday = feb(1).astimezone(BERLIN_ZONE).replace(hour=0)
    wednesday = feb(3, 12)
    posts = _series_in_slots(berlin, "FREQ=WEEKLY;COUNT=2", monday, now=wednesday)
    assert [p.publish_at for p in posts] == [feb(4, 8, 30), feb(9, 8, 30)]
    # Created on Friday, the first week has no slot left: that occurrence is gone by.
    later = _series_in_slots(berlin, "FREQ=WEEKLY;COUNT=2", monday, now=feb(5, 12))
    assert [p.publish_at for p in later if p.piece_id != posts[0].piece_id] == [feb(11, 8, 30)]


def test_a_series_in_slots_is_audited_as_one(berlin: World) -> None:
    _channel(berlin)
    posts = _series_in_slots(
        berlin, "FREQ=WEEKLY;COUNT=1", feb(1).astimezone(BERLIN_ZONE), now=feb(1)
    )
    event = berlin.session.exec(
        select(AuditEvent).where(
            AuditEvent.object_type == "series", AuditEvent.object_id == str(posts[0].series_id)
        )
    ).one()
    said = audit.note_message(event.note)
    assert isinstance(said, Message) and said.code == "note_series_in_slots"
    assert said.params["rule"] == "FREQ=WEEKLY;COUNT=1"


def test_two_sweeps_planning_a_series_in_slots_at_once_plan_each_occurrence_once(
    berlin: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _channel(berlin)
    monday = feb(1)
    first_sweep = monday - planning.SERIES_HORIZON - timedelta(days=1)
    assert (
        _series_in_slots(
            berlin, "FREQ=WEEKLY;COUNT=3", monday.astimezone(BERLIN_ZONE), now=first_sweep
        )
        == []
    )
    placing = threading.Event()
    real_place = slots.place_series_posts

    def slow_place(*args: Any, **kwargs: Any) -> dict[datetime, datetime]:
        # The first sweep stops while placing; the second reaches the channel meanwhile.
        if not placing.is_set():
            placing.set()
            time.sleep(0.5)
        return real_place(*args, **kwargs)

    monkeypatch.setattr(slots, "place_series_posts", slow_place)
    made: list[int] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            with Session(engine) as s:
                made.append(planning.materialize_series(s, now=monday - timedelta(weeks=1)))
        except BaseException as err:  # noqa: BLE001 - re-raised below, in the test's thread
            failures.append(err)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    threads[0].start()
    assert placing.wait(timeout=30)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(made) == [0, 3]
    with Session(engine) as s:
        posts = s.exec(select(Post).where(col(Post.series_id).is_not(None))).all()
    assert sorted(p.publish_at for p in posts) == [feb(2, 8, 30), feb(9, 8, 30), feb(16, 8, 30)]


def test_a_series_in_slots_skips_a_slot_next_to_a_post_of_its_piece(berlin: World) -> None:
    """Tuesday's 09:30 slot is free, but the piece is on the channel at 09:45 that day: the
    series takes Thursday's slot, so the piece does not go out twice within the hour."""
    channel = _channel(berlin)  # Tue and Thu 09:30
    piece = _piece(berlin)
    assert piece.id is not None and channel.id is not None
    planning.plan_post(
        berlin.session,
        actor=berlin.editor,
        piece_id=piece.id,
        channel=channel.id,
        when=feb(2, 8, 45),
    )
    planning.create_series(
        berlin.session,
        actor=berlin.editor,
        piece_id=piece.id,
        channel=channel.id,
        rule="FREQ=WEEKLY;COUNT=1",
        start=f"{feb_day(1)} 00:00",
        tz_name="Europe/Berlin",
        in_slots=True,
        now=feb(1) - timedelta(days=1),
    )
    planned = [
        p.publish_at
        for p in planning.list_posts(berlin.session, actor=berlin.editor)
        if p.series_id is not None
    ]
    assert planned == [feb(4, 8, 30)]
