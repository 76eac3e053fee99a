"""Collecting published posts' figures: the queue, its claim, the requests, the ledger.

The `metric_collections` table is the schedule, as the posts table is for publishing. A
sweep enrols the published posts that have no row yet, then claims due collections in
one statement with a worker id and a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, a single
UPDATE ... RETURNING on SQLite), writes their ledger rows in the same transaction, reads
the figures on a small thread pool and records each result, fenced by the claim: a worker
whose lease was taken records nothing, so a round is stored once.

Publishing comes first. Collection runs in a job and a pool of its own, never asks a
channel that publishing found rate-limited (`Channel.paused_until`), and a 429 from a
metrics request pauses only the channel's metrics (`metric_pauses`), for every worker.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, Update, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from planner import org_settings
from planner.channels import build_adapter
from planner.db import DATABASE_DOWN
from planner.dbtypes import UTCDateTime
from planner.errors import PlannerError
from planner.metrics.schedule import first_round, next_round
from planner.models import (
    Channel,
    MetricCollection,
    MetricFetch,
    MetricPause,
    MetricSnapshot,
    PostStatus,
    core_tables,
    utcnow,
)
from planner.publishing.tables import CHANNELS, POSTS
from publishers import REGISTRY
from publishers.base import (
    DeliveryError,
    Metrics,
    PermanentError,
    PostGone,
    Publisher,
    RateLimited,
    Receipt,
)

log = logging.getLogger("planner.metrics")

COLLECTIONS, FETCHES, SNAPSHOTS, PAUSES = core_tables(
    MetricCollection, MetricFetch, MetricSnapshot, MetricPause
)

AdapterFactory = Callable[[Channel], Publisher]

# States of a collection (metric_collections.state).
ACTIVE, DONE, UNSUPPORTED, GONE, NO_RECEIPT = "active", "done", "unsupported", "gone", "no_receipt"
# How many published posts one enrolment reads at a time.
ENROL_BATCH = 2000
# Tries to record a batch while the database is away, and the longest pause between two.
RECORD_TRIES = 8
RETRY_CAP = 10.0


@dataclass(frozen=True)
class MetricsSettings:
    """How a worker collects: batch size, threads, lease, retries, and a bound per sweep."""

    batch_size: int = 50
    threads: int = 2
    lease: timedelta = timedelta(minutes=5)
    # Failed tries of one round (timeouts, 5xx) before the round is skipped.
    max_attempts: int = 4
    retry_base_seconds: float = 120.0
    retry_cap_seconds: float = 3600.0
    # Requests per sweep at most (None: until nothing is due), so that a backlog after
    # downtime is read over several sweeps rather than all at once.
    max_per_sweep: int | None = 1000
    poll_seconds: float = 60.0


@dataclass
class Fetch:
    """One claimed collection on its way: what is asked, and (after `fetch`) the answer."""

    post_id: int
    channel_id: int
    round: int
    attempts: int
    published_at: datetime
    fetch_id: int
    receipt: Receipt
    adapter: Publisher | None = None
    config_error: str = ""
    withheld: str = ""
    # Withheld because the channel's metrics are paused: until then.
    paused_until: datetime | None = None
    metrics: Metrics | None = None
    error: DeliveryError | None = None
    duration_ms: int = 0


@dataclass
class CollectResult:
    """What one collection sweep did."""

    enrolled: int = 0
    claimed: int = 0
    collected: list[int] = field(default_factory=list)  # post ids with a new snapshot
    retried: int = 0
    skipped: int = 0  # rounds given up (permanent errors, too many failures)
    ended: int = 0  # collections ended: post deleted on the channel
    paused: dict[int, datetime] = field(default_factory=dict)  # channel -> until
    withheld: int = 0
    lost: int = 0  # results not recorded: the lease was taken meanwhile
    errors: list[tuple[int, str]] = field(default_factory=list)  # (post, message)


# --- enrolment --------------------------------------------------------------------------


def enrol_published(
    engine: Engine, *, now: datetime, offsets: Sequence[timedelta], limit: int = ENROL_BATCH
) -> int:
    """Give every published post without a collection its row; how many were made.

    A post on a channel that reports no figures, or without an external id, gets a row
    that is already over (nothing is ever claimed for it). Workers enrolling at once
    insert each post once (ON CONFLICT DO NOTHING).
    """
    made = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(
                    POSTS.c.id,
                    POSTS.c.channel_id,
                    sa.func.coalesce(
                        POSTS.c.published_at, POSTS.c.publish_at, type_=UTCDateTime()
                    ).label("published_at"),
                    POSTS.c.external_id,
                    CHANNELS.c.kind,
                )
                .join(CHANNELS, CHANNELS.c.id == POSTS.c.channel_id)
                .outerjoin(COLLECTIONS, COLLECTIONS.c.post_id == POSTS.c.id)
                .where(
                    POSTS.c.status == PostStatus.published.value,
                    COLLECTIONS.c.post_id.is_(None),
                )
                .order_by(POSTS.c.id)
                .limit(limit)
            ).all()
            if not rows:
                return made
            values = [_new_row(row, now, offsets) for row in rows]
            inserted = conn.execute(_insert_ignoring_existing(conn.dialect.name), values)
            made += len(inserted.all())
        if len(rows) < limit:
            return made


def _new_row(row: Any, now: datetime, offsets: Sequence[timedelta]) -> dict[str, Any]:
    published_at = _aware(row.published_at)
    cls = REGISTRY.get(row.kind)
    state, due_round, due_at = ACTIVE, 0, None
    if cls is None or not cls.reports_metrics:
        state = UNSUPPORTED
    elif not row.external_id:
        state = NO_RECEIPT
    else:
        due_round, due_at = first_round(offsets, published_at, now)
    return {
        "post_id": row.id,
        "channel_id": row.channel_id,
        "published_at": published_at,
        "round": due_round,
        "next_due_at": due_at,
        "state": state,
        "attempts": 0,
        "created_at": now,
    }


@functools.cache
def _insert_ignoring_existing(dialect: str) -> Any:
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(COLLECTIONS)
    else:
        stmt = sqlite.insert(COLLECTIONS)
    return stmt.on_conflict_do_nothing(index_elements=["post_id"]).returning(COLLECTIONS.c.post_id)


# --- the claim --------------------------------------------------------------------------


@functools.cache
def _claim_statement(dialect: str, limit: int) -> Update:
    """Claim up to `limit` due collections on channels that may be asked now."""
    now = bindparam("now", type_=UTCDateTime())
    metrics_paused = (
        sa.select(PAUSES.c.channel_id)
        .where(PAUSES.c.channel_id == COLLECTIONS.c.channel_id, PAUSES.c.paused_until > now)
        .exists()
    )
    channel_ready = (
        sa.select(CHANNELS.c.id)
        .where(
            CHANNELS.c.id == COLLECTIONS.c.channel_id,
            CHANNELS.c.enabled.is_(True),
            CHANNELS.c.needs_reconnect.is_(False),
            # A channel publishing found rate-limited is left to publishing.
            sa.or_(CHANNELS.c.paused_until.is_(None), CHANNELS.c.paused_until <= now),
        )
        .exists()
    )
    due = (
        sa.select(COLLECTIONS.c.post_id)
        .where(
            COLLECTIONS.c.state == ACTIVE,
            COLLECTIONS.c.next_due_at <= now,
            sa.or_(COLLECTIONS.c.lease_until.is_(None), COLLECTIONS.c.lease_until < now),
            ~metrics_paused,
            channel_ready,
        )
        .order_by(COLLECTIONS.c.next_due_at, COLLECTIONS.c.post_id)
        .limit(limit)
    )
    stmt = update(COLLECTIONS)
    if dialect == "postgresql":
        claimed = due.with_for_update(skip_locked=True).cte("due")
        stmt = stmt.where(COLLECTIONS.c.post_id == claimed.c.post_id)
    else:
        # SQLite has one writer at a time, so the single UPDATE is atomic there.
        stmt = stmt.where(COLLECTIONS.c.post_id.in_(due.scalar_subquery()))
    return stmt.values(
        claimed_by=bindparam("worker"),
        lease_until=bindparam("lease_until", type_=UTCDateTime()),
    ).returning(
        COLLECTIONS.c.post_id,
        COLLECTIONS.c.channel_id,
        COLLECTIONS.c.round,
        COLLECTIONS.c.attempts,
        COLLECTIONS.c.published_at,
    )


def claim_fetches(
    engine: Engine,
    *,
    worker_id: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    adapter_factory: AdapterFactory = build_adapter,
) -> list[Fetch]:
    """Claim up to `limit` due collections and write their ledger rows, in one transaction;
    each with the adapter of its channel (built once per channel) and the post's receipt."""
    with Session(engine, expire_on_commit=False) as session:
        conn = session.connection()
        rows = conn.execute(
            _claim_statement(conn.dialect.name, limit),
            {"now": now, "worker": worker_id, "lease_until": now + lease},
        ).all()
        if not rows:
            session.commit()
            return []
        rows = sorted(rows, key=lambda r: int(r.post_id))
        posts = {
            int(p.id): p
            for p in conn.execute(
                sa.select(POSTS.c.id, POSTS.c.external_id, POSTS.c.external_url).where(
                    POSTS.c.id.in_([r.post_id for r in rows])
                )
            )
        }
        ids = _write_ledger(conn, rows, worker_id, now)
        adapters: dict[int, Publisher | str] = {}
        fetches = []
        for row, fetch_id in zip(rows, ids, strict=True):
            channel_id = int(row.channel_id)
            if channel_id not in adapters:
                channel = session.get(Channel, channel_id)
                assert channel is not None  # a foreign key
                try:
                    adapters[channel_id] = adapter_factory(channel)
                except (PlannerError, ValueError) as err:
                    adapters[channel_id] = f"channel {channel.name!r} is misconfigured: {err}"
            adapter = adapters[channel_id]
            post = posts[int(row.post_id)]
            fetches.append(
                Fetch(
                    post_id=int(row.post_id),
                    channel_id=channel_id,
                    round=int(row.round),
                    attempts=int(row.attempts),
                    published_at=_aware(row.published_at),
                    fetch_id=fetch_id,
                    receipt=Receipt(external_id=post.external_id or "", url=post.external_url),
                    adapter=adapter if isinstance(adapter, Publisher) else None,
                    config_error=adapter if isinstance(adapter, str) else "",
                )
            )
        session.commit()
    return fetches


