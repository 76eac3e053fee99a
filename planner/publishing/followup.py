"""After the engine: pieces whose posts are all out, and what people do with posts."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import (
    bindparam,
    func,
    insert,
    update,
)
from sqlmodel import Session, col, select

from planner import audit, planning
from planner.errors import (
    IllegalTransition,
    Message,
    ValidationFailed,
)
from planner.models import (
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    User,
    utcnow,
)
from planner.permissions import require
from planner.publishing.record import Outcome, published_pieces
from planner.publishing.tables import AUDIT, PIECES, POSTS, SERIES

log = logging.getLogger("planner.publishing")


_OPEN = [
    PostStatus.planned,
    PostStatus.publishing,
    PostStatus.failed,
    PostStatus.needs_check,
    PostStatus.awaiting_manual,
    PostStatus.missed,
]


# Runs after every batch, so it is one prebuilt Core statement.
_PUBLISH_FINISHED = (
    update(PIECES)
    .where(
        PIECES.c.id.in_(bindparam("ids", expanding=True)),
        PIECES.c.status == PieceStatus.approved,
        ~select(POSTS.c.id)
        .where(POSTS.c.piece_id == PIECES.c.id, POSTS.c.status.in_(_OPEN))
        .exists(),
        ~select(SERIES.c.id)
        .where(SERIES.c.piece_id == PIECES.c.id, SERIES.c.active.is_(True))
        .exists(),
    )
    .values(status=PieceStatus.published, version=PIECES.c.version + 1)
    .returning(PIECES.c.id, PIECES.c.revision)
)


def publish_finished_pieces(
    session: Session,
    *,
    outcomes: Iterable[Outcome] = (),
    piece_ids: Iterable[int] = (),
    worker: str,
) -> None:
    """Approved pieces whose posts are all out (and no series continues) become published.

    Run it after the posts' own commit, so whichever post of a piece finishes last sees
    all the others out, even when they finish at the same time in other workers.
    """
    ids = sorted(published_pieces(outcomes) | set(piece_ids))
    if not ids:
        return
    conn = session.connection()
    moved = conn.execute(_PUBLISH_FINISHED, {"ids": ids}).all()
    if moved:
        now = utcnow()
        conn.execute(
            insert(AUDIT),
            [
                {
                    "at": now,
                    "actor_id": None,
                    "actor_name": worker,
                    "object_type": "piece",
                    "object_id": str(piece_id),
                    "action": "published",
                    "from_state": "approved",
                    "to_state": "published",
                    "version": revision,
                    "note": "all its posts are out",
                }
                for piece_id, revision in moved
            ],
        )
    session.commit()


# --- human follow-up --------------------------------------------------------------------------


def retry_post(session: Session, *, actor: User, post_id: int) -> Post:
    """Send a failed, missed or checked post again as soon as possible."""
    require(actor, "plan_posts")
    post = planning.get_post(session, post_id)
    if post.status not in (PostStatus.failed, PostStatus.missed, PostStatus.needs_check):
        raise IllegalTransition(
            "post",
            post_id,
            post.status.value,
            "retry",
            ["cancel"] if post.status == PostStatus.planned else [],
        )
    before = post.status
    now = utcnow()
    post.status = PostStatus.planned
    post.next_attempt_at = None
    post.attempts = 0
    if post.publish_at < now:
        # A retry is a decision to publish now; the lateness bound must not undo it.
        post.publish_at = now
    session.add(post)
    audit.record(
        session,
        actor=actor,
        object_type="post",
        object_id=post_id,
        action="retry",
        from_state=before.value,
        to_state=PostStatus.planned.value,
    )
    session.commit()
    return post


def mark_posted(session: Session, *, actor: User, post_id: int, url: str = "") -> Post:
    """A person confirms a post went out: one that needed a check, or one posted by hand
    on a channel without an API (which needs the URL where it was posted)."""
    require(actor, "plan_posts")
    post = planning.get_post(session, post_id)
    if post.status not in (PostStatus.needs_check, PostStatus.awaiting_manual):
        raise IllegalTransition("post", post_id, post.status.value, "mark-posted", [])
    url = url.strip()
    if post.status == PostStatus.awaiting_manual and not url:
        raise ValidationFailed(
            {"url": Message("no_post_url", "give the address where the post was published")}
        )
    if url and not url.startswith(("http://", "https://")):
        raise ValidationFailed(
            {"url": Message("not_a_web_address", "{value!r} is not a web address", value=url)}
        )
    before = post.status
    post.status = PostStatus.published
    post.published_at = utcnow()
    post.external_url = url or post.external_url
    session.add(post)
    audit.record(
        session,
        actor=actor,
        object_type="post",
        object_id=post_id,
        action="mark_posted",
        from_state=before.value,
        to_state=PostStatus.published.value,
        note=url,
    )
    session.commit()
    publish_finished_pieces(session, piece_ids=[post.piece_id], worker=actor.username)
    return post


def awaiting_manual_count(session: Session, *, user: User) -> int:
    """Posts waiting for `user` to publish them by hand: those of the pieces they own."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Post)
            .join(Piece, col(Post.piece_id) == Piece.id)
            .where(Post.status == PostStatus.awaiting_manual, Piece.owner_id == user.id)
        ).one()
    )
