"""The publishing overview's reads: posts left to a person, piece titles, the latest attempts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from planner import channels, pieces, planning, publishing
from planner.errors import PermissionDenied
from planner.models import Channel, Piece, Post, PostStatus, PublishAttempt, User, utcnow
from planner.publishing import views
from tests.conftest import World


def _channel(world: World) -> Channel:
    return channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Feed", settings={}
    )


def _piece(world: World, title: str) -> Piece:
    return pieces.create_piece(world.session, actor=world.editor, data={"title": title})


# This hour tomorrow, once per run: the posts below are whole hours apart.
_TOMORROW = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)


def _post(world: World, piece: Piece, channel: Channel, *, hours: int, status: PostStatus) -> Post:
    """A post `hours` after this hour tomorrow (whole hours apart: one piece may be on a
    channel once an hour), put where the scheduler would have put it."""
    assert piece.id is not None and channel.id is not None
    post = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        when=_TOMORROW + timedelta(hours=hours),
    )
    post.status = status
    world.session.add(post)
    world.session.commit()
    return post


def _attempt(world: World, post: Post, outcome: str) -> PublishAttempt:
    assert post.id is not None
    attempt = PublishAttempt(post_id=post.id, worker="w1", outcome=outcome)
    world.session.add(attempt)
    world.session.commit()
    return attempt


def test_posts_needing_a_person_are_the_failed_missed_unconfirmed_and_manual_ones_earliest_first(
    world: World,
) -> None:
    channel, piece = _channel(world), _piece(world, "Gruß")
    manual = _post(world, piece, channel, hours=4, status=PostStatus.awaiting_manual)
    failed = _post(world, piece, channel, hours=1, status=PostStatus.failed)
    _post(world, piece, channel, hours=2, status=PostStatus.planned)
    _post(world, piece, channel, hours=3, status=PostStatus.published)
    missed = _post(world, piece, channel, hours=5, status=PostStatus.missed)
    check = _post(world, piece, channel, hours=6, status=PostStatus.needs_check)

    found = views.posts_needing_a_person(world.session, actor=world.editor)

    assert [p.id for p in found] == [failed.id, manual.id, missed.id, check.id]
    limited = views.posts_needing_a_person(world.session, actor=world.approver, limit=2)
    assert [p.id for p in limited] == [failed.id, manual.id]


def test_piece_titles_name_the_pieces_asked_for(world: World) -> None:
    first, second, _other = (_piece(world, t) for t in ("Eins", "Zwei", "Drei"))
    assert first.id is not None and second.id is not None

    titles = views.piece_titles(world.session, actor=world.editor, piece_ids=[first.id, second.id])

    assert titles == {first.id: "Eins", second.id: "Zwei"}
    assert views.piece_titles(world.session, actor=world.editor, piece_ids=[]) == {}


def test_latest_attempts_come_newest_first(world: World) -> None:
    channel, piece = _channel(world), _piece(world, "Gruß")
    post = _post(world, piece, channel, hours=1, status=PostStatus.published)
    first, second, third = (_attempt(world, post, o) for o in ("failed", "failed", "published"))

    latest = views.latest_attempts(world.session, actor=world.admin)

    assert [a.id for a in latest] == [third.id, second.id, first.id]
    assert [a.id for a in views.latest_attempts(world.session, actor=world.admin, limit=1)] == [
        third.id
    ]


def _contributor(world: World) -> User:
    return world.contributor


def _disabled_editor(world: World) -> User:
    world.editor.disabled = True
    return world.editor


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(_contributor, id="contributor"),
        pytest.param(_disabled_editor, id="disabled-editor"),
    ],
)
def test_those_who_may_not_view_pieces_read_nothing_of_the_overview(
    world: World, who: Callable[[World], User]
) -> None:
    actor = who(world)
    with pytest.raises(PermissionDenied):
        views.posts_needing_a_person(world.session, actor=actor)
    with pytest.raises(PermissionDenied):
        views.piece_titles(world.session, actor=actor, piece_ids=[1])
    with pytest.raises(PermissionDenied):
        views.latest_attempts(world.session, actor=actor)


def test_posts_awaiting_manual_publishing_are_counted_for_their_pieces_owner_only(
    world: World,
) -> None:
    channel, mine = _channel(world), _piece(world, "Gruß")
    theirs = pieces.create_piece(world.session, actor=world.editor2, data={"title": "Anderes"})
    _post(world, mine, channel, hours=1, status=PostStatus.awaiting_manual)
    _post(world, mine, channel, hours=2, status=PostStatus.awaiting_manual)
    _post(world, mine, channel, hours=3, status=PostStatus.planned)
    assert theirs.id is not None and channel.id is not None
    other = planning.plan_post(
        world.session,
        actor=world.editor2,
        piece_id=theirs.id,
        channel=channel.id,
        when=utcnow() + timedelta(days=2),
    )
    other.status = PostStatus.awaiting_manual
    world.session.add(other)
    world.session.commit()

    assert publishing.awaiting_manual_count(world.session, user=world.editor) == 2
    assert publishing.awaiting_manual_count(world.session, user=world.editor2) == 1
    assert publishing.awaiting_manual_count(world.session, user=world.approver) == 0