def _aware(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands some back naive)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _write_ledger(
    conn: Connection, rows: Sequence[Any], worker_id: str, now: datetime
) -> list[int]:
    """The ledger rows of a claimed batch, before any request; their ids in row order."""
    ids = conn.execute(
        insert(FETCHES).returning(FETCHES.c.id, sort_by_parameter_order=True),
        [
            {"post_id": r.post_id, "round": r.round, "worker": worker_id, "started_at": now}
            for r in rows
        ],
    ).scalars()
    return [int(i) for i in ids]


# --- the request ------------------------------------------------------------------------


class MetricsGate:
    """Says, right before each request, whether a claimed collection may still be read:
    the worker is not stopping, its lease is good (with a margin), and the channel's
    metrics are not paused by a rate limit this worker or another one met."""

    def __init__(self, engine: Engine, *, max_age: float = 1.0) -> None:
        self.engine = engine
        self.max_age = max_age
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._paused: dict[int, datetime] = {}
        self._checked_at = float("-inf")

    def pause(self, channel_id: int, until: datetime) -> None:
        """A rate limit met here: no request to this channel's figures before `until`."""
        with self._lock:
            self._paused[channel_id] = max(until, self._paused.get(channel_id, until))

    def why_not(self, fetch: Fetch, deadline: float, now: datetime) -> str:
        """Why `fetch` may not be sent at `now`, or "" when it may."""
        if self.stopping.is_set():
            return "the worker is stopping"
        if time.monotonic() >= deadline:
            return "the lease ran out"
        self._refresh()
        with self._lock:
            until = self._paused.get(fetch.channel_id)
        if until is not None and until > now:
            fetch.paused_until = until
            return f"the channel's metrics are paused until {until.isoformat()}"
        return ""

    def _refresh(self) -> None:
        """Read the pauses other workers recorded (at most every `max_age` seconds)."""
        with self._lock:
            if time.monotonic() - self._checked_at < self.max_age:
                return
            self._checked_at = time.monotonic()
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(PAUSES.c.channel_id, PAUSES.c.paused_until)).all()
        except sa.exc.SQLAlchemyError:
            return  # the database is away: the pauses known here still hold
        with self._lock:
            for channel_id, until in rows:
                current = self._paused.get(int(channel_id))
                stored = _aware(until)
                self._paused[int(channel_id)] = stored if current is None else max(current, stored)


