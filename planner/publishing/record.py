"""How deliveries went: verdicts, and posts, ledger and audit recorded in one transaction."""

from __future__ import annotations

import functools
import json
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

from planner import audit, notifications, workflow
from planner.channels import mark_needs_reconnect
from planner.dbtypes import UTCDateTime
from planner.errors import Message, message_data
from planner.models import PostStatus, utcnow
from planner.publishing import notes
from planner.publishing.deliver import Delivery
from planner.publishing.settings import EngineSettings, backoff_seconds
from planner.publishing.tables import ATTEMPTS, AUDIT, CHANNELS, POSTS, as_json, recordset
from publishers.base import ManualActionRequired, RateLimited

# The ledger outcomes the engine gives an attempt itself; a failed request's outcome is
# its error's (`publishers.base.DeliveryError.outcome` and its subclasses').
ENGINE_OUTCOMES = ("published", "config", "invalid", "rule", "withheld", "interrupted")


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
        reason=bindparam("b_reason"),
    )
)


@dataclass(frozen=True)
class _Verdict:
    """Where a delivered post goes: a move of the post table, and what the ledger says."""

    action: str
    outcome: str
    message: str
    retry_at: datetime | None = None
    # A withheld post never tried: its claim is not counted as an attempt.
    uncount: int = 0
    # A rate limit pauses the whole channel until then.
    pause_until: datetime | None = None
    # A publishing rule's hold, as a message the dashboard translates (the ledger keeps it).
    reason: Message | None = None

    @property
    def status(self) -> PostStatus:
        """The post's state after the move."""
        return PostStatus(workflow.target("post", self.action))


@dataclass(frozen=True)
class _History:
    """What earlier attempts of a post count towards its budgets."""

    failures: int = 0
    rate_limited: int = 0


def _verdict(
    delivery: Delivery,
    *,
    history: _History,
    settings: EngineSettings,
    rng: random.Random | None,
    now: datetime,
    lateness: timedelta | None,
) -> _Verdict:
    """Where a delivered post goes next, from its receipt or its typed error."""
    if delivery.config_error:
        return _Verdict("fail", "config", delivery.config_error)
    if delivery.invalid:
        return _Verdict("fail", "invalid", delivery.invalid)
    if delivery.ruled:
        # Planned again for when the rule allows it; the claim stays counted, so the
        # lateness bound does not turn a post held through quiet hours into a missed one.
        return _Verdict(
            "requeue", "rule", delivery.ruled, delivery.ruled_until, reason=delivery.ruled_message
        )
    if delivery.withheld:
        return _Verdict("requeue", "withheld", delivery.withheld, uncount=1)
    if delivery.receipt is not None:
        return _Verdict("publish", "published", "")
    error = delivery.error
    assert error is not None
    if isinstance(error, ManualActionRequired):
        return _Verdict("hand_over", error.outcome, error.message)
    if isinstance(error, RateLimited):
        until = now + timedelta(seconds=error.retry_after)
        waits = history.rate_limited + 1
        if waits > settings.max_attempts:
            return _Verdict(
                "fail",
                error.outcome,
                Message(
                    "publish_rate_limited_gave_up",
                    "rate limited {count} times; gave up: {error}",
                    count=waits,
                    error=error.message,
                ),
                pause_until=until,
            )
        if lateness is not None and delivery.publish_at is not None:
            latest = delivery.publish_at + lateness
            if until > latest:
                return _Verdict(
                    "fail",
                    error.outcome,
                    Message(
                        "publish_wait_too_late",
                        "the channel asked to wait until {until} UTC, later than the post "
                        "may go out ({latest} UTC): {error}",
                        until=f"{until:%Y-%m-%d %H:%M:%S}",
                        latest=f"{latest:%Y-%m-%d %H:%M}",
                        error=error.message,
                    ),
                    pause_until=until,
                )
        return _Verdict("retry_later", error.outcome, error.message, until, pause_until=until)
    if error.ambiguous and not delivery.dedupes:
        # The request may have arrived; sending again could publish it twice.
        return _Verdict(
            "suspect",
            error.outcome,
            Message(
                "publish_may_have_gone_out",
                "{error}; it may have gone out, and this channel is not known to drop "
                "repeats, so it is not sent again: check whether it was published",
                error=error.message,
            ),
        )
    if error.retryable:
        failures = history.failures + 1
        if failures < settings.max_attempts:
            wait = backoff_seconds(settings, failures, rng)
            return _Verdict(
                "retry_later", error.outcome, error.message, now + timedelta(seconds=wait)
            )
        return _Verdict("fail", error.outcome, _gave_up(failures, error.message))
    return _Verdict("fail", error.outcome, error.message)


