"""Posts whose time passed unsent (missed) and posts whose worker stopped (recovery)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    update,
)
from sqlmodel import Session, col, select

from planner import audit
from planner.channels import build_adapter
from planner.errors import (
    PlannerError,
)
from planner.models import (
    Channel,
    Post,
    PostStatus,
    PublishAttempt,
)
from planner.publishing.deliver import AdapterFactory

log = logging.getLogger("planner.publishing")


def mark_missed(session: Session, *, now: datetime, lateness: timedelta) -> list[int]:
    """Posts never tried and later than the bound become `missed` for an editor."""
    stmt = (
        update(Post)
        .where(
            col(Post.status) == PostStatus.planned,
            col(Post.attempts) == 0,
            col(Post.publish_at) < now - lateness,
        )
        .values(
            status=PostStatus.missed,
            last_error=f"not published within {lateness} of its time",
            version=Post.version + 1,
        )
        .returning(col(Post.id))
        .execution_options(synchronize_session=False)
    )
    ids = list(session.exec(stmt).scalars())
    for post_id in ids:
        audit.record(
            session,
            actor=None,
            actor_name="scheduler",
            object_type="post",
            object_id=post_id,
            action="missed",
            from_state="planned",
            to_state="missed",
            note=f"more than {lateness} late",
        )
    session.commit()
    return ids


@dataclass
class Recovery:
    """What happened to posts whose worker's lease ran out."""

    requeued: list[int] = field(default_factory=list)
    needs_check: list[int] = field(default_factory=list)


def recover_expired(
    session: Session, *, now: datetime, adapter_factory: AdapterFactory = build_adapter
) -> Recovery:
    """Posts left `publishing` by a dead worker: safe to send again, or a human checks.

    If a request may have been in flight (an attempt was started and never finished) and
    the channel cannot deduplicate, sending again could publish twice: `needs_check`.
    """
    result = Recovery()
    rows = session.exec(
        select(Post, Channel)
        .join(Channel, col(Post.channel_id) == Channel.id)
        .where(Post.status == PostStatus.publishing, col(Post.lease_until) < now)
    ).all()
    for post, channel in rows:
        open_attempt = session.exec(
            select(PublishAttempt)
            .where(PublishAttempt.post_id == post.id, col(PublishAttempt.finished_at).is_(None))
            .order_by(col(PublishAttempt.id).desc())
        ).first()
        try:
            dedupes = adapter_factory(channel).deduplicates
        except (PlannerError, ValueError):
            dedupes = False
        in_flight = open_attempt is not None
        target = PostStatus.needs_check if in_flight and not dedupes else PostStatus.planned
        note = (
            f"worker {post.claimed_by} stopped mid-request; {channel.name} cannot deduplicate, "
            "so check whether it went out"
            if target == PostStatus.needs_check
            else f"worker {post.claimed_by} stopped; sending again"
            + (" with the same idempotency key" if in_flight else "")
        )
        moved = session.exec(
            update(Post)
            .where(
                col(Post.id) == post.id,
                col(Post.status) == PostStatus.publishing,
                col(Post.lease_until) < now,
            )
            .values(
                status=target,
                claimed_by=None,
                lease_until=None,
                next_attempt_at=None,
                last_error=note,
                version=Post.version + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            session.rollback()
            continue
        if open_attempt is not None:
            open_attempt.finished_at = now
            open_attempt.outcome = "interrupted"
            open_attempt.error = note
            session.add(open_attempt)
        audit.record(
            session,
            actor=None,
            actor_name="scheduler",
            object_type="post",
            object_id=post.id,
            action="recover",
            from_state="publishing",
            to_state=target.value,
            note=note,
        )
        session.commit()
        (result.needs_check if target == PostStatus.needs_check else result.requeued).append(
            post.id  # type: ignore[arg-type]
        )
    return result
