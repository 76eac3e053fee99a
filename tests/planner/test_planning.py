"""Planning posts on the calendar, moving and cancelling them, and what is due to go out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from planner import audit, channels, org_settings, pieces, planning
from planner.errors import EditConflict, IllegalTransition, PermissionDenied, ValidationFailed
from planner.models import Channel, Piece, Post, PostStatus, Role, User
from planner.planning import HoldReason
from tests.conftest import World, last_sunday, utc

# Any day of next year is in the future for the real clock that plan/move check against.
YEAR = datetime.now(UTC).year + 1


SPRING_GAP = f"{YEAR}-03-{last_sunday(YEAR, 3):02d} 02:30"  # clocks jump 02:00 -> 03:00


def _channel(world: World, name: str = "Mastodon") -> Channel:
    return channels.create_channel(world.session, actor=world.admin, kind="recording", name=name)


def _draft(world: World, title: str = "Winter tips") -> Piece:
    return pieces.create_piece(
        world.session, actor=world.editor, data={"title": title, "body": "First text"}
    )


def _approved(world: World, title: str = "Winter tips") -> Piece:
    """An editor writes and submits a piece; the approver approves what they read."""
    s = world.session
    piece = _draft(world, title)
    assert piece.id is not None
    piece = pieces.edit_piece(
        s, actor=world.editor, piece_id=piece.id, expected_revision=1, data={"body": "Final"}
    )
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=piece.revision)


def _plan(world: World, piece: Piece, channel: Channel, when: str | datetime) -> Post:
    assert piece.id is not None and channel.id is not None
    return planning.plan_post(
        world.session, actor=world.editor, piece_id=piece.id, channel=channel.id, when=when
    )


def _count_posts(engine: Engine) -> int:
    with Session(engine) as fresh:
        return fresh.exec(select(func.count()).select_from(Post)).one()


def _an_admin(session: Session) -> User:
    admin = session.exec(select(User).where(User.role == Role.admin)).first()
    assert admin is not None
    return admin


def _events(session: Session, post: Post) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.action, e.from_state, e.to_state)
        for e in audit.list_events(
            session, actor=_an_admin(session), object_type="post", object_id=post.id
        )
    ]


# --- planning -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "tz_name", "expected"),
    [
        pytest.param(
            f"15.01.{YEAR} 09:30", None, utc(YEAR, 1, 15, 8, 30), id="german-winter-actor-zone"
        ),
        pytest.param(
            f"{YEAR}-07-15 09:30", None, utc(YEAR, 7, 15, 7, 30), id="iso-summer-actor-zone"
        ),
        pytest.param(
            f"{YEAR}-07-15 09:30", "America/New_York", utc(YEAR, 7, 15, 13, 30), id="explicit-zone"
        ),
        pytest.param(
            datetime(YEAR, 1, 15, 9, 30),
            None,
            utc(YEAR, 1, 15, 8, 30),
            id="naive-datetime-is-wall-time",
        ),
    ],
)
def test_plan_post_stores_the_utc_instant_of_the_users_wall_time(
    engine: Engine, world: World, when: str | datetime, tz_name: str | None, expected: datetime
) -> None:
    piece, channel = _draft(world), _channel(world)
    assert piece.id is not None and channel.id is not None
    assert world.editor.timezone == "Europe/Berlin"

    post = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel="mastodon",  # by name, case-insensitive
        when=when,
        tz_name=tz_name,
    )

    with Session(engine) as fresh:
        stored = planning.get_post(fresh, actor=world.admin, post_id=post.id)  # type: ignore[arg-type]
        assert stored.publish_at == expected
        assert stored.publish_at.tzinfo is UTC
        assert stored.timezone == (tz_name or "Europe/Berlin")
        assert stored.status == PostStatus.planned
        assert stored.channel_id == channel.id and stored.piece_id == piece.id
    assert _events(world.session, post) == [("plan", None, "planned")]


def test_plan_post_in_the_fold_needs_a_choice(world: World) -> None:
    piece, channel = _draft(world), _channel(world)
    fold_day = last_sunday(YEAR, 10)
    text = f"{YEAR}-10-{fold_day:02d} 02:30"

    with pytest.raises(ValidationFailed) as info:
        _plan(world, piece, channel, text)
    assert "happens twice" in info.value.fields["publish_at"]

    assert piece.id is not None
    later = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel="Mastodon",
        when=text,
        fold="later",
    )
    assert later.publish_at == utc(YEAR, 10, fold_day, 1, 30)


def _unknown_channel(world: World, piece: Piece) -> dict[str, object]:
    _channel(world)
    return {"piece_id": piece.id, "channel": "Instagram", "when": f"{YEAR}-01-15 09:00"}


def _disabled_channel(world: World, piece: Piece) -> dict[str, object]:
    channel = _channel(world)
    channel.enabled = False
    world.session.add(channel)
    world.session.commit()
    return {"piece_id": piece.id, "channel": channel.id, "when": f"{YEAR}-01-15 09:00"}


def _archived_piece(world: World, piece: Piece) -> dict[str, object]:
    assert piece.id is not None
    pieces.archive_piece(world.session, actor=world.editor, piece_id=piece.id)
    return {"piece_id": piece.id, "channel": _channel(world).id, "when": f"{YEAR}-01-15 09:00"}


def _unknown_piece(world: World, piece: Piece) -> dict[str, object]:
    return {"piece_id": 9999, "channel": _channel(world).id, "when": f"{YEAR}-01-15 09:00"}


def _past_time(world: World, piece: Piece) -> dict[str, object]:
    return {"piece_id": piece.id, "channel": _channel(world).id, "when": "01.01.2020 10:00"}


def _gap_time(world: World, piece: Piece) -> dict[str, object]:
    return {"piece_id": piece.id, "channel": _channel(world).id, "when": SPRING_GAP}


def _malformed_time(world: World, piece: Piece) -> dict[str, object]:
    return {"piece_id": piece.id, "channel": _channel(world).id, "when": "next tuesday-ish"}


def _everything_wrong(world: World, piece: Piece) -> dict[str, object]:
    return {"piece_id": 9999, "channel": "Instagram", "when": "01.01.2020 10:00"}


@pytest.mark.parametrize(
    ("arrange", "messages"),
    [
        pytest.param(_unknown_channel, {"channel": "Instagram"}, id="unknown-channel"),
        pytest.param(_disabled_channel, {"channel": "disabled"}, id="disabled-channel"),
        pytest.param(_archived_piece, {"piece": "archived"}, id="archived-piece"),
        pytest.param(_unknown_piece, {"piece": "not found"}, id="unknown-piece"),
        pytest.param(_past_time, {"publish_at": "in the past"}, id="past-time"),
        pytest.param(_gap_time, {"publish_at": "clocks jump from 02:00 to 03:00"}, id="dst-gap"),
        pytest.param(_malformed_time, {"publish_at": "Cannot read"}, id="malformed-time"),
        pytest.param(
            _everything_wrong,
            {"piece": "not found", "channel": "Instagram", "publish_at": "in the past"},
            id="all-problems-reported-at-once",
        ),
    ],
)
def test_plan_post_refuses_bad_input_per_field_and_stores_nothing(
    engine: Engine,
    world: World,
    arrange: Callable[[World, Piece], dict[str, object]],
    messages: dict[str, str],
) -> None:
    args = arrange(world, _draft(world))

    with pytest.raises(ValidationFailed) as info:
        planning.plan_post(world.session, actor=world.editor, **args)  # type: ignore[arg-type]

    assert set(info.value.fields) == set(messages)
    for field, fragment in messages.items():
        assert fragment in info.value.fields[field]
    assert _count_posts(engine) == 0
    assert audit.list_events(world.session, actor=world.admin, object_type="post") == []


def test_posts_may_be_planned_before_the_piece_is_approved(world: World) -> None:
    post = _plan(world, _draft(world), _channel(world), f"{YEAR}-01-15 09:00")

    assert post.status == PostStatus.planned


# --- move and cancel ------------------------------------------------------------------------


def test_move_post_reschedules_in_the_given_zone_and_is_audited(
    engine: Engine, world: World
) -> None:
    post = _plan(world, _draft(world), _channel(world), f"{YEAR}-01-15 09:00")
    assert post.id is not None

    moved = planning.move_post(
        world.session,
        actor=world.editor2,
        post_id=post.id,
        when=f"{YEAR}-07-15 09:00",
        tz_name="Asia/Tokyo",
        expected_version=1,
    )

    assert moved.version == 2
    with Session(engine) as fresh:
        stored = planning.get_post(fresh, actor=world.admin, post_id=post.id)
        assert stored.publish_at == utc(YEAR, 7, 15, 0, 0)
        assert stored.timezone == "Asia/Tokyo"
        assert stored.status == PostStatus.planned
        events = audit.list_events(fresh, actor=world.admin, object_type="post", object_id=post.id)
    assert [(e.action, e.actor_name) for e in events] == [("plan", "editor"), ("move", "editor2")]
    assert events[1].note == f"{YEAR}-01-15 08:00 -> {YEAR}-07-15 00:00 UTC"


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        pytest.param("01.01.2020 10:00", "in the past", id="past"),
        pytest.param(SPRING_GAP, "clocks jump from 02:00 to 03:00", id="dst-gap"),
        pytest.param("soon", "Cannot read", id="malformed"),
    ],
)
def test_move_post_refuses_bad_times_and_keeps_the_old_one(
    engine: Engine, world: World, when: str, fragment: str
) -> None:
    post = _plan(world, _draft(world), _channel(world), f"{YEAR}-01-15 09:00")
    assert post.id is not None

    with pytest.raises(ValidationFailed) as info:
        planning.move_post(world.session, actor=world.editor, post_id=post.id, when=when)

    assert fragment in info.value.fields["publish_at"]
    with Session(engine) as fresh:
        assert planning.get_post(fresh, actor=world.admin, post_id=post.id).publish_at == utc(
            YEAR, 1, 15, 8, 0
        )
        assert [
            e.action for e in audit.list_events(fresh, actor=world.admin, object_type="post")
        ] == ["plan"]


def test_move_post_with_a_stale_version_is_an_edit_conflict(world: World) -> None:
    post = _plan(world, _draft(world), _channel(world), f"{YEAR}-01-15 09:00")
    assert post.id is not None
    planning.move_post(
        world.session, actor=world.editor, post_id=post.id, when=f"{YEAR}-01-16 09:00"
    )

    with pytest.raises(EditConflict):
        planning.move_post(
            world.session,
            actor=world.editor2,
            post_id=post.id,
            when=f"{YEAR}-01-17 09:00",
            expected_version=1,
        )
    assert planning.get_post(world.session, actor=world.admin, post_id=post.id).publish_at == utc(
        YEAR, 1, 16, 8, 0
    )


def test_cancel_post_keeps_it_on_record_as_cancelled_and_is_audited(
    engine: Engine, world: World
) -> None:
    post = _plan(world, _draft(world), _channel(world), f"{YEAR}-01-15 09:00")
    assert post.id is not None

    planning.cancel_post(world.session, actor=world.editor, post_id=post.id, reason=" wrong day ")

    with Session(engine) as fresh:
        stored = planning.get_post(fresh, actor=world.admin, post_id=post.id)
        assert stored.status == PostStatus.cancelled
        assert stored.publish_at == utc(YEAR, 1, 15, 8, 0)
        events = audit.list_events(fresh, actor=world.admin, object_type="post", object_id=post.id)
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("plan", None, "planned"),
        ("cancel", "planned", "cancelled"),
    ]
    assert events[1].note == "wrong day"


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(
            lambda s, actor, pid: planning.move_post(
                s, actor=actor, post_id=pid, when=f"{YEAR}-02-01 09:00"
            ),
            id="move",
        ),
        pytest.param(
            lambda s, actor, pid: planning.cancel_post(s, actor=actor, post_id=pid),
            id="cancel-again",
        ),
    ],
)
def test_cancelled_post_cannot_be_moved_or_cancelled_again(
    world: World, act: Callable[[Session, object, int], Post]
) -> None:
    post = _plan(world, _draft(world), _channel(world), f"{YEAR}-01-15 09:00")
    assert post.id is not None
    planning.cancel_post(world.session, actor=world.editor, post_id=post.id)

    with pytest.raises(IllegalTransition) as info:
        act(world.session, world.editor, post.id)

    assert info.value.state == "cancelled"
    assert info.value.allowed == []
    stored = planning.get_post(world.session, actor=world.admin, post_id=post.id)
    assert stored.status == PostStatus.cancelled
    assert stored.publish_at == utc(YEAR, 1, 15, 8, 0)
    assert [e for e, _f, _t in _events(world.session, post)] == ["plan", "cancel"]


# --- what is due ----------------------------------------------------------------------------

AT = f"{YEAR}-01-15 09:00"  # Berlin, 08:00 UTC
DUE_AT = utc(YEAR, 1, 15, 8, 0)
LATER = utc(YEAR, 1, 15, 12, 0)


def test_approved_post_is_due_once_its_time_has_come(world: World) -> None:
    post = _plan(world, _approved(world), _channel(world), AT)

    assert planning.due_posts(world.session, now=DUE_AT - timedelta(seconds=1)) == []
    assert [p.id for p in planning.due_posts(world.session, now=DUE_AT)] == [post.id]
    assert [p.id for p in planning.due_posts(world.session, now=LATER)] == [post.id]
    assert planning.held_posts(world.session, actor=world.admin, now=LATER) == []


def test_people_who_may_view_pieces_see_what_goes_out_now(world: World) -> None:
    post = _plan(world, _approved(world), _channel(world), AT)

    seen = planning.posts_going_out(world.session, actor=world.editor, now=LATER)
    assert [p.id for p in seen] == [post.id]
    with pytest.raises(PermissionDenied):
        planning.posts_going_out(world.session, actor=world.contributor, now=LATER)


def test_due_posts_come_oldest_first_and_respect_the_limit(world: World) -> None:
    piece, channel = _approved(world), _channel(world)
    late = _plan(world, piece, channel, f"{YEAR}-01-15 10:00")
    early = _plan(world, piece, channel, f"{YEAR}-01-15 08:00")
    not_yet = _plan(world, piece, channel, f"{YEAR}-01-15 14:00")

    due = planning.due_posts(world.session, now=LATER)
    assert [p.id for p in due] == [early.id, late.id]
    assert not_yet.id not in {p.id for p in due}
    assert [p.id for p in planning.due_posts(world.session, now=LATER, limit=1)] == [early.id]


def _edited_after_approval(world: World) -> Post:
    piece = _approved(world)
    post = _plan(world, piece, _channel(world), AT)
    assert piece.id is not None
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=piece.revision,
        data={"body": "A late change nobody approved"},
    )
    return post


def _draft_piece(world: World) -> Post:
    return _plan(world, _draft(world), _channel(world), AT)


def _piece_in_review(world: World) -> Post:
    piece = _draft(world)
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    return _plan(world, piece, _channel(world), AT)


def _changes_requested(world: World) -> Post:
    post = _piece_in_review(world)
    pieces.request_changes(
        world.session, actor=world.approver, piece_id=post.piece_id, comment="Too long"
    )
    return post


def _piece_archived(world: World) -> Post:
    piece = _approved(world)
    post = _plan(world, piece, _channel(world), AT)
    assert piece.id is not None
    pieces.archive_piece(world.session, actor=world.editor, piece_id=piece.id)
    return post


def _channel_disabled(world: World) -> Post:
    channel = _channel(world)
    post = _plan(world, _approved(world), channel, AT)
    channel.enabled = False  # no service function for this yet: set it as an admin would
    world.session.add(channel)
    world.session.commit()
    return post


def _channel_needs_reconnect(world: World) -> Post:
    channel = _channel(world)
    post = _plan(world, _approved(world), channel, AT)
    channel.needs_reconnect = True  # what the publisher does on an auth failure
    world.session.add(channel)
    world.session.commit()
    return post


def _frozen(world: World) -> Post:
    post = _plan(world, _approved(world), _channel(world), AT)
    org_settings.set_setting(world.session, actor=world.admin, key="publishing_frozen", value="on")
    return post


def _approved_post(world: World) -> Post:
    return _plan(world, _approved(world), _channel(world), AT)


def _channel_paused(world: World) -> Post:
    channel = _channel(world)
    post = _plan(world, _approved(world), channel, AT)
    channel.paused_until = LATER + timedelta(hours=1)  # what a 429 with Retry-After does
    world.session.add(channel)
    world.session.commit()
    return post


_HOLDS = [
    pytest.param(
        _edited_after_approval, HoldReason.changed_after_approval, id="edited-after-approval"
    ),
    pytest.param(_draft_piece, HoldReason.not_approved, id="draft-never-approved"),
    pytest.param(_piece_in_review, HoldReason.not_approved, id="in-review-not-yet-approved"),
    pytest.param(_changes_requested, HoldReason.not_approved, id="changes-requested"),
    pytest.param(_piece_archived, HoldReason.not_approved, id="piece-archived"),
    pytest.param(_channel_disabled, HoldReason.channel_disabled, id="channel-disabled"),
    pytest.param(
        _channel_needs_reconnect,
        HoldReason.channel_needs_reconnect,
        id="channel-needs-reconnect",
    ),
    pytest.param(_frozen, HoldReason.frozen, id="publishing-frozen"),
    pytest.param(_channel_paused, HoldReason.channel_paused, id="channel-paused"),
]


@pytest.mark.parametrize(("arrange", "reason"), _HOLDS)
def test_due_post_is_held_with_the_reason(
    engine: Engine, world: World, arrange: Callable[[World], Post], reason: HoldReason
) -> None:
    post = arrange(world)

    with Session(engine) as fresh:
        assert planning.due_posts(fresh, now=LATER) == []
        held = planning.held_posts(fresh, actor=world.admin, now=LATER)
        assert [(h.post.id, h.reason) for h in held] == [(post.id, reason)]
        # Not yet due: neither sent nor reported as held.
        assert (
            planning.held_posts(fresh, actor=world.admin, now=DUE_AT - timedelta(minutes=1)) == []
        )


@pytest.mark.parametrize(
    ("arrange", "reason"),
    [*_HOLDS, pytest.param(_approved_post, None, id="approved-on-a-working-channel")],
)
def test_calendar_gives_each_post_the_hold_the_engine_gives(
    engine: Engine, world: World, arrange: Callable[[World], Post], reason: HoldReason | None
) -> None:
    post = arrange(world)

    with Session(engine) as fresh:
        # Seen days before it is due, the post already carries the reason it will be held for.
        entries = planning.calendar_entries(
            fresh, actor=world.editor, start=DUE_AT - timedelta(days=1), end=LATER
        )
        assert [(e.post.id, e.hold) for e in entries] == [(post.id, reason)]
        # The engine agrees when the post is due: it sends exactly the posts nothing holds.
        assert [p.id for p in planning.due_posts(fresh, now=LATER)] == (
            [post.id] if reason is None else []
        )
        stored = fresh.get(Post, post.id)
        assert stored is not None
        assert planning.hold_reason(fresh, stored, now=LATER) == reason


def test_a_pause_that_ends_before_the_post_is_due_does_not_hold_it(world: World) -> None:
    post = _channel_paused(world)  # paused until an hour after LATER
    s = world.session
    assert planning.hold_reason(s, post, now=DUE_AT) == HoldReason.channel_paused
    moved = planning.move_post(
        s, actor=world.editor, post_id=post.id or 0, when=f"{YEAR}-01-16 09:00"
    )
    assert planning.hold_reason(s, moved, now=DUE_AT) is None
    entries = planning.calendar_entries(
        s, actor=world.editor, start=DUE_AT, end=DUE_AT + timedelta(days=2)
    )
    assert [(e.post.id, e.hold) for e in entries] == [(post.id, None)]


def test_reapproved_piece_is_due_again_after_an_edit(world: World) -> None:
    s = world.session
    piece, channel = _approved(world), _channel(world)
    post = _plan(world, piece, channel, AT)
    assert piece.id is not None
    piece = pieces.edit_piece(
        s,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=piece.revision,
        data={"body": "Corrected"},
    )
    assert planning.due_posts(s, now=LATER) == []

    approver2 = world.user("approver2", Role.approver)
    pieces.approve_piece(s, actor=approver2, piece_id=piece.id, revision=piece.revision)

    assert [p.id for p in planning.due_posts(s, now=LATER)] == [post.id]
    assert planning.held_posts(s, actor=world.admin, now=LATER) == []


def test_cancelled_post_is_neither_due_nor_held(world: World) -> None:
    piece, channel = _approved(world), _channel(world)
    cancelled = _plan(world, piece, channel, AT)
    assert cancelled.id is not None
    planning.cancel_post(world.session, actor=world.editor, post_id=cancelled.id)
    kept = _plan(world, piece, channel, AT)  # a cancelled post keeps no other from its time

    assert [p.id for p in planning.due_posts(world.session, now=LATER)] == [kept.id]
    assert planning.held_posts(world.session, actor=world.admin, now=LATER) == []


def test_freeze_holds_everything_and_lifting_it_releases_the_posts(world: World) -> None:
    s = world.session
    good = _plan(world, _approved(world), _channel(world), AT)
    draft = _plan(world, _draft(world, "Draft piece"), _channel(world, "Bluesky"), AT)

    org_settings.set_setting(s, actor=world.admin, key="publishing_frozen", value="on")

    assert planning.due_posts(s, now=LATER) == []
    held = planning.held_posts(s, actor=world.admin, now=LATER)
    assert {(h.post.id, h.reason) for h in held} == {
        (good.id, HoldReason.frozen),
        (draft.id, HoldReason.frozen),
    }

    org_settings.set_setting(s, actor=world.admin, key="publishing_frozen", value="off")

    assert [p.id for p in planning.due_posts(s, now=LATER)] == [good.id]
    assert [
        (h.post.id, h.reason) for h in planning.held_posts(s, actor=world.admin, now=LATER)
    ] == [(draft.id, HoldReason.not_approved)]


# --- one piece, one channel: never the same text twice ------------------------------------


def test_a_piece_is_not_planned_twice_on_a_channel_within_the_hour(world: World) -> None:
    piece, channel = _approved(world), _channel(world)
    first = _plan(world, piece, channel, AT)
    with pytest.raises(ValidationFailed) as refused:
        _plan(world, piece, channel, f"{YEAR}-01-15 09:40")
    problem = refused.value.fields["publish_at"]
    assert problem.code == "same_post_nearby"  # type: ignore[attr-defined]
    assert problem == (
        f"piece {piece.id} is already on Mastodon at {YEAR}-01-15 09:00 CET "
        f"(post {first.id}, planned); a second post less than 60 minutes from it would send "
        "the same text twice"
    )
    later = _plan(world, piece, channel, f"{YEAR}-01-15 10:00")  # an hour on: a new post
    other = _plan(world, piece, _channel(world, "Bluesky"), AT)  # another channel
    # Nor may a move put one next to the other.
    assert later.id is not None and first.id is not None
    with pytest.raises(ValidationFailed, match="already on Mastodon"):
        planning.move_post(
            world.session, actor=world.editor, post_id=later.id, when=f"{YEAR}-01-15 09:30"
        )
    planning.cancel_post(world.session, actor=world.editor, post_id=first.id)
    again = _plan(world, piece, channel, f"{YEAR}-01-15 08:50")
    assert {p.id for p in (first, later, other, again)} == set(range(1, 5))


def test_two_editors_planning_the_same_post_at_once_store_it_once(
    world: World, engine: Engine
) -> None:
    """Both checked before either stored: the second is refused when it stores, where two
    plans are serialised, so nothing goes out twice."""
    piece, channel = _approved(world), _channel(world)
    assert piece.id is not None and channel.id is not None
    with Session(engine, expire_on_commit=False) as other:
        colleague = other.get(User, world.editor2.id)
        assert colleague is not None
        prepared = planning.prepare_post(
            other, actor=colleague, piece_id=piece.id, channel=channel.id, when=AT
        )
        _plan(world, piece, channel, AT)
        with pytest.raises(ValidationFailed) as refused:
            planning.store_posts(other, actor=colleague, posts=[prepared])
    assert refused.value.fields["publish_at"].code == "same_post_nearby"  # type: ignore[attr-defined]
    assert _count_posts(engine) == 1


def test_a_move_is_checked_again_where_plans_and_moves_are_serialised(
    world: World, engine: Engine
) -> None:
    """A colleague plans the piece at 10:00 after this move to 10:15 was checked: the move
    is refused when it is stored, and the post stays where it was."""
    piece, channel = _approved(world), _channel(world)
    assert piece.id is not None and channel.id is not None
    post = _plan(world, piece, channel, f"{YEAR}-01-15 18:00")
    assert post.id is not None
    move = planning.prepare_move(
        world.session, actor=world.editor, post_id=post.id, when=f"{YEAR}-01-15 10:15"
    )
    with Session(engine, expire_on_commit=False) as other:
        colleague = other.get(User, world.editor2.id)
        assert colleague is not None
        planning.plan_post(
            other,
            actor=colleague,
            piece_id=piece.id,
            channel=channel.id,
            when=f"{YEAR}-01-15 10:00",
        )
    with pytest.raises(ValidationFailed) as refused:
        planning.store_move(world.session, actor=world.editor, move=move)
    assert refused.value.fields["publish_at"].code == "same_post_nearby"  # type: ignore[attr-defined]
    with Session(engine) as fresh:
        kept = fresh.get(Post, post.id)
        assert kept is not None and kept.publish_at == utc(YEAR, 1, 15, 17, 0)


def test_a_moved_post_goes_out_at_its_new_time_with_all_its_tries(world: World) -> None:
    """A post held back (a retry's wait, a rule's hold) and with tries spent: the time a
    person gives it by a move is the time it is due, and its tries count afresh."""
    post = _plan(world, _approved(world), _channel(world), AT)
    post.status, post.attempts = PostStatus.failed, 3
    post.next_attempt_at = LATER + timedelta(hours=5)
    world.session.add(post)
    world.session.commit()
    assert post.id is not None
    moved = planning.move_post(
        world.session, actor=world.editor, post_id=post.id, when=f"{YEAR}-01-15 12:00"
    )
    assert (moved.status, moved.attempts, moved.next_attempt_at) == (PostStatus.planned, 0, None)
    due_at = utc(YEAR, 1, 15, 11, 0)
    assert [p.id for p in planning.due_posts(world.session, now=due_at)] == [post.id]


def test_the_series_of_an_archived_piece_plans_no_more_posts(world: World, engine: Engine) -> None:
    piece, channel = _approved(world), _channel(world)
    assert piece.id is not None and channel.id is not None
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    planning.create_series(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        start=start,
        rule="FREQ=WEEKLY;COUNT=30",
        tz_name="UTC",
    )
    planned = _count_posts(engine)
    assert planned > 0
    pieces.archive_piece(world.session, actor=world.editor, piece_id=piece.id)
    later = datetime.now(UTC) + timedelta(weeks=10)
    assert planning.materialize_series(world.session, now=later) == 0
    assert _count_posts(engine) == planned