def _gave_up(failures: int, error: str) -> Message:
    """Why a post failed for good after `failures` temporary errors (one when the engine
    is set to try once)."""
    if failures == 1:
        return Message("publish_gave_up_once", "gave up after 1 attempt: {error}", error=error)
    return Message(
        "publish_gave_up", "gave up after {count} attempts: {error}", count=failures, error=error
    )


def _counted(delivery: Delivery) -> bool:
    """Whether earlier attempts matter for this delivery's verdict (a retryable error)."""
    error = delivery.error
    return (
        not delivery.withheld
        and error is not None
        and error.retryable
        and not isinstance(error, ManualActionRequired)
    )


def _histories(conn: Connection, post_ids: list[int]) -> dict[int, _History]:
    """Earlier failures and rate-limited waits per post, from the ledger: those since a
    person last sent the post again (`posts.retried_after`), if one did."""
    if not post_ids:
        return {}
    counts: dict[int, dict[str, int]] = {}
    for post_id, outcome, count in conn.execute(
        select(ATTEMPTS.c.post_id, ATTEMPTS.c.outcome, func.count())
        .join(POSTS, POSTS.c.id == ATTEMPTS.c.post_id)
        .where(
            ATTEMPTS.c.post_id.in_(post_ids),
            ATTEMPTS.c.outcome.in_(["transient", "interrupted", "rate_limited"]),
            ATTEMPTS.c.id > func.coalesce(POSTS.c.retried_after, 0),
        )
        .group_by(ATTEMPTS.c.post_id, ATTEMPTS.c.outcome)
    ):
        counts.setdefault(int(post_id), {})[outcome] = int(count)
    return {
        post_id: _History(
            failures=c.get("transient", 0) + c.get("interrupted", 0),
            rate_limited=c.get("rate_limited", 0),
        )
        for post_id, c in counts.items()
    }