def fetch(item: Fetch, gate: MetricsGate, deadline: float, now: datetime | None = None) -> Fetch:
    """Read one post's figures, unless the gate says no at `now` (default: the clock);
    errors become the item's result."""
    reason = gate.why_not(item, deadline, now or utcnow())
    if reason:
        item.withheld = reason
        return item
    if item.adapter is None:
        item.error = PermanentError(item.config_error or "the channel has no adapter")
        return item
    started = time.monotonic()
    try:
        item.metrics = item.adapter.fetch_metrics(item.receipt)
    except DeliveryError as err:
        item.error = err
        if isinstance(err, RateLimited):
            gate.pause(item.channel_id, (now or utcnow()) + timedelta(seconds=err.retry_after))
    except Exception as err:
        log.exception("metrics of post %d: unexpected error", item.post_id)
        item.error = PermanentError(f"{type(err).__name__}: {err}")
    item.duration_ms = int((time.monotonic() - started) * 1000)
    return item


# --- recording --------------------------------------------------------------------------


def backoff(settings: MetricsSettings, failures: int, rng: random.Random | None = None) -> float:
    """Seconds before a failed round is tried again: exponential, capped, with jitter."""
    ceiling = min(settings.retry_cap_seconds, settings.retry_base_seconds * 2.0 ** (failures - 1))
    return float(ceiling * (0.5 + 0.5 * (rng or random).random()))


