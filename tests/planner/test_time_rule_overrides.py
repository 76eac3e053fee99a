"""An approver's override of a time rule (quiet hours, a cap, spacing) lets the posts of
that revision of the piece through it wherever times are checked: planning, moving, the
next free slot, series and the engine's claim; a later revision is checked again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from planner import pieces, planning, rule_checks
from planner.errors import ValidationFailed
from planner.models import Channel, Piece, Post, PostStatus, RecordedFinding, RuleOverride
from tests import recording
from tests.conftest import World, utc
from tests.planner.test_rules import (
    BERLIN,
    QUIET,
    _approved,
    _channel,
    _post_at,
    _reload,
    _rule,
    _run,
)

SUNDAY_QUIET = {**QUIET, "days": ["sunday"]}
# Sunday 13 January 2030, 10:00 in Berlin (CET): quiet all day.
SUNDAY = datetime(2030, 1, 13, 10)
SUNDAY_UTC = utc(2030, 1, 13, 9)


def _override(
    world: World, piece: Piece, rule: str, why: str = "Messe-Sonderaktion am Sonntag"
) -> RuleOverride:
    return rule_checks.override_finding(
        world.session,
        actor=world.approver,
        piece_id=piece.id or 0,
        revision=piece.revision,
        rule=rule,
        channel_id=None,
        justification=why,
    )


def _plan(world: World, piece: Piece, channel: Channel, when: datetime) -> Post:
    return planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=when,
        tz_name=BERLIN,
    )


def _refused(world: World, piece: Piece, channel: Channel, when: datetime) -> str:
    with pytest.raises(ValidationFailed) as refused:
        _plan(world, piece, channel, when)
    return str(refused.value.fields["publish_at"])


def _approved_again(world: World, piece: Piece) -> Piece:
    """The piece edited (a new revision) and approved again."""
    assert piece.id is not None
    before = piece.revision
    edited = pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=before,
        data={"title": "Neu"},
    )
    assert edited.revision == before + 1
    if edited.status != "in_review":  # an approved piece edited goes back to review
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(
        world.session, actor=world.approver, piece_id=piece.id, revision=edited.revision
    )


def test_an_overridden_quiet_time_lets_that_revisions_posts_out_and_no_others(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    feed = _channel(world)
    piece = _approved(world, feed)
    other = _approved(world, feed, "Ein anderer Beitrag")
    _rule(world, "Nachtruhe und Sonntag", "quiet_hours", settings=SUNDAY_QUIET)
    assert "Nachtruhe und Sonntag" in _refused(world, piece, feed, SUNDAY)

    _override(world, piece, "Nachtruhe und Sonntag")
    post = _plan(world, piece, feed, SUNDAY)
    assert post.publish_at == SUNDAY_UTC
    # Recorded as found and overridden (the QM view counts it), not as refused.
    (recorded,) = world.session.exec(
        select(RecordedFinding).where(
            RecordedFinding.step == "plan",
            RecordedFinding.piece_id == piece.id,
            col(RecordedFinding.stopped).is_(False),
        )
    ).all()
    assert (recorded.rule, recorded.overridden) == ("Nachtruhe und Sonntag", True)
    # Another piece is still refused, with the next allowed slot: Monday 07:00 CET.
    message = _refused(world, other, feed, SUNDAY)
    assert "next allowed: 2030-01-14 07:00 CET" in message
    # Moving the post, and the next free slot, honour the override too.
    move = planning.prepare_move(
        world.session,
        actor=world.editor,
        post_id=post.id or 0,
        when=SUNDAY + timedelta(hours=1),
        tz_name=BERLIN,
    )
    assert move.publish_at == SUNDAY_UTC + timedelta(hours=1)
    slot = rule_checks.next_free_slot(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel_id=feed.id or 0,
        after=SUNDAY_UTC,
        exclude_post=post.id,
    )
    assert slot == SUNDAY_UTC
    assert planning.held_posts(world.session, actor=world.editor, now=SUNDAY_UTC) == []

    # The engine lets it out on Sunday.
    (sent,) = _run(engine, SUNDAY_UTC + timedelta(minutes=1))
    assert sent.status == PostStatus.published and len(recording_kind.calls) == 1


def test_a_new_revision_is_held_and_refused_by_the_time_rule_again(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    feed = _channel(world)
    piece = _approved(world, feed)
    _rule(world, "Nachtruhe und Sonntag", "quiet_hours", settings=SUNDAY_QUIET)
    _override(world, piece, "Nachtruhe und Sonntag")
    post = _plan(world, piece, feed, SUNDAY)

    piece = _approved_again(world, piece)
    # Planning for the new revision is refused again ...
    assert "Nachtruhe und Sonntag" in _refused(world, piece, feed, SUNDAY + timedelta(days=7))
    # ... and the engine holds the post planned for the old one until Monday 07:00 CET.
    (outcome,) = _run(engine, SUNDAY_UTC + timedelta(minutes=1))
    held = _reload(engine, post)
    assert (outcome.outcome, held.status) == ("rule", PostStatus.planned)
    assert held.next_attempt_at == utc(2030, 1, 14, 6)
    assert "Nachtruhe und Sonntag" in (held.last_error or "")
    assert recording_kind.calls == []


def test_an_overridden_cap_or_spacing_holds_for_that_piece_only(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    feed = _channel(world)
    piece = _approved(world, feed)
    other = _approved(world, feed, "Ein anderer Beitrag")
    _rule(world, "Einer am Tag", "max_per_day", settings={"max": 1})
    _rule(world, "Abstand", "min_spacing", settings={"minutes": 120})
    # Tuesday 15 January 2030: a post out at 10:00 CET.
    _post_at(world, other, feed, utc(2030, 1, 15, 9), PostStatus.published)
    eleven = datetime(2030, 1, 15, 11)
    message = _refused(world, piece, feed, eleven)
    assert "Einer am Tag" in message and "Abstand" in message

    # The cap overridden, spacing still holds: the next slot is 12:00 CET.
    _override(world, piece, "Einer am Tag")
    message = _refused(world, piece, feed, eleven)
    assert "Abstand" in message and "Einer am Tag" not in message
    assert "next allowed: 2030-01-15 12:00 CET" in message
    _override(world, piece, "Abstand", "Eilmeldung, muss sofort raus")
    post = _plan(world, piece, feed, eleven)
    assert "Einer am Tag" in _refused(world, other, feed, eleven)

    (sent,) = _run(engine, utc(2030, 1, 15, 10, 1))
    assert sent.post_id == post.id and sent.status == PostStatus.published
    assert len(recording_kind.calls) == 1


def test_series_occurrences_of_the_revision_pass_an_overridden_rule(world: World) -> None:
    feed = _channel(world)
    piece = _approved(world, feed)
    _rule(world, "Nachtruhe und Sonntag", "quiet_hours", settings=SUNDAY_QUIET)
    sundays = [SUNDAY_UTC, SUNDAY_UTC + timedelta(days=7)]

    def refused() -> list[datetime]:
        found = rule_checks.refused_times(
            world.session, actor=world.editor, piece=piece, channel=feed, instants=sundays
        )
        return [r.at for r in found]

    assert refused() == sundays
    _override(world, piece, "Nachtruhe und Sonntag")
    assert refused() == []
