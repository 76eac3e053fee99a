"""The publishing engine: claim due posts atomically, publish each once, record every attempt.

The posts table is the schedule. A sweep marks missed posts, recovers posts whose worker
died, claims a batch of releasable posts in one statement (FOR UPDATE SKIP LOCKED on
PostgreSQL, a single UPDATE ... RETURNING on SQLite) and publishes them. A PublishAttempt
row is written before every request and completed after it. No session is held open
across an HTTP call.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Update,
    and_,
    bindparam,
    func,
    insert,
    update,
)
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session, col, select

from planner import audit, planning
from planner.channels import build_adapter, mark_needs_reconnect
from planner.dbtypes import UTCDateTime
from planner.errors import (
    ConfigurationError,
    IllegalTransition,
    Message,
    PlannerError,
    ValidationFailed,
)
from planner.models import (
    AuditEvent,
    Channel,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    PublishAttempt,
    Series,
    Setting,
    User,
    WorkerHeartbeat,
    utcnow,
)
from planner.org_settings import get_setting, is_frozen
from planner.permissions import require
from publishers.base import (
    DeliveryError,
    ManualActionRequired,
    Media,
    OutgoingPost,
    Publisher,
    RateLimited,
    Receipt,
    TransientError,
)

log = logging.getLogger("planner.publishing")

AdapterFactory = Callable[[Channel], Publisher]


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as err:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from err
    if value <= 0:
        raise ConfigurationError(f"{name} must be more than 0, got {raw!r}")
    return value


def parse_duration(text: str) -> timedelta:
    """'6h', '90m', '45s' or a plain number of hours."""
    raw = text.strip().lower()
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    try:
        if raw and raw[-1] in units:
            return timedelta(seconds=float(raw[:-1]) * units[raw[-1]])
        return timedelta(hours=float(raw))
    except ValueError as err:
        raise ConfigurationError(f"{text!r} is not a duration such as '6h' or '30m'") from err


@dataclass(frozen=True)
class EngineSettings:
    """How a worker publishes: batch size, threads, lease, retries and poll interval."""

    batch_size: int = 100
    threads: int = 4
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    poll_seconds: float = 15.0

    @classmethod
    def from_env(cls) -> EngineSettings:
        """Settings from PLANNER_* variables, with the defaults above."""
        return cls(
            batch_size=int(_env_float("PLANNER_BATCH_SIZE", cls.batch_size)),
            threads=int(_env_float("PLANNER_PUBLISH_THREADS", cls.threads)),
            lease=timedelta(seconds=_env_float("PLANNER_LEASE_SECONDS", 300)),
            max_attempts=int(_env_float("PLANNER_MAX_ATTEMPTS", cls.max_attempts)),
            retry_base_seconds=_env_float("PLANNER_RETRY_BASE_SECONDS", cls.retry_base_seconds),
            retry_cap_seconds=_env_float("PLANNER_RETRY_CAP_SECONDS", cls.retry_cap_seconds),
            poll_seconds=_env_float("PLANNER_POLL_SECONDS", cls.poll_seconds),
        )


def max_lateness(session: Session) -> timedelta:
    """How late a post may still go out: the admins' setting, else PLANNER_MAX_LATENESS."""
    row = session.get(Setting, "max_lateness_hours")
    if row is not None:
        return timedelta(hours=float(row.value))
    env = os.environ.get("PLANNER_MAX_LATENESS", "").strip()
    if env:
        return parse_duration(env)
    return timedelta(hours=float(get_setting(session, "max_lateness_hours")))


