"""What people see of the metrics: a post's snapshots and collection, one sweep on demand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from planner import planning
from planner.metrics.collect import Collector, CollectResult, MetricsSettings
from planner.models import (
    Channel,
    LatestMetrics,
    MetricCollection,
    MetricFetch,
    MetricSnapshot,
    Post,
    User,
)
from planner.permissions import can, require, require_active


@dataclass(frozen=True)
class PostMetrics:
    """One post's figures over time, and where its collection stands.

    `state` is None while the post is not enrolled (not published, or no sweep since);
    `fetches` (the metrics ledger) is empty for readers who may not see ledgers.
    """

    post_id: int
    channel: str
    state: str | None
    next_due_at: datetime | None
    last_error: str | None
    snapshots: list[MetricSnapshot]
    fetches: list[MetricFetch]


def post_metrics(session: Session, *, actor: User, post_id: int) -> PostMetrics:
    """The snapshots of one post, oldest first, for whoever may see the post."""
    require_active(actor)
    post = planning.get_post(session, actor=actor, post_id=post_id)
    channel = session.get(Channel, post.channel_id)
    assert channel is not None  # a foreign key
    collection = session.get(MetricCollection, post_id)
    snapshots = session.exec(
        select(MetricSnapshot)
        .where(MetricSnapshot.post_id == post_id)
        .order_by(col(MetricSnapshot.collected_at), col(MetricSnapshot.id))
    )
    fetches: list[MetricFetch] = []
    if can(actor, "view_audit"):
        fetches = list(
            session.exec(
                select(MetricFetch)
                .where(MetricFetch.post_id == post_id)
                .order_by(col(MetricFetch.started_at), col(MetricFetch.id))
            )
        )
    return PostMetrics(
        post_id=post_id,
        channel=channel.name,
        state=collection.state if collection else None,
        next_due_at=collection.next_due_at if collection else None,
        last_error=collection.last_error if collection and can(actor, "view_pieces") else None,
        snapshots=list(snapshots),
        fetches=fetches,
    )


def latest_figures(
    session: Session, *, actor: User, post_ids: list[int]
) -> dict[int, MetricSnapshot]:
    """The newest snapshot (latest collected, as analytics counts it) of each of these
    posts that `actor` may see (posts without one are left out)."""
    require_active(actor)
    visible = planning.visible_piece_ids(session, actor=actor)
    rows = session.exec(
        select(MetricSnapshot, Post.piece_id)
        .join(LatestMetrics, col(LatestMetrics.snapshot_id) == col(MetricSnapshot.id))
        .join(Post, col(Post.id) == col(LatestMetrics.post_id))
        .where(col(LatestMetrics.post_id).in_(post_ids))
    )
    return {
        snapshot.post_id: snapshot
        for snapshot, piece_id in rows
        if visible is None or piece_id in visible
    }


def collect_once(
    engine: Engine,
    *,
    actor: User,
    worker_id: str,
    settings: MetricsSettings | None = None,
) -> CollectResult:
    """One collection sweep now, as the worker makes it (admins)."""
    require(actor, "collect_metrics")
    collector = Collector(engine, worker_id=worker_id, settings=settings)
    try:
        return collector.sweep()
    finally:
        collector.close()