def finish_deliveries(
    engine: Engine,
    deliveries: list[Delivery],
    *,
    worker_id: str,
    settings: EngineSettings,
    rng: random.Random | None = None,
    lateness: timedelta | None = None,
) -> list[Outcome]:
    """Record how a group of deliveries went, in one transaction: posts, ledger, audit.

    A post is moved only while this worker still holds it; if another worker recovered
    it after our lease ran out, the ledger keeps what really happened and the post keeps
    the state that worker gave it, except that a post recovered to `needs_check` whose
    request did succeed is published (the check is answered). A 429 pauses its channel
    for every worker; rate-limited waits count against `max_attempts` and never carry a
    post past `lateness` after its time. Call `publish_finished_pieces` afterwards with
    the pieces of the published outcomes.
    """
    if not deliveries:
        return []
    with engine.begin() as conn:
        histories = _histories(conn, [d.post_id for d in deliveries if _counted(d)])
        now = utcnow()
        verdicts = [
            _verdict(
                d,
                history=histories.get(d.post_id, _History()),
                settings=settings,
                rng=rng,
                now=now,
                lateness=lateness,
            )
            for d in deliveries
        ]
        post_rows = [
            {
                "b_id": d.post_id,
                "b_status": verdict.status.value,
                "b_next_attempt_at": verdict.retry_at,
                "b_last_error": str(verdict.message) or None,
                "b_last_error_reason": notes.stored(verdict.message),
                "b_external_id": d.receipt.external_id if d.receipt else None,
                "b_external_url": d.receipt.url if d.receipt else None,
                "b_published_at": now if d.receipt else None,
                "b_uncount": verdict.uncount,
            }
            for d, verdict in zip(deliveries, verdicts, strict=True)
        ]
        moved = _move_posts(conn, post_rows, worker_id)
        answered = _answer_checks(
            conn,
            [row for row in post_rows if row["b_id"] not in moved and row["b_external_id"]],
        )
        attempt_rows: list[dict[str, object]] = []
        audit_rows: list[dict[str, object]] = []
        outcomes: list[Outcome] = []
        reconnect: dict[int, str] = {}
        pauses: dict[int, tuple[datetime, str]] = {}
        for d, verdict in zip(deliveries, verdicts, strict=True):
            receipt, error = d.receipt, d.error
            held = d.post_id in moved
            note: str | None = verdict.message or None
            if not held:
                note = (
                    Message(
                        "publish_lease_lost",
                        "{note} (lease lost before completion)",
                        note=note,
                    )
                    if note
                    else Message("publish_lease_lost_alone", "(lease lost before completion)")
                )
            # A post whose ledger row could not be written has no attempt to complete.
            if d.attempt_id is not None:
                attempt_rows.append(
                    {
                        "b_id": d.attempt_id,
                        "b_outcome": verdict.outcome,
                        "b_duration_ms": d.duration_ms,
                        "b_http_status": (receipt.http_status if receipt else None)
                        or (error.http_status if error else None),
                        "b_error": None if note is None else str(note),
                        "b_external_id": receipt.external_id if receipt else None,
                        "b_external_url": receipt.url if receipt else None,
                        "b_reason": notes.stored(note)
                        if verdict.reason is None
                        else json.dumps(message_data(verdict.reason), separators=(",", ":")),
                    }
                )
            if held:
                audit_rows.append(
                    _event(now, worker_id, d, verdict.action, verdict.status, verdict.message)
                )
            elif d.post_id in answered:
                late_cancel = answered[d.post_id] == PostStatus.cancelled
                audit_rows.append(
                    _event(
                        now,
                        worker_id,
                        d,
                        "arrived" if late_cancel else "found",
                        PostStatus.published,
                        "its request had started before the post was cancelled, and it went out"
                        if late_cancel
                        else "its request succeeded after the lease was lost",
                        from_state=answered[d.post_id],
                    )
                )
            if verdict.outcome == "auth":
                reconnect[d.channel_id] = verdict.message
            if verdict.pause_until is not None:
                current = pauses.get(d.channel_id)
                if current is None or current[0] < verdict.pause_until:
                    pauses[d.channel_id] = (verdict.pause_until, verdict.message)
            status = (
                verdict.status
                if held
                else PostStatus.published
                if d.post_id in answered
                else PostStatus.publishing
            )
            outcomes.append(
                Outcome(d.post_id, status, verdict.outcome, verdict.message, d.piece_id)
            )
        _complete_attempts(conn, attempt_rows, now)
        for channel_id, (until, message) in pauses.items():
            conn.execute(
                _PAUSE_CHANNEL,
                {
                    "b_channel": channel_id,
                    "b_until": until,
                    "b_reason": f"rate limited: {message}"[:500],
                },
            )
        notifications.posts_failed(
            conn,
            {
                d.post_id: verdict.message
                for d, verdict in zip(deliveries, verdicts, strict=True)
                if d.post_id in moved and verdict.status == PostStatus.failed
            },
        )
        notifications.cancelled_posts_published(
            conn,
            [post_id for post_id, before in answered.items() if before == PostStatus.cancelled],
        )
        _record_events(conn, audit_rows)  # last: it takes the audit chain's lock
    if reconnect:
        with Session(engine) as session:
            for channel_id, message in reconnect.items():
                mark_needs_reconnect(session, channel_id=channel_id, message=message)
    return outcomes