def backoff_seconds(
    settings: EngineSettings, failures: int, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: base * 2^(failures-1), capped, then 50-100% of it."""
    ceiling = min(settings.retry_cap_seconds, settings.retry_base_seconds * 2.0 ** (failures - 1))
    return float(ceiling * (0.5 + 0.5 * (rng or random).random()))


# --- claiming and recovery ------------------------------------------------------------------


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
    stmt = update(_POSTS)
    if dialect == "postgresql":
        # FOR UPDATE SKIP LOCKED: concurrent workers take disjoint posts. A CTE that
        # locks rows is evaluated once, so the update changes exactly the rows it
        # locked; the update joins them by id.
        claimed = due.with_for_update(skip_locked=True, of=Post).cte("due")
        stmt = stmt.where(_POSTS.c.id == claimed.c.id)
    else:
        # SQLite has one writer at a time, so the single UPDATE is atomic there.
        stmt = stmt.where(_POSTS.c.id.in_(due.scalar_subquery()))
    return stmt.values(
        status=PostStatus.publishing,
        claimed_by=bindparam("worker"),
        lease_until=bindparam("lease_until", type_=UTCDateTime()),
        attempts=_POSTS.c.attempts + 1,
        version=_POSTS.c.version + 1,
    ).returning(*_CLAIMED_COLUMNS)


def _claim(
    conn: Connection, worker: str, now: datetime, limit: int, lease: timedelta, lateness: timedelta
) -> list[Any]:
    """Run the claim; the claimed posts' rows in id order."""
    rows = conn.execute(
        _claim_statement(conn.dialect.name, limit),
        {"now": now, "earliest": now - lateness, "worker": worker, "lease_until": now + lease},
    ).all()
    return sorted(rows, key=lambda row: int(row.id))


def claim_due_posts(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    lateness: timedelta,
) -> list[int]:
    """Claim up to `limit` releasable posts for `worker_id` in one atomic statement.

    Nothing is claimed while publishing is frozen (checked in the same statement).
    """
    rows = _claim(session.connection(), worker_id, now, limit, lease, lateness)
    session.commit()
    return [int(row.id) for row in rows]


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

    The same claim as `claim_due_posts`, then what `begin_deliveries` does (adapters,
    ledger rows for channels that deduplicate), committed together.
    """
    with Session(engine, expire_on_commit=False) as session:
        rows = _claim(session.connection(), worker_id, now, limit, lease, lateness)
        deliveries = _prepare(session, rows, worker_id, adapter_factory)
        session.commit()
    return deliveries


def renew_leases(session: Session, *, worker_id: str, post_ids: list[int], lease: timedelta) -> int:
    """Extend this worker's leases on posts still in flight (slow channels)."""
    if not post_ids:
        return 0
    count = session.exec(
        update(Post)
        .where(
            col(Post.id).in_(post_ids),
            col(Post.claimed_by) == worker_id,
            col(Post.status) == PostStatus.publishing,
        )
        .values(lease_until=utcnow() + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return int(count)


# --- publishing one post --------------------------------------------------------------------


def _message(
    post_id: int,
    channel_id: int,
    media: list[dict[str, Any]],
    title: str,
    body: str,
    variants: dict[str, str],
    tags: list[str],
) -> OutgoingPost:
    """What the adapter sends: the channel's variant, or the master text."""
    return OutgoingPost(
        post_id=post_id,
        title=title,
        text=variants.get(str(channel_id)) or body,
        media=[
            Media(
                url=str(m.get("url", "")),
                alt_text=str(m.get("alt_text", "")),
                mime_type=str(m.get("mime_type", "")),
            )
            for m in media
        ],
        tags=list(tags),
    )


@dataclass(frozen=True)
class Outcome:
    """How one publish ended."""

    post_id: int
    status: PostStatus
    outcome: str
    message: str = ""
    piece_id: int | None = None


@dataclass
class Delivery:
    """One claimed post on its way out: what goes where, and (after `deliver`) how it went."""

    post_id: int
    piece_id: int
    channel_id: int
    channel_kind: str
    attempts: int
    key: str
    worker_id: str
    message: OutgoingPost
    adapter: Publisher | None
    config_error: str = ""
    attempt_id: int | None = None
    duration_ms: int = 0
    receipt: Receipt | None = None
    error: DeliveryError | None = None


_ATTEMPTS = PublishAttempt.__table__  # type: ignore[attr-defined]
_POSTS = Post.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_PIECES = Piece.__table__  # type: ignore[attr-defined]
# What a delivery needs of a claimed post (the claim returns it).
_CLAIMED_COLUMNS = (
    _POSTS.c.id,
    _POSTS.c.piece_id,
    _POSTS.c.channel_id,
    _POSTS.c.attempts,
    _POSTS.c.idempotency_key,
    # As text: most posts have no media, and decoding '[]' per post is measurable.
    sa.cast(_POSTS.c.media, sa.Text()).label("media"),
)
# Core statements on the hot path: the ORM's unit of work cost several ms per post.
_FINISH_ATTEMPT = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("b_id"))
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


def _write_attempts(conn: Connection, deliveries: list[Delivery], worker_id: str) -> None:
    """Ledger rows for these deliveries, in one statement; their ids go on the deliveries."""
    now = utcnow()
    rows = [
        {"post_id": d.post_id, "worker": worker_id, "started_at": now, "idempotency_key": d.key}
        for d in deliveries
    ]
    if conn.dialect.name == "postgresql":
        # A fixed statement text, so it is prepared once (a multi-row VALUES is not).
        written = {
            int(post_id): int(attempt_id)
            for post_id, attempt_id in conn.execute(
                _WRITE_ATTEMPTS_PG, _as_json(rows, _ATTEMPT_ROW)
            )
        }
        for delivery in deliveries:
            delivery.attempt_id = written[delivery.post_id]
        return
    ids = conn.execute(
        insert(_ATTEMPTS).returning(_ATTEMPTS.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    for delivery, attempt_id in zip(deliveries, ids, strict=True):
        delivery.attempt_id = attempt_id


def begin_deliveries(
    engine: Engine,
    *,
    post_ids: list[int],
    worker_id: str,
    adapter_factory: AdapterFactory = build_adapter,
) -> list[Delivery]:
    """Load claimed posts, build their adapters (once per channel) and write ledger rows.

    Posts no longer claimed by `worker_id` are left out. Posts to channels that
    deduplicate get their ledger rows here, in one statement before any request: after a
    crash they are simply sent again with the same key. Posts to channels that cannot
    deduplicate get theirs in `deliver`, right before their own request, so a crash
    sends to `needs_check` only a post whose request may really have begun.
    """
    if not post_ids:
        return []
    with Session(engine, expire_on_commit=False) as session:
        rows = (
            session.connection()
            .execute(
                sa.select(*_CLAIMED_COLUMNS)
                .where(
                    _POSTS.c.id.in_(post_ids),
                    _POSTS.c.status == PostStatus.publishing,
                    _POSTS.c.claimed_by == worker_id,
                )
                .order_by(_POSTS.c.id)
            )
            .all()
        )
        deliveries = _prepare(session, rows, worker_id, adapter_factory)
        session.commit()
    return deliveries


def _prepare(
    session: Session,
    posts: Sequence[Any],
    worker_id: str,
    adapter_factory: AdapterFactory,
) -> list[Delivery]:
    """Deliveries for claimed posts (rows of `_CLAIMED_COLUMNS`), and the ledger rows of
    those whose channel deduplicates, in the session's transaction (the caller commits)."""
    if not posts:
        return []
    conn = session.connection()
    pieces = {
        row.id: row
        for row in conn.execute(
            sa.select(
                _PIECES.c.id,
                _PIECES.c.title,
                _PIECES.c.body,
                _PIECES.c.variants,
                _PIECES.c.tags,
            ).where(_PIECES.c.id.in_({p.piece_id for p in posts}))
        )
    }
    adapters: dict[int, Publisher | str] = {}
    kinds: dict[int, str] = {}
    for channel in session.exec(
        select(Channel).where(col(Channel.id).in_({p.channel_id for p in posts}))
    ):
        assert channel.id is not None
        kinds[channel.id] = channel.kind
        try:
            adapters[channel.id] = adapter_factory(channel)
        except (ValidationFailed, ConfigurationError) as err:
            adapters[channel.id] = f"channel {channel.name!r} is misconfigured: {err}"
    deliveries = []
    for post in posts:
        piece = pieces[post.piece_id]
        adapter = adapters[post.channel_id]
        deliveries.append(
            Delivery(
                post_id=post.id,
                piece_id=post.piece_id,
                channel_id=post.channel_id,
                channel_kind=kinds[post.channel_id],
                attempts=post.attempts,
                key=post.idempotency_key,
                worker_id=worker_id,
                message=_message(
                    post.id,
                    post.channel_id,
                    json.loads(post.media) if post.media not in (None, "[]") else [],
                    piece.title,
                    piece.body,
                    piece.variants,
                    piece.tags,
                ),
                adapter=None if isinstance(adapter, str) else adapter,
                config_error=adapter if isinstance(adapter, str) else "",
            )
        )
    now_written = [d for d in deliveries if d.adapter is None or d.adapter.deduplicates]
    if now_written:
        _write_attempts(conn, now_written, worker_id)
    return deliveries


def deliver(engine: Engine, delivery: Delivery) -> Delivery:
    """Send one post through its adapter (no database session is open); never raises.

    A post whose ledger row is not written yet (its channel cannot deduplicate) gets it
    first; if that fails, nothing is sent and the post is retried like a network error.
    """
    if delivery.adapter is None:
        return delivery
    if delivery.attempt_id is None:
        try:
            with engine.begin() as conn:
                _write_attempts(conn, [delivery], delivery.worker_id)
        except Exception as err:
            log.exception("could not write the ledger row for post %s", delivery.post_id)
            delivery.error = TransientError(f"could not write the ledger row: {err}")
            return delivery
    started = time.monotonic()
    try:
        delivery.receipt = delivery.adapter.publish(delivery.message, delivery.key)
    except DeliveryError as err:
        delivery.error = err
    except Exception as err:  # an adapter bug must not kill the worker; retry later
        log.exception("adapter %s failed on post %s", delivery.channel_kind, delivery.post_id)
        delivery.error = TransientError(
            f"unexpected error in the {delivery.channel_kind} adapter: {err!r}"
        )
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    return delivery


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
                    select(_ATTEMPTS.c.post_id, func.count())
                    .where(
                        _ATTEMPTS.c.post_id.in_(retried),
                        _ATTEMPTS.c.outcome.in_(["transient", "interrupted"]),
                    )
                    .group_by(_ATTEMPTS.c.post_id)
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
            {"worker": worker_id, **_as_json(rows, _FINISH_POST_ROW, dialect)},
        ).scalars()
    )


def _complete_attempts(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """Complete the ledger rows of a group (one statement on PostgreSQL)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_FINISH_ATTEMPTS_PG, {"now": now, **_as_json(rows, _FINISH_ATTEMPT_ROW)})
    else:
        conn.execute(_FINISH_ATTEMPT, [{**row, "b_finished_at": now} for row in rows])


def _record_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The audit events of a group (one statement on PostgreSQL)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_RECORD_EVENTS_PG, _as_json(rows, _EVENT_ROW))
    else:
        conn.execute(insert(_AUDIT), rows)


def _as_json(
    rows: list[dict[str, Any]], columns: dict[str, Any], dialect: str = "postgresql"
) -> dict[str, str]:
    """Rows as the one parameter of a `_recordset` statement.

    Times go as the text the column stores: ISO 8601 with offset for PostgreSQL, naive
    UTC in SQLAlchemy's SQLite format (what UTCDateTime writes there), so that stored
    times still compare and sort as text.
    """

    def when(value: datetime) -> str:
        if dialect == "sqlite":
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value.isoformat()

    return {
        "rows": json.dumps(
            [{name: row[name] for name in columns} for row in rows],
            default=when,
            separators=(",", ":"),
        )
    }


def _recordset(name: str, columns: dict[str, Any], dialect: str = "postgresql") -> Any:
    """The rows of a group, sent as one JSON parameter `rows`, as a table `name`.

    PostgreSQL: `json_to_recordset(:rows) AS name(column type, ...)`; SQLite: the fields
    of `json_each(:rows)`. The group is one statement with a fixed text (prepared once)
    and the rows are encoded by the json module in one call.
    """
    if dialect == "sqlite":
        each = func.json_each(bindparam("rows", type_=sa.Text())).table_valued("value")
        return (
            sa.select(*(func.json_extract(each.c.value, f"$.{c}").label(c) for c in columns))
            .select_from(each)
            .subquery(name)
        )
    return (
        func.json_to_recordset(sa.cast(bindparam("rows", type_=sa.Text()), sa.JSON()))
        .table_valued(*(sa.column(c, t) for c, t in columns.items()), name=name)
        .render_derived(with_types=True)
    )


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
    rows = _recordset("outcome", _FINISH_POST_ROW, dialect)
    return (
        update(_POSTS)
        .where(
            _POSTS.c.id == rows.c.b_id,
            _POSTS.c.claimed_by == bindparam("worker"),
            _POSTS.c.status == PostStatus.publishing,
        )
        .values(
            status=rows.c.b_status,
            claimed_by=None,
            lease_until=None,
            next_attempt_at=rows.c.b_next_attempt_at,
            last_error=rows.c.b_last_error,
            external_id=func.coalesce(rows.c.b_external_id, _POSTS.c.external_id),
            external_url=func.coalesce(rows.c.b_external_url, _POSTS.c.external_url),
            published_at=func.coalesce(rows.c.b_published_at, _POSTS.c.published_at),
            version=_POSTS.c.version + 1,
        )
        .returning(_POSTS.c.id)
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
_attempt_rows = _recordset("attempt", _FINISH_ATTEMPT_ROW)
_FINISH_ATTEMPTS_PG = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == _attempt_rows.c.b_id)
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
_ATTEMPT_ROW: dict[str, Any] = {
    "post_id": sa.Integer(),
    "worker": sa.String(),
    "started_at": sa.DateTime(timezone=True),
    "idempotency_key": sa.String(),
}
_new_attempts = _recordset("attempt", _ATTEMPT_ROW)
# Maps post -> attempt id: a batch has one new attempt per post.
_WRITE_ATTEMPTS_PG = (
    insert(_ATTEMPTS)
    .from_select(list(_ATTEMPT_ROW), sa.select(*(_new_attempts.c[n] for n in _ATTEMPT_ROW)))
    .returning(_ATTEMPTS.c.post_id, _ATTEMPTS.c.id)
)
_event_rows = _recordset("event", _EVENT_ROW)
_RECORD_EVENTS_PG = insert(_AUDIT).from_select(
    list(_EVENT_ROW), sa.select(*(_event_rows.c[name] for name in _EVENT_ROW))
)


def publish_post(
    engine: Engine,
    *,
    post_id: int,
    worker_id: str,
    settings: EngineSettings,
    adapter_factory: AdapterFactory = build_adapter,
    rng: random.Random | None = None,
) -> Outcome:
    """Publish one claimed post: ledger row first, then the request, then the result."""
    deliveries = begin_deliveries(
        engine, post_ids=[post_id], worker_id=worker_id, adapter_factory=adapter_factory
    )
    if not deliveries:
        with Session(engine) as session:
            post = session.get(Post, post_id)
            return Outcome(post_id, post.status if post else PostStatus.cancelled, "not_claimed")
    (outcome,) = finish_deliveries(
        engine,
        [deliver(engine, deliveries[0])],
        worker_id=worker_id,
        settings=settings,
        rng=rng,
    )
    with Session(engine) as session:
        publish_finished_pieces(session, outcomes=[outcome], worker=worker_id)
    return outcome


_OPEN = [
    PostStatus.planned,
    PostStatus.publishing,
    PostStatus.failed,
    PostStatus.needs_check,
    PostStatus.awaiting_manual,
    PostStatus.missed,
]


def published_pieces(outcomes: Iterable[Outcome]) -> set[int]:
    """The pieces of the posts that these outcomes published."""
    return {
        o.piece_id for o in outcomes if o.status == PostStatus.published and o.piece_id is not None
    }


_SERIES = Series.__table__  # type: ignore[attr-defined]
# Runs after every batch, so it is one prebuilt Core statement.
_PUBLISH_FINISHED = (
    update(_PIECES)
    .where(
        _PIECES.c.id.in_(bindparam("ids", expanding=True)),
        _PIECES.c.status == PieceStatus.approved,
        ~select(_POSTS.c.id)
        .where(_POSTS.c.piece_id == _PIECES.c.id, _POSTS.c.status.in_(_OPEN))
        .exists(),
        ~select(_SERIES.c.id)
        .where(_SERIES.c.piece_id == _PIECES.c.id, _SERIES.c.active.is_(True))
        .exists(),
    )
    .values(status=PieceStatus.published, version=_PIECES.c.version + 1)
    .returning(_PIECES.c.id, _PIECES.c.revision)
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
            insert(_AUDIT),
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


def status_summary(
    session: Session, *, now: datetime | None = None, live_within: timedelta | None = None
) -> StatusSummary:
    """Live workers and the counts an operator watches."""
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
    waiting = count(
        col(Post.status) == PostStatus.planned,
        col(Post.publish_at) <= now,
        and_(col(Post.next_attempt_at).is_not(None), col(Post.next_attempt_at) > now),
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