def record_fetches(
    engine: Engine,
    fetched: Sequence[Fetch],
    *,
    worker_id: str,
    now: datetime,
    offsets: Sequence[timedelta],
    settings: MetricsSettings,
    result: CollectResult,
) -> None:
    """Record a group of finished fetches in one transaction: snapshots, the queue, the
    ledger, pauses. A collection no longer held by this worker records no snapshot.

    A few statements per group, each run for all its rows (executemany). The ledger is
    written first: on SQLite that takes the write lock, so the collections found held
    below stay held until the commit; on PostgreSQL they are locked (FOR UPDATE).
    """
    if not fetched:
        return
    verdicts = [_verdict(item, now, offsets, settings) for item in fetched]
    with engine.begin() as conn:
        conn.execute(
            _FINISH_FETCH,
            [
                {
                    "b_id": item.fetch_id,
                    "b_finished": now,
                    "b_outcome": verdict.outcome,
                    "b_status": verdict.http_status,
                    "b_error": verdict.error,
                    "b_duration": item.duration_ms,
                }
                for item, verdict in zip(fetched, verdicts, strict=True)
            ],
        )
        held = {
            int(post_id)
            for post_id in conn.execute(
                sa.select(COLLECTIONS.c.post_id)
                .where(
                    COLLECTIONS.c.post_id.in_([item.post_id for item in fetched]),
                    COLLECTIONS.c.claimed_by == worker_id,
                )
                .with_for_update()
            ).scalars()
        }
        lost = [item for item in fetched if item.post_id not in held]
        if lost:
            conn.execute(
                update(FETCHES)
                .where(FETCHES.c.id.in_([item.fetch_id for item in lost]))
                .values(outcome="lost_lease")
            )
            result.lost += len(lost)
        kept = [(i, v) for i, v in zip(fetched, verdicts, strict=True) if i.post_id in held]
        released = [{"b_post": i.post_id, "b_until": v.next_due_at} for i, v in kept if i.withheld]
        if released:
            conn.execute(_RELEASE, released)
        moved = [
            {
                "b_post": item.post_id,
                "b_round": v.round,
                "b_next": v.next_due_at,
                "b_state": v.state,
                "b_attempts": v.attempts,
                "b_error": v.last_error,
                "b_collected": now if item.metrics is not None else None,
            }
            for item, v in kept
            if not item.withheld
        ]
        if moved:
            conn.execute(_MOVE, moved)
        snapshots = [
            {
                "post_id": item.post_id,
                "collected_at": now,
                "impressions": item.metrics.impressions,
                "reactions": item.metrics.reactions,
                "reposts": item.metrics.reposts,
                "replies": item.metrics.replies,
                "link_clicks": item.metrics.link_clicks,
                "raw": dict(item.metrics.raw),
            }
            for item, _ in kept
            if item.metrics is not None and not item.withheld
        ]
        if snapshots:
            conn.execute(insert(SNAPSHOTS), snapshots)
        for item, verdict in kept:
            if verdict.pause_until is not None:
                _pause(conn, item.channel_id, verdict.pause_until, verdict.error or "")
    for item, verdict in kept:
        verdict.count(item, result)


