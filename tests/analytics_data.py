"""Hand-built analytics data for the tests of planner.analytics and the kept latest figures:
channels, ideas, pieces, posts and metric snapshots written straight to the database."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from planner.models import Channel, Idea, MetricSnapshot, Piece, Post, PostStatus, User
from tests.conftest import World


def channel(s: Session, name: str) -> Channel:
    """A webhook channel named `name`."""
    made = Channel(kind="webhook", name=name, settings={})
    s.add(made)
    s.flush()
    return made


def idea(s: Session, author: User, title: str) -> Idea:
    """An idea of `author`'s department, submitted by them."""
    assert author.id is not None and author.department_id is not None
    made = Idea(
        title=title, pitch="-", department_id=author.department_id, submitted_by_id=author.id
    )
    s.add(made)
    s.flush()
    return made


def piece(s: Session, world: World, title: str, idea: Idea | None, campaign: str = "") -> Piece:
    """A piece of the world's editor, made from `idea` if any."""
    assert world.editor.id is not None
    made = Piece(
        title=title,
        owner_id=world.editor.id,
        idea_id=idea.id if idea else None,
        campaign=campaign,
    )
    s.add(made)
    s.flush()
    return made


def post(
    s: Session,
    world: World,
    piece: Piece,
    channel: Channel,
    at: datetime,
    status: PostStatus = PostStatus.published,
) -> int:
    """A post of `piece` on `channel` at `at` (published then, unless `status` says
    otherwise), by the world's editor: its id."""
    made = Post(
        piece_id=piece.id,
        channel_id=channel.id,
        publish_at=at,
        published_at=at if status == PostStatus.published else None,
        status=status,
        created_by_id=world.editor.id,
    )
    s.add(made)
    s.flush()
    assert made.id is not None
    return made.id


def snapshot(s: Session, post_id: int, at: datetime, **counts: int | None) -> int:
    """A metric snapshot of the post `post_id` collected at `at`: its id."""
    made = MetricSnapshot(post_id=post_id, collected_at=at, **counts)
    s.add(made)
    s.flush()
    assert made.id is not None
    return made.id
