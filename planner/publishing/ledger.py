"""What happened to one post on its way out (the ledger), and what would stop it now."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from planner import checks, planning
from planner.models import Channel, Piece, Post, PublishAttempt, Revision, User
from planner.permissions import require


@dataclass(frozen=True)
class PostLedger:
    """One post, its channel's name and every attempt to publish it, oldest first."""

    post: Post
    channel: str
    attempts: list[PublishAttempt]


def post_ledger(session: Session, *, actor: User, post_id: int) -> PostLedger:
    """The publishing ledger of one post: each attempt's times, worker and outcome."""
    require(actor, "view_audit")
    post = planning.get_post(session, actor=actor, post_id=post_id)
    channel = session.get(Channel, post.channel_id)
    assert channel is not None  # a foreign key
    attempts = session.exec(
        select(PublishAttempt)
        .where(PublishAttempt.post_id == post_id)
        .order_by(col(PublishAttempt.started_at), col(PublishAttempt.id))
    )
    return PostLedger(post=post, channel=channel.name, attempts=list(attempts))


def why_held(session: Session, *, actor: User, post_id: int) -> str | None:
    """Why a post would not go out when due, or None if nothing stops it.

    A hold (freeze, piece not approved as it is, channel disabled or disconnected) comes
    first; otherwise what its channel would refuse in the approved text it would be sent.
    """
    require(actor, "view_pieces")
    post = planning.get_post(session, actor=actor, post_id=post_id)
    reason = planning.hold_reason(session, post)
    if reason is not None:
        return reason.value
    piece = session.get(Piece, post.piece_id)
    channel = session.get(Channel, post.channel_id)
    assert piece is not None and channel is not None  # foreign keys
    approved = session.exec(
        select(Revision).where(
            Revision.piece_id == piece.id, Revision.number == piece.approved_revision
        )
    ).first()
    if approved is None:
        return None
    outgoing = checks.content_post(channel, approved, post_id=post_id, media=post.media)
    return checks.refusal(channel, outgoing)
