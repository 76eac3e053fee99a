"""After the engine: pieces whose posts are all out, and what people do with posts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import Session, col, select

from planner import finishing, planning, workflow
from planner.errors import (
    Message,
    ValidationFailed,
)
from planner.models import (
    Piece,
    Post,
    PostStatus,
    User,
    utcnow,
)
from planner.publishing.record import Outcome, published_pieces
from planner.schemas import check_text


def publish_finished_pieces(
    session: Session,
    *,
    outcomes: Iterable[Outcome] = (),
    piece_ids: Iterable[int] = (),
    worker: str,
) -> None:
    """Approved pieces whose posts are all out (and no series continues) become published
    (see `planner.finishing`): those of the posts `outcomes` published, and `piece_ids`.

    Run it after the posts' own commit, so whichever post of a piece finishes last sees
    all the others out, even when they finish at the same time in other workers.
    """
    finishing.finish_pieces(session, published_pieces(outcomes) | set(piece_ids), by=worker)


# --- human follow-up --------------------------------------------------------------------------


def retry_post(session: Session, *, actor: User, post_id: int) -> Post:
    """Send a failed, missed or checked post again as soon as possible."""
    workflow.check_role("post", "retry", actor)
    post = planning.get_post(session, actor=actor, post_id=post_id)
    fresh_tries = planning.tries_afresh(session, post)

    def send_again() -> None:
        now = utcnow()
        fresh_tries()
        if post.publish_at < now:
            # A retry is a decision to publish now; the lateness bound must not undo it.
            post.publish_at = now

    return workflow.apply_post(session, post=post, action="retry", actor=actor, effect=send_again)


def mark_posted(session: Session, *, actor: User, post_id: int, url: str = "") -> Post:
    """A person confirms a post went out: one that needed a check, or one posted by hand
    on a channel without an API (which needs the URL where it was posted)."""
    workflow.check_role("post", "mark_posted", actor)
    post = planning.get_post(session, actor=actor, post_id=post_id)
    url = check_text(url.strip(), "url")

    def url_given() -> None:
        if post.status == PostStatus.awaiting_manual and not url:
            raise ValidationFailed(
                {"url": Message("no_post_url", "give the address where the post was published")}
            )
        if url and not url.startswith(("http://", "https://")):
            raise ValidationFailed(
                {"url": Message("not_a_web_address", "{value!r} is not a web address", value=url)}
            )

    def published() -> None:
        post.published_at = utcnow()
        post.external_url = url or post.external_url

    piece_id, by, by_id = post.piece_id, actor.username, actor.id  # the commit expires them
    workflow.apply_post(
        session,
        post=post,
        action="mark_posted",
        actor=actor,
        note=url,
        guard=url_given,
        effect=published,
    )
    finishing.finish_after_change(session, piece_id, by=by, by_id=by_id)
    return post


def awaiting_manual_count(session: Session, *, user: User) -> int:
    """Posts waiting for `user` to publish them by hand: those of the pieces they own."""
    # From the few waiting posts to their pieces, not from all the user's pieces to their
    # posts (the join order SQLite picks for a join): this runs in every page's sidebar.
    owned = (
        select(Piece.id).where(col(Piece.id) == Post.piece_id, Piece.owner_id == user.id).exists()
    )
    return int(
        session.exec(
            select(func.count())
            .select_from(Post)
            .where(Post.status == PostStatus.awaiting_manual, owned)
        ).one()
    )