@dataclass
class _Verdict:
    """What one fetch's answer means for its collection and its ledger row."""

    outcome: str
    round: int
    next_due_at: datetime | None
    state: str = ACTIVE
    attempts: int = 0
    last_error: str | None = None
    http_status: int | None = None
    error: str | None = None
    pause_until: datetime | None = None
    tally: str = ""  # which count of CollectResult it adds to

    def count(self, item: Fetch, result: CollectResult) -> None:
        """Add this verdict to the sweep's result."""
        if self.tally == "collected":
            result.collected.append(item.post_id)
        elif self.tally == "withheld":
            result.withheld += 1
        elif self.tally == "retried":
            result.retried += 1
        elif self.tally == "ended":
            result.ended += 1
        else:
            result.skipped += 1
        if self.pause_until is not None:
            current = result.paused.get(item.channel_id, self.pause_until)
            result.paused[item.channel_id] = max(current, self.pause_until)
        if item.error is not None:
            result.errors.append((item.post_id, f"{self.outcome}: {item.error.message}"))


def _gone(error: DeliveryError) -> bool:
    return isinstance(error, PostGone) or (
        isinstance(error, PermanentError) and error.http_status in (404, 410)
    )


def _verdict(
    item: Fetch, now: datetime, offsets: Sequence[timedelta], settings: MetricsSettings
) -> _Verdict:
    """How a fetch's answer moves its collection: the next round, a retry, a pause, the end."""
    error = item.error
    if item.withheld:
        return _Verdict(
            "withheld", item.round, item.paused_until, error=item.withheld, tally="withheld"
        )
    if error is None:
        round_, due, state = _advance(item, now, offsets)
        return _Verdict("ok", round_, due, state, http_status=200, tally="collected")
    message = error.message[:2000]
    if isinstance(error, RateLimited):
        until = now + timedelta(seconds=error.retry_after)
        return _Verdict(
            error.outcome,
            item.round,
            until,
            attempts=item.attempts,
            pause_until=until,
            tally="retried",
            http_status=error.http_status,
            error=message,
            last_error=message,
        )
    if _gone(error):
        return _Verdict(
            PostGone.outcome,
            item.round,
            None,
            GONE,
            tally="ended",
            http_status=error.http_status,
            error=message,
            last_error=message,
        )
    if error.retryable and item.attempts + 1 < settings.max_attempts:
        wait = backoff(settings, item.attempts + 1)
        return _Verdict(
            error.outcome,
            item.round,
            now + timedelta(seconds=wait),
            attempts=item.attempts + 1,
            tally="retried",
            http_status=error.http_status,
            error=message,
            last_error=message,
        )
    # Permanent, refused credentials, or too many failures: this round is skipped.
    round_, due, state = _advance(item, now, offsets)
    return _Verdict(
        error.outcome,
        round_,
        due,
        state,
        tally="skipped",
        http_status=error.http_status,
        error=message,
        last_error=message,
    )


_FINISH_FETCH = (
    update(FETCHES)
    .where(FETCHES.c.id == bindparam("b_id"))
    .values(
        finished_at=bindparam("b_finished", type_=UTCDateTime()),
        outcome=bindparam("b_outcome"),
        http_status=bindparam("b_status"),
        error=bindparam("b_error"),
        duration_ms=bindparam("b_duration"),
    )
)


def _unclaim(**values: Any) -> Update:
    """An update that ends the claim on the collection of the post `b_post` (no worker, no
    lease) and sets `values` with it."""
    return (
        update(COLLECTIONS)
        .where(COLLECTIONS.c.post_id == bindparam("b_post"))
        .values(claimed_by=None, lease_until=None, **values)
    )


# A collection given back untouched (the worker stopped, the channel is paused); with a
# pause, due again when it ends. Only rows found held by this worker are passed.
_RELEASE = _unclaim(
    next_due_at=sa.func.coalesce(
        bindparam("b_until", type_=UTCDateTime()), COLLECTIONS.c.next_due_at
    ),
)
_MOVE = _unclaim(
    round=bindparam("b_round"),
    next_due_at=bindparam("b_next", type_=UTCDateTime()),
    state=bindparam("b_state"),
    attempts=bindparam("b_attempts"),
    last_error=bindparam("b_error"),
    collected_at=sa.func.coalesce(
        bindparam("b_collected", type_=UTCDateTime()), COLLECTIONS.c.collected_at
    ),
)


def _advance(
    item: Fetch, now: datetime, offsets: Sequence[timedelta]
) -> tuple[int, datetime | None, str]:
    """Where the collection goes once round `item.round` is over: the next round and when
    it is due, or done."""
    following = next_round(offsets, item.published_at, item.round, now)
    if following is None:
        return len(offsets), None, DONE
    return following[0], following[1], ACTIVE


