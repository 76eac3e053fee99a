"""How deliveries went: verdicts, and posts, ledger and audit recorded in one transaction."""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    Connection,
    Engine,
    Update,
    bindparam,
    func,
    insert,
    update,
)
from sqlmodel import Session, select

from planner.channels import mark_needs_reconnect
from planner.dbtypes import UTCDateTime
from planner.models import (
    PostStatus,
    utcnow,
)
from planner.publishing.deliver import Delivery
from planner.publishing.settings import EngineSettings, backoff_seconds
from planner.publishing.tables import ATTEMPTS, AUDIT, POSTS, as_json, recordset
from publishers.base import (
    ManualActionRequired,
    RateLimited,
)

log = logging.getLogger("planner.publishing")


@dataclass(frozen=True)
class Outcome:
    """How one publish ended."""

    post_id: int
    status: PostStatus
    outcome: str
    message: str = ""
    piece_id: int | None = None


_FINISH_ATTEMPT = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.id == bindparam("b_id"))
    .values(
        finished_at=bindparam("b_finished_at"),
        outcome=bindparam("b_outcome"),
        duration_ms=bindparam("b_duration_ms"),
        http_status=bindparam("b_http_status"),
        error=bindparam("b_error"),
        external_id=bindparam("b_external_id"),
        external_url=bindparam("b_external_url"),
    )
)


@dataclass(frozen=True)
class _Verdict:
    status: PostStatus
    outcome: str
    message: str
    retry_at: datetime | None = None


def _verdict(
    delivery: Delivery,
    *,
    failures: int,
    settings: EngineSettings,
    rng: random.Random | None,
    now: datetime,
) -> _Verdict:
    """Where a delivered post goes next, from its receipt or its typed error."""
    if delivery.config_error:
        return _Verdict(PostStatus.failed, "config", delivery.config_error)
    if delivery.receipt is not None:
        return _Verdict(PostStatus.published, "published", "")
    error = delivery.error
    assert error is not None
    if isinstance(error, ManualActionRequired):
        return _Verdict(PostStatus.awaiting_manual, error.outcome, error.message)
    if isinstance(error, RateLimited):
        return _Verdict(
            PostStatus.planned,
            error.outcome,
            error.message,
            now + timedelta(seconds=error.retry_after),
        )
    if error.retryable:
        if failures < settings.max_attempts:
            wait = backoff_seconds(settings, failures, rng)
            return _Verdict(
                PostStatus.planned, error.outcome, error.message, now + timedelta(seconds=wait)
            )
        return _Verdict(
            PostStatus.failed,
            error.outcome,
            f"gave up after {failures} attempts: {error.message}",
        )
    return _Verdict(PostStatus.failed, error.outcome, error.message)


def _is_retry(delivery: Delivery) -> bool:
    error = delivery.error
    return (
        error is not None
        and error.retryable
        and not isinstance(error, (RateLimited, ManualActionRequired))
    )


def finish_deliveries(
    engine: Engine,
    deliveries: list[Delivery],
    *,
    worker_id: str,
    settings: EngineSettings,
    rng: random.Random | None = None,
) -> list[Outcome]:
    """Record how a group of deliveries went, in one transaction: posts, ledger, audit.

    A post is moved only while this worker still holds it; if another worker recovered
    it after our lease ran out, the ledger keeps what really happened and the post keeps
    the state that worker gave it. Call `publish_finished_pieces` afterwards with the
    pieces of the published outcomes.
    """
    if not deliveries:
        return []
    with engine.begin() as conn:
        retried = [d.post_id for d in deliveries if _is_retry(d)]
        earlier: dict[int, int] = {}
        if retried:
            earlier = {
                post_id: int(count)
                for post_id, count in conn.execute(
                    select(ATTEMPTS.c.post_id, func.count())
                    .where(
                        ATTEMPTS.c.post_id.in_(retried),
                        ATTEMPTS.c.outcome.in_(["transient", "interrupted"]),
                    )
                    .group_by(ATTEMPTS.c.post_id)
                )
            }
        now = utcnow()
        verdicts = [
            _verdict(d, failures=earlier.get(d.post_id, 0) + 1, settings=settings, rng=rng, now=now)
            for d in deliveries
        ]
        post_rows = [
            {
                "b_id": d.post_id,
                "b_status": verdict.status.value,
                "b_next_attempt_at": verdict.retry_at,
                "b_last_error": verdict.message or None,
                "b_external_id": d.receipt.external_id if d.receipt else None,
                "b_external_url": d.receipt.url if d.receipt else None,
                "b_published_at": now if d.receipt else None,
            }
            for d, verdict in zip(deliveries, verdicts, strict=True)
        ]
        moved = _move_posts(conn, post_rows, worker_id)
        attempt_rows: list[dict[str, object]] = []
        audit_rows: list[dict[str, object]] = []
        outcomes: list[Outcome] = []
        reconnect: dict[int, str] = {}
        for d, verdict in zip(deliveries, verdicts, strict=True):
            receipt, error = d.receipt, d.error
            held = d.post_id in moved
            note = verdict.message or None
            if not held:
                note = ((note or "") + " (lease lost before completion)").strip()
            # A post whose ledger row could not be written has no attempt to complete.
            if d.attempt_id is not None:
                attempt_rows.append(
                    {
                        "b_id": d.attempt_id,
                        "b_outcome": verdict.outcome,
                        "b_duration_ms": d.duration_ms,
                        "b_http_status": (receipt.http_status if receipt else None)
                        or (error.http_status if error else None),
                        "b_error": note,
                        "b_external_id": receipt.external_id if receipt else None,
                        "b_external_url": receipt.url if receipt else None,
                    }
                )
            if held:
                audit_rows.append(
                    {
                        "at": now,
                        "actor_name": worker_id,
                        "object_type": "post",
                        "object_id": str(d.post_id),
                        "action": verdict.outcome,
                        "from_state": PostStatus.publishing.value,
                        "to_state": verdict.status.value,
                        "version": d.attempts,
                        "note": verdict.message[:500],
                    }
                )
            if verdict.outcome == "auth":
                reconnect[d.channel_id] = verdict.message
            outcomes.append(
                Outcome(
                    d.post_id,
                    verdict.status if held else PostStatus.publishing,
                    verdict.outcome,
                    verdict.message,
                    d.piece_id,
                )
            )
        _complete_attempts(conn, attempt_rows, now)
        _record_events(conn, audit_rows)
    if reconnect:
        with Session(engine) as session:
            for channel_id, message in reconnect.items():
                mark_needs_reconnect(session, channel_id=channel_id, message=message)
    return outcomes


