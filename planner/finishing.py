"""Approved pieces whose posts are all out become published.

A piece is finished when at least one of its posts went out since its approval, none may
still go out (a cancelled post counts as out of the way) and no series of it has
occurrences left to plan (`Series.complete`, or ended). The engine runs this after a batch
of posts is recorded, a person after marking a post posted or after cancelling one (the
last open post of a piece, or a whole series), and each worker over all pieces every few
minutes (what a step after a person's change could not do). Each caller runs it
after its own commit, so whichever change finishes a piece last sees the others, even
when they are committed at the same moment by other workers or people.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select, update
from sqlalchemy.sql.dml import ReturningUpdate
from sqlmodel import Session

from planner import audit, notifications, workflow
from planner.db import DATABASE_DOWN
from planner.models import Piece, Post, PostStatus, Series, core_tables, utcnow

log = logging.getLogger(__name__)

_PIECES, _POSTS, _SERIES = core_tables(Piece, Post, Series)

# Posts that may still go out: a piece with any of them is not finished.
_OPEN = workflow.leading_to("post", PostStatus.published)

# RETURNING gives the moved rows as they are now, so the audit names the one state
# "publish" leaves (unpacking fails at import should the table give it more than one).
(_PUBLISH_FROM,) = workflow.sources("piece", "publish")
_PUBLISH_TO = workflow.target("piece", "publish")


def _publish_finished(*scope: ColumnElement[bool]) -> ReturningUpdate[Any]:
    """The UPDATE that publishes the finished approved pieces (of those `scope` selects)."""
    return (
        update(_PIECES)
        .where(
            *scope,
            _PIECES.c.status.in_(workflow.sources("piece", "publish")),
            select(_POSTS.c.id)
            .where(
                _POSTS.c.piece_id == _PIECES.c.id,
                _POSTS.c.status == PostStatus.published,
                # Out since this approval: a piece published before, reopened and approved
                # again is finished by a post of the new revision, not by the old ones. (A
                # post goes out seconds after the approval at the earliest, far more than
                # the clocks of synchronised machines disagree.)
                or_(
                    _PIECES.c.approved_at.is_(None),
                    _POSTS.c.published_at.is_(None),
                    _POSTS.c.published_at >= _PIECES.c.approved_at,
                ),
            )
            .exists(),
            ~select(_POSTS.c.id)
            .where(_POSTS.c.piece_id == _PIECES.c.id, _POSTS.c.status.in_(_OPEN))
            .exists(),
            ~select(_SERIES.c.id)
            .where(
                _SERIES.c.piece_id == _PIECES.c.id,
                _SERIES.c.active.is_(True),
                _SERIES.c.complete.is_(False),
            )
            .exists(),
        )
        .values(status=_PUBLISH_TO, version=_PIECES.c.version + 1)
        .returning(_PIECES.c.id, _PIECES.c.revision)
    )


# Runs after every batch of the engine, so both are prebuilt Core statements.
_PUBLISH_FINISHED = _publish_finished(_PIECES.c.id.in_(bindparam("ids", expanding=True)))
_PUBLISH_ALL_FINISHED = _publish_finished()

NOTE = "all its posts are out"


def finish_pieces(
    session: Session, piece_ids: Iterable[int] | None, *, by: str, by_id: int | None = None
) -> list[int]:
    """Of these pieces (None: of all), the approved ones that are finished become
    published, each with an audit event in the name of `by` (a worker, or the person with
    the id `by_id` whose change finished them) and a notice to the contributors of the
    ideas behind it. Commits; returns the ids of the pieces it published."""
    conn = session.connection()
    if piece_ids is None:
        moved = conn.execute(_PUBLISH_ALL_FINISHED).all()
    else:
        ids = sorted(set(piece_ids))
        if not ids:
            return []
        moved = conn.execute(_PUBLISH_FINISHED, {"ids": ids}).all()
    if moved:
        now = utcnow()
        audit.append(
            conn,
            [
                audit.event_row(
                    actor_name=by,
                    actor_id=by_id,
                    object_type="piece",
                    object_id=piece_id,
                    action="publish",
                    from_state=_PUBLISH_FROM,
                    to_state=_PUBLISH_TO,
                    version=revision,
                    note=NOTE,
                    at=now,
                )
                for piece_id, revision in moved
            ],
        )
        notifications.pieces_published(conn, [piece_id for piece_id, _revision in moved])
    session.commit()
    return [piece_id for piece_id, _revision in moved]


def finish_after_change(session: Session, piece_id: int, *, by: str, by_id: int | None) -> None:
    """`finish_pieces` for the piece of a post a person just changed (its change committed):
    should the database go away in between, the change stands, and a worker's look over
    all pieces (every few minutes) publishes the piece instead."""
    try:
        finish_pieces(session, [piece_id], by=by, by_id=by_id)
    except DATABASE_DOWN as err:
        session.rollback()
        log.warning(
            "piece %d: not marked published yet (%s); the scheduler does it shortly", piece_id, err
        )
