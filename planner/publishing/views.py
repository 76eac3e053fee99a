"""What the publishing overview shows: posts the scheduler left to a person, the pieces they
belong to, and the latest attempts in the ledger."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from planner.models import Piece, Post, PostStatus, PublishAttempt, User
from planner.permissions import require

# Where the scheduler leaves a post to a person; the workflow says what they may do with it.
NEEDS_A_PERSON = (
    PostStatus.failed,
    PostStatus.missed,
    PostStatus.needs_check,
    PostStatus.awaiting_manual,
)


def posts_needing_a_person(session: Session, *, actor: User, limit: int = 200) -> list[Post]:
    """Failed, missed, unconfirmed and hand-posted posts, the earliest first (those who may
    view pieces)."""
    require(actor, "view_pieces")
    query = (
        select(Post)
        .where(col(Post.status).in_(NEEDS_A_PERSON))
        .order_by(col(Post.publish_at), col(Post.id))
        .limit(limit)
    )
    return list(session.exec(query))


def piece_titles(session: Session, *, actor: User, piece_ids: Iterable[int]) -> dict[int, str]:
    """The titles of the given pieces by id (those who may view pieces)."""
    require(actor, "view_pieces")
    wanted = set(piece_ids)
    if not wanted:
        return {}
    rows = session.exec(select(Piece.id, Piece.title).where(col(Piece.id).in_(wanted)))
    return {piece_id: title for piece_id, title in rows if piece_id is not None}


def latest_attempts(session: Session, *, actor: User, limit: int = 100) -> list[PublishAttempt]:
    """The newest attempts to publish, newest first (those who may read the audit log, as
    for one post's ledger)."""
    require(actor, "view_audit")
    query = select(PublishAttempt).order_by(col(PublishAttempt.id).desc()).limit(limit)
    return list(session.exec(query))
