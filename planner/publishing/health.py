"""Scheduler health: live workers and the counts an operator watches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from planner import planning
from planner.models import (
    Channel,
    Piece,
    Post,
    PostStatus,
    User,
    WorkerHeartbeat,
    utcnow,
)
from planner.org_settings import is_frozen
from planner.permissions import require
from planner.publishing.settings import EngineSettings, max_lateness

# --- health -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusSummary:
    """Scheduler health for `status` and the dashboard."""

    workers: list[WorkerHeartbeat]
    frozen: bool
    due: int
    held: int
    failed: int
    needs_check: int
    missed: int
    awaiting_manual: int
    # Channels a rate limit paused, with the instant they may send again.
    paused: list[tuple[str, datetime]] = field(default_factory=list)


def status_summary(
    session: Session,
    *,
    actor: User,
    now: datetime | None = None,
    live_within: timedelta | None = None,
) -> StatusSummary:
    """Live workers and the counts an operator watches (those who may view pieces)."""
    require(actor, "view_pieces")
    now = now or utcnow()
    live_within = live_within or timedelta(seconds=3 * EngineSettings.from_env().poll_seconds + 30)
    workers = list(
        session.exec(
            select(WorkerHeartbeat)
            .where(col(WorkerHeartbeat.last_seen) >= now - live_within)
            .order_by(col(WorkerHeartbeat.worker_id))
        )
    )

    def count(*conditions: object) -> int:
        return int(
            session.exec(
                select(func.count()).select_from(Post).where(*conditions)  # type: ignore[arg-type]
            ).one()
        )

    due_total = count(Post.status == PostStatus.planned, col(Post.publish_at) <= now)
    releasable = (
        0
        if is_frozen(session)
        else int(
            session.exec(
                select(func.count())
                .select_from(Post)
                .join(Piece, col(Post.piece_id) == Piece.id)
                .join(Channel, col(Post.channel_id) == Channel.id)
                .where(*planning.releasable(now, max_lateness(session)))
            ).one()
        )
    )
    # Waiting, not held: a retry that is not due yet, or a channel paused by a rate limit.
    waiting = int(
        session.exec(
            select(func.count())
            .select_from(Post)
            .join(Channel, col(Post.channel_id) == Channel.id)
            .where(
                col(Post.status) == PostStatus.planned,
                col(Post.publish_at) <= now,
                or_(
                    and_(col(Post.next_attempt_at).is_not(None), col(Post.next_attempt_at) > now),
                    and_(col(Channel.paused_until).is_not(None), col(Channel.paused_until) > now),
                ),
            )
        ).one()
    )
    return StatusSummary(
        workers=workers,
        frozen=is_frozen(session),
        due=releasable,
        held=max(0, due_total - releasable - waiting),
        failed=count(Post.status == PostStatus.failed),
        needs_check=count(Post.status == PostStatus.needs_check),
        missed=count(Post.status == PostStatus.missed),
        awaiting_manual=count(Post.status == PostStatus.awaiting_manual),
        paused=[
            (channel.name, channel.paused_until)
            for channel in session.exec(
                select(Channel).where(col(Channel.paused_until) > now).order_by(col(Channel.name))
            )
            if channel.paused_until is not None
        ],
    )


def beat(
    session: Session,
    *,
    worker_id: str,
    hostname: str,
    pid: int,
    embedded: bool,
    published: int = 0,
    failed: int = 0,
) -> None:
    """Record that a worker is alive (and what it did since the last beat)."""
    row = session.get(WorkerHeartbeat, worker_id)
    now = utcnow()
    if row is None:
        row = WorkerHeartbeat(
            worker_id=worker_id,
            hostname=hostname,
            pid=pid,
            embedded=embedded,
            started_at=now,
            last_seen=now,
        )
    row.last_seen = now
    row.published += published
    row.failed += failed
    session.add(row)
    session.commit()