def _move_posts(conn: Connection, rows: list[dict[str, Any]], worker_id: str) -> set[int]:
    """Move the posts this worker still holds to their verdicts; the ids it moved.

    One statement for the whole group: the rows arrive as one JSON parameter and are
    joined by primary key; RETURNING says which posts were still ours.
    """
    dialect = conn.dialect.name
    return set(
        conn.execute(
            _finish_posts_statement(dialect),
            {"worker": worker_id, **as_json(rows, _FINISH_POST_ROW, dialect)},
        ).scalars()
    )


def _complete_attempts(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """Complete the ledger rows of a group (one statement on PostgreSQL)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_FINISH_ATTEMPTS_PG, {"now": now, **as_json(rows, _FINISH_ATTEMPT_ROW)})
    else:
        conn.execute(_FINISH_ATTEMPT, [{**row, "b_finished_at": now} for row in rows])


def _record_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The audit events of a group (one statement on PostgreSQL)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_RECORD_EVENTS_PG, as_json(rows, _EVENT_ROW))
    else:
        conn.execute(insert(AUDIT), rows)


_FINISH_POST_ROW: dict[str, Any] = {
    "b_id": sa.Integer(),
    "b_status": sa.String(),
    "b_next_attempt_at": sa.DateTime(timezone=True),
    "b_last_error": sa.Text(),
    "b_external_id": sa.String(),
    "b_external_url": sa.String(),
    "b_published_at": sa.DateTime(timezone=True),
}


@functools.cache
def _finish_posts_statement(dialect: str) -> Update:
    """Moves the posts of a group that this worker still holds; external ids are kept
    unless a receipt brings new ones."""
    rows = recordset("outcome", _FINISH_POST_ROW, dialect)
    return (
        update(POSTS)
        .where(
            POSTS.c.id == rows.c.b_id,
            POSTS.c.claimed_by == bindparam("worker"),
            POSTS.c.status == PostStatus.publishing,
        )
        .values(
            status=rows.c.b_status,
            claimed_by=None,
            lease_until=None,
            next_attempt_at=rows.c.b_next_attempt_at,
            last_error=rows.c.b_last_error,
            external_id=func.coalesce(rows.c.b_external_id, POSTS.c.external_id),
            external_url=func.coalesce(rows.c.b_external_url, POSTS.c.external_url),
            published_at=func.coalesce(rows.c.b_published_at, POSTS.c.published_at),
            version=POSTS.c.version + 1,
        )
        .returning(POSTS.c.id)
    )


_FINISH_ATTEMPT_ROW: dict[str, Any] = {
    "b_id": sa.Integer(),
    "b_outcome": sa.String(),
    "b_duration_ms": sa.Integer(),
    "b_http_status": sa.Integer(),
    "b_error": sa.Text(),
    "b_external_id": sa.String(),
    "b_external_url": sa.String(),
}
_attempt_rows = recordset("attempt", _FINISH_ATTEMPT_ROW)
_FINISH_ATTEMPTS_PG = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.id == _attempt_rows.c.b_id)
    .values(
        finished_at=bindparam("now", type_=UTCDateTime()),
        outcome=_attempt_rows.c.b_outcome,
        duration_ms=_attempt_rows.c.b_duration_ms,
        http_status=_attempt_rows.c.b_http_status,
        error=_attempt_rows.c.b_error,
        external_id=_attempt_rows.c.b_external_id,
        external_url=_attempt_rows.c.b_external_url,
    )
)
_EVENT_ROW: dict[str, Any] = {
    "at": sa.DateTime(timezone=True),
    "actor_name": sa.String(),
    "object_type": sa.String(),
    "object_id": sa.String(),
    "action": sa.String(),
    "from_state": sa.String(),
    "to_state": sa.String(),
    "version": sa.Integer(),
    "note": sa.Text(),
}
_event_rows = recordset("event", _EVENT_ROW)
_RECORD_EVENTS_PG = insert(AUDIT).from_select(
    list(_EVENT_ROW), sa.select(*(_event_rows.c[name] for name in _EVENT_ROW))
)


def published_pieces(outcomes: Iterable[Outcome]) -> set[int]:
    """The pieces of the posts that these outcomes published."""
    return {
        o.piece_id for o in outcomes if o.status == PostStatus.published and o.piece_id is not None
    }
