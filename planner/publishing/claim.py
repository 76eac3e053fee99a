"""Claiming due posts: one atomic statement per batch, leases, renewal."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Update,
    and_,
    bindparam,
    update,
)
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session, col, select

from planner import planning, workflow
from planner.channels import build_adapter
from planner.dbtypes import UTCDateTime
from planner.models import (
    Channel,
    Piece,
    Post,
    Setting,
    utcnow,
)
from planner.publishing.deliver import AdapterFactory, Delivery, prepare
from planner.publishing.tables import PIECES, POSTS

# What a delivery needs of a claimed post (the claim returns it).
CLAIMED_COLUMNS = (
    POSTS.c.id,
    POSTS.c.piece_id,
    POSTS.c.channel_id,
    POSTS.c.attempts,
    POSTS.c.idempotency_key,
    POSTS.c.publish_at,
    # As text: most posts have no media, and decoding '[]' per post is measurable.
    sa.cast(POSTS.c.media, sa.Text()).label("media"),
    # The approved revision, as the claim wrote it (`_APPROVED_REVISION`).
    POSTS.c.sent_revision.label("revision"),
)
# The piece's approved revision, read in the claim's own snapshot: the text sent is this
# revision's, so an edit committed after the claim can never go out unapproved. The post
# keeps it (`sent_revision`), so what went out can be read after the next approval.
_APPROVED_REVISION = (
    sa.select(PIECES.c.approved_revision).where(PIECES.c.id == POSTS.c.piece_id).scalar_subquery()
)


@functools.cache
def _claim_statement(dialect: str, limit: int) -> Update:
    """The claim, built once per (dialect, batch size) with bound parameters: `now`,
    `earliest` (the lateness bound), `worker` and `lease_until`. It returns what a
    delivery needs of each claimed post, so the batch needs no second read of posts."""
    now = bindparam("now", type_=UTCDateTime())
    # The piece's conditions are checked per candidate post in a correlated subquery,
    # not through a join. Joined, PostgreSQL underestimates `approved_revision = revision`
    # and starts from the pieces table: every claim then walks the posts of every
    # approved or published piece there ever was (measured: 250 ms per claim after a
    # 10 000-post backlog, see bench/RESULTS.md). This way the claim reads the
    # (status, publish_at, id) index in order and stops after `limit` releasable posts.
    # (A releasable() condition on pieces *and* another table would need the join back.)
    piece_conditions: list[ColumnElement[bool]] = []
    other_conditions: list[ColumnElement[bool]] = []
    conditions = planning.releasable(now, earliest=bindparam("earliest", type_=UTCDateTime()))
    for condition in conditions:
        tables = {t.name for t in find_tables(condition, check_columns=True)}
        (piece_conditions if tables == {Piece.__tablename__} else other_conditions).append(
            condition
        )
    piece_releasable = (
        select(and_(*piece_conditions)).where(Piece.id == Post.piece_id).scalar_subquery()
    )
    frozen = (
        select(Setting.key)
        .where(col(Setting.key) == "publishing_frozen", col(Setting.value) == "on")
        .exists()
    )
    due = (
        select(Post.id)
        .join(Channel, col(Post.channel_id) == Channel.id)
        .where(*other_conditions, piece_releasable, ~frozen)
        .order_by(col(Post.publish_at), col(Post.id))
        .limit(limit)
    )
    stmt = update(POSTS)
    if dialect == "postgresql":
        # FOR UPDATE SKIP LOCKED: concurrent workers take disjoint posts. A CTE that
        # locks rows is evaluated once, so the update changes exactly the rows it
        # locked; the update joins them by id.
        claimed = due.with_for_update(skip_locked=True, of=Post).cte("due")
        stmt = stmt.where(POSTS.c.id == claimed.c.id)
    else:
        # SQLite has one writer at a time, so the single UPDATE is atomic there.
        stmt = stmt.where(POSTS.c.id.in_(due.scalar_subquery()))
    return stmt.values(
        status=workflow.target("post", "claim"),
        claimed_by=bindparam("worker"),
        lease_until=bindparam("lease_until", type_=UTCDateTime()),
        attempts=POSTS.c.attempts + 1,
        sent_revision=_APPROVED_REVISION,
        version=POSTS.c.version + 1,
    ).returning(*CLAIMED_COLUMNS)


def _claim(
    conn: Connection, worker: str, now: datetime, limit: int, lease: timedelta, lateness: timedelta
) -> list[Any]:
    """Run the claim; the claimed posts' rows in id order."""
    rows = conn.execute(
        _claim_statement(conn.dialect.name, limit),
        {"now": now, "earliest": now - lateness, "worker": worker, "lease_until": now + lease},
    ).all()
    return sorted(rows, key=lambda row: int(row.id))


def claim_deliveries(
    engine: Engine,
    *,
    worker_id: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    lateness: timedelta,
    adapter_factory: AdapterFactory = build_adapter,
) -> list[Delivery]:
    """Claim up to `limit` releasable posts and make them ready to send, in one transaction.

    The claim, then the adapters (once per channel) and the ledger rows of the posts on
    channels that deduplicate, committed together.
    """
    with Session(engine, expire_on_commit=False) as session:
        rows = _claim(session.connection(), worker_id, now, limit, lease, lateness)
        deliveries = prepare(session, rows, worker_id, adapter_factory, now)
        session.commit()
    return deliveries


def renew_leases(
    session: Session, *, worker_id: str, post_ids: list[int], lease: timedelta
) -> list[int]:
    """Extend this worker's leases on posts still in flight; the ids still held.

    A post missing from the answer was taken from this worker (its lease ran out and
    another recovered it, or a person moved it): the worker must not send it.
    """
    if not post_ids:
        return []
    held = session.exec(
        update(Post)
        .where(
            col(Post.id).in_(post_ids),
            col(Post.claimed_by) == worker_id,
            col(Post.status).in_(workflow.sources("post", "publish")),
        )
        .values(lease_until=utcnow() + lease)
        .returning(col(Post.id))
        .execution_options(synchronize_session=False)
    ).scalars()
    ids = sorted(int(i) for i in held)
    session.commit()
    return ids