def _event(
    now: datetime,
    worker_id: str,
    delivery: Delivery,
    action: str,
    to_state: PostStatus,
    note: str,
    *,
    from_state: PostStatus = PostStatus.publishing,
) -> dict[str, object]:
    return audit.event_row(
        at=now,
        actor_name=worker_id,
        object_type="post",
        object_id=delivery.post_id,
        action=action,
        from_state=from_state.value,
        to_state=to_state.value,
        version=delivery.revision or None,
        note=note[:500],
    )


_PAUSE_CHANNEL = (
    update(CHANNELS)
    .where(
        CHANNELS.c.id == bindparam("b_channel"),
        sa.or_(
            CHANNELS.c.paused_until.is_(None),
            CHANNELS.c.paused_until < bindparam("b_until", type_=UTCDateTime()),
        ),
    )
    .values(
        paused_until=bindparam("b_until", type_=UTCDateTime()), pause_reason=bindparam("b_reason")
    )
)


def _answer_checks(conn: Connection, rows: list[dict[str, Any]]) -> dict[int, PostStatus]:
    """Posts taken from this worker while their request was in flight, and that request
    succeeded: recovered to `needs_check` (the check is answered) or cancelled too late.
    They are published; the ids moved, with the state each came from."""
    answerable = workflow.sources("post", "found") + workflow.sources("post", "arrived")
    answered: dict[int, PostStatus] = {}
    for row in rows:
        before = conn.execute(
            sa.select(POSTS.c.status).where(POSTS.c.id == row["b_id"])
        ).scalar_one_or_none()
        if before not in answerable:
            continue
        moved = conn.execute(
            update(POSTS)
            .where(POSTS.c.id == row["b_id"], POSTS.c.status == before)
            .values(
                status=workflow.target("post", "found"),
                external_id=row["b_external_id"],
                external_url=row["b_external_url"],
                published_at=row["b_published_at"],
                last_error=None,
                last_error_reason=None,
                version=POSTS.c.version + 1,
            )
            .returning(POSTS.c.id)
        ).first()
        if moved is not None:
            answered[int(moved.id)] = PostStatus(before)
    return answered


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
    """The audit events of a group, chained (one statement on PostgreSQL)."""
    if not rows:
        return
    chained = audit.chain(conn, rows)
    if conn.dialect.name == "postgresql":
        conn.execute(_RECORD_EVENTS_PG, as_json(chained, _EVENT_ROW))
    else:
        conn.execute(insert(AUDIT), chained)


_FINISH_POST_ROW: dict[str, Any] = {
    "b_id": sa.Integer(),
    "b_status": sa.String(),
    "b_next_attempt_at": sa.DateTime(timezone=True),
    "b_last_error": sa.Text(),
    "b_last_error_reason": sa.Text(),
    "b_external_id": sa.String(),
    "b_external_url": sa.String(),
    "b_published_at": sa.DateTime(timezone=True),
    "b_uncount": sa.Integer(),
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
            POSTS.c.status.in_(workflow.sources("post", "publish")),
        )
        .values(
            status=rows.c.b_status,
            attempts=POSTS.c.attempts - rows.c.b_uncount,
            claimed_by=None,
            lease_until=None,
            next_attempt_at=rows.c.b_next_attempt_at,
            last_error=rows.c.b_last_error,
            last_error_reason=rows.c.b_last_error_reason,
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
    "b_reason": sa.Text(),
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
        reason=_attempt_rows.c.b_reason,
    )
)
_EVENT_ROW: dict[str, Any] = {
    "id": sa.Integer(),
    "at": sa.DateTime(timezone=True),
    "actor_name": sa.String(),
    "object_type": sa.String(),
    "object_id": sa.String(),
    "action": sa.String(),
    "from_state": sa.String(),
    "to_state": sa.String(),
    "version": sa.Integer(),
    "note": sa.Text(),
    "prev_hash": sa.String(),
    "hash": sa.String(),
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