def _pause(conn: Connection, channel_id: int, until: datetime, reason: str) -> None:
    """Pause the channel's metrics until `until` (a later pause already stored stays)."""
    values = {"channel_id": channel_id, "paused_until": until, "reason": reason[:2000]}
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(PAUSES).values(**values)
    else:
        stmt = sqlite.insert(PAUSES).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel_id"],
        set_={"paused_until": until, "reason": values["reason"]},
        where=PAUSES.c.paused_until < until,
    )
    conn.execute(stmt)


# --- one sweep --------------------------------------------------------------------------


class Collector:
    """Collects the figures that are due with a small thread pool; one sweep at a time."""

    def __init__(
        self,
        engine: Engine,
        *,
        worker_id: str,
        settings: MetricsSettings | None = None,
        adapter_factory: AdapterFactory = build_adapter,
    ) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.settings = settings or MetricsSettings()
        self.adapter_factory = adapter_factory
        self.gate = MetricsGate(engine)
        self._pool = ThreadPoolExecutor(
            max_workers=self.settings.threads, thread_name_prefix="planner-metrics"
        )
        self._sweeping = threading.Lock()

    def sweep(self, *, now: Callable[[], datetime] = utcnow) -> CollectResult:
        """Enrol newly published posts, then claim, read and record batches until nothing
        is due, the sweep's bound is reached or the collector stops. Nothing when the
        organisation switched collection off."""
        result = CollectResult()
        if self.gate.stopping.is_set():
            return result
        with self._sweeping:
            with Session(self.engine) as session:
                if not org_settings.collects_metrics(session):
                    return result
                offsets = org_settings.metrics_schedule(session)
            result.enrolled = enrol_published(self.engine, now=now(), offsets=offsets)
            budget = self.settings.max_per_sweep
            while not self.gate.stopping.is_set() and (budget is None or budget > 0):
                limit = (
                    self.settings.batch_size
                    if budget is None
                    else min(budget, self.settings.batch_size)
                )
                started = time.monotonic()
                batch = claim_fetches(
                    self.engine,
                    worker_id=self.worker_id,
                    now=now(),
                    limit=limit,
                    lease=self.settings.lease,
                    adapter_factory=self.adapter_factory,
                )
                if not batch:
                    break
                result.claimed += len(batch)
                if budget is not None:
                    budget -= len(batch)
                margin = min(self.settings.lease.total_seconds() / 5, 30.0)
                deadline = started + self.settings.lease.total_seconds() - margin
                at = now()
                done = list(
                    self._pool.map(
                        fetch,
                        batch,
                        [self.gate] * len(batch),
                        [deadline] * len(batch),
                        [at] * len(batch),
                    )
                )
                if not self._record(done, now, offsets, result):
                    break
                if all(item.withheld for item in done):
                    break  # nothing may be asked now; the next sweep tries again
        return result

    def _record(
        self,
        done: list[Fetch],
        now: Callable[[], datetime],
        offsets: Sequence[timedelta],
        result: CollectResult,
    ) -> bool:
        """Record a batch; while the database does not answer (restart, failover), keep
        the results and try again with growing pauses. False when it gave up: the leases
        run out and those rounds are read again by the next sweep."""
        for tries in range(1, RECORD_TRIES + 1):
            try:
                record_fetches(
                    self.engine,
                    done,
                    worker_id=self.worker_id,
                    now=now(),
                    offsets=offsets,
                    settings=self.settings,
                    result=result,
                )
                return True
            except DATABASE_DOWN as err:
                if tries == RECORD_TRIES:
                    log.error(
                        "gave up recording %d metrics result(s) (%s): their leases run out "
                        "and the rounds are read again",
                        len(done),
                        type(err).__name__,
                    )
                    return False
                log.warning(
                    "could not record %d metrics result(s) (%s); keeping them and trying again",
                    len(done),
                    type(err).__name__,
                )
                time.sleep(min(RETRY_CAP, 0.2 * 2 ** (tries - 1)))
        return False

    def stop(self) -> None:
        """Stop claiming; requests not started yet are released (safe from a signal)."""
        self.gate.stopping.set()

    def close(self) -> None:
        """Stop, wait for the sweep in progress to record what it read, end the pool."""
        self.stop()
        with self._sweeping:
            pass
        self._pool.shutdown(wait=True)
